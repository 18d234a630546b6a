"""The tokenized prompts of a batch of agent-steps: the contract between prompts and policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily by the modules that build or consume batches
    import torch


@dataclass
class TokenBatch:
    """Prompts of M agent-steps, tokenized and right-padded.

    Args:
        input_ids: (M, L) long; the whole prompt, prefix included, right-padded with `pad_id`.
        attention_mask: (M, L) long; 1 on real tokens, 0 on padding.
        lengths: (M,) long; number of real tokens per row.
        prefix_len: the first `prefix_len` tokens (instruction + goal) are identical in every row,
            and for every agent and step of the map, so their keys/values can be cached once.
        target_spans: (M, n_targets, 2) long; [start, end) token positions of each attack/heal
            target's description in `input_ids`; (0, 0) when the target is not in the prompt.
        pad_id: the padding token id.
        entity_spans: per row, (side, slot, start, end) for every entity described in the prompt
            (side is "self", "ally" or "enemy"); for inspection and later work, not the hot path.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    lengths: torch.Tensor
    prefix_len: int
    target_spans: torch.Tensor
    pad_id: int
    entity_spans: list[list[tuple[str, int, int, int]]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def to(self, device) -> TokenBatch:
        """A copy with every tensor on `device`."""
        return TokenBatch(
            input_ids=self.input_ids.to(device),
            attention_mask=self.attention_mask.to(device),
            lengths=self.lengths.to(device),
            prefix_len=self.prefix_len,
            target_spans=self.target_spans.to(device),
            pad_id=self.pad_id,
            entity_spans=self.entity_spans,
        )

    def select(self, index: torch.Tensor) -> TokenBatch:
        """The rows `index` (a long tensor), trimmed to their longest row."""
        lengths = self.lengths[index]
        width = int(lengths.max()) if len(lengths) else 0
        return TokenBatch(
            input_ids=self.input_ids[index, :width],
            attention_mask=self.attention_mask[index, :width],
            lengths=lengths,
            prefix_len=self.prefix_len,
            target_spans=self.target_spans[index],
            pad_id=self.pad_id,
            entity_spans=[self.entity_spans[i] for i in index.tolist()] if self.entity_spans else [],
        )
