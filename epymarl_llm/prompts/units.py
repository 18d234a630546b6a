"""Unit names: one display name per StarCraft II unit type, shared by SMAC and SMAClite."""

from __future__ import annotations

# SMAClite names its unit types in upper snake case (smaclite/env/units/unit_type.py,
# `StandardUnit`); prompts use the game's own names.
SMACLITE_STANDARD_UNITS: dict[str, str] = {
    "MARINE": "Marine",
    "MARAUDER": "Marauder",
    "MEDIVAC": "Medivac",
    "ZEALOT": "Zealot",
    "STALKER": "Stalker",
    "COLOSSUS": "Colossus",
    "ZERGLING": "Zergling",
    "BANELING": "Baneling",
    "SPINE_CRAWLER": "Spine Crawler",
}

# Units whose target actions heal allies instead of attacking enemies: SMAC
# `get_avail_agent_actions` (Medivac) and SMAClite `CombatType.HEALING`.
HEALERS: frozenset[str] = frozenset({"Medivac"})


def display_name(smaclite_name: str) -> str:
    """`SPINE_CRAWLER` -> `Spine Crawler`; a custom unit file `my_tank` -> `My Tank`."""
    if smaclite_name in SMACLITE_STANDARD_UNITS:
        return SMACLITE_STANDARD_UNITS[smaclite_name]
    stem = smaclite_name.rsplit("/", 1)[-1].removesuffix(".json")
    return " ".join(part.capitalize() for part in stem.replace("-", "_").split("_") if part)
