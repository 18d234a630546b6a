"""SMACv2's own `StarCraft2Env.get_obs_agent` / `get_state` on hand-placed units, without StarCraft II.

The env is built by SMACv2's `StarCraftCapabilityEnvWrapper` from a scenario's env args, given a
flat 32 x 32 pathable map, a stand-in game controller (only `data().units`, which
`_init_ally_unit_types` counts) and fake unit records (the pysc2 raw-unit fields SMACv2 reads), so
real SMACv2 code writes the rows the tests decode.
"""

from __future__ import annotations

import copy
import os
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

from tests.prompts.sc2_oracle import ENEMY_TYPE_IDS, Unit, flat_map, unit_record  # noqa: E402

__all__ = ["Unit", "observe", "place_units", "sc2v2_env", "smacv2"]
N_GAME_UNITS = 2000  # any count: SMACv2's RL unit ids are the last 9 of the game's unit list


def smacv2():
    pytest.importorskip("pysc2", reason="SMACv2 needs pysc2 (pip install pysc2)")
    return pytest.importorskip(
        "smacv2.env.starcraft2.wrapper", reason="SMACv2 (oxwhirl/smacv2, from its repository) is not installed"
    )


def sc2v2_env(env_args: dict, allies: list[Unit], enemies: list[Unit], attack=None, health=None, fov=None):
    """StarCraftCapabilityEnvWrapper(**env_args) with these units placed, as after reset."""
    mod = smacv2()
    wrapper = mod.StarCraftCapabilityEnvWrapper(**copy.deepcopy(env_args))
    return place_units(wrapper.env, allies, enemies, attack, health, fov)


def place_units(env, allies: list[Unit], enemies: list[Unit], attack=None, health=None, fov=None):
    """SMACv2's StarCraft2Env `env` (built, never launched) with these units, as after reset."""
    flat_map(env)
    env._controller = SimpleNamespace(data=lambda: SimpleNamespace(units=[None] * N_GAME_UNITS))
    env._init_ally_unit_types(0)

    def record(u: Unit, type_id: int):
        return unit_record(
            u,
            type_id,
            energy=u.cooldown * 200.0,
            weapon_cooldown=u.cooldown * env.unit_max_cooldown(SimpleNamespace(unit_type=type_id)),
        )

    env.agents = {i: record(u, env.ally_unit_map[u.name.lower()]) for i, u in enumerate(allies)}
    env.enemies = {j: record(u, ENEMY_TYPE_IDS[u.name]) for j, u in enumerate(enemies)}
    n, m = env.n_agents, env.n_enemies
    env._episode_steps = 7
    env.obs_enemies = np.zeros((m, n))
    env.enemy_tags = [None] * m
    env.death_tracker_ally, env.death_tracker_enemy = np.zeros(n), np.zeros(m)
    env.agent_attack_probabilities = np.asarray(attack if attack is not None else np.zeros(n))
    env.agent_health_levels = np.asarray(health if health is not None else np.zeros(n))
    env.enemy_mask, env.mask_enemies = None, False
    env.fov_directions = np.asarray(fov, dtype=float) if fov is not None else np.tile([1.0, 0.0], (n, 1))
    env.last_action = np.zeros((n, env.n_actions))
    return env


def observe(env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(obs (n_agents, obs_size), state (state_size,), avail (n_agents, n_actions)) as SMACv2 computes them."""
    obs = np.stack([np.asarray(env.get_obs_agent(a), dtype=np.float32) for a in range(env.n_agents)])
    return obs, np.asarray(env.get_state(), dtype=np.float32), np.asarray(env.get_avail_actions(), dtype=np.int64)
