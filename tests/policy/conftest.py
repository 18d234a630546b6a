"""Fixtures of the policy tests."""

from __future__ import annotations

import pytest
import torch

from epymarl_llm.policy import LlmPolicy, PolicyConfig


@pytest.fixture()
def make_policy(tiny_model_dir):
    """Build an LlmPolicy on the tiny model; keyword overrides go to PolicyConfig."""

    def make(**overrides) -> LlmPolicy:
        torch.manual_seed(overrides.pop("seed", 0))
        # float32 unless a test asks otherwise: "auto" is bfloat16 on CPUs with native bf16.
        cfg = PolicyConfig(**{"llm_model": str(tiny_model_dir), "action_dim": 32, "llm_dtype": "float32", **overrides})
        return LlmPolicy(cfg)

    return make
