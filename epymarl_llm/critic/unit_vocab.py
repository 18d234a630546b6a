"""Unit-type and side ids of the critic's embeddings, keyed by name so every map shares them.

The vocabulary is fixed (not built per map): a checkpoint trained on one map must give a zealot the
same embedding on another (METHOD section 5, transfer). Names cover SMAC, SMACv2 and SMAClite's units;
any other name (e.g. a SMAClite custom unit) falls back to the shared `other` id.
"""

from __future__ import annotations

UNIT_TYPES = (
    "other",
    "marine",
    "marauder",
    "medivac",
    "stalker",
    "zealot",
    "colossus",
    "hydralisk",
    "zergling",
    "baneling",
    "spine_crawler",
)
SIDES = ("ally", "enemy")

_PLURALS = {
    "colossi": "colossus",
    "marines": "marine",
    "marauders": "marauder",
    "medivacs": "medivac",
    "stalkers": "stalker",
    "zealots": "zealot",
    "hydralisks": "hydralisk",
    "zerglings": "zergling",
    "banelings": "baneling",
    "spine_crawlers": "spine_crawler",
}


def normalise_unit_name(name: str) -> str:
    """'Spine Crawler', 'spine-crawler', 'Zealots' -> 'spine_crawler', 'spine_crawler', 'zealot'."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _PLURALS.get(key, key)


def unit_type_id(name: str | None) -> int:
    """Embedding id of a unit name; 0 (`other`) for names outside the vocabulary or unknown (None)."""
    if name is None:
        return 0
    key = normalise_unit_name(name)
    return UNIT_TYPES.index(key) if key in UNIT_TYPES else 0


def side_id(side: str) -> int:
    """0 for allies (the agents' side), 1 for enemies."""
    key = side.strip().lower()
    if key in ("ally", "allies", "agent", "agents", "self"):
        return 0
    if key in ("enemy", "enemies"):
        return 1
    raise ValueError(f"unknown side {side!r}: expected one of {SIDES}")
