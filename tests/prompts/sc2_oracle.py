"""SMAC's own `StarCraft2Env.get_obs_agent` / `get_state` on hand-placed units, without StarCraft II.

The env is built from its map registry and given a flat 32 x 32 pathable map and fake unit records
(the fields SMAC reads from pysc2's raw units), so real SMAC code writes the rows the tests decode.
`sc2v2_oracle` places units the same way in SMACv2's env (`Unit`, `flat_map`, `unit_record`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

from epymarl_llm.prompts.sc2_maps import SC2_MAPS  # noqa: E402

ENEMY_TYPE_IDS = {
    "Marine": 48,
    "Marauder": 51,
    "Medivac": 54,
    "Zealot": 73,
    "Stalker": 74,
    "Colossus": 4,
    "Zergling": 105,
    "Baneling": 9,
    "Hydralisk": 107,
    "Spine Crawler": 98,
}  # pysc2.lib.units
MAX_SHIELD = {"Stalker": 80, "Zealot": 50, "Colossus": 150}  # StarCraft2Env.unit_max_shield
ALLY_MIN_TYPE = 1970


@dataclass
class Unit:
    """A unit placed by a test: name, position, health/shield/cooldown as fractions (0 health = dead).

    SMAC's records here have no weapon cooldown (`cooldown` is read by the SMACv2 oracle only).
    """

    name: str
    x: float
    y: float
    health: float = 1.0
    shield: float = 1.0
    cooldown: float = 0.0
    extra: dict = field(default_factory=dict)


def flat_map(env) -> None:
    """A flat, everywhere pathable 32 x 32 map: what SMAC would read from the game's map info."""
    env.map_x = env.map_y = 32
    env.max_distance_x = env.max_distance_y = 32
    env.pathing_grid = np.ones((32, 32), dtype=bool)
    env.terrain_height = np.zeros((32, 32))


def unit_record(u: Unit, type_id: int, weapon_cooldown: float = 0.0, energy: float = 50.0) -> SimpleNamespace:
    """The pysc2 raw-unit fields SMAC and SMACv2 read, for unit `u` of game type `type_id`."""
    max_shield = MAX_SHIELD.get(u.name, 0)
    return SimpleNamespace(
        unit_type=type_id,
        health=u.health * 100.0,
        health_max=100.0,
        shield=u.shield * max_shield,
        shield_max=max_shield,
        pos=SimpleNamespace(x=u.x, y=u.y, z=0.0),
        weapon_cooldown=weapon_cooldown,
        energy=energy,
    )


def sc2_env(map_name: str, allies: list[Unit], enemies: list[Unit], **env_args):
    smac_env = pytest.importorskip("smac.env", reason="SMAC (oxwhirl/smac) is not installed")
    env = smac_env.StarCraft2Env(map_name=map_name, **env_args)
    spec = SC2_MAPS[map_name]
    flat_map(env)
    env._init_ally_unit_types(ALLY_MIN_TYPE)
    bits = spec.ally_type_names or (spec.ally_units[0],)
    env.agents = {i: unit_record(u, ALLY_MIN_TYPE + bits.index(u.name)) for i, u in enumerate(allies)}
    env.enemies = {j: unit_record(u, ENEMY_TYPE_IDS[u.name]) for j, u in enumerate(enemies)}
    env._episode_steps = 0
    return env


def observe(env) -> tuple[np.ndarray, np.ndarray]:
    """(obs (n_agents, obs_size), avail (n_agents, n_actions)) as SMAC computes them."""
    return np.asarray(env.get_obs(), dtype=np.float32), np.asarray(env.get_avail_actions(), dtype=np.int64)
