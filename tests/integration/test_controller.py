"""`lolm_mac` on real SMAClite observations with EPyMARL's EpisodeBatch and a tiny model."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import yaml

from .conftest import epymarl_source
from .test_configs import CONFIG_DIR


@pytest.fixture(scope="module")
def epymarl_src():
    src = str(epymarl_source() / "src")
    pytest.importorskip("smaclite", reason="SMAClite is not installed")
    sys.path.insert(0, src)
    from epymarl_llm.epymarl import register

    register()
    yield src
    sys.path.remove(src)


@pytest.fixture(scope="module")
def setup(epymarl_src, tiny_model_dir):
    import torch
    from components.episode_buffer import EpisodeBatch
    from envs import REGISTRY as env_registry

    from epymarl_llm.prompts import load_map_layout

    env_args = {"map_name": "3s5z", "time_limit": 40, "use_cpp_rvo2": False, "seed": 0}
    env = env_registry["smaclite"](**env_args, common_reward=True, reward_scalarisation="sum")
    info = env.get_env_info()
    config = yaml.safe_load((CONFIG_DIR / "lolm_mappo.yaml").read_text())
    args = SimpleNamespace(
        **{
            **config,
            "llm_model": str(tiny_model_dir),
            "env": "smaclite",
            "env_args": env_args,
            "use_cuda": False,
            "device": "cpu",
            "test_greedy": True,
            "n_agents": info["n_agents"],
            "n_actions": info["n_actions"],
            "state_shape": info["state_shape"],
            "learner_log_interval": 1000,
            "llm_cpu_threads": 1,
            "gamma": 0.99,
            "add_value_last_step": True,
            "grad_norm_clip": 10,
            "common_reward": True,
        }
    )
    args.lolm_layout = load_map_layout("3s5z", env="smaclite", env_args=env_args)
    scheme = {
        "state": {"vshape": info["state_shape"]},
        "obs": {"vshape": info["obs_shape"], "group": "agents"},
        "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
        "avail_actions": {"vshape": (info["n_actions"],), "group": "agents", "dtype": torch.int},
        "terminated": {"vshape": (1,), "dtype": torch.uint8},
        "reward": {"vshape": (1,)},
    }
    from controllers import REGISTRY as mac_registry

    mac = mac_registry["lolm_mac"](scheme, {"agents": info["n_agents"]}, args)
    env.reset()
    batch = EpisodeBatch(scheme, {"agents": info["n_agents"]}, 3, 41, device="cpu")
    obs, avail = env.get_obs(), env.get_avail_actions()
    batch.update({"obs": [obs] * 3, "avail_actions": [avail] * 3, "state": [env.get_state()] * 3}, ts=0)
    env.close()
    return mac, batch, args


def test_probabilities_have_epymarls_shape_and_respect_availability(setup):
    import torch

    mac, batch, args = setup
    probs = mac.forward(batch, t=0)
    assert probs.shape == (3, args.n_agents, args.n_actions) and probs.dtype == torch.float32
    assert torch.allclose(probs.sum(-1), torch.ones(3, args.n_agents))
    assert (probs[batch["avail_actions"][:, 0] == 0] == 0).all()


def test_one_encode_per_step_for_every_env_and_agent_and_dead_agents_skip_the_backbone(setup, monkeypatch):
    mac, batch, args = setup
    avail = batch["avail_actions"][:, 0].clone()
    avail[1, 2] = 0
    avail[1, 2, 0] = 1  # agent 2 of env 1 is dead: only no-op
    batch.update({"avail_actions": avail, "obs": batch["obs"][:, 0]}, ts=1)
    calls = []
    real_encode = mac.prompt_encoder.encode
    monkeypatch.setattr(
        mac.prompt_encoder, "encode", lambda o, a, ids, **kw: calls.append(len(ids)) or real_encode(o, a, ids, **kw)
    )
    probs = mac.forward(batch, t=1)
    assert calls == [3 * args.n_agents - 1]
    assert probs[1, 2, 0] == 1 and probs[1, 2, 1:].sum() == 0


def test_the_controller_reports_each_step_to_the_runners_progress(setup, monkeypatch):
    """The stepping envs (`bs`) and their live agents go to `rollout_progress`; none set, none told."""
    from epymarl_llm.epymarl.progress import RolloutProgress

    mac, batch, args = setup
    avail = batch["avail_actions"][:, 0].clone()
    avail[2, 1] = 0
    avail[2, 1, 0] = 1  # agent 1 of env 2 is dead
    batch.update({"avail_actions": avail, "obs": batch["obs"][:, 0]}, ts=1)
    monkeypatch.setattr(mac, "rollout_progress", None)
    mac.select_actions(batch, t_ep=1, t_env=0, bs=[0, 2])  # no progress: nothing to tell
    lines = []
    progress = RolloutProgress(lines.append, n_envs=3, n_agents=args.n_agents, interval_s=30)
    monkeypatch.setattr(mac, "rollout_progress", progress)
    mac.select_actions(batch, t_ep=1, t_env=0, bs=[0, 2])
    assert (progress.env_steps, progress.agent_steps) == (2, 2 * args.n_agents - 1)
    assert lines[0].startswith("rollout started: 3 env(s)")


def test_test_mode_samples_by_default_as_epymarls_mappo_and_greedy_is_an_option(setup, monkeypatch):
    """mappo's soft_policies samples at test time whatever test_greedy says; so does lolm_mac by default."""
    import torch

    mac, batch, args = setup
    assert args.test_actions == "sample" and args.test_greedy is True  # the env yamls' test_greedy is ignored
    probs = mac.forward(batch, t=0)
    # A flat policy over the available actions: sampling must differ from the argmax somewhere.
    avail = batch["avail_actions"][:, 0].float()
    monkeypatch.setattr(mac, "_probabilities", lambda obs, av: avail / avail.sum(-1, keepdim=True))
    torch.manual_seed(0)
    drawn = torch.stack([mac.select_actions(batch, t_ep=0, t_env=0, test_mode=True) for _ in range(20)])
    assert (avail.gather(-1, drawn.permute(1, 2, 0)) == 1).all()
    assert len(torch.unique(drawn[:, 0, 0])) > 1, "test mode must sample by default"
    monkeypatch.undo()
    assert mac.test_greedy is False
    monkeypatch.setattr(mac, "test_greedy", True)  # what test_actions=greedy sets
    greedy = mac.select_actions(batch, t_ep=0, t_env=0, test_mode=True)
    assert torch.equal(greedy, probs.argmax(-1))
    monkeypatch.undo()
    torch.manual_seed(0)
    sampled = mac.select_actions(batch, t_ep=0, t_env=0, bs=[0, 2], test_mode=False)
    assert sampled.shape == (2, args.n_agents)
    assert (batch["avail_actions"][[0, 2], 0].gather(-1, sampled.unsqueeze(-1)) == 1).all()


def test_test_actions_key_is_checked():
    from epymarl_llm.run_config import IntegrationConfig, RunConfigError

    assert IntegrationConfig(test_actions="greedy").test_actions == "greedy"
    with pytest.raises(RunConfigError, match="test_actions must be one of 'sample', 'greedy'"):
        IntegrationConfig(test_actions="argmax")


def test_sample_prompts_are_decoded_and_cut(setup):
    mac, batch, _ = setup
    texts = mac.sample_prompts(batch["obs"][0, 0], batch["avail_actions"][0, 0], 2, 120)
    assert len(texts) == 2 and all(len(t) <= 120 + 30 for t in texts)


def test_save_and_load_round_trip_records_the_source_map(setup, tmp_path):
    import json

    import torch

    mac, batch, _ = setup
    mac.save_models(str(tmp_path))
    assert json.loads((tmp_path / "lolm_run.json").read_text())["map_name"] == "3s5z"
    before = mac.forward(batch, t=0)
    with torch.no_grad():
        for p in mac.parameters():
            if p.requires_grad:
                p.add_(0.1)
    mac.load_models(str(tmp_path))
    assert torch.allclose(mac.forward(batch, t=0), before, atol=1e-6)
    assert mac.checkpoint_manifest.map_name == "3s5z" and mac.checkpoint_manifest.n_agents == 8
    assert mac.load_plan.kind.phrase == "resumed training" and mac.load_plan.source_map == "3s5z"
