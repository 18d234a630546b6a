"""Length buckets: which prompts share a backbone forward, so that right-padding costs little.

Prompts of one SMAC step differ a lot in length (3s5z_vs_3s6z: 163 to 663 tokens, mean 360,
because dead and unseen units are left out). One padded forward computes `rows x longest` tokens;
fixed-size chunks of length-sorted rows still pad each chunk to its longest row. Here the sorted
rows are cut where the padding saved outweighs the fixed cost of one more forward, by an exact
dynamic programme over the cut points (O(M x max_rows), vectorised per row).
"""

from __future__ import annotations

import numpy as np
import torch

# The fixed cost of one more forward, in padded tokens: kernel launches, the batch-1 prefix cache
# expansion, the head. A forward of fewer than a few hundred tokens is dominated by it on a GPU.
FORWARD_OVERHEAD_TOKENS = 2048
# On a CPU a token costs its matmuls at some 100 GFLOP/s a core, and a forward's fixed cost is the
# dispatch of some 40 ops a layer (peft's wrappers included) at tens of microseconds each: about
# 1.5 ms, 1.5e8 FLOP, a layer. In tokens that is this over a token's FLOP in one layer (2 x the
# layer's weights): 21 tokens for SmolLM2-135M, where 2048 made one 2s3z rollout step compute 5,640
# padded tokens for 3,154 real ones; the tiny test model stays at 2048.
CPU_LAYER_OVERHEAD_FLOP = 1.5e8
MIN_OVERHEAD_TOKENS = 16


def forward_overhead_tokens(device_type: str, layer_weights: int | None) -> int:
    """The fixed cost of one more forward in padded tokens, for a body whose decoder layer has `layer_weights` weights.

    On a GPU, and where the layer's size is unknown, `FORWARD_OVERHEAD_TOKENS`; on a CPU, from the
    per-layer dispatch cost against a token's FLOP (`CPU_LAYER_OVERHEAD_FLOP`), within
    [`MIN_OVERHEAD_TOKENS`, `FORWARD_OVERHEAD_TOKENS`]: small bodies keep large buckets.
    """
    if device_type != "cpu" or not layer_weights:
        return FORWARD_OVERHEAD_TOKENS
    tokens = round(CPU_LAYER_OVERHEAD_FLOP / (2 * layer_weights))
    return int(min(FORWARD_OVERHEAD_TOKENS, max(MIN_OVERHEAD_TOKENS, tokens)))


def length_buckets(
    lengths: torch.Tensor, max_rows: int, overhead_tokens: int = FORWARD_OVERHEAD_TOKENS
) -> list[torch.Tensor]:
    """Row indices grouped into forwards, each of at most `max_rows` rows, longest bucket first.

    Minimises sum over buckets of (rows x longest row) + `overhead_tokens`: the padded token count
    plus a per-forward cost. Rows within a bucket are in ascending length order.

    Args:
        lengths: (M,) prompt lengths (tokens that each row really computes).
        max_rows: memory bound per forward (`max_prompts_per_forward`).
    Returns:
        index tensors (long, on CPU) that partition range(M).
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    order = torch.argsort(lengths.detach().cpu(), stable=True)
    sorted_len = lengths.detach().cpu()[order].numpy().astype(np.int64)
    m = len(sorted_len)
    if m == 0:
        return []
    # cost[j]: cheapest way to run the j shortest rows; a bucket (i, j] pads to sorted_len[j - 1].
    cost = np.zeros(m + 1, dtype=np.float64)
    cut = np.zeros(m + 1, dtype=np.int64)
    for j in range(1, m + 1):
        first = max(0, j - max_rows)
        starts = np.arange(first, j)
        totals = cost[first:j] + (j - starts) * float(sorted_len[j - 1]) + overhead_tokens
        best = int(np.argmin(totals))
        cost[j], cut[j] = totals[best], first + best
    bounds, j = [], m
    while j > 0:
        bounds.append((int(cut[j]), j))
        j = int(cut[j])
    return [order[i:j] for i, j in bounds]  # longest bucket first: peak memory shows at once


def padded_tokens(lengths: torch.Tensor, buckets: list[torch.Tensor]) -> int:
    """Tokens a set of right-padded forwards computes: sum of rows x longest row per bucket."""
    return int(sum(len(b) * int(lengths[b].max()) for b in buckets if len(b)))


def row_groups(
    lengths: torch.Tensor, max_rows: int, buckets: bool = True, overhead_tokens: int = FORWARD_OVERHEAD_TOKENS
) -> list[torch.Tensor]:
    """Row indices grouped into forwards of at most `max_rows` rows.

    buckets=True: `length_buckets` (neighbours in length share a forward). buckets=False: consecutive
    rows in their given order, the plain path.
    """
    if not buckets:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1; got {max_rows}")
        return list(torch.arange(len(lengths)).split(max_rows))
    return length_buckets(lengths, max_rows, overhead_tokens)
