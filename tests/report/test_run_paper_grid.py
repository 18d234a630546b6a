"""The experiment recipe's driver: dry-run commands, checkpoint lookup, and real subprocess runs
against a stand-in EPyMARL main.py that records its arguments."""

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_paper_grid.py"


@pytest.fixture(scope="module")
def grid():
    spec = importlib.util.spec_from_file_location("run_paper_grid", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_paper_grid"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _dry_run(grid, capsys, *extra):
    assert grid.main(["--epymarl", "/opt/epymarl", "--dry-run", "--python", "python3", *extra]) == 0
    return capsys.readouterr().out.splitlines()


def test_dry_run_prints_the_whole_grid(grid, capsys):
    lines = _dry_run(
        grid,
        capsys,
        "--seeds",
        "1",
        "2",
        "--maps",
        "3s5z",
        "--pairs",
        "3s_vs_4z:3s_vs_5z",
        "--baselines",
        "mappo",
        "qmix",
        "--t-max",
        "1000000",
        "--few-shot-t-max",
        "300000",
    )
    commands = [line for line in lines if not line.startswith("#")]
    single = [c for c in commands if "checkpoint_path" not in c and "epymarl_llm" not in c]
    # 3 maps (3s5z + the pair's two) x 3 algorithms x 2 seeds
    assert len(single) == 18
    assert (
        "python3 src/main.py --config=lolm_mappo --env-config=sc2 with env_args.map_name=3s_vs_4z seed=1 "
        "t_max=1000000 save_model=True"
    ) in commands
    assert (
        "python3 src/main.py --config=mappo --env-config=sc2 with env_args.map_name=3s_vs_5z seed=2 t_max=1000000"
        in commands
    )
    zero = [shlex.split(c) for c in commands if "evaluate=True" in c]
    few = [shlex.split(c) for c in commands if "checkpoint_path" in c and "evaluate=True" not in c]
    assert len(zero) == len(few) == 2
    assert zero[0][5:] == [
        "env_args.map_name=3s_vs_5z",
        "seed=1",
        "evaluate=True",
        "test_nepisode=100",
        "kl_mode=none",
        "checkpoint_path=<checkpoint of lolm_mappo seed 1 on 3s_vs_4z>",
    ]
    assert few[1][-1] == "t_max=<checkpoint step + 300000>" and "kl_mode=none" in few[1]
    assert lines[-1] == "python3 -m epymarl_llm report /opt/epymarl/results/sacred --out report"
    assert [line for line in lines if line.startswith("#")][:3] == [
        "# single: 18 runs (cd /opt/epymarl)",
        "# zero-shot: 2 runs (cd /opt/epymarl)",
        "# few-shot: 2 runs (cd /opt/epymarl)",
    ]


def test_default_grid_is_the_papers(grid, capsys):
    lines = _dry_run(grid, capsys, "--phases", "single")
    assert lines[0] == "# single: 48 runs (cd /opt/epymarl)"  # 8 maps x (lolm_mappo, mappo) x 3 seeds


def test_bad_pair_is_rejected(grid, capsys):
    with pytest.raises(SystemExit):
        grid.main(["--epymarl", "/x", "--pairs", "3s5z", "--dry-run"])
    assert "SOURCE:TARGET" in capsys.readouterr().err


def test_find_checkpoint_takes_the_newest_and_its_largest_step(grid, tmp_path):
    models = tmp_path / "results" / "models"
    for name, steps in [
        ("lolm_mappo_seed1_3s5z_2025-01-01 10:00:00.1", [50]),
        ("lolm_mappo_seed1_3s5z_2025-02-01 10:00:00.1", [50, 100]),
        ("lolm_mappo_seed1_3s5z_vs_3s6z_2025-03-01 10:00:00.1", [500]),
    ]:
        for step in steps:
            (models / name / str(step)).mkdir(parents=True)
    folder, step = grid.find_checkpoint(tmp_path, "lolm_mappo", 1, "3s5z")
    assert folder.name.startswith("lolm_mappo_seed1_3s5z_2025-02") and step == 100
    with pytest.raises(FileNotFoundError, match="run the single phase first"):
        grid.find_checkpoint(tmp_path, "lolm_mappo", 2, "3s5z")


def test_transfer_phases_run_with_the_resolved_checkpoint(grid, tmp_path):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    # Stand-in for EPyMARL's main.py: records its arguments, one file per run.
    (epymarl / "src" / "main.py").write_text(
        "import json, sys, uuid, pathlib\n"
        "pathlib.Path('calls').mkdir(exist_ok=True)\n"
        "pathlib.Path('calls', uuid.uuid4().hex).write_text(json.dumps(sys.argv[1:]))\n"
    )
    ckpt = epymarl / "results" / "models" / "lolm_mappo_seed1_3s_vs_4z_2025-01-01 10:00:00.123"
    (ckpt / "2000123").mkdir(parents=True)
    code = grid.main(
        [
            "--epymarl",
            str(epymarl),
            "--seeds",
            "1",
            "--pairs",
            "3s_vs_4z:3s_vs_5z",
            "--phases",
            "zero-shot",
            "few-shot",
            "--parallel",
            "2",
            "--few-shot-t-max",
            "300000",
        ]
    )
    assert code == 0
    calls = [json.loads(p.read_text()) for p in (epymarl / "calls").iterdir()]
    assert len(calls) == 2
    few = next(c for c in calls if "evaluate=True" not in c)
    assert f"checkpoint_path={ckpt}" in few and "t_max=2300123" in few
    assert (epymarl / "results" / "grid_logs" / "few-shot_lolm_mappo_3s_vs_5z_seed1.log").exists()


def test_missing_checkpoint_is_reported_and_fails(grid, tmp_path, capsys):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    (epymarl / "src" / "main.py").write_text("")
    code = grid.main(
        ["--epymarl", str(epymarl), "--seeds", "1", "--pairs", "3s_vs_4z:3s_vs_5z", "--phases", "few-shot"]
    )
    assert code == 1
    assert "[skip] few-shot lolm_mappo 3s_vs_5z seed 1: no checkpoint" in capsys.readouterr().out


def test_sc2v2_grid_defaults_to_smacv2_scenarios_and_transfers(grid, capsys):
    lines = _dry_run(grid, capsys, "--env-config", "sc2v2", "--seeds", "1", "--baselines")
    commands = [shlex.split(line) for line in lines if not line.startswith("#")]
    maps = {c[5].split("=", 1)[1] for c in commands if c[1] == "src/main.py"}
    assert maps == set(grid.SC2V2_MAPS) | {t for pair in grid.SC2V2_PAIRS for t in pair}
    assert all(c[3] == "--env-config=sc2v2" for c in commands if c[1] == "src/main.py")
    zero = [c for c in commands if "evaluate=True" in c]
    assert ["env_args.map_name=protoss_10_vs_10", "seed=1", "evaluate=True"] == zero[0][5:8]
    assert zero[0][-1] == "checkpoint_path=<checkpoint of lolm_mappo seed 1 on protoss_5_vs_5>"


def test_sc2v2_grid_rejects_maps_that_are_not_scenarios(grid, capsys, tmp_path):
    scenarios = tmp_path / "src" / "config" / "envs" / "smacv2_configs"
    scenarios.mkdir(parents=True)
    (scenarios / "protoss_5_vs_5.yaml").write_text("env_args: {}\n")
    code = grid.main(
        ["--epymarl", str(tmp_path), "--dry-run", "--env-config", "sc2v2", "--maps", "protoss_5_vs_5", "3m", "--pairs"]
    )
    assert code == 2 and "3m are not SMACv2 scenarios" in capsys.readouterr().err


def test_find_checkpoint_tells_smacv2_scenarios_apart(grid, tmp_path):
    models = tmp_path / "results" / "models"
    for name in (
        "lolm_mappo_seed1_protoss_10_vs_10_2025-01-01 10:00:00.1",
        "lolm_mappo_seed1_protoss_10_vs_11_2025-01-02 10:00:00.1",
    ):
        (models / name / "500").mkdir(parents=True)
    folder, step = grid.find_checkpoint(tmp_path, "lolm_mappo", 1, "protoss_10_vs_10")
    assert "protoss_10_vs_10_" in folder.name and step == 500
