"""End to end through EPyMARL's real, unmodified `src/main.py` on SMAClite with a tiny model.

Needs EPYMARL_PATH and SMAClite (skipped with a reason otherwise); installs into a private copy of
the checkout and a private user site, never into EPYMARL_PATH or the real site-packages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from epymarl_llm import metric_names as M
from epymarl_llm.epymarl import install as inst

from .conftest import user_site
from .epymarl_runs import run_main

pytestmark = pytest.mark.slow

# A short 3s5z run: episodes cut at 40 steps, two envs in parallel, a test every 150 steps. On a
# shared 2-core CPU the tiny model runs ~5 env steps/s with training (SDPA over ~600-token prompts
# dominates), so 300 steps keep the three runs of this test near two minutes. One torch thread:
# OpenMP teams spin badly when the cores are oversubscribed.
TINY_RUN = {
    "env_args.map_name": "3s5z",
    "env_args.time_limit": 40,
    "t_max": 300,
    "runner": "lolm_parallel",
    "batch_size_run": 2,
    "batch_size": 2,
    "buffer_size": 2,
    "test_nepisode": 2,
    "test_interval": 150,
    "log_interval": 100,
    "runner_log_interval": 100,
    "learner_log_interval": 100,
    "epochs": 1,
    "use_cuda": False,
    "llm_cpu_threads": 1,
    "kl_anneal_steps": 600,
}


@pytest.fixture
def installed(epymarl_copy, user_base):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    inst.install(epymarl_copy, site_dir=user_site(user_base))
    return epymarl_copy


def _checkpoint_dirs(checkout: Path) -> list[Path]:
    return sorted((checkout / "results" / "models").glob("*/*"), key=lambda p: int(p.name))


def test_lolm_mappo_trains_logs_saves_and_reloads_and_mappo_still_runs(installed, user_base, tiny_model_dir):
    run = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {
            **TINY_RUN,
            "llm_model": str(tiny_model_dir),
            "save_model": True,
            "save_model_interval": 150,
            "progress_interval_s": 0.5,  # progress lines within the update too
        },
    )
    assert run.run["status"] == "COMPLETED"
    metrics = run.metrics
    for key in (M.TEST_WIN_RATE, M.TEST_RETURN, M.KL_TO_REFERENCE, M.KL_BETA, M.POLICY_LOSS, M.ENTROPY):
        assert key in metrics and metrics[key]["values"], f"{key} missing from Sacred metrics"
    assert run.env_steps() >= TINY_RUN["t_max"]
    betas = metrics[M.KL_BETA]["values"]
    assert betas[0] > 0 and betas[-1] <= betas[0], "beta starts positive and anneals (eqs. 9-10)"

    samples = run.info["lolm_sample_prompts"]
    assert 1 <= len(samples) <= 3 and all(len(s["text"]) <= 4000 + 40 for s in samples)
    assert (run.dir / "sample_prompts.txt").is_file(), "sample prompts are a Sacred artifact"
    header = (run.dir / "sample_prompts.txt").read_text().splitlines()[0]
    assert header == f"===== map 3s5z, env 0, step 0, agent {samples[0]['agent']} =====", header
    assert run.info["lolm_map"] == {
        "map_name": "3s5z",
        "n_agents": 8,
        "n_enemies": 8,
        "ally_units": ["Stalker"] * 3 + ["Zealot"] * 5,
        "enemy_units": ["Stalker"] * 3 + ["Zealot"] * 5,
    }

    checkpoints = _checkpoint_dirs(installed)
    assert checkpoints, "save_model=True wrote no checkpoint"
    newest = checkpoints[-1]
    files = {p.name for p in newest.iterdir()}
    assert {"adapter_model.safetensors", "action_head.safetensors", "lolm_run.json", "critic.th"} <= files
    backbone = sum(p.stat().st_size for p in Path(tiny_model_dir).glob("*.safetensors"))
    assert "model.safetensors" not in files
    assert (newest / "adapter_model.safetensors").stat().st_size < backbone / 4, "LoRA only, never the backbone"

    # The console says what happened: a line after each test, progress within the update, a summary.
    assert "update at t_env " in run.output and ", minibatch " in run.output
    test_lines = [line for line in run.output.splitlines() if "test at t_env" in line and "| wall " in line]
    assert len(test_lines) >= 2 and all("win rate " in line and "KL to reference " in line for line in test_lines)
    summary = run.output[run.output.rindex("Run summary at t_env") :].splitlines()
    assert summary[1].startswith("  test at t_env ") and "agent-steps/s: rollout " in summary[3]
    assert summary[5] == f"  Sacred run: {run.dir}"
    assert summary[6].startswith("  checkpoint: /") and summary[6].endswith(f"/{newest.parent.name}/{newest.name}")

    # Zero-shot style evaluation from the checkpoint: EPyMARL's checkpoint_path + evaluate.
    evaluated = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {**TINY_RUN, "llm_model": str(tiny_model_dir), "checkpoint_path": str(newest.parent), "evaluate": True},
    )
    assert evaluated.run["status"] == "COMPLETED"
    assert evaluated.info["transfer_source_map"] == "3s5z"
    assert M.TEST_WIN_RATE in evaluated.metrics
    assert "Loading model from" in evaluated.output
    assert "Run summary at t_env" in evaluated.output and "win rate " in evaluated.output

    # The built-in algorithm in the same, installed checkout.
    mappo = run_main(
        installed,
        user_base,
        "mappo",
        {
            "env_args.map_name": "3s5z",
            "env_args.time_limit": 40,
            "t_max": 300,
            "batch_size_run": 2,
            "test_nepisode": 2,
            "use_cuda": False,
        },
    )
    assert mappo.run["status"] == "COMPLETED" and M.TEST_RETURN in mappo.metrics


def test_top_layer_lora_with_int8_frozen_layers_and_lr_warmup_runs_in_epymarl(installed, user_base, tiny_model_dir):
    """The CPU speed levers and the warm-up through EPyMARL's main.py: the rollout keeps the int8 lower
    layers' output for the learner, and the policy's lr ramps up over its first optimiser steps."""
    run = run_main(
        installed,
        user_base,
        "lolm_mappo",
        {
            **TINY_RUN,
            "t_max": 150,
            "llm_model": str(tiny_model_dir),
            "llm_dtype": "float32",
            "lora_layers": 1,
            "lower_layers_int8": True,
            "lr_warmup_steps": 100,
            "learner_log_interval": 0,
        },
    )
    assert run.run["status"] == "COMPLETED"
    lrs = run.metrics[M.POLICY_LR]["values"]
    lr = run.config["lr"]
    assert lrs[0] == pytest.approx(lr / 100) and all(a < b for a, b in zip(lrs, lrs[1:], strict=False))
    assert M.TEST_WIN_RATE in run.metrics
