"""Run identity from EPyMARL configs, and reading Sacred's run folders, broken ones included."""

import json

import pytest

from epymarl_llm_tools.report.errors import ReportInputError
from epymarl_llm_tools.report.file_runs import find_run_dirs, read_file_runs, read_run_dir
from epymarl_llm_tools.report.runs import UNKNOWN_SOURCE, RunMode, run_from_config, source_map_from_checkpoint
from tests.report.sacred_fixtures import epymarl_config, ramp

CKPT = "results/models/lolm_mappo_seed1_3s_vs_4z_2025-01-02 10:11:12.123456"


def _run(config):
    return run_from_config(config, origin="x", run_id="1", status="COMPLETED", metrics={})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (CKPT, "3s_vs_4z"),
        (CKPT + "/2000000", "3s_vs_4z"),
        ("/abs/models/mappo_seed12_3s5z_vs_3s6z_2025-01-02 10:11:12.5/", "3s5z_vs_3s6z"),
        ("/somewhere/my_checkpoint", None),
    ],
)
def test_source_map_from_epymarl_checkpoint_folder(path, expected):
    assert source_map_from_checkpoint(path) == expected


def test_run_modes_from_config():
    assert _run(epymarl_config("qmix", "3s5z", 1)).mode is RunMode.SINGLE
    few = _run(epymarl_config("lolm_mappo", "3s_vs_5z", 1, checkpoint_path=CKPT))
    assert (few.mode, few.source_map) == (RunMode.FEW_SHOT, "3s_vs_4z")
    zero = _run(
        epymarl_config(
            "lolm_mappo", "3s_vs_5z", 1, checkpoint_path="/x/ckpt", evaluate=True, transfer_source_map="8m_vs_9m"
        )
    )
    assert (zero.mode, zero.source_map) == (RunMode.ZERO_SHOT, "8m_vs_9m")  # the plugin's key wins
    unknown = _run(epymarl_config("lolm_mappo", "3s_vs_5z", 1, checkpoint_path="/x/ckpt"))
    assert unknown.source_map == UNKNOWN_SOURCE
    resumed = _run(epymarl_config("lolm_mappo", "3s_vs_4z", 1, checkpoint_path=CKPT))
    assert resumed.mode is RunMode.RESUMED


def test_missing_identity_keys_become_problems_not_errors():
    run = _run({"env_args": {"key": "lbforaging:Foraging-8x8-2p-3f-v3"}})
    assert run.algorithm == "unknown" and run.map_name == "lbforaging:Foraging-8x8-2p-3f-v3"
    assert any("no `name`" in p for p in run.problems)


def test_reads_a_real_sacred_run_folder(tmp_path, file_run):
    run_dir = file_run(
        tmp_path,
        epymarl_config("mappo", "3s5z", 7),
        {"test_battle_won_mean": (ramp(3, 100), [0.0, 0.5, 1.0]), "pg_loss": ([50], [0.3])},
    )
    assert run_dir.parent == tmp_path / "sacred" / "mappo" / "3s5z"  # EPyMARL main.py's layout
    run = read_run_dir(run_dir)
    assert (run.algorithm, run.map_name, run.seed, run.status) == ("mappo", "3s5z", 7, "COMPLETED")
    assert run.metrics["test_battle_won_mean"].values.tolist() == [0.0, 0.5, 1.0]
    assert run.problems == []


def test_failed_run_keeps_its_trace_and_curve(tmp_path, file_run):
    run_dir = file_run(
        tmp_path,
        epymarl_config("mappo", "3s_vs_5z", 1, checkpoint_path=CKPT),
        {"test_battle_won_mean": ([10], [0.0])},
        fail_with="Error(s) in loading state_dict for RNNAgent: size mismatch for fc1.weight",
    )
    run = read_run_dir(run_dir)
    assert run.status == "FAILED" and run.crashed_on_input_size
    assert len(run.metrics["test_battle_won_mean"]) == 1


def test_broken_and_missing_files_are_reported(tmp_path):
    broken = tmp_path / "sacred" / "qmix" / "3s5z" / "1"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text(json.dumps(epymarl_config("qmix", "3s5z", 1)))
    (broken / "run.json").write_text('{"status": "RUNN')  # killed while Sacred rewrote it
    (tmp_path / "sacred" / "qmix" / "3s5z" / "_sources").mkdir()
    runs, messages = read_file_runs([tmp_path])
    assert len(runs) == 1 and messages == []
    problems = " | ".join(runs[0].problems)
    assert "run.json is unreadable" in problems and "metrics.json is missing" in problems
    assert runs[0].status == "UNKNOWN"


def test_folder_arguments(tmp_path):
    with pytest.raises(ReportInputError, match="does not exist"):
        find_run_dirs(tmp_path / "nope")
    runs, messages = read_file_runs([tmp_path])
    assert runs == [] and "no Sacred run folders" in messages[0]


def test_split_by_names_runs_of_one_config_apart():
    from epymarl_llm_tools.report.runs import split_by

    random = _run(epymarl_config("lolm_mappo", "2s_vs_1z", 1, llm_init="random", env_args={"map_name": "2s_vs_1z"}))
    assert split_by(random, ("llm_init",)).algorithm == "lolm_mappo [llm_init=random]"
    assert split_by(random, ("llm_init", "env_args.map_name")).algorithm == (
        "lolm_mappo [llm_init=random, env_args.map_name=2s_vs_1z]"
    )
    mappo = _run(epymarl_config("mappo", "2s_vs_1z", 1))
    assert split_by(mappo, ("llm_init",)).algorithm == "mappo"  # a run without the key keeps its name
    assert split_by(random, ()).algorithm == "lolm_mappo"
