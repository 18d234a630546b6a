"""`lolm_llm`: the LLM-LoRA policy behind EPyMARL's agent interface (`Agent(input_shape, args)`).

EPyMARL's agents map a flat input row to logits; this one maps tokenized prompts to logits, so
only `LolmMAC` (which builds the prompts) drives it. It exists in `modules.agents.REGISTRY` so that a
yaml picks the policy the EPyMARL way (`agent: lolm_llm`) and so that `parameters()`, `cuda()` and
`state_dict()` behave as for EPyMARL's agents.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from epymarl_llm.policy import LlmPolicy, PolicyConfig
from epymarl_llm.run_config import run_config
from epymarl_llm.token_batch import TokenBatch


def policy_config_for_run(args: Any) -> PolicyConfig:
    """The run's PolicyConfig, with `device: auto` following EPyMARL's `use_cuda` switch."""
    cfg = run_config(args).policy
    if cfg.device == "auto":
        cfg = dataclasses.replace(cfg, device="cuda" if getattr(args, "use_cuda", False) else "cpu")
    return cfg


class LolmAgent(nn.Module):
    """Holds one `LlmPolicy` (one backbone in memory: acting, old and reference policy).

    Args:
        input_shape: EPyMARL's flat input size; unused (prompts replace flat inputs).
        args: EPyMARL's args with the plugin keys (see `run_config`).
    """

    def __init__(self, input_shape: int | None, args: Any):
        super().__init__()
        self.policy = LlmPolicy(policy_config_for_run(args))

    def init_hidden(self) -> torch.Tensor:
        """The policy is not recurrent: an empty hidden state, as EPyMARL's runners expect one."""
        return torch.zeros(1, 0)

    def forward(self, tokens: TokenBatch, avail: torch.Tensor, keep_lower: Any = None) -> torch.Tensor:
        """tokens: M prompts; avail (M, n_actions) -> (M, n_actions) float32 masked logits.

        `keep_lower`: a `RowLowerStates` to keep the frozen lower layers' output in (`lora_layers: K`).
        """
        return self.policy.forward_chunked(tokens, avail, keep_lower=keep_lower)
