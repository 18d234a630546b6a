"""LEED end to end: `epymarl-llm demos generate` through EPyMARL's env, then mappo_leed, its
ablation and lolm_leed through EPyMARL's real `src/main.py`; and the expert loss on EPyMARL's own
RNN agent. Needs EPYMARL_PATH and SMAClite (skipped with a reason otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from epymarl_llm.epymarl import install as inst

from .conftest import REPO_ROOT, epymarl_source, subprocess_env, user_site
from .epymarl_runs import run_main

MAP = "2s3z"
SHORT = {
    "env_args.map_name": MAP,
    "env_args.time_limit": 20,
    "t_max": 60,
    "batch_size_run": 1,
    "batch_size": 1,
    "buffer_size": 1,
    "test_nepisode": 1,
    "test_interval": 1000,
    "log_interval": 20,
    "runner_log_interval": 20,
    "learner_log_interval": 1,
    "epochs": 1,
    "use_cuda": False,
}


@pytest.fixture
def installed(epymarl_copy, user_base, monkeypatch):
    pytest.importorskip("smaclite", reason="SMAClite is not installed: pip install it from uoe-agents/smaclite")
    monkeypatch.setattr(inst, "configs_dir", lambda: REPO_ROOT / "config")  # this tree's yamls
    inst.install(epymarl_copy, site_dir=user_site(user_base))
    return epymarl_copy


def _generate(checkout: Path, user_base: Path, out: Path, *extra: str) -> dict:
    argv = [
        sys.executable,
        "-m",
        "epymarl_llm_tools",
        "demos",
        "generate",
        "--epymarl",
        str(checkout),
        "--map",
        MAP,
        "--env-arg",
        "time_limit=20",
        "--episodes",
        "2",
        "--batch-episodes",
        "1",
        "--out",
        str(out),
        "--json",
        *extra,
    ]
    proc = subprocess.run(argv, env=subprocess_env(user_base), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.long  # a research-sized run: `make long` (excluded from the default run and CI: see CONTRIBUTING)
def test_demos_then_mappo_leed_and_its_ablation_through_main(installed, user_base, tmp_path):
    demos = tmp_path / "demos"
    stats = _generate(installed, user_base, demos)
    manifest = json.loads((demos / "manifest.json").read_text())
    assert manifest["batches"] == ["batch_00000.npz", "batch_00001.npz"] and manifest["map_name"] == MAP
    assert stats["validity_rate"] == 1.0 and stats["episodes"] == 2 and stats["mean_return"] > 0

    run = run_main(installed, user_base, "mappo_leed", {**SHORT, "demo_path": str(demos)})
    metrics = run.metrics
    for key in ("leed_loss", "leed_weight", "leed_similarity", "leed_agreement"):
        assert key in metrics, sorted(metrics)
    assert metrics["leed_weight"]["values"][0] == 1.0
    assert run.info["leed_demos"]["episodes"] == 2

    ablation = run_main(installed, user_base, "mappo_leed_no_demo", SHORT)
    assert "leed_loss" not in ablation.metrics and "pg_loss" in ablation.metrics


@pytest.mark.slow
@pytest.mark.long  # a research-sized run: `make long` (excluded from the default run and CI: see CONTRIBUTING)
def test_lm_demonstrations_and_lolm_leed_through_main(installed, user_base, tmp_path, tiny_model_dir):
    demos = tmp_path / "demos"
    stats = _generate(
        installed, user_base, demos, "--demonstrator", "lm", "--model", str(tiny_model_dir), "--max-new-tokens", "3"
    )
    assert stats["validity_rate"] < 1.0 and stats["invalid_answers"] > 0  # a random tiny LM answers garbage
    run = run_main(
        installed,
        user_base,
        "lolm_leed",
        {
            **SHORT,
            "t_max": 30,
            "runner": "lolm_episode",
            "llm_model": str(tiny_model_dir),
            "llm_cpu_threads": 1,
            "demo_path": str(demos),
            "demo_batch_episodes": 1,
            "demo_weighting": "dynamic",
        },
    )
    assert "leed_loss" in run.metrics and "leed_similarity" in run.metrics


def test_a_run_without_demo_path_stops_with_the_fix(installed, user_base):
    with pytest.raises(AssertionError, match="set demo_path=DIR"):
        run_main(installed, user_base, "mappo_leed", SHORT)


def test_expert_loss_raises_demonstrated_actions_for_epymarls_rnn_agent(tmp_path):
    src = str(epymarl_source() / "src")
    sys.path.insert(0, src)
    try:
        from controllers.basic_controller import BasicMAC

        from epymarl_llm.leed.config import LeedConfig
        from epymarl_llm.leed.demo_policies import RnnDemoPolicy
        from epymarl_llm.leed.expert_loss import ExpertLoss

        sys.path.insert(0, str(REPO_ROOT / "tests" / "leed"))
        from helpers import demo_episodes

        demos = demo_episodes(n_episodes=2, length=4)
        n, a, obs = demos.n_agents, demos.n_actions, demos.obs.shape[-1]
        scheme = {
            "obs": {"vshape": obs, "group": "agents"},
            "state": {"vshape": 120},
            "avail_actions": {"vshape": (a,), "group": "agents", "dtype": torch.int},
            "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
            "actions_onehot": {"vshape": (a,), "group": "agents", "dtype": torch.float32},
            "reward": {"vshape": (1,)},
            "terminated": {"vshape": (1,), "dtype": torch.uint8},
            "filled": {"vshape": (1,), "dtype": torch.long},
        }
        args = SimpleNamespace(
            n_agents=n,
            n_actions=a,
            agent="rnn",
            hidden_dim=32,
            obs_agent_id=True,
            obs_last_action=False,
            obs_individual_obs=False,
            agent_output_type="pi_logits",
            action_selector="soft_policies",
            mask_before_softmax=True,
            use_rnn=True,
            use_cuda=False,
            epsilon_start=0.0,
            epsilon_finish=0.0,
            epsilon_anneal_time=1,
            test_greedy=True,
        )
        torch.manual_seed(0)
        mac = BasicMAC(scheme, {"agents": n}, args)
        loss = ExpertLoss(LeedConfig(demo_path="x", demo_batch_episodes=2), demos, RnnDemoPolicy(mac, scheme, n))
        optimiser = torch.optim.Adam(mac.parameters(), lr=1e-2)
        first = loss.accumulate(0)
        for _ in range(20):
            optimiser.step()
            optimiser.zero_grad()
            last = loss.accumulate(0)
        assert last.similarity > first.similarity + 0.2, (first, last)
    finally:
        sys.path.remove(src)
