"""Checks of a `TokenBatch` and its availability mask before they reach the backbone."""

from __future__ import annotations

import torch

from epymarl_llm.policy.errors import BatchError
from epymarl_llm.policy.head import N_BASE_ACTIONS
from epymarl_llm.token_batch import TokenBatch


def check_inputs(batch: TokenBatch, avail: torch.Tensor) -> torch.Tensor:
    """Validate shapes and contents; returns `avail` as a bool tensor (0/1 integers are accepted).

    Raises:
        BatchError: naming the field, its shape and what was expected.
    """
    if not isinstance(batch, TokenBatch):
        raise BatchError(f"expected a TokenBatch (epymarl_llm.token_batch), got {type(batch).__name__}")
    rows, width = _check_prompt_rows(batch)
    n_targets = _check_avail_shape(avail, batch.target_spans, rows)
    avail = _bool_avail(avail)
    _check_span_bounds(batch.target_spans, n_targets, width)
    return avail


def _check_prompt_rows(batch: TokenBatch) -> tuple[int, int]:
    """input_ids, attention_mask, lengths and prefix_len agree; returns (rows M, width L)."""
    ids, mask = batch.input_ids, batch.attention_mask
    if ids.dim() != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise BatchError(f"input_ids must be (M, L) with M, L >= 1; got shape {tuple(ids.shape)}")
    rows, width = ids.shape
    if mask.shape != ids.shape:
        raise BatchError(f"attention_mask shape {tuple(mask.shape)} != input_ids shape {tuple(ids.shape)}")
    if batch.lengths.shape != (rows,):
        raise BatchError(f"lengths must be ({rows},); got {tuple(batch.lengths.shape)}")
    if bool((batch.lengths < 1).any()) or bool((batch.lengths > width).any()):
        raise BatchError(
            f"lengths must each be in [1, L={width}] (an empty prompt has no last token); got {batch.lengths.tolist()}"
        )
    if not torch.equal(mask.long().sum(dim=1), batch.lengths.to(mask.device).long()):
        raise BatchError("lengths must equal attention_mask.sum(1): rebuild the batch with the prompt encoder")
    if not 0 <= batch.prefix_len < int(batch.lengths.min()):
        raise BatchError(
            f"prefix_len={batch.prefix_len} must be >= 0 and shorter than every prompt (shortest: {int(batch.lengths.min())})"
        )
    return rows, width


def _check_avail_shape(avail: torch.Tensor, spans: torch.Tensor, rows: int) -> int:
    """avail is (M, 6 + n_targets) and target_spans (M, n_targets, 2); returns n_targets."""
    if avail.dim() != 2 or avail.shape[0] != rows or avail.shape[1] < N_BASE_ACTIONS:
        raise BatchError(
            f"avail must be (M={rows}, {N_BASE_ACTIONS} + n_targets) (SMAC's avail_actions rows); got {tuple(avail.shape)}"
        )
    n_targets = avail.shape[1] - N_BASE_ACTIONS
    if spans.shape != (rows, n_targets, 2):
        raise BatchError(
            f"target_spans shape {tuple(spans.shape)} does not match avail: expected ({rows}, {n_targets}, 2) "
            "for avail of width 6 + n_targets; were the prompts built for another map?"
        )
    return n_targets


def _bool_avail(avail: torch.Tensor) -> torch.Tensor:
    """avail as bool (from bool or 0/1 integers), with some action available in every row."""
    if avail.dtype != torch.bool:
        if avail.dtype.is_floating_point or avail.dtype.is_complex or bool(((avail != 0) & (avail != 1)).any()):
            raise BatchError(f"avail must be bool or 0/1 integers; got dtype {avail.dtype}")
        avail = avail != 0
    if not bool(avail.any(dim=1).all()):
        bad = (~avail.any(dim=1)).nonzero().flatten().tolist()
        raise BatchError(
            f"rows {bad} have no available action (SMAC gives a dead unit no-op): a softmax over nothing is undefined"
        )
    return avail


def _check_span_bounds(spans: torch.Tensor, n_targets: int, width: int) -> None:
    """Each target's span is [start, end) inside the prompt."""
    if n_targets and (
        bool((spans[..., 0] > spans[..., 1]).any()) or bool((spans < 0).any()) or bool((spans > width).any())
    ):
        raise BatchError(f"target_spans must be [start, end) with 0 <= start <= end <= L={width}")
