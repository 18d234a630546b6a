"""The LLM-LoRA policy of LoLM-MARL: backbone, LoRA, attention action head, reference policy.

`PolicyConfig` and the errors import without torch; `LlmPolicy`, `make_tiny_model` and the head
load torch/transformers/peft on first access (module `__getattr__`, as peft does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from epymarl_llm.policy.config import PolicyConfig
from epymarl_llm.policy.errors import (
    BatchError,
    CheckpointError,
    ModelLoadError,
    PolicyConfigError,
    PolicyError,
    TargetModulesError,
)

if TYPE_CHECKING:  # re-exported names (the `as` spelling marks them so for linters and type checkers)
    from epymarl_llm.policy.head import MASKED_LOGIT as MASKED_LOGIT
    from epymarl_llm.policy.head import N_BASE_ACTIONS as N_BASE_ACTIONS
    from epymarl_llm.policy.head import AttentionActionHead as AttentionActionHead
    from epymarl_llm.policy.policy import LlmPolicy as LlmPolicy
    from epymarl_llm.policy.tiny_model import SHAPES as SHAPES
    from epymarl_llm.policy.tiny_model import make_tiny_model as make_tiny_model

_LAZY = {
    "LlmPolicy": "epymarl_llm.policy.policy",
    "AttentionActionHead": "epymarl_llm.policy.head",
    "MASKED_LOGIT": "epymarl_llm.policy.head",
    "N_BASE_ACTIONS": "epymarl_llm.policy.head",
    "make_tiny_model": "epymarl_llm.policy.tiny_model",
    "SHAPES": "epymarl_llm.policy.tiny_model",
}

__all__ = [
    "PolicyConfig",
    "PolicyError",
    "PolicyConfigError",
    "ModelLoadError",
    "TargetModulesError",
    "BatchError",
    "CheckpointError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'epymarl_llm.policy' has no attribute {name!r}")
