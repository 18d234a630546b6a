"""Errors of the prompt wrapper; each message names the map and the fix."""

from __future__ import annotations


class UnknownMapError(KeyError):
    """The map is in neither SMAC's nor SMAClite's registry (and no `map_file` was given)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LayoutMismatchError(ValueError):
    """The layout's sizes disagree with what the live env (or an input row) reports."""
