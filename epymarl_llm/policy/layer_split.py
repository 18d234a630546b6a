"""LoRA on the top K layers: the frozen lower layers run once per agent-step (METHOD section 9).

With `lora_layers: K` the adapter sits on the last K decoder layers only (peft's
`layers_to_transform`). Everything below the first adapted layer is then the frozen pre-trained
body for the acting policy and the reference alike, and it does not change during an update. The
learner runs those lower layers once per agent-step (`lower_pass`), keeps their output (the
"boundary states"), and every later pass of that update (reference, pi_old, each PPO epoch) runs
the top K layers only, from the boundary states (`upper_pass`): a pass then costs about K/N of a
full one, forward and backward.

Both passes reuse the model's own `forward` (masks, rotary positions, attention kernels): the layers
a pass skips are swapped for a pass-through module for the duration of the call, so the layer
indices (the KV cache's, `config.layer_types`') stay those of the full model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from epymarl_llm.policy.cache_api import cache_from_layers, layer_kv  # noqa: F401 (layer_kv: policy.py's import)
from epymarl_llm.policy.errors import PolicyConfigError


class _PassThrough(nn.Module):
    """Stands in for a skipped decoder layer: returns its hidden states unchanged."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return hidden_states


def decoder_body(model: nn.Module) -> nn.Module:
    """The transformer body under a peft wrapper: the module that holds `layers` and `norm`."""
    body = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not isinstance(getattr(body, "layers", None), nn.ModuleList) or not isinstance(
        getattr(body, "norm", None), nn.Module
    ):
        raise PolicyConfigError(
            f"lora_layers needs a body with `layers` (a ModuleList) and a final `norm`, as Llama/Qwen-like "
            f"models have; {type(body).__name__} has not: set lora_layers=all"
        )
    return body


@contextlib.contextmanager
def only_layers(body: nn.Module, keep: range, final_norm: bool) -> Iterator[None]:
    """Run `body`'s forward through the decoder layers in `keep` only (and its final norm if asked).

    The other layers return their input unchanged, so the forward's `inputs_embeds` reach the first
    kept layer as they are. Restored on exit, exceptions included.
    """
    layers, norm = body.layers, body.norm
    saved = {i: layers[i] for i in range(len(layers)) if i not in keep}
    skip = _PassThrough()
    try:
        for i in saved:
            layers[i] = skip
        if not final_norm:
            body.norm = nn.Identity()
        yield
    finally:
        for i, layer in saved.items():
            layers[i] = layer
        body.norm = norm


@dataclass
class LowerStates:
    """The frozen lower layers' output for one chunk of prompts (the boundary states).

    Args:
        states: (M, S, H) states entering the first adapted layer, in the body's dtype: the suffix
            tokens after a cached prefix of `prefix_len` tokens, or whole rows when `prefix_len` is 0.
        prefix_len: the prompts' shared prefix length the states start after (0: no prefix cache).
        rows: M, checked against the batch the states are used with.
    """

    states: torch.Tensor
    prefix_len: int
    rows: int

    @property
    def nbytes(self) -> int:
        return self.states.numel() * self.states.element_size()

    @classmethod
    def from_rows(cls, rows: list[torch.Tensor], prefix_len: int, width: int) -> LowerStates:
        """Rows' states (S_i, H) right-padded with zeros to `width` tokens: the layout `lower_states`
        gives a batch of those rows padded to `width` after the prefix. Padding is never attended to
        (right padding, causal attention), so its value does not reach a real position."""
        first = rows[0]
        states = first.new_zeros(len(rows), width, first.shape[-1])
        for i, row in enumerate(rows):
            states[i, : row.shape[0]] = row
        return cls(states, prefix_len, len(rows))


class RowLowerStates:
    """The lower layers' states of each row of a batch run in buckets, cut to its real tokens.

    `LlmPolicy.forward_chunked(..., keep_lower=collector)` fills it bucket by bucket; `rows[i]` is
    then row i's (S_i, H) states after the prefix (a compact copy, not a view of the bucket).
    """

    def __init__(self, n_rows: int) -> None:
        self.rows: list[torch.Tensor | None] = [None] * n_rows
        self.prefix_len: int | None = None

    def add(self, index: torch.Tensor, lengths: torch.Tensor, lower: LowerStates) -> None:
        """Keep bucket rows `index` (positions in the whole batch) with full prompt `lengths`."""
        if self.prefix_len is not None and self.prefix_len != lower.prefix_len:
            raise ValueError(f"buckets of one batch start after {self.prefix_len} and {lower.prefix_len} tokens")
        self.prefix_len = lower.prefix_len
        for j, (row, length) in enumerate(zip(index.tolist(), lengths.tolist(), strict=True)):
            self.rows[row] = lower.states[j, : length - lower.prefix_len].clone()


@dataclass
class LowerPrefix:
    """The shared prefix through the lower layers, once per run: their keys/values and boundary states.

    `layers` has an entry per decoder layer; the adapted top layers' entries are placeholders.
    """

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    states: torch.Tensor  # (1, P, H)


def full_cache(layers: list[tuple[torch.Tensor, torch.Tensor]], rows: int):
    """A DynamicCache holding every layer's prefix (key, value), expanded (views, no copy) to `rows`.

    The layers a pass skips hold placeholders of the prefix's length (another layer's tensors, never
    read): the model reads the cache's length, hence the suffix positions and mask, from layer 0.
    """
    return cache_from_layers([(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in layers])
