"""SMAClite maps: its presets as data, and its JSON map format (`map_file`) parsed without SMAClite.

The presets restate the facts of `smaclite/env/maps/smaclite_maps/*.json` that fix the layout
(groups in file order, type ids, shields); tests/prompts/test_map_table.py checks them against
SMAClite's `MapPreset` and `SMACliteEnv` sizes when SMAClite is importable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import UnknownMapError
from .map_spec import MapSpec
from .units import HEALERS, SMACLITE_STANDARD_UNITS, display_name

_MMM_IDS = {"MARAUDER": 0, "MARINE": 1, "MEDIVAC": 2}
_SZ_IDS = {"STALKER": 0, "ZEALOT": 1}


# Facts of SMAClite's preset JSON files. Groups keep the file's order: SMAClite numbers units in
# group order, then in each group's `units` order (`SMACliteEnv.__place_group`), so e.g. its MMM
# agent 0 is the Medivac while SMAC's MMM agent 9 is.
SMACLITE_PRESETS: dict[str, dict[str, Any]] = {
    "10m_vs_11m": {"groups": [("ALLY", {"MARINE": 10}), ("ENEMY", {"MARINE": 11})], "shields": (False, False)},
    "27m_vs_30m": {"groups": [("ALLY", {"MARINE": 27}), ("ENEMY", {"MARINE": 30})], "shields": (False, False)},
    "3s5z_vs_3s6z": {
        "groups": [("ALLY", {"STALKER": 3, "ZEALOT": 5}), ("ENEMY", {"STALKER": 3, "ZEALOT": 6})],
        "shields": (True, True),
        "type_ids": _SZ_IDS,
    },
    "2s3z": {
        "groups": [("ALLY", {"STALKER": 2, "ZEALOT": 3}), ("ENEMY", {"STALKER": 2, "ZEALOT": 3})],
        "shields": (True, True),
        "type_ids": _SZ_IDS,
    },
    "3s5z": {
        "groups": [("ALLY", {"STALKER": 3, "ZEALOT": 5}), ("ENEMY", {"STALKER": 3, "ZEALOT": 5})],
        "shields": (True, True),
        "type_ids": _SZ_IDS,
    },
    "MMM": {
        "groups": [
            ("ALLY", {"MEDIVAC": 1, "MARINE": 7, "MARAUDER": 2}),
            ("ENEMY", {"MEDIVAC": 1, "MARINE": 7, "MARAUDER": 2}),
        ],
        "shields": (False, False),
        "type_ids": _MMM_IDS,
    },
    "MMM2": {
        "groups": [
            ("ALLY", {"MEDIVAC": 1, "MARINE": 7, "MARAUDER": 2}),
            ("ENEMY", {"MEDIVAC": 1, "MARINE": 8, "MARAUDER": 3}),
        ],
        "shields": (False, False),
        "type_ids": _MMM_IDS,
    },
    "2c_vs_64zg": {"groups": [("ALLY", {"COLOSSUS": 2}), ("ENEMY", {"ZERGLING": 64})], "shields": (True, False)},
    "bane_vs_bane": {
        "groups": [
            ("ENEMY", {"BANELING": 4}),
            ("ENEMY", {"ZERGLING": 20}),
            ("ALLY", {"ZERGLING": 20}),
            ("ALLY", {"BANELING": 4}),
        ],
        "shields": (False, False),
        "type_ids": {"BANELING": 0, "ZERGLING": 1},
    },
    "corridor": {"groups": [("ENEMY", {"ZERGLING": 24}), ("ALLY", {"ZEALOT": 6})], "shields": (True, False)},
    "2s_vs_1sc": {
        "groups": [("ENEMY", {"SPINE_CRAWLER": 1}), ("ALLY", {"STALKER": 1}), ("ALLY", {"STALKER": 1})],
        "shields": (True, False),
    },
    "3s_vs_5z": {"groups": [("ALLY", {"STALKER": 3}), ("ENEMY", {"ZEALOT": 5})], "shields": (True, True)},
}


def smaclite_preset(name: str) -> MapSpec:
    """The MapSpec of a SMAClite preset map (`env_args.map_name`)."""
    if name not in SMACLITE_PRESETS:
        raise UnknownMapError(
            f"unknown SMAClite map {name!r}; SMAClite presets are {', '.join(sorted(SMACLITE_PRESETS))}. "
            "For another map pass its JSON file (--map-file / map_file=...)."
        )
    row = SMACLITE_PRESETS[name]
    type_ids = row.get("type_ids") or {}
    return _spec_from_groups(
        name=name,
        groups=[(faction, dict(units)) for faction, units in row["groups"]],
        type_ids=type_ids,
        shields=row["shields"],
        healer_units={u for u in SMACLITE_STANDARD_UNITS if SMACLITE_STANDARD_UNITS[u] in HEALERS},
    )


def _spec_from_groups(name, groups, type_ids, shields, healer_units) -> MapSpec:
    allies: list[str] = []
    enemies: list[str] = []
    n_healers = 0
    for faction, units in groups:
        for unit, count in units.items():
            (allies if faction == "ALLY" else enemies).extend([unit] * count)
            if faction == "ALLY" and unit in healer_units:
                n_healers += count
    # SMAClite treats a single type as none (`MapInfo.from_file`: num_unit_types 1 -> 0).
    ordered_types = sorted(type_ids, key=type_ids.get) if len(type_ids) > 1 else []
    type_names = tuple(display_name(u) for u in ordered_types)
    n_agents, n_enemies = len(allies), len(enemies)
    # SMACliteEnv.__init__: with healers the target slots cover allies too.
    n_targets = max(n_agents - n_healers, n_enemies) if n_healers else n_enemies
    return MapSpec(
        name=name,
        env="smaclite",
        ally_units=tuple(display_name(u) for u in allies),
        enemy_units=tuple(display_name(u) for u in enemies),
        ally_type_names=type_names,
        enemy_type_names=type_names,
        ally_shields=bool(shields[0]),
        enemy_shields=bool(shields[1]),
        n_actions=6 + n_targets,
        episode_limit=None,
        enemy_order_known=True,
        map_type=None,
        healer_units=frozenset(display_name(u) for u in healer_units),
    )


_REQUIRED_KEYS = ("name", "num_allied_units", "num_enemy_units", "groups", "ally_has_shields", "enemy_has_shields")


def smaclite_map_file(path: str | os.PathLike) -> MapSpec:
    """Parse a SMAClite JSON map (the format of `MapInfo.from_file`) into a MapSpec."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMAClite map file {str(path)!r} does not exist; pass the path of a JSON map")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"SMAClite map file {str(path)!r} is not valid JSON: {err}") from err
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(
            f"SMAClite map file {str(path)!r} lacks the keys {missing} (see SMAClite's example_custom_map.json)"
        )
    unit_dir = _custom_unit_dir(data.get("custom_unit_path", "."), path)
    groups = []
    healers: set[str] = set()
    for group in data["groups"]:
        if group.get("faction") not in ("ALLY", "ENEMY"):
            raise ValueError(f"{path}: group faction must be ALLY or ENEMY, got {group.get('faction')!r}")
        units = dict(group["units"])
        for unit in units:
            if unit not in SMACLITE_STANDARD_UNITS and _custom_unit_heals(unit, unit_dir, path):
                healers.add(unit)
        groups.append((group["faction"], units))
    healers |= {u for u in SMACLITE_STANDARD_UNITS if SMACLITE_STANDARD_UNITS[u] in HEALERS}
    n_types = int(data.get("num_unit_types", 0))
    type_ids = dict(data.get("unit_type_ids") or {}) if n_types > 1 else {}
    if n_types > 1 and len(type_ids) != n_types:
        raise ValueError(f"{path}: num_unit_types is {n_types} but unit_type_ids names {len(type_ids)} types")
    spec = _spec_from_groups(
        data["name"], groups, type_ids, (data["ally_has_shields"], data["enemy_has_shields"]), healers
    )
    if (spec.n_agents, spec.n_enemies) != (data["num_allied_units"], data["num_enemy_units"]):
        raise ValueError(
            f"{path}: the groups hold {spec.n_agents} allies and {spec.n_enemies} enemies but the file says "
            f"num_allied_units={data['num_allied_units']}, num_enemy_units={data['num_enemy_units']}"
        )
    return spec


def _custom_unit_dir(custom_unit_path: str, map_path: Path) -> list[Path]:
    # SMAClite resolves custom units against the working directory (`os.path.abspath`); the map's
    # own folder is a second guess for files moved together.
    return [Path(os.path.abspath(custom_unit_path)), map_path.parent / custom_unit_path]


def _custom_unit_heals(unit: str, dirs: list[Path], map_path: Path) -> bool:
    name = unit if unit.endswith(".json") else unit + ".json"
    candidates = [Path(name)] if os.path.isabs(name) else [d / name for d in dirs]
    for candidate in candidates:
        if candidate.is_file():
            stats = json.loads(candidate.read_text(encoding="utf-8"))
            return stats.get("combat_type") == "HEALING"
    raise FileNotFoundError(
        f"{map_path}: custom unit {unit!r} not found at {', '.join(map(str, candidates))}; SMAClite resolves "
        "custom_unit_path against the working directory: run from there or make the path absolute"
    )
