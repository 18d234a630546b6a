"""From an EPyMARL batch to the flat list of live agent-steps that the policy is trained on.

The LLM policy is not recurrent, so every (episode, timestep, agent) is an independent prompt: the
learner gathers the live ones once, encodes their prompts once, and runs them in large, length-sorted
forwards. Empty timesteps (after an episode's end) and dead agents (only no-op available) are never
gathered, so they cost no backbone compute and add nothing to the loss (METHOD section 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from epymarl_llm.actions import acting_agents


@dataclass
class TeamMasks:
    """EPyMARL's masks of the T-1 transitions of a batch (as its ppo_learner builds them).

    Args:
        mask: (B, T-1, N) float; 1 on filled steps up to and including the terminal one.
        live: (B, T-1, N) bool; `mask` and the agent is alive (some action besides no-op available).
    """

    mask: torch.Tensor
    live: torch.Tensor


def team_masks(batch: Any, n_agents: int) -> TeamMasks:
    """EPyMARL's transition mask (filled, not after termination), per agent, and its live subset."""
    terminated = batch["terminated"][:, :-1].float()
    mask = batch["filled"][:, :-1].float().clone()
    mask[:, 1:] = mask[:, 1:] * (1 - terminated[:, :-1])
    mask = mask.expand(-1, -1, n_agents).contiguous() if mask.shape[-1] == 1 else mask
    return TeamMasks(mask=mask, live=(mask > 0) & acting_agents(batch["avail_actions"][:, :-1]))


@dataclass
class LiveSteps:
    """The M live agent-steps of a batch, flattened.

    Args:
        index: (M, 3) long, (episode, timestep, agent) of each step.
        obs: (M, obs_size) float.
        avail: (M, n_actions) bool (the policy takes bool or 0/1 integers, never floats).
        actions: (M,) long, the actions taken.
    """

    index: torch.Tensor
    obs: torch.Tensor
    avail: torch.Tensor
    actions: torch.Tensor

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def agent_ids(self) -> torch.Tensor:
        return self.index[:, 2]

    def take(self, values: torch.Tensor) -> torch.Tensor:
        """Pick these steps from a (B, T-1, N, ...) tensor -> (M, ...)."""
        b, t, n = self.index.unbind(-1)
        return values[b, t, n]


def gather_live_steps(batch: Any, live: torch.Tensor) -> LiveSteps:
    """The live agent-steps of `batch`, where `live` is (B, T-1, N) bool (`team_masks(...).live`)."""
    index = live.nonzero()
    b, t, n = index.unbind(-1)
    return LiveSteps(
        index=index,
        obs=batch["obs"][:, :-1][b, t, n],
        avail=batch["avail_actions"][:, :-1][b, t, n] > 0,
        actions=batch["actions"][:, :-1][b, t, n, 0].long(),
    )
