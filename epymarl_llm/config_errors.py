"""The one error type of configuration mistakes: a key with a missing or invalid value.

Every config dataclass (`PolicyConfig`, `PromptConfig`, `LearnerConfig`, `CriticConfig`,
`IntegrationConfig`, `LeedConfig`) raises a `ConfigError` (or a subclass that names its part) with a
message that names the key and the fix; a caller catches all of them with one `except ConfigError`.
It is a `ValueError`, as a bad value is.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration key is missing or has an invalid value; the message names the key and the fix."""
