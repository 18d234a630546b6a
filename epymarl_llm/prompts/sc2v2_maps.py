"""SMACv2's scenarios as data: the facts of `StarCraftCapabilityEnvWrapper` that fix a layout.

SMACv2 (oxwhirl/smacv2) draws a new team every episode (`capability_config.team_gen`), so a
scenario fixes its sizes, race and type-bit meaning, not which agent is which unit. Sizes follow
`smacv2/env/starcraft2/maps/smac_maps.py` (the `10gen_*` maps: limit 200, 3 type bits) and
`StarCraft2Env.__init__`; the type-bit order follows `StarCraft2Env.get_unit_type_id`, not the
order a scenario lists its unit types in (zerg: Zergling 0, Hydralisk 1, Baneling 2).
`SC2V2_SCENARIOS` mirrors EPyMARL's `src/config/envs/smacv2_configs/*.yaml`; the test
tests/prompts/test_sc2v2_layout.py checks every row against those files and SMACv2's own code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .map_spec import UNKNOWN_UNIT, MapSpec

# map_type: (race, type-bit names in get_unit_type_id order)
SC2V2_RACES: dict[str, tuple[str, tuple[str, ...]]] = {
    "protoss_gen": ("P", ("Stalker", "Zealot", "Colossus")),
    "terran_gen": ("T", ("Marine", "Marauder", "Medivac")),
    "zerg_gen": ("Z", ("Zergling", "Hydralisk", "Baneling")),
}
RACE_NAMES = {"P": "Protoss", "T": "Terran", "Z": "Zerg"}
# SMACv2's map registry (map_name: map_type, episode limit); all are 32 x 32 flat maps.
SC2V2_MAPS: dict[str, tuple[str, int]] = {
    "10gen_protoss": ("protoss_gen", 200),
    "10gen_terran": ("terran_gen", 200),
    "10gen_zerg": ("zerg_gen", 200),
}
# StarCraft2Env._init_ally_unit_types numbers the RL ally units in this (alphabetical) order from
# `_min_unit_type`; init_units sorts allies by unit_type, then x, then y, so this is agent order.
ALLY_ID_ORDER = ("baneling", "colossus", "hydralisk", "marauder", "marine", "medivac", "stalker", "zealot", "zergling")

# Env args every EPyMARL SMACv2 scenario yaml sets alike (those that matter to the layout or the
# prompt's reading of it).
_COMMON = {
    "obs_all_health": True,
    "obs_own_health": True,
    "obs_last_action": False,
    "obs_pathing_grid": False,
    "obs_terrain_height": False,
    "obs_timestep_number": False,
    "obs_instead_of_state": False,
    "state_last_action": True,
    "state_timestep_number": False,
    "obs_own_pos": True,
    "conic_fov": False,
    "num_fov_actions": 12,
    "use_unit_ranges": True,
    "min_attack_range": 2,
}
_TEAMS = {  # map: (unit_types as the yamls list them, weights, exception_unit_types)
    "10gen_protoss": (("stalker", "zealot", "colossus"), (0.45, 0.45, 0.1), ()),
    "10gen_terran": (("marine", "marauder", "medivac"), (0.45, 0.45, 0.1), ("medivac",)),
    "10gen_zerg": (("zergling", "baneling", "hydralisk"), (0.45, 0.1, 0.45), ("baneling",)),
}
_SIZES = ((5, 5), (10, 10), (10, 11), (20, 20), (20, 23))
_RACE_OF = {"protoss": "10gen_protoss", "terran": "10gen_terran", "zerg": "10gen_zerg"}


def _scenario(map_name: str, n_units: int, n_enemies: int) -> dict[str, Any]:
    units, weights, exceptions = _TEAMS[map_name]
    team_gen: dict[str, Any] = {
        "dist_type": "weighted_teams",
        "unit_types": list(units),
        "weights": list(weights),
        "observe": True,
    }
    if exceptions:
        team_gen["exception_unit_types"] = list(exceptions)
    return {
        **_COMMON,
        "map_name": map_name,
        "capability_config": {
            "n_units": n_units,
            "n_enemies": n_enemies,
            "team_gen": team_gen,
            "start_positions": {"dist_type": "surrounded_and_reflect", "p": 0.5, "map_x": 32, "map_y": 32},
        },
    }


# scenario name (EPyMARL's `env_args.map_name` with --env-config=sc2v2): its yaml's env_args
SC2V2_SCENARIOS: dict[str, dict[str, Any]] = {
    **{f"{race}_{a}_vs_{e}": _scenario(m, a, e) for race, m in _RACE_OF.items() for a, e in _SIZES},
    **{f"sc2_gen_{race}": _scenario(m, 5, 5) for race, m in _RACE_OF.items()},
}


@dataclass(frozen=True)
class Capabilities:
    """Which capability features `StarCraft2Env` adds (layout), from `capability_config`'s keys.

    `attack` / `health` add a column whether observed or zero-padded (`observe: False`); so do the
    teammates' type bits under `team_gen` with `observe: False` (then they stay zero).
    """

    attack: bool = False
    health: bool = False
    team_gen: bool = False
    observe_types: bool = True
    enemy_mask: bool = False
    start_positions: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Capabilities:
        known = {"n_units", "n_enemies", "team_gen", "attack", "health", "enemy_mask", "start_positions"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(
                f"capability_config has keys SMACv2 does not read: {sorted(unknown)}; "
                f"StarCraft2Env knows {sorted(known)}"
            )
        for key in ("attack", "health", "team_gen"):
            if key in config and "observe" not in config[key]:
                raise ValueError(f"capability_config.{key} needs 'observe: True|False' (StarCraft2Env reads it)")
        return cls(
            attack="attack" in config,
            health="health" in config,
            team_gen="team_gen" in config,
            observe_types=bool(config.get("team_gen", {}).get("observe", True)),
            enemy_mask="enemy_mask" in config,
            start_positions="start_positions" in config,
        )


def scenario_env_args(name: str, env_args: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The env args of scenario `name` (a deep copy), with the layout keys of `env_args` on top.

    Another `name` (a scenario file of the user's, or a SMACv2 map such as `10gen_protoss`) needs
    `env_args` with its own `capability_config` and, for a scenario, the SMACv2 `map_name`: that
    is StarCraftCapabilityEnvWrapper's own input.
    """
    from .errors import UnknownMapError

    env_args = dict(env_args or {})
    if name in SC2V2_SCENARIOS:
        args = copy.deepcopy(SC2V2_SCENARIOS[name])
        args.update({k: copy.deepcopy(v) for k, v in env_args.items() if k != "map_name"})
        return args
    if "capability_config" in env_args:  # a scenario file of its own, or the wrapper's input on a 10gen map
        return {
            **copy.deepcopy(_COMMON),
            **copy.deepcopy(env_args),
            "map_name": name if name in SC2V2_MAPS else env_args.get("map_name"),
        }
    from .sc2_maps import SC2_MAPS

    hint = " (a SMAC map: use env='sc2', --env sc2)" if name in SC2_MAPS else ""
    raise UnknownMapError(
        f"unknown SMACv2 scenario {name!r}{hint}; EPyMARL's smacv2_configs hold {', '.join(SC2V2_SCENARIOS)} "
        f"(or pass a capability_config with a SMACv2 map: {', '.join(SC2V2_MAPS)})"
    )


def build_spec(name: str, args: Mapping[str, Any]) -> tuple[MapSpec, Capabilities]:
    """The MapSpec of a SMACv2 scenario under full env args (`scenario_env_args`)."""
    map_name = args.get("map_name")
    if map_name not in SC2V2_MAPS:
        raise ValueError(
            f"SMACv2 scenario {name!r}: map_name {map_name!r} is none of SMACv2's generated maps "
            f"{', '.join(SC2V2_MAPS)}"
        )
    config = args.get("capability_config")
    if not isinstance(config, Mapping) or "n_units" not in config or "n_enemies" not in config:
        raise ValueError(
            f"SMACv2 scenario {name!r}: capability_config with n_units and n_enemies is required "
            "(StarCraftCapabilityEnvWrapper reads both)"
        )
    caps = Capabilities.from_config(config)
    if not caps.team_gen:
        raise ValueError(
            f"SMACv2 scenario {name!r}: capability_config.team_gen is required: without it "
            f"StarCraft2Env spawns no units of its own on {map_name}"
        )
    map_type, limit = SC2V2_MAPS[map_name]
    race, bits = SC2V2_RACES[map_type]
    n_agents, n_enemies = int(config["n_units"]), int(config["n_enemies"])
    for unit in config["team_gen"].get("unit_types", ()):
        if unit.capitalize() not in bits:
            raise ValueError(
                f"SMACv2 scenario {name!r}: unit type {unit!r} is not a {RACE_NAMES[race]} unit of "
                f"{map_name} (get_unit_type_id knows {', '.join(b.lower() for b in bits)})"
            )
    conic = bool(args.get("conic_fov", False))
    n_fov = int(args.get("num_fov_actions", 12)) if conic else 0
    # StarCraft2Env.__init__: a terran Medivac heals allies, so its target slots cover the larger side
    targets = n_agents if map_type == "terran_gen" and n_agents > n_enemies else n_enemies
    spec = MapSpec(
        name=name,
        env="sc2v2",
        ally_units=(UNKNOWN_UNIT,) * n_agents,
        enemy_units=(UNKNOWN_UNIT,) * n_enemies,
        ally_type_names=bits,
        enemy_type_names=bits,
        ally_shields=race == "P",
        enemy_shields=race == "P",
        n_actions=6 + n_fov + targets,
        episode_limit=limit,
        map_type=map_type,
        # every slot is UNKNOWN_UNIT until for_episode: an enemy whose bits SMACv2 hides (enemy_mask) stays so
        enemy_order_known=True,
        ally_order_known=False,
        n_fov_actions=n_fov,
    )
    return spec, caps


def draw_teams(args: Mapping[str, Any], rng: np.random.Generator) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """One episode's (ally, enemy) unit names, drawn as `WeightedTeamsDistribution.generate` does.

    Allies come in SMACv2's agent order (sorted by RL unit-type id, ALLY_ID_ORDER); enemies in
    creation order. For example prompts only: a run reads each episode's names from its env.
    """
    team_gen = args["capability_config"]["team_gen"]
    n_units, n_enemies = args["capability_config"]["n_units"], args["capability_config"]["n_enemies"]
    units, weights = (
        list(team_gen["unit_types"]),
        np.asarray(team_gen.get("weights") or [1.0] * len(team_gen["unit_types"])),
    )
    exceptions = set(team_gen.get("exception_unit_types", ()))

    def team(n: int) -> list[str]:
        out: list[str] = []
        while not out or all(u in exceptions for u in out):
            out = list(rng.choice(units, size=n, p=weights / weights.sum()))
        return out

    allies = team(n_units)
    enemies = allies[:n_enemies] + (team(n_enemies - n_units) if n_enemies > n_units else [])
    allies = sorted(allies, key=ALLY_ID_ORDER.index)
    return tuple(u.capitalize() for u in allies), tuple(u.capitalize() for u in enemies)
