"""SMAC's map registry as data, so that layouts need neither SMAC nor pysc2 at run time.

Sizes follow `smac/env/starcraft2/maps/smac_maps.py` (n_agents, n_enemies, limit, races,
unit_type_bits, map_type); compositions follow SMAC's map table (docs/smac.md). The test
tests/prompts/test_map_table.py checks every row against SMAC itself when it is importable.
"""

from __future__ import annotations

from .map_spec import MapSpec, expand

# Meaning of the one-hot unit-type bits per SMAC `map_type`, read from `StarCraft2Env`:
# allies use `unit_type - min_unit_type` with the order set in `_init_ally_unit_types`; enemies use
# the fixed ids in `get_unit_type_id(unit, ally=False)`. On "stalkers_and_zealots" the two differ:
# `type_id = unit_type - 73` makes the enemy Zealot (73) bit 0 and the Stalker (74) bit 1, while the
# ally Stalker is `min_unit_type` (bit 0).
SC2_TYPE_BITS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # map_type: (ally bit names, enemy bit names)
    "stalkers_and_zealots": (("Stalker", "Zealot"), ("Zealot", "Stalker")),
    "colossi_stalkers_zealots": (("Colossus", "Stalker", "Zealot"), ("Colossus", "Stalker", "Zealot")),
    "MMM": (("Marauder", "Marine", "Medivac"), ("Marauder", "Marine", "Medivac")),
    "bane": (("Baneling", "Zergling"), ("Baneling", "Zergling")),
}

# SMAC races; a Protoss side has a shield feature (`shield_bits_ally/enemy`).
_SHIELDED_RACE = "P"

# name: (limit, ally race, enemy race, map_type, ally composition, enemy composition).
# Ally compositions are in agent-id order: SMAC sorts allies by unit type (`init_units`) and the
# ally types are numbered in the order of `_init_ally_unit_types`, i.e. type-bit order.
_SC2_ROWS: dict[str, tuple[int, str, str, str, tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]] = {
    "3m": (60, "T", "T", "marines", (("Marine", 3),), (("Marine", 3),)),
    "8m": (120, "T", "T", "marines", (("Marine", 8),), (("Marine", 8),)),
    "25m": (150, "T", "T", "marines", (("Marine", 25),), (("Marine", 25),)),
    "5m_vs_6m": (70, "T", "T", "marines", (("Marine", 5),), (("Marine", 6),)),
    "8m_vs_9m": (120, "T", "T", "marines", (("Marine", 8),), (("Marine", 9),)),
    "10m_vs_11m": (150, "T", "T", "marines", (("Marine", 10),), (("Marine", 11),)),
    "27m_vs_30m": (180, "T", "T", "marines", (("Marine", 27),), (("Marine", 30),)),
    "MMM": (
        150,
        "T",
        "T",
        "MMM",
        (("Marauder", 2), ("Marine", 7), ("Medivac", 1)),
        (("Marauder", 2), ("Marine", 7), ("Medivac", 1)),
    ),
    "MMM2": (
        180,
        "T",
        "T",
        "MMM",
        (("Marauder", 2), ("Marine", 7), ("Medivac", 1)),
        (("Marauder", 3), ("Marine", 8), ("Medivac", 1)),
    ),
    "2s3z": (120, "P", "P", "stalkers_and_zealots", (("Stalker", 2), ("Zealot", 3)), (("Zealot", 3), ("Stalker", 2))),
    "3s5z": (150, "P", "P", "stalkers_and_zealots", (("Stalker", 3), ("Zealot", 5)), (("Zealot", 5), ("Stalker", 3))),
    "3s5z_vs_3s6z": (
        170,
        "P",
        "P",
        "stalkers_and_zealots",
        (("Stalker", 3), ("Zealot", 5)),
        (("Zealot", 6), ("Stalker", 3)),
    ),
    "3s_vs_3z": (150, "P", "P", "stalkers", (("Stalker", 3),), (("Zealot", 3),)),
    "3s_vs_4z": (200, "P", "P", "stalkers", (("Stalker", 3),), (("Zealot", 4),)),
    "3s_vs_5z": (250, "P", "P", "stalkers", (("Stalker", 3),), (("Zealot", 5),)),
    "1c3s5z": (
        180,
        "P",
        "P",
        "colossi_stalkers_zealots",
        (("Colossus", 1), ("Stalker", 3), ("Zealot", 5)),
        (("Colossus", 1), ("Stalker", 3), ("Zealot", 5)),
    ),
    "2m_vs_1z": (150, "T", "P", "marines", (("Marine", 2),), (("Zealot", 1),)),
    "corridor": (400, "P", "Z", "zealots", (("Zealot", 6),), (("Zergling", 24),)),
    "6h_vs_8z": (150, "Z", "P", "hydralisks", (("Hydralisk", 6),), (("Zealot", 8),)),
    "2s_vs_1sc": (300, "P", "Z", "stalkers", (("Stalker", 2),), (("Spine Crawler", 1),)),
    "so_many_baneling": (100, "P", "Z", "zealots", (("Zealot", 7),), (("Baneling", 32),)),
    "bane_vs_bane": (200, "Z", "Z", "bane", (("Baneling", 4), ("Zergling", 20)), (("Baneling", 4), ("Zergling", 20))),
    "2c_vs_64zg": (400, "P", "Z", "colossus", (("Colossus", 2),), (("Zergling", 64),)),
}


def _build(name: str) -> MapSpec:
    limit, a_race, b_race, map_type, allies, enemies = _SC2_ROWS[name]
    ally_bits, enemy_bits = SC2_TYPE_BITS.get(map_type, ((), ()))
    enemy_units = expand(enemies)
    return MapSpec(
        name=name,
        env="sc2",
        ally_units=expand(allies),
        enemy_units=enemy_units,
        ally_type_names=ally_bits,
        enemy_type_names=enemy_bits,
        ally_shields=a_race == _SHIELDED_RACE,
        enemy_shields=b_race == _SHIELDED_RACE,
        n_actions=6 + len(enemy_units),  # SMAC: n_actions_no_attack + n_enemies
        episode_limit=limit,
        # SMAC numbers enemies in raw game order; only a single-type side fixes every slot's name.
        enemy_order_known=len(set(enemy_units)) == 1,
        map_type=map_type,
    )


SC2_MAPS: dict[str, MapSpec] = {name: _build(name) for name in _SC2_ROWS}
SC2_RACES: dict[str, tuple[str, str]] = {name: (row[1], row[2]) for name, row in _SC2_ROWS.items()}
