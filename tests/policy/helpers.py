"""Helpers of the policy tests: hand-built TokenBatches with SMAC-like prompts."""

from __future__ import annotations

import random

import torch

from epymarl_llm.policy import LlmPolicy
from epymarl_llm.token_batch import TokenBatch

PREFIX = "You control one unit of a StarCraft II team. Goal: defeat every enemy unit.\n"


def build_batch(
    tokenizer, rows: list[list[tuple[str, int | None]]], n_targets: int, prefix: str = PREFIX
) -> TokenBatch:
    """Right-padded TokenBatch from rows of (text segment, target index or None).

    Segments are tokenized one by one and joined, so a target's span is exactly its segment's tokens
    and the prefix's tokens are identical in every row.
    """
    prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    ids_rows, spans = [], torch.zeros(len(rows), n_targets, 2, dtype=torch.long)
    for r, segments in enumerate(rows):
        ids = list(prefix_ids)
        for text, target in segments:
            piece = tokenizer(text, add_special_tokens=False)["input_ids"]
            if target is not None:
                spans[r, target] = torch.tensor([len(ids), len(ids) + len(piece)])
            ids += piece
        ids_rows.append(ids)
    lengths = torch.tensor([len(ids) for ids in ids_rows])
    width = int(lengths.max())
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for r, ids in enumerate(ids_rows):
        input_ids[r, : len(ids)] = torch.tensor(ids)
    mask = (torch.arange(width) < lengths[:, None]).long()
    return TokenBatch(input_ids, mask, lengths, len(prefix_ids), spans, pad)


def smac_rows(n_rows: int, n_enemies: int, seed: int = 0) -> list[list[tuple[str, int | None]]]:
    """Prompt rows for a map with `n_enemies`; each row shows a random subset of the enemies."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n_rows):
        segs: list[tuple[str, int | None]] = [(f"Self: Stalker, health {rng.randint(1, 100)}%.\n", None)]
        for j in range(n_enemies):
            if rng.random() < 0.8:
                segs.append((f"Enemy {j}: Zealot, distance {rng.randint(1, 9)}, health {rng.randint(1, 100)}%.\n", j))
        segs.append(("Available actions: stop, move north, attack.", None))
        rows.append(segs)
    return rows


def random_avail(batch: TokenBatch, n_targets: int, seed: int = 0) -> torch.Tensor:
    """(M, 6 + n_targets) bool: attack only targets in the prompt; at least one action per row."""
    g = torch.Generator().manual_seed(seed)
    avail = torch.rand(len(batch), 6 + n_targets, generator=g) < 0.6
    visible = batch.target_spans[..., 1] > batch.target_spans[..., 0]
    avail[:, 6:] &= visible
    avail[:, 1] = True  # stop is available to every living unit
    return avail


def perturb_lora(policy: LlmPolicy, scale: float = 0.5, seed: int = 1) -> None:
    """Give lora_B (zero at init) random values, as training would, so the adapter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * scale)


def encoded_batch(tokenizer, map_name: str, rows: int, seed: int = 0, agent_id: int | None = None):
    """(TokenBatch, avail bool) of real dynamic prompts of a SMAC map (`epymarl_llm.prompts`)."""
    from epymarl_llm.prompts import PromptEncoder, load_map_layout, random_observations

    layout = load_map_layout(map_name, env="sc2")
    obs, avail, agent_ids = random_observations(layout, rows, seed, agent_id=agent_id)
    return PromptEncoder(layout, tokenizer).encode(obs, avail, agent_ids), torch.as_tensor(avail) != 0
