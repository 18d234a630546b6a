"""The one error type of configuration mistakes: a key with a missing or invalid value.

Every config dataclass (`PolicyConfig`, `PromptConfig`, `LearnerConfig`, `CriticConfig`,
`IntegrationConfig`, `LeedConfig`) raises a `ConfigError` (or a subclass that names its part) with a
message that names the key and the fix; a caller catches all of them with one `except ConfigError`.
It is a `ValueError`, as a bad value is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """A configuration key is missing or has an invalid value; the message names the key and the fix."""


def close_keys(key: str, candidates: Iterable[str]) -> list[str]:
    """The known keys a misspelled `key` is closest to (at most three, best first)."""
    return difflib.get_close_matches(key, [c for c in candidates if c != key], n=3, cutoff=0.7)


def did_you_mean(key: str, candidates: Iterable[str], prefix: str = "") -> str | None:
    """ "lora_rnak: did you mean `lora_rank`?", or None when no known key is close."""
    close = close_keys(key, candidates)
    if not close:
        return None
    return f"{prefix}{key}: did you mean " + " or ".join(f"`{prefix}{c}`" for c in close) + "?"
