"""Fixtures of the policy tests."""

from __future__ import annotations

import pytest
import torch

from epymarl_llm.policy import LlmPolicy, PolicyConfig


@pytest.fixture()
def make_policy(tiny_model_dir):
    """Build an LlmPolicy on the tiny model, float32 unless `llm_dtype` says otherwise (never `auto`,
    which depends on the CPU); keyword overrides go to PolicyConfig."""

    def make(**overrides) -> LlmPolicy:
        torch.manual_seed(overrides.pop("seed", 0))
        cfg = PolicyConfig(**{"llm_model": str(tiny_model_dir), "action_dim": 32, "llm_dtype": "float32", **overrides})
        return LlmPolicy(cfg)

    return make
