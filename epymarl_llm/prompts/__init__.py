"""The text-prompt wrapper: SMAC/SMAClite observation rows -> dynamic prompts -> token ids.

Layouts need neither SMAC nor SMAClite; tokenization imports torch only when a batch is built.
"""
from .errors import LayoutMismatchError, UnknownMapError
from .layout import EntitySlot, MapLayout, RowLayout, load_map_layout, map_names

__all__ = [
    "EntitySlot", "LayoutMismatchError", "MapLayout", "RowLayout", "UnknownMapError",
    "load_map_layout", "map_names",
]
