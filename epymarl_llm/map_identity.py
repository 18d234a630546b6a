"""The name a run's map goes by: EPyMARL's `env_args.map_name`, or the file of a custom SMAClite map.

SMAClite runs a JSON map file with `map_name: custom` and `map_file: PATH`, so every custom map has
the same `map_name`. Transfer rules (checkpoint of another map or the same one) and the report's
groups need to tell custom maps apart: they go by the file's stem (`maps/smaclite/2s_vs_1z.json`
-> "2s_vs_1z").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

CUSTOM = "custom"


def map_identity(env_args: Mapping[str, Any] | None) -> str | None:
    """`env_args["map_name"]`, or the `map_file`'s stem when the map is SMAClite's "custom"."""
    env_args = env_args or {}
    name = env_args.get("map_name")
    map_file = env_args.get("map_file")
    if name == CUSTOM and isinstance(map_file, str) and map_file:
        return PurePath(map_file).stem
    return name
