"""Fixtures of the performance tests: the tiny policy on real 3s5z_vs_3s6z prompts."""

from __future__ import annotations

import pytest
import torch

from epymarl_llm.policy import LlmPolicy, PolicyConfig

MAP = "3s5z_vs_3s6z"


@pytest.fixture()
def make_policy(tiny_model_dir):
    """LlmPolicy on the tiny model with a trained-looking adapter; keyword overrides go to PolicyConfig."""

    def make(**overrides) -> LlmPolicy:
        torch.manual_seed(0)
        # float32 unless a test asks otherwise: "auto" is bfloat16 on CPUs with native bf16, whose
        # rounding is far above these tests' tolerances.
        overrides.setdefault("llm_dtype", "float32")
        policy = LlmPolicy(PolicyConfig(llm_model=str(tiny_model_dir), action_dim=32, **overrides)).eval()
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name, p in policy.model.named_parameters():
                if "lora_B" in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            if policy.head.target_key is not None:
                policy.head.target_key.weight.normal_(generator=g)
        return policy

    return make


@pytest.fixture()
def step(tiny_model_dir):
    """(TokenBatch, avail bool) of 12 real prompts of 3s5z_vs_3s6z, lengths spread out."""
    from transformers import AutoTokenizer

    from epymarl_llm.prompts import PromptEncoder, load_map_layout, random_observations

    layout = load_map_layout(MAP, env="sc2")
    obs, avail, ids = random_observations(layout, 12, seed=3)
    avail[:, 0] = 0
    avail[:, 1] = 1  # every row alive
    encoder = PromptEncoder(layout, AutoTokenizer.from_pretrained(tiny_model_dir))
    return encoder.encode(obs, avail, ids), torch.as_tensor(avail) != 0
