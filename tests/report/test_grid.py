"""`epymarl-llm grid paper`: the plan it prints, its jobs run through submitit's local executor
against a stand-in EPyMARL main.py, and the Slurm array scripts it writes with sbatch absent."""

import json
import os
import re
import shlex
import stat
import sys
from pathlib import Path

import pytest

from epymarl_llm_tools import cli
from epymarl_llm_tools.commands import grid_paper
from epymarl_llm_tools.commands.grid_job import checkpoint_in_log

pytest.importorskip("submitit")


def _grid(*argv):
    return cli.main(["grid", "paper", *argv])


def _dry_run(capsys, *extra):
    assert _grid("--epymarl", "/opt/epymarl", "--dry-run", "--python", "python3", *extra) == 0
    return capsys.readouterr().out.splitlines()


def test_dry_run_prints_the_whole_grid_by_phase(capsys):
    lines = _dry_run(
        capsys,
        *("--seeds", "1", "2", "--maps", "3s5z", "--pairs", "3s_vs_4z:3s_vs_5z"),
        *("--baselines", "mappo", "qmix", "--t-max", "1000000", "--few-shot-t-max", "300000"),
    )
    commands = [line for line in lines if not line.startswith(("#", "epymarl-llm"))]
    single = [c for c in commands if "checkpoint_path" not in c]
    assert len(single) == 18  # 3 maps (3s5z + the pair's two) x 3 algorithms x 2 seeds
    assert (
        "python3 src/main.py --config=lolm_mappo --env-config=sc2 with env_args.map_name=3s_vs_4z seed=1 "
        "t_max=1000000 save_model=True"
    ) in commands
    zero = [shlex.split(c) for c in commands if "evaluate=True" in c]
    few = [shlex.split(c) for c in commands if "checkpoint_path" in c and "evaluate=True" not in c]
    assert len(zero) == len(few) == 2
    assert zero[0][5:] == [
        "env_args.map_name=3s_vs_5z",
        "seed=1",
        "evaluate=True",
        "test_nepisode=100",
        "kl_mode=none",
        "checkpoint_path=<checkpoint saved by single_lolm_mappo_3s_vs_4z_seed1.log>",
    ]
    assert few[1][-1] == "t_max=<checkpoint step + 300000>" and "kl_mode=none" in few[1]
    assert [line for line in lines if line.startswith("#")] == [
        "# phase 1: 18 runs (cd /opt/epymarl)",
        "# phase 2: 4 runs (cd /opt/epymarl)",
        "# report",
    ]
    assert lines[-1] == "epymarl-llm report /opt/epymarl/results/sacred --out report"


def test_default_grid_is_the_papers(capsys):
    lines = _dry_run(capsys, "--phases", "single")
    assert lines[0] == "# phase 1: 48 runs (cd /opt/epymarl)"  # 8 maps x (lolm_mappo, mappo) x 3 seeds


def test_bad_pair_is_rejected(capsys):
    with pytest.raises(SystemExit):
        _grid("--epymarl", "/x", "--pairs", "3s5z", "--dry-run")
    assert "SOURCE:TARGET" in capsys.readouterr().err


def test_sc2v2_grid_defaults_to_smacv2_scenarios(capsys):
    lines = _dry_run(capsys, "--env-config", "sc2v2", "--seeds", "1", "--baselines")
    commands = [shlex.split(line) for line in lines if "src/main.py" in line]
    maps = {c[5].split("=", 1)[1] for c in commands}
    assert maps == set(grid_paper.SC2V2_MAPS) | {t for pair in grid_paper.SC2V2_PAIRS for t in pair}
    assert all(c[3] == "--env-config=sc2v2" for c in commands)


def test_sc2v2_grid_rejects_maps_that_are_not_scenarios(capsys, tmp_path):
    scenarios = tmp_path / "src" / "config" / "envs" / "smacv2_configs"
    scenarios.mkdir(parents=True)
    (scenarios / "protoss_5_vs_5.yaml").write_text("env_args: {}\n")
    code = _grid(
        "--epymarl", str(tmp_path), "--dry-run", "--env-config", "sc2v2", "--maps", "protoss_5_vs_5", "3m", "--pairs"
    )
    assert code == 2 and "3m are not SMACv2 scenarios" in capsys.readouterr().err


def test_checkpoint_is_the_folder_the_log_says_it_saved_to(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("Saving models to results/models/tok/50\n...\nSaving models to results/models/tok/100\n")
    assert checkpoint_in_log(log, tmp_path) == tmp_path / "results" / "models" / "tok"
    assert checkpoint_in_log(tmp_path / "absent.log", tmp_path) is None


# Stand-in for EPyMARL's main.py: records its arguments, and a run with save_model=True logs a checkpoint.
STAND_IN = """
import json, sys, uuid, pathlib
pathlib.Path('calls').mkdir(exist_ok=True)
pathlib.Path('calls', uuid.uuid4().hex).write_text(json.dumps(sys.argv[1:]))
if 'save_model=True' in sys.argv:
    step = pathlib.Path('results/models/tok/2000123')
    step.mkdir(parents=True)
    print('Saving models to', step)
"""


def test_local_executor_runs_phase_two_from_phase_ones_checkpoint(tmp_path):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    (epymarl / "src" / "main.py").write_text(STAND_IN)
    argv = ["--epymarl", str(epymarl), "--seeds", "1", "--maps", "--pairs", "3s_vs_4z:3s_vs_5z", "--baselines"]
    code = _grid(*argv, "--phases", "single", "zero-shot", "few-shot", "--parallel", "2", "--few-shot-t-max", "300")
    assert code == 0
    calls = [json.loads(p.read_text()) for p in (epymarl / "calls").iterdir()]
    assert len(calls) == 4  # two single-task runs, then zero-shot and few-shot
    few = next(c for c in calls if "kl_mode=none" in c and "evaluate=True" not in c)
    assert f"checkpoint_path={epymarl / 'results' / 'models' / 'tok'}" in few and "t_max=2000423" in few
    assert (epymarl / "results" / "grid_logs" / "few-shot_lolm_mappo_3s_vs_5z_seed1.log").exists()


def test_a_transfer_without_its_source_checkpoint_fails_alone(tmp_path, capsys):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    (epymarl / "src" / "main.py").write_text("")
    code = _grid("--epymarl", str(epymarl), "--seeds", "1", "--pairs", "3s_vs_4z:3s_vs_5z", "--phases", "few-shot")
    assert code == 1
    assert "1 runs failed: few-shot/lolm_mappo/3s_vs_5z/s1" in capsys.readouterr().err
    log = epymarl / "results" / "grid_logs" / "few-shot_lolm_mappo_3s_vs_5z_seed1.log"
    assert "no checkpoint" in log.read_text()


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch):
    """An `sbatch` on PATH that answers as Slurm does, numbering the submissions 1001, 1002, ...
    (and an `srun`, which submitit looks for to tell that it is on a cluster)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "srun").chmod(0o755)
    script = bin_dir / "sbatch"
    count = tmp_path / "count"
    script.write_text(
        f"#!{sys.executable}\nimport pathlib\np = pathlib.Path({str(count)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1001\np.write_text(str(n))\n"
        "print(f'Submitted batch job {n}')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_slurm_executor_writes_one_array_per_phase_each_after_the_last(tmp_path, fake_sbatch, capsys):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    (epymarl / "src" / "main.py").write_text("")
    code = _grid(
        *("--epymarl", str(epymarl), "--seeds", "1", "2", "--maps", "--pairs", "3s_vs_4z:3s_vs_5z"),
        *("--executor", "slurm", "--partition", "gpu", "--time-min", "720", "--cpus", "8", "--gpus", "1"),
        *("--mem", "48G", "--array-parallelism", "3"),
    )
    assert code == 0
    assert "1001 -> 1002 -> 1003" in capsys.readouterr().out
    folder = epymarl / "results" / "grid_logs" / "submitit"
    scripts = {p.name.split("_", 1)[0]: p.read_text() for p in folder.glob("*_submission.sh")}
    assert sorted(scripts) == ["1001", "1002", "1003"]
    train, transfer, report = scripts["1001"], scripts["1002"], scripts["1003"]
    # phase 1: 2 maps x (lolm_mappo, mappo) x 2 seeds; phase 2: zero-shot and few-shot x 2 seeds
    assert "#SBATCH --array=0-7%3" in train and "#SBATCH --array=0-3%3" in transfer
    assert "--array" not in report
    for text in (train, transfer, report):
        assert "#SBATCH --partition=gpu" in text and "#SBATCH --time=720" in text
        assert "#SBATCH --cpus-per-task=8" in text and "#SBATCH --gpus-per-node=1" in text
        assert "#SBATCH --mem=48G" in text
    assert not re.search(r"--dependency", train)
    assert "#SBATCH --dependency=afterany:1001" in transfer
    assert "#SBATCH --dependency=afterany:1002" in report


def test_slurm_dependency_names_a_single_job_when_a_phase_has_one(tmp_path, fake_sbatch):
    epymarl = tmp_path / "epymarl"
    (epymarl / "src").mkdir(parents=True)
    (epymarl / "src" / "main.py").write_text("")
    argv = ["--epymarl", str(epymarl), "--seeds", "1", "--maps", "3m", "--pairs", "--baselines"]
    assert _grid(*argv, "--executor", "slurm", "--phases", "single", "report") == 0
    scripts = {p.name.split("_", 1)[0]: p.read_text() for p in Path(epymarl, "results/grid_logs/submitit").glob("*.sh")}
    assert "#SBATCH --dependency=afterany:1001" in scripts["1002"]
