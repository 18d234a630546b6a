"""What one update reads from a batch: its masks, live agent-steps, their prompts and forward chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from epymarl_llm.learner.agent_steps import TeamMasks, gather_live_steps, team_masks


@dataclass
class UpdateInputs:
    """A batch's live agent-steps, tokenized once and grouped into the policy's forwards.

    `avail` and `actions` are the steps' (M, A) and (M,) tensors on `device`, the policy's device.
    """

    masks: TeamMasks
    steps: Any
    tokens: Any
    chunks: list
    avail: torch.Tensor
    actions: torch.Tensor
    device: torch.device


def update_inputs(batch: Any, mac: Any, n_agents: int, max_prompts_per_forward: int, device) -> UpdateInputs:
    """Gather the live agent-steps of `batch`, encode their prompts and chunk them for the forwards."""
    masks = team_masks(batch, n_agents)
    steps = gather_live_steps(batch, masks.live)
    tokens = mac.prompt_encoder.encode(steps.obs.cpu(), steps.avail.cpu(), steps.agent_ids.cpu())
    chunks = mac.policy.row_groups(tokens, max_prompts_per_forward, with_grad=True)
    return UpdateInputs(masks, steps, tokens, chunks, steps.avail.to(device), steps.actions.to(device), device)
