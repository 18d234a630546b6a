"""The frozen lower layers' output per chunk of an update, within a memory budget (METHOD section 9).

With `lora_layers: K` (`LlmPolicy.splits_layers`) the layers below the adapter are the same for
the policy, pi_old and the reference, and unchanged by the update's optimiser steps. The first
pass of an update runs them once per chunk of agent-steps and keeps their output here; the
reference, pi_old and every PPO epoch then run the top K layers only. Chunks beyond
`lower_cache_mb` are not kept: their passes run the whole body (the same probabilities), so memory
stays bounded whatever the batch.
"""

from __future__ import annotations

from typing import Any

from epymarl_llm.policy.layer_split import LowerStates

_MB = 2**20


class RolloutLowerStates:
    """The lower layers' output the rollout kept for this batch's live agent-steps (`RolloutRecord.lower_lookup`).

    Args:
        kept: (episode, timestep, agent) -> (S, H) states of the prompt's tokens after `prefix_len`.
        step_index: (M, 3) the update's live agent-steps (`LiveSteps.index`), in the learner's order.
    """

    def __init__(self, kept: dict[tuple[int, int, int], Any], prefix_len: int, step_index: Any) -> None:
        self.kept, self.prefix_len = kept, prefix_len
        self.keys = [tuple(key) for key in step_index.tolist()]

    def states(self, policy: Any, idx: Any, rows: Any) -> Any:
        """`LowerStates` of the live steps `idx` (encoded as `rows`), or None unless every one was
        kept with the token count `rows` gives it after the prefix `policy.lower_states` would use."""
        if policy.lower_offset(rows) != self.prefix_len:
            return None
        states = []
        for i, length in zip(idx.tolist(), (rows.lengths - self.prefix_len).tolist(), strict=True):
            row = self.kept.get(self.keys[i])
            if row is None or row.shape[0] != length:
                return None
            states.append(row)
        width = rows.input_ids.shape[1] - self.prefix_len
        return LowerStates.from_rows(states, self.prefix_len, width)


class LowerStatesCache:
    """Chunk index -> `LowerStates`, for one update; empty (every lookup None) when not applicable.

    With `rollout` (the lower states the rollout kept for an on-policy batch) a chunk's states come
    from there when every one of its steps was kept; the rest run the lower layers here.
    """

    def __init__(self, policy: Any, budget_mb: int, rollout: RolloutLowerStates | None = None) -> None:
        self.enabled = bool(policy.splits_layers) and budget_mb > 0
        self.budget_bytes = budget_mb * _MB
        self.used_bytes = 0
        self.skipped = 0  # chunks over the budget (run through the whole body)
        self.from_rollout = 0  # chunks whose lower states the rollout had computed
        self._policy = policy
        self._rollout = rollout
        self._states: dict[int, Any] = {}

    def compute(self, chunk: int, rows: Any, idx: Any = None) -> Any:
        """The lower layers' output for `rows` (chunk `chunk`, live steps `idx`), kept when it fits the
        budget; None when off. Taken from the rollout when it kept all of them, else computed."""
        if not self.enabled:
            return None
        lower = self._rollout.states(self._policy, idx, rows) if self._rollout is not None and idx is not None else None
        if lower is None:
            lower = self._policy.lower_states(rows)
        else:
            self.from_rollout += 1
        if self.used_bytes + lower.nbytes <= self.budget_bytes:
            self._states[chunk] = lower
            self.used_bytes += lower.nbytes
        else:
            self.skipped += 1
        return lower

    def get(self, chunk: int) -> Any:
        """What `compute` kept for `chunk`, or None (the pass then runs the whole body)."""
        return self._states.get(chunk)
