"""`DemoPolicy` adapters: how the expert loss reads each kind of policy on demonstration episodes.

- `LolmDemoPolicy`: the LLM policy of `lolm_mac`. Demonstration agent-steps are independent
  prompts (the policy is not recurrent), built by the controller's own prompt encoder and run in
  the policy's length-sorted gradient chunks, as the PPO epochs run: at most
  `max_prompts_per_forward` prompts, fewer where the learner's `update_memory_mb` says so. With
  `lora_layers: K` the frozen lower layers' output of each demonstration prompt is computed once
  per run (`DemoLowerCache`, within `lower_cache_mb`) and every later draw runs the top K only.
- `RnnDemoPolicy`: EPyMARL's `basic_mac` with its RNN agent. Demonstration episodes become an
  EPyMARL `EpisodeBatch` (the run's own scheme) and are unrolled from t = 0 with `mac.forward`, as
  EPyMARL's PPOLearner unrolls its batches; the mac's probabilities are renormalised over the
  available actions in log space.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from epymarl_llm.learner.losses import masked_log_softmax
from epymarl_llm.leed.demo_lower_cache import DemoLowerCache
from epymarl_llm.leed.store import DemoEpisodes


def _step_rows(episodes: DemoEpisodes, steps: np.ndarray | None):
    """The agent-steps the loss reads (default: every live one) and their (episode, t, agent) indices."""
    steps = episodes.live() if steps is None else steps
    b, t, n = np.nonzero(steps)
    return steps, b, t, n


class LolmDemoPolicy:
    """The LLM policy's log-probabilities of demonstration steps, in gradient chunks.

    Args:
        max_prompts_per_forward: prompts per gradient forward, or a function of the prompts
            (`TokenBatch`) and their availability rows that says how many fit (the learner's
            `rows_within_memory`).
    """

    def __init__(
        self, mac: Any, max_prompts_per_forward: int | Callable[[Any, torch.Tensor], int], lower_cache_mb: int = 0
    ):
        self.mac, self.max_rows = mac, max_prompts_per_forward
        self.lower_cache = DemoLowerCache(lower_cache_mb)

    def log_prob_chunks(
        self, episodes: DemoEpisodes, steps: np.ndarray | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        live, b, _, n = _step_rows(episodes, steps)
        if len(b) == 0:
            return
        policy = self.mac.policy
        device = policy.device
        obs = torch.as_tensor(episodes.obs[live])
        avail = torch.as_tensor(episodes.avail[live] > 0)
        actions = torch.as_tensor(episodes.actions[live]).long()
        tokens = self.mac.prompt_encoder.encode(obs, avail, torch.as_tensor(n))
        max_rows = self.max_rows(tokens, avail.to(device)) if callable(self.max_rows) else self.max_rows
        for idx in policy.row_groups(tokens, max_rows, with_grad=True):
            rows, chunk_avail = tokens.select(idx).to(device), avail[idx].to(device)
            lower = self.lower_cache.lower_states(policy, rows)
            logits = policy(rows, chunk_avail) if lower is None else policy(rows, chunk_avail, lower=lower)
            yield masked_log_softmax(logits, chunk_avail), actions[idx].to(device)


class RnnDemoPolicy:
    def __init__(self, mac: Any, scheme: dict, n_agents: int, device: str = "cpu"):
        self.mac, self.n_agents, self.device = mac, n_agents, device
        self.scheme = {k: v for k, v in scheme.items() if k != "filled"}  # EpisodeBatch adds "filled" itself

    def episode_batch(self, episodes: DemoEpisodes):
        from components.episode_buffer import (
            EpisodeBatch,  # EPyMARL's, from the user's checkout
        )

        e, t = episodes.obs.shape[:2]
        batch = EpisodeBatch(self.scheme, {"agents": self.n_agents}, e, t, device=self.device)
        data = batch.data.transition_data
        actions = torch.as_tensor(episodes.actions).long()
        values = {
            "obs": torch.as_tensor(episodes.obs),
            "avail_actions": torch.as_tensor(episodes.avail),
            "actions": actions.unsqueeze(-1),
            "state": torch.as_tensor(episodes.state),
            "reward": torch.as_tensor(episodes.reward).unsqueeze(-1),
            "terminated": torch.as_tensor(episodes.terminated).unsqueeze(-1),
            "filled": torch.as_tensor(episodes.filled).unsqueeze(-1),
        }
        if "actions_onehot" in data:
            values["actions_onehot"] = torch.nn.functional.one_hot(actions, data["actions_onehot"].shape[-1])
        for key, value in values.items():
            if key in data:
                data[key].copy_(value.to(data[key].dtype).reshape(data[key].shape))
        return batch

    def log_prob_chunks(
        self, episodes: DemoEpisodes, steps: np.ndarray | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # The unroll runs over every step (the RNN's hidden state needs them); the loss reads `steps`.
        live, *_ = _step_rows(episodes, steps)
        if not live.any():
            return
        batch = self.episode_batch(episodes)
        self.mac.init_hidden(batch.batch_size)
        probs = torch.stack([self.mac.forward(batch, t=s) for s in range(batch.max_seq_length)], dim=1)
        live_t = torch.as_tensor(live, device=probs.device)
        avail = batch["avail_actions"][live_t]
        actions = batch["actions"][..., 0][live_t].long()
        yield masked_log_softmax(torch.log(probs[live_t] + 1e-10), avail), actions
