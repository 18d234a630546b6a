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

_MB = 2**20


class LowerStatesCache:
    """Chunk index -> `LowerStates`, for one update; empty (every lookup None) when not applicable."""

    def __init__(self, policy: Any, budget_mb: int) -> None:
        self.enabled = bool(getattr(policy, "splits_layers", False)) and budget_mb > 0
        self.budget_bytes = budget_mb * _MB
        self.used_bytes = 0
        self.skipped = 0  # chunks over the budget (run through the whole body)
        self._policy = policy
        self._states: dict[int, Any] = {}

    def compute(self, chunk: int, rows: Any) -> Any:
        """The lower layers' output for `rows` (chunk `chunk`), kept when it fits the budget; None when off."""
        if not self.enabled:
            return None
        lower = self._policy.lower_states(rows)
        if self.used_bytes + lower.nbytes <= self.budget_bytes:
            self._states[chunk] = lower
            self.used_bytes += lower.nbytes
        else:
            self.skipped += 1
        return lower

    def get(self, chunk: int) -> Any:
        """What `compute` kept for `chunk`, or None (the pass then runs the whole body)."""
        return self._states.get(chunk)
