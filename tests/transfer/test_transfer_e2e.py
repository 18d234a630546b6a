"""Transfer end to end through EPyMARL's real, unmodified `src/main.py` on SMAClite with a tiny model:
train on 2s3z (5 v 5) with checkpoints, evaluate that checkpoint zero-shot on 3s5z (8 v 8) and on
MMM (10 v 10: Medivac, Marauders, Marines; no shields), fine-tune it few-shot on 3s5z, then run
`epymarl-llm report` over the Sacred folders and check its transfer table against metrics.json.

Needs EPYMARL_PATH and SMAClite (skipped with a reason otherwise); installs into a private copy of
the checkout and a private user site, never into EPYMARL_PATH or the real site-packages.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from epymarl_llm import metric_names as M
from epymarl_llm.epymarl import install as inst
from epymarl_llm_tools import cli
from tests.integration.conftest import user_site
from tests.integration.epymarl_runs import run_main

pytestmark = pytest.mark.slow

# Episodes cut at 30 steps, two envs in parallel, a test (2 episodes) every 60 steps: the few-shot
# run gets several evaluations for the asymptote. One torch thread: the 2 shared cores.
TINY = {
    "env_args.time_limit": 30,
    "runner": "lolm_parallel",
    "seed": 1,
    "batch_size_run": 2,
    "batch_size": 2,
    "buffer_size": 2,
    "test_nepisode": 2,
    "test_interval": 60,
    "log_interval": 60,
    "runner_log_interval": 60,
    "learner_log_interval": 60,
    "epochs": 1,
    "use_cuda": False,
    "llm_cpu_threads": 1,
    "kl_anneal_steps": 400,
    "log_sample_prompts": 1,
}
SOURCE, TARGET, OTHER_TYPES = "2s3z", "3s5z", "MMM"
FEW_SHOT_STEPS = 180


@pytest.fixture
def installed(epymarl_copy, user_base):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    inst.install(epymarl_copy, site_dir=user_site(user_base))
    return epymarl_copy


def _values(run, metric: str) -> list[float]:
    return [float(v) for v in run.metrics[metric]["values"]]


def _csv_row(path: Path) -> dict[str, str]:
    rows = [r for r in csv.DictReader(path.open()) if (r["source_map"], r["target_map"]) == (SOURCE, TARGET)]
    assert len(rows) == 1, f"expected one {SOURCE} -> {TARGET} row in {path}: {rows}"
    return rows[0]


def test_train_then_zero_shot_and_few_shot_on_bigger_maps_then_report(
    installed, user_base, tiny_model_dir, tmp_path, capsys
):
    common = {**TINY, "llm_model": str(tiny_model_dir)}
    source = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {**common, "env_args.map_name": SOURCE, "t_max": 120, "save_model": True, "save_model_interval": 60},
    )
    assert source.run["status"] == "COMPLETED"
    (checkpoint,) = (installed / "results" / "models").iterdir()
    step = max(int(p.name) for p in checkpoint.iterdir() if p.name.isdigit())
    assert source.info["lolm_map"]["n_agents"] == 5

    # Zero-shot: EPyMARL's checkpoint_path + evaluate=True on maps with other unit counts and types.
    zero = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {
            **common,
            "env_args.map_name": TARGET,
            "evaluate": True,
            "checkpoint_path": str(checkpoint),
            "kl_mode": "none",
        },
    )
    assert zero.run["status"] == "COMPLETED", zero.output[-3000:]
    assert zero.config["transfer_source_map"] == SOURCE, "the report reads the source map from the config"
    assert zero.info["transfer_source_map"] == SOURCE and zero.info["lolm_map"]["n_agents"] == 8
    assert zero.info["lolm_transfer"]["kind"] == "zero-shot evaluation"
    assert zero.info["lolm_transfer"]["checkpoint_step"] == step
    assert any("repeated for 8" in n for n in zero.info["lolm_transfer"]["notes"]) or "return statistics" not in str(
        zero.info["lolm_transfer"]
    ), "return statistics reshaped, or not standardised"
    # test_nepisode episodes (EPyMARL's evaluate_sequential alone plays test_nepisode x batch_size_run),
    # one log over all of them at the checkpoint's step.
    assert zero.metrics[M.TEST_RETURN]["steps"] == [step] and len(_values(zero, M.TEST_WIN_RATE)) == 1
    assert M.POLICY_LOSS not in zero.metrics, "evaluate=True must not train"

    mmm = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {**common, "env_args.map_name": OTHER_TYPES, "evaluate": True, "checkpoint_path": str(checkpoint)},
    )
    assert mmm.run["status"] == "COMPLETED", mmm.output[-3000:]
    assert mmm.config["transfer_source_map"] == SOURCE and "medivac" in str(mmm.info["lolm_map"]).lower()
    assert _values(mmm, M.TEST_RETURN)

    # Few-shot: the same checkpoint trains on the target; KL off automatically (kl_in_transfer=False).
    few = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {**common, "env_args.map_name": TARGET, "checkpoint_path": str(checkpoint), "t_max": step + FEW_SHOT_STEPS},
    )
    assert few.run["status"] == "COMPLETED", few.output[-3000:]
    assert few.config["transfer_source_map"] == SOURCE and few.config["kl_in_transfer"] is False
    record = few.info["lolm_transfer"]
    assert record["kind"] == "few-shot training" and record["kl"].startswith("off"), record
    assert "kl_in_transfer=False" in few.output, "the KL decision is in the console log"
    assert M.POLICY_LOSS in few.metrics and M.KL_TO_REFERENCE not in few.metrics
    assert set(_values(few, M.KL_BETA)) == {0.0}
    assert min(few.metrics[M.TEST_WIN_RATE]["steps"]) >= step, "EPyMARL resumes t_env at the checkpoint's step"
    assert few.env_steps() >= step + FEW_SHOT_STEPS
    evaluations = _values(few, M.TEST_RETURN)
    assert len(evaluations) >= 3

    # The report over those Sacred folders: win rate (figures) and return (non-trivial numbers).
    sacred = installed / "results" / "sacred"
    out = tmp_path / "report"
    assert cli.main(["report", str(sacred), "--out", str(out)]) == 0
    for figure in (f"win_rate_{TARGET}.png", f"win_rate_{SOURCE}.png", f"win_rate_{OTHER_TYPES}.png"):
        assert (out / figure).stat().st_size > 5000, figure
    assert (out / f"entropy_{TARGET}.png").is_file() and (out / f"kl_{SOURCE}.png").is_file()
    row = _csv_row(out / "transfer.csv")
    assert float(row["zero_shot_mean"]) == pytest.approx(np.mean(_values(zero, M.TEST_WIN_RATE)), abs=1e-6)
    assert float(row["jumpstart_mean"]) == pytest.approx(_values(few, M.TEST_WIN_RATE)[0], abs=1e-6)
    assert float(row["asymptote_mean"]) == pytest.approx(np.mean(_values(few, M.TEST_WIN_RATE)[-5:]), abs=1e-6)
    assert f"| {SOURCE} -> {TARGET} | lolm_mappo |" in (out / "transfer.md").read_text()

    returns = tmp_path / "report_returns"
    assert cli.main(["report", str(sacred), "--out", str(returns), "--metric", M.TEST_RETURN, "--last-k", "2"]) == 0
    row = _csv_row(returns / "transfer.csv")
    assert float(row["zero_shot_mean"]) == pytest.approx(np.mean(_values(zero, M.TEST_RETURN)), rel=1e-5)
    assert float(row["jumpstart_mean"]) == pytest.approx(evaluations[0], rel=1e-5)
    assert float(row["asymptote_mean"]) == pytest.approx(np.mean(evaluations[-2:]), rel=1e-5)
    assert float(row["few_shot_seeds"]) == 1 and float(row["zero_shot_seeds"]) == 1
    mmm_rows = [r for r in csv.DictReader((returns / "transfer.csv").open()) if r["target_map"] == OTHER_TYPES]
    assert float(mmm_rows[0]["zero_shot_mean"]) == pytest.approx(np.mean(_values(mmm, M.TEST_RETURN)), rel=1e-5)
    capsys.readouterr()
