"""The last decoder layer at the positions the action head reads only (docs/PERFORMANCE.md "Cost model").

The head reads each prompt's last token and, with entity keys, the tokens of each target's
description (METHOD section 4). Every other position's output of the *last* decoder layer is
never used. That layer still needs every position's keys and values (its queries attend to them),
but its queries, attention output, output projection and MLP are needed at the read positions only.
`HeadPositionsLayer` stands in for the last layer during one forward and computes exactly that,
with the layer's own modules (LoRA included) and the model family's own rotary function. The
positions it does not compute keep their input states (never read). The result at the read
positions equals the full layer's, to float rounding (tests).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

_PARTS = ("input_layernorm", "post_attention_layernorm", "mlp", "self_attn")
_ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "o_proj", "head_dim", "scaling", "layer_idx")


def supports(layer: nn.Module) -> bool:
    """A Llama/Qwen-style pre-norm decoder layer with full (not sliding-window) attention."""
    attn = getattr(layer, "self_attn", None)
    if (
        attn is None
        or not all(hasattr(layer, p) for p in _PARTS)
        or not all(hasattr(attn, p) for p in _ATTENTION_PARTS)
    ):
        return False
    if getattr(attn, "sliding_window", None) is not None:
        return False
    return hasattr(sys.modules.get(type(attn).__module__), "apply_rotary_pos_emb")


def read_positions(attention_mask: torch.Tensor, target_spans: torch.Tensor | None, offset: int) -> torch.Tensor:
    """(M, S) bool: the positions `offset:` the head reads (last real token; target spans if given)."""
    rows, width = attention_mask.shape[0], attention_mask.shape[1] - offset
    lengths = attention_mask.long().sum(dim=1)
    read = torch.zeros(rows, width, dtype=torch.bool, device=attention_mask.device)
    read[torch.arange(rows, device=read.device), lengths - 1 - offset] = True
    if target_spans is not None and target_spans.shape[1]:
        positions = torch.arange(offset, offset + width, device=read.device)
        start, end = target_spans[..., :1], target_spans[..., 1:]
        read |= ((positions >= start) & (positions < end)).any(dim=1)
    return read


class HeadPositionsLayer(nn.Module):
    """The wrapped layer's output at the `read` positions; elsewhere its input, unchanged.

    Args:
        layer: the model's last decoder layer.
        read: (M, S) bool over the hidden states this layer receives.
    """

    def __init__(self, layer: nn.Module, read: torch.Tensor) -> None:
        super().__init__()
        self.layer = layer
        counts = read.sum(dim=1)
        self.n_read = int(counts.max())
        # The read positions of each row first, in order; rows with fewer repeat their last one.
        order = torch.argsort((~read).to(torch.int8), dim=1, stable=True)[:, : self.n_read]
        self.valid = torch.arange(self.n_read, device=read.device)[None, :] < counts[:, None]
        last = order.gather(1, (counts - 1).clamp_min(0)[:, None])
        self.index = torch.where(self.valid, order, last)  # (M, Q)

    def _rotary(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        rotate = sys.modules[type(self.layer.self_attn).__module__].apply_rotary_pos_emb
        return rotate(x, x, cos, sin)[0]

    def forward(
        self,
        hidden_states: torch.Tensor,
        *args,
        position_embeddings=None,
        cache=None,
        past_key_values=None,
        past_key_value=None,
        **kwargs,
    ) -> torch.Tensor:
        layer, attn = self.layer, self.layer.self_attn
        # The model hands its layers the cache as `cache` (transformers 5.x), `past_key_values`, or
        # `past_key_value` (4.51 and other older releases): `cache_api`.
        cache = next((c for c in (cache, past_key_values, past_key_value) if c is not None), None)
        rows, width, _ = hidden_states.shape
        index = self.index
        take = lambda t: t.gather(1, index[..., None].expand(-1, -1, t.shape[-1]))  # noqa: E731
        x = layer.input_layernorm(hidden_states)
        xq = take(x)
        q_norm = getattr(attn, "q_norm", nn.Identity())
        k_norm = getattr(attn, "k_norm", nn.Identity())
        q = q_norm(attn.q_proj(xq).view(rows, self.n_read, -1, attn.head_dim)).transpose(1, 2)
        k = k_norm(attn.k_proj(x).view(rows, width, -1, attn.head_dim)).transpose(1, 2)
        v = attn.v_proj(x).view(rows, width, -1, attn.head_dim).transpose(1, 2)
        cos, sin = position_embeddings
        cos, sin = cos.expand(rows, -1, -1), sin.expand(rows, -1, -1)
        q, k = self._rotary(q, take(cos), take(sin)), self._rotary(k, cos, sin)
        if cache is not None:
            k, v = cache.update(k, v, attn.layer_idx)
        prefix = k.shape[2] - width  # cached prefix tokens before these states (all real, all visible)
        # Causal over right-padded rows: a real query sees every key up to itself (all real).
        visible = torch.arange(k.shape[2], device=k.device)[None, None, :] <= (prefix + index)[:, :, None]
        groups = q.shape[1] // k.shape[1]
        if groups > 1:
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        out = F.scaled_dot_product_attention(
            q, k.to(q.dtype), v.to(q.dtype), attn_mask=visible[:, None], scale=attn.scaling
        )
        out = attn.o_proj(out.transpose(1, 2).reshape(rows, self.n_read, -1))
        h = take(hidden_states) + out
        h = h + layer.mlp(layer.post_attention_layernorm(h))
        # Scatter the real read positions back (unique per row, so gradients are not doubled).
        r, c = self.valid.nonzero(as_tuple=True)
        return hidden_states.index_put((r, index[r, c]), h[r, c])


@contextlib.contextmanager
def last_layer_at(body: nn.Module, read: torch.Tensor | None) -> Iterator[None]:
    """Within: `body`'s last decoder layer computes the `read` positions only (nothing when None)."""
    if read is None:
        yield
        return
    layers = body.layers
    last = layers[len(layers) - 1]
    layers[len(layers) - 1] = HeadPositionsLayer(last, read)
    try:
        yield
    finally:
        layers[len(layers) - 1] = last
