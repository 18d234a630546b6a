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
"""

from __future__ import annotations

from typing import Any

import torch

_COMPARED = ("obs", "avail_actions", "actions", "filled")


class RolloutRecord:
    """Probabilities (B, T, N, A) of the episode batch the runner fills, and the weights' version."""

    def __init__(self) -> None:
        self._batch: Any = None
        self._probs: torch.Tensor | None = None
        self._version: int | None = None
        self._valid = False

    def record(self, ep_batch: Any, t_ep: int, bs: Any, probs: torch.Tensor, weights_version: int) -> None:
        """Keep `probs` (len(bs), N, A) of step `t_ep` of the envs `bs` of `ep_batch`.

        A new episode batch (EPyMARL's runners make one per `run`) starts a new record; a change of
        weights in the middle of one makes the whole record unusable.
        """
        if ep_batch is not self._batch:
            b, t = ep_batch.batch_size, ep_batch.max_seq_length
            self._batch, self._version, self._valid = ep_batch, weights_version, True
            # NaN marks a step the rollout did not act in: the learner falls back when it needs one.
            self._probs = torch.full((b, t, *probs.shape[1:]), float("nan"), dtype=torch.float32)
        if weights_version != self._version:
            self._valid = False
        self._probs[bs, t_ep] = probs.detach().float().cpu()

    def lookup(self, batch: Any, weights_version: int) -> torch.Tensor | None:
        """(B, T, N, A) float32 probabilities of `batch`'s steps, or None when they are not pi_old.

        `batch` is the learner's sample (EPyMARL cuts it to `max_t_filled` steps). Steps the
        rollout did not act in (an env's terminal state) are NaN: the caller checks the ones it uses.
        """
        if not self._valid or self._batch is None or weights_version != self._version:
            return None
        t = batch.max_seq_length
        if batch.batch_size != self._batch.batch_size or t > self._batch.max_seq_length:
            return None
        for key in _COMPARED:
            mine = self._batch[key][:, :t]
            theirs = batch[key]
            if mine.shape != theirs.shape or not torch.equal(mine.cpu(), theirs.cpu()):
                return None
        return self._probs[:, :t]

    def clear(self) -> None:
        self.__init__()
