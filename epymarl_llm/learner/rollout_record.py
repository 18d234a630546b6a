"""The rollout's action probabilities, kept beside EPyMARL's episode batch to serve as pi_old.

With on-policy batches (EPyMARL's MAPPO default: `buffer_size == batch_size == batch_size_run`) the
batch the learner trains on is the one the rollout just played, with the weights that played it.
Its behaviour policy is then pi_old, and the learner's no-grad old-policy pass recomputes what the
rollout already had (the PPO ratio's denominator, paper section 4.3 eq. 6).

EPyMARL's scheme is fixed in its `run.py`, so the probabilities cannot ride in the episode batch.
The controller holds a `RolloutRecord` instead: it records the probabilities of every training-mode
step of the episode batch being filled, with the policy's `weights_version`. The learner asks
`lookup` for the batch it trains on. The record answers only when that batch is, entry for entry,
the recorded one (observations, availabilities, actions, filled flags) and the weights have not
changed since (no optimiser step, no load). Otherwise it answers None and the learner runs its
old-policy pass, as for an off-policy batch.

With `lora_layers: K` the record can also keep, per agent-step, the frozen lower layers' output the
rollout computed (`record_lower`, within `lower_budget_mb`). Those layers carry no adapter, so their
output does not depend on the weights' version: `lower_lookup` answers for the recorded batch
whatever steps the optimiser took, and the learner skips its own run of the lower layers.
"""

from __future__ import annotations

from typing import Any

import torch

_COMPARED = ("obs", "avail_actions", "actions", "filled")


class RolloutRecord:
    """Probabilities (B, T, N, A) of the episode batch the runner fills, and the weights' version."""

    def __init__(self, lower_budget_mb: int = 0) -> None:
        self.lower_budget_mb = lower_budget_mb
        self._batch: Any = None
        self._probs: torch.Tensor | None = None
        self._version: int | None = None
        self._valid = False
        # (episode, timestep, agent) -> (S, H) lower-layer states of the suffix after `_lower_prefix_len`.
        self._lower: dict[tuple[int, int, int], torch.Tensor] = {}
        self._lower_prefix_len: int | None = None
        self._lower_bytes = 0

    @classmethod
    def for_learner(cls, learner_config: Any) -> RolloutRecord:
        """The record a learner with `learner_config` reads: lower states kept with `lower_from_rollout`."""
        return cls(learner_config.lower_cache_mb if learner_config.lower_from_rollout else 0)

    def record(self, ep_batch: Any, t_ep: int, bs: Any, probs: torch.Tensor, weights_version: int) -> None:
        """Keep `probs` (len(bs), N, A) of step `t_ep` of the envs `bs` of `ep_batch`.

        A new episode batch (EPyMARL's runners make one per `run`) starts a new record; a change of
        weights in the middle of one makes the whole record unusable.
        """
        if ep_batch is not self._batch:
            b, t = ep_batch.batch_size, ep_batch.max_seq_length
            self._batch, self._version, self._valid = ep_batch, weights_version, True
            self._lower, self._lower_prefix_len, self._lower_bytes = {}, None, 0
            # NaN marks a step the rollout did not act in: the learner falls back when it needs one.
            self._probs = torch.full((b, t, *probs.shape[1:]), float("nan"), dtype=torch.float32)
        if weights_version != self._version:
            self._valid = False
        self._probs[bs, t_ep] = probs.detach().float().cpu()

    def record_lower(self, ep_batch: Any, t_ep: int, bs: Any, live: torch.Tensor, rows: Any) -> None:
        """Keep the lower layers' states of step `t_ep`'s live agents (after `record` of that step).

        Args:
            live: (len(bs), N) bool, the agents whose prompts went through the policy, in the order
                of `rows.rows` (a `RowLowerStates`).
        Steps beyond the budget are not kept: the learner runs the lower layers for their chunks.
        """
        if ep_batch is not self._batch or rows.prefix_len is None:
            return
        if self._lower_prefix_len not in (None, rows.prefix_len):
            self._lower.clear()  # another prefix mid-batch: nothing kept is usable beside it
        self._lower_prefix_len = rows.prefix_len
        envs = torch.arange(ep_batch.batch_size)[bs]
        budget = self.lower_budget_mb * 2**20
        for (env, agent), states in zip(live.nonzero().tolist(), rows.rows, strict=True):
            size = states.numel() * states.element_size()
            if self._lower_bytes + size > budget:
                return
            self._lower[(int(envs[env]), t_ep, agent)] = states
            self._lower_bytes += size

    def lower_lookup(self, batch: Any) -> tuple[dict[tuple[int, int, int], torch.Tensor], int] | None:
        """The kept lower states of `batch` ((episode, timestep, agent) -> (S, H)) and their prefix
        length, when `batch` is the recorded one; None otherwise (or when nothing was kept)."""
        if not self._lower or not self._same_batch(batch):
            return None
        return self._lower, int(self._lower_prefix_len or 0)

    def lookup(self, batch: Any, weights_version: int) -> torch.Tensor | None:
        """(B, T, N, A) float32 probabilities of `batch`'s steps, or None when they are not pi_old.

        `batch` is the learner's sample (EPyMARL cuts it to `max_t_filled` steps). Steps the
        rollout did not act in (an env's terminal state) are NaN: the caller checks the ones it uses.
        """
        if not self._valid or weights_version != self._version or not self._same_batch(batch):
            return None
        return self._probs[:, : batch.max_seq_length]

    def _same_batch(self, batch: Any) -> bool:
        """`batch` is the recorded episode batch, entry for entry (EPyMARL may cut its unfilled steps)."""
        if self._batch is None:
            return False
        t = batch.max_seq_length
        if batch.batch_size != self._batch.batch_size or t > self._batch.max_seq_length:
            return False
        for key in _COMPARED:
            mine = self._batch[key][:, :t]
            theirs = batch[key]
            if mine.shape != theirs.shape or not torch.equal(mine.cpu(), theirs.cpu()):
                return False
        return True

    def clear(self) -> None:
        self.__init__(self.lower_budget_mb)
