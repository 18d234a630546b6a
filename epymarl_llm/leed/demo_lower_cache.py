"""The frozen lower layers' output for demonstration prompts, kept for the whole run.

With `lora_layers: K` the layers below the adapter never change, and demonstrations never change
either, so the lower layers' output for a demonstration agent-step is the same at every epoch of
every update. The expert loss draws `demo_batch_episodes` episodes per epoch; without this cache
each draw runs them through the whole body again, which costs more than the PPO epoch itself on a
30-layer model. Rows are keyed by their token ids (and the prefix they start after): equal prompts
have equal lower states, so the key is exact whatever the episode order. Rows that do not fit
`lower_cache_mb` are computed each time, as without the cache.
"""

from __future__ import annotations

from typing import Any

import torch

from epymarl_llm.policy.layer_split import LowerStates

_MB = 2**20


class DemoLowerCache:
    """Token ids -> (S, H) lower states after the prefix, within `budget_mb` (0: off)."""

    def __init__(self, budget_mb: int) -> None:
        self.budget_bytes = budget_mb * _MB
        self.used_bytes = 0
        self.hits = 0  # chunks served from the cache
        self.computed = 0  # chunks whose lower layers ran
        self._rows: dict[tuple[int, bytes], torch.Tensor] = {}

    def lower_states(self, policy: Any, rows: Any) -> LowerStates | None:
        """`LowerStates` of `rows` (one chunk): kept ones, else computed and kept; None when not applicable."""
        if not policy.splits_layers or self.budget_bytes <= 0:
            return None
        offset = policy.lower_offset(rows)
        keys = _row_keys(rows, offset)
        kept = [self._rows.get(key) for key in keys]
        width = rows.input_ids.shape[1] - offset
        if all(row is not None for row in kept):
            self.hits += 1
            return LowerStates.from_rows(kept, offset, width)
        lower = policy.lower_states(rows)
        self.computed += 1
        for j, (key, length) in enumerate(zip(keys, rows.lengths.tolist(), strict=True)):
            state = lower.states[j, : length - offset]
            size = state.numel() * state.element_size()
            if key not in self._rows and self.used_bytes + size <= self.budget_bytes:
                self._rows[key] = state.clone()
                self.used_bytes += size
        return lower


def _row_keys(rows: Any, offset: int) -> list[tuple[int, bytes]]:
    ids = rows.input_ids.cpu()
    return [(offset, ids[j, :length].numpy().tobytes()) for j, length in enumerate(rows.lengths.tolist())]
