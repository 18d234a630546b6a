"""Errors of the policy package: each message names the fix."""

from __future__ import annotations

from epymarl_llm.config_errors import ConfigError


class PolicyError(ValueError):
    """Base class of every error raised by `epymarl_llm.policy`."""


class PolicyConfigError(PolicyError, ConfigError):
    """An invalid `PolicyConfig` value."""


class ModelLoadError(PolicyError):
    """The backbone or its tokenizer cannot be loaded (wrong path, offline and not cached, ...)."""


class TargetModulesError(PolicyError):
    """`lora_target_modules` matches no module of the backbone, or the family has no default."""


class BatchError(PolicyError):
    """A `TokenBatch` or availability mask with wrong shapes, dtypes or contents."""


class CheckpointError(PolicyError):
    """A checkpoint folder that is missing files or was written for another architecture."""
