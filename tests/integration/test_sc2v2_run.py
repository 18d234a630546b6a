"""`--env-config=sc2v2`: the runner's layout check and `lolm_mac` on rows SMACv2's own code writes.

StarCraft II cannot run here, so the env is the one EPyMARL's own EpisodeRunner builds (its
SMACv2Wrapper around SMACv2's StarCraftCapabilityEnvWrapper, never launched), with units placed by
tests/prompts/sc2v2_oracle.py.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
import yaml

from tests.prompts.sc2v2_oracle import Unit, place_units, smacv2

from .conftest import epymarl_source
from .test_configs import CONFIG_DIR

SCENARIO = "protoss_5_vs_5"


@pytest.fixture(scope="module")
def epymarl_src():
    src = str(epymarl_source() / "src")
    smacv2()
    sys.path.insert(0, src)
    from epymarl_llm.epymarl import register

    register()
    import envs.smacv2_wrapper  # noqa: F401  (what EPyMARL's runners import for sc2v2)

    yield src
    sys.path.remove(src)


def _run_args(tiny_model_dir, **env_args):
    """Sacred's args of `--config=lolm_mappo --env-config=sc2v2 with env_args.map_name=... <env_args>`."""
    config = yaml.safe_load((CONFIG_DIR / "lolm_mappo.yaml").read_text())
    sc2v2 = yaml.safe_load((epymarl_source() / "src" / "config" / "envs" / "sc2v2.yaml").read_text())
    args = {**sc2v2["env_args"], "map_name": SCENARIO, "seed": 0, **env_args}  # run.py adds the seed
    return SimpleNamespace(
        **{
            **config,
            "llm_model": str(tiny_model_dir),
            "env": "sc2v2",
            "env_args": args,
            "use_cuda": False,
            "device": "cpu",
            "test_greedy": True,
            "batch_size_run": 1,
            "common_reward": True,
            "reward_scalarisation": "sum",
            "llm_cpu_threads": 1,
            "gamma": 0.99,
            "add_value_last_step": True,
            "grad_norm_clip": 10,
            "learner_log_interval": 1000,
        }
    )


def _runner(args):
    """EPyMARL's EpisodeRunner with the plugin's mixin: it builds SMACv2's env (no game is launched)."""
    import logging

    from runners import REGISTRY as runner_registry

    logger = SimpleNamespace(sacred_info={}, console_logger=logging.getLogger("test_sc2v2"))
    return runner_registry["lolm_episode"](args=args, logger=logger)


@pytest.fixture(scope="module")
def live(epymarl_src, tiny_model_dir):
    args = _run_args(tiny_model_dir)
    runner = _runner(args)
    allies = [
        Unit("Colossus", 12, 16),
        Unit("Stalker", 13, 14, health=0.5),
        Unit("Stalker", 11, 18),
        Unit("Zealot", 12, 12),
        Unit("Zealot", 10, 15, health=0.0),
    ]
    enemies = [
        Unit("Zealot", 17, 16),
        Unit("Stalker", 18, 14),
        Unit("Colossus", 19, 18),
        Unit("Zealot", 26, 16),
        Unit("Stalker", 17, 12, health=0.3),
    ]
    env = place_units(runner.env.env.env, allies, enemies)  # SMACv2Wrapper -> capability wrapper -> StarCraft2Env
    env.obs_enemies[:] = 1
    env.enemy_tags = [0] * env.n_enemies
    return runner, args, allies, enemies


def test_runner_layout_check_accepts_the_scenario_and_names_the_fix_for_ignored_overrides(live, tiny_model_dir):
    runner, args, _, _ = live
    layout = args.lolm_layout
    assert layout is runner.layout
    assert (layout.env, layout.map_name, layout.obs_size, layout.state_size) == ("sc2v2", SCENARIO, 92, 130)
    same = yaml.safe_load(
        (epymarl_source() / "src" / "config" / "envs" / "smacv2_configs" / f"{SCENARIO}.yaml").read_text()
    )["env_args"]["capability_config"]
    assert _runner(_run_args(tiny_model_dir, capability_config=same)).layout.obs_size == 92
    # EPyMARL's SMACv2Wrapper builds the env from the scenario file alone: an override is an error
    with pytest.raises(ValueError, match="copy of that file"):
        _runner(_run_args(tiny_model_dir, capability_config={**same, "n_units": 10, "n_enemies": 10}))
    with pytest.raises(ValueError, match="obs_own_pos"):
        _runner(_run_args(tiny_model_dir, obs_own_pos=False))


def test_controller_accepts_smacv2_batches_and_names_the_live_episodes_units(live, tiny_model_dir):
    import torch
    from components.episode_buffer import EpisodeBatch
    from controllers import REGISTRY as mac_registry

    from epymarl_llm.critic.state_tokens import StateTokenizer
    from epymarl_llm.prompts.sc2v2_run import episode_units

    runner, args, allies, enemies = live
    info = runner.get_env_info()
    args.n_agents, args.n_actions, args.state_shape = info["n_agents"], info["n_actions"], info["state_shape"]
    env = runner.env  # EPyMARL's SMACv2Wrapper
    n = info["n_agents"]
    scheme = {
        "state": {"vshape": info["state_shape"]},
        "obs": {"vshape": info["obs_shape"], "group": "agents"},
        "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
        "avail_actions": {"vshape": (info["n_actions"],), "group": "agents", "dtype": torch.int},
        "terminated": {"vshape": (1,), "dtype": torch.uint8},
        "reward": {"vshape": (1,)},
    }
    mac = mac_registry["lolm_mac"](scheme, {"agents": n}, args)
    obs, avail, state = env.get_obs(), env.get_avail_actions(), env.get_state()
    batch = EpisodeBatch(scheme, {"agents": n}, 2, 5, device="cpu")
    batch.update({"obs": [obs] * 2, "avail_actions": [avail] * 2, "state": [state] * 2}, ts=0)
    probs = mac.forward(batch, t=0)
    assert probs.shape == (2, n, info["n_actions"])
    assert torch.allclose(probs.sum(-1), torch.ones(2, n))
    assert (probs[batch["avail_actions"][:, 0] == 0] == 0).all()
    assert probs[0, 4, 0] == 1  # agent 4 is dead: only no-op

    # the names in the prompts are the live episode's, as SMACv2's get_unit_type_id reads them
    live_allies, live_enemies = episode_units(env)
    assert live_allies == tuple(u.name for u in allies) and live_enemies == tuple(u.name for u in enemies)
    texts = mac.sample_prompts(batch["obs"][0, 0], batch["avail_actions"][0, 0], n, 10_000)
    by_agent = {int(t.split("Self: Ally ")[1].split(" ")[0]): t for t in texts}
    for a, text in by_agent.items():
        if a != 4:
            assert f"Self: Ally {a} ({live_allies[a]})" in text
        for j, name in enumerate(live_enemies):
            assert f"Enemy {j} (" not in text or f"Enemy {j} ({name})" in text
    assert "Both teams are Protoss" in texts[0]

    # the critic cuts the SMACv2 state into its unit tokens
    tokens = StateTokenizer(args.lolm_layout.state.entities)(batch["state"][:, 0])
    assert tokens.features.shape[:2] == (2, n + len(enemies))
    assert tokens.live[0].tolist() == [True] * 4 + [False] + [True] * 5
