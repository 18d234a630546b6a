"""The report on folders EPyMARL itself wrote: MAPPO trained on SMAClite's 2s3z, then the same
checkpoint loaded on 3s5z, which crashes on the fixed input size (the built-in-algorithm case).

Needs EPyMARL (EPYMARL_PATH) and SMAClite; EPyMARL's src/ is copied to a temporary folder because
main.py writes results/ next to itself."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from epymarl_llm_tools import cli

pytestmark = pytest.mark.slow

EPYMARL = os.environ.get("EPYMARL_PATH")


def _epymarl(cwd: Path, *with_args: str) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-W",
        "ignore",
        "src/main.py",
        "--config=mappo",
        "--env-config=smaclite",
        "with",
        "use_cuda=False",
        "test_nepisode=1",
        "env_args.time_limit=40",
        "test_interval=100",
        "log_interval=100",
        "runner_log_interval=100",
        "learner_log_interval=100",
        *with_args,
    ]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=240)


@pytest.mark.skipif(not EPYMARL, reason="set EPYMARL_PATH to an EPyMARL checkout to run")
def test_report_on_runs_written_by_epymarl(tmp_path, capsys):
    pytest.importorskip("smaclite", reason="SMAClite is needed for EPyMARL's smaclite env")
    work = tmp_path / "epymarl"
    shutil.copytree(Path(EPYMARL) / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))

    trained = _epymarl(
        work, "env_args.map_name=2s3z", "seed=1", "t_max=100", "save_model=True", "save_model_interval=50"
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    (checkpoint,) = (work / "results" / "models").iterdir()
    transferred = _epymarl(work, "env_args.map_name=3s5z", "seed=1", "t_max=100", f"checkpoint_path={checkpoint}")
    assert "size mismatch" in transferred.stdout + transferred.stderr

    out = tmp_path / "report"
    assert cli.main(["report", str(work / "results" / "sacred"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 runs" in printed
    assert "1 run did not complete" in printed
    assert (
        "1 x FAILED: not transferable (fixed input size): RuntimeError: Error(s) in loading state_dict for "
        "RNNAgent: size mismatch for"
    ) in printed
    assert (out / "win_rate_2s3z.png").stat().st_size > 5000
    (row,) = csv.DictReader((out / "transfer.csv").open())
    assert (row["source_map"], row["target_map"], row["algorithm"]) == ("2s3z", "3s5z", "mappo")
    assert row["notes"].startswith("not transferable (fixed input size)")
    assert "| 2s3z | mappo | 1 |" in (out / "single_task.md").read_text()
