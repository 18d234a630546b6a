"""`PromptEncoder`: M observation rows -> prompt texts -> a `TokenBatch` for any HF tokenizer.

Fast path (docs/PERFORMANCE.md): every text piece of the template is tokenized once; a prompt's ids are
its pieces' ids joined, assembled for all M rows with numpy. That equals `tokenizer(text)` only when
piece boundaries are pre-tokenizer boundaries, so the encoder checks it on sample prompts when it is
built and falls back to tokenizing whole texts (with offsets) when they differ.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..token_batch import TokenBatch
from .config import PromptConfig
from .examples import random_observations
from .layout import MapLayout
from .semantic import SemanticObservation, semantic_observation
from .template import Plan, PromptTemplate

N_CHECK_ROWS = 32  # sample prompts that must tokenize identically before the fast path is trusted


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class PromptEncoder:
    """Builds the prompts of one map (layout) and tokenizes them.

    Args:
        layout: the map's `MapLayout`.
        tokenizer: a Hugging Face tokenizer (fast tokenizers for the fallback path), or None for text only.
        dynamic: shorthand for `config.dynamic_prompt` (the contract's keyword).
        config: `PromptConfig`; defaults to dynamic prompts with percent numbers.
    """

    def __init__(
        self, layout: MapLayout, tokenizer: Any = None, dynamic: bool | None = None, config: PromptConfig | None = None
    ):
        config = config or PromptConfig()
        if dynamic is not None and dynamic != config.dynamic_prompt:
            config = PromptConfig(dynamic_prompt=dynamic, number_format=config.number_format)
        self.layout, self.config, self.tokenizer = layout, config, tokenizer
        layout.check_prompt_support()
        self.template = PromptTemplate(layout, config)
        self.decoder = self.template.decoder
        self.prefix_text = self.template.prefix_text
        self._piece_chars = np.array([len(t) for t in self.template.texts], dtype=np.int64)
        self.fast = False
        if tokenizer is not None:
            self._init_tokens(tokenizer)

    # ----- text
    def _plan(self, obs, avail, agent_ids) -> tuple[Plan, Any]:
        obs, avail, agent_ids = _numpy(obs), _numpy(avail), _numpy(agent_ids)
        d = self.decoder.decode(obs, avail, agent_ids)
        return self.template.plan(d, avail), d

    def texts(self, obs, avail, agent_ids) -> list[str]:
        """The prompt text of each row: obs (M, obs_size), avail (M, n_actions), agent_ids (M,)."""
        plan, _ = self._plan(obs, avail, agent_ids)
        return self.template.texts_of(plan.pieces)

    def semantic(self, obs_row, agent_id: int, avail_row=None) -> SemanticObservation:
        """Paper figure 3b for one row (what the prompt's game-state part says)."""
        return semantic_observation(
            self.layout, obs_row, agent_id, avail_row, keep_unseen=not self.config.dynamic_prompt
        )

    # ----- tokens
    def _init_tokens(self, tok: Any) -> None:
        texts = self.template.texts
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        self._piece_len = np.array([len(x) for x in ids], dtype=np.int64)
        self._piece_start = np.concatenate([[0], np.cumsum(self._piece_len)[:-1]]).astype(np.int64)
        self._flat_ids = np.array([i for x in ids for i in x], dtype=np.int64)
        self._special_prefix, self._special_suffix = _special_tokens(tok)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.pad_id = int(pad) if pad is not None else 0
        self.prefix_ids = self._special_prefix + list(ids[self.template.p_prefix])
        self.prefix_len = len(self.prefix_ids)
        self.fast = True
        obs, avail, agent_ids = random_observations(self.layout, N_CHECK_ROWS, seed=20250)
        plan, _ = self._plan(obs, avail, agent_ids)
        joined, lengths, _, _ = self._assemble(plan.pieces)  # numpy only: building needs no torch
        full = tok(self.template.texts_of(plan.pieces))["input_ids"]
        for r, want in enumerate(full):
            if joined[r, : lengths[r]].tolist() != list(want):
                self.fast = False
                warnings.warn(
                    f"{type(tok).__name__}: joined piece ids differ from tokenizing whole prompts (its "
                    "pre-tokenizer splits elsewhere); PromptEncoder tokenizes whole prompts instead (slower)",
                    stacklevel=3,
                )
                break
        if not self.fast and self.prefix_ids != list(full[0][: self.prefix_len]):
            self.prefix_len = _common_prefix(full)
            self.prefix_ids = list(full[0][: self.prefix_len])

    def encode(self, obs, avail, agent_ids, entity_spans: bool = True) -> TokenBatch:
        """Tokenized prompts of M rows.

        Args:
            obs: (M, obs_size) observation rows (numpy or torch); avail: (M, n_actions); agent_ids: (M,).
            entity_spans: also list every described unit's token span (for inspection).
        Returns:
            TokenBatch with input_ids (M, L), target_spans (M, n_targets, 2), prefix_len, ...
        """
        if self.tokenizer is None:
            raise ValueError("PromptEncoder was built without a tokenizer: pass one to encode (texts() needs none)")
        plan, d = self._plan(obs, avail, agent_ids)
        if self.fast:
            ids, lengths, starts, ends = self._assemble(plan.pieces)
        else:
            ids, lengths, starts, ends = self._tokenize_whole(plan.pieces)
        return self._batch(plan, d, ids, lengths, starts, ends, entity_spans)

    def _assemble(self, pieces: np.ndarray):
        """Join cached piece ids: -> ids (M, L), lengths (M,), piece token starts/ends (M, P)."""
        m = pieces.shape[0]
        present = pieces >= 0
        plen = np.where(present, self._piece_len[np.maximum(pieces, 0)], 0)
        ends = np.cumsum(plen, axis=1) + len(self._special_prefix)
        starts = ends - plen
        lengths = ends[:, -1] + len(self._special_suffix) if pieces.shape[1] else np.full(m, len(self._special_prefix))
        width = int(lengths.max()) if m else 0
        ids = np.full((m, width), self.pad_id, dtype=np.int64)
        p = pieces[present]
        rep = self._piece_len[p]
        total = int(rep.sum())
        first = np.repeat(np.cumsum(rep) - rep, rep)
        within = np.arange(total) - first
        src = np.repeat(self._piece_start[p], rep) + within
        rows = np.repeat(np.nonzero(present)[0], rep)
        cols = np.repeat(starts[present], rep) + within
        ids[rows, cols] = self._flat_ids[src]
        if self._special_prefix:
            ids[:, : len(self._special_prefix)] = self._special_prefix
        if self._special_suffix:
            for k, t in enumerate(self._special_suffix):
                ids[np.arange(m), ends[:, -1] + k] = t
        return ids, lengths, starts, ends

    def _tokenize_whole(self, pieces: np.ndarray):
        """Fallback: tokenize whole texts; piece token spans from the tokenizer's character offsets."""
        texts = self.template.texts_of(pieces)
        enc = self.tokenizer(texts, return_offsets_mapping=True)
        m = len(texts)
        clen = np.where(pieces >= 0, self._piece_chars[np.maximum(pieces, 0)], 0)
        cend = np.cumsum(clen, axis=1)
        cstart = cend - clen
        lengths = np.array([len(x) for x in enc["input_ids"]], dtype=np.int64)
        ids = np.full((m, int(lengths.max()) if m else 0), self.pad_id, dtype=np.int64)
        starts, ends = np.zeros_like(cstart), np.zeros_like(cend)
        for r in range(m):
            ids[r, : lengths[r]] = enc["input_ids"][r]
            off = np.array(enc["offset_mapping"][r], dtype=np.int64).reshape(-1, 2)
            real = off[:, 1] > off[:, 0]  # special tokens have empty offsets
            tok_start = np.where(real, off[:, 0], np.iinfo(np.int64).max)
            tok_end = np.where(real, off[:, 1], -1)
            # first token ending after the piece starts; one past the last token starting before it ends
            starts[r] = np.searchsorted(np.maximum.accumulate(tok_end), cstart[r], side="right")
            ends[r] = np.searchsorted(np.minimum.accumulate(tok_start[::-1])[::-1], cend[r], side="left")
        return ids, lengths, starts, ends

    def _batch(self, plan: Plan, d, ids, lengths, starts, ends, with_entities: bool) -> TokenBatch:
        import torch

        lay = self.layout
        m = ids.shape[0]
        pieces = plan.pieces

        def spans(cols: list[tuple[int, int]]) -> np.ndarray:  # (M, len(cols), 2)
            out = np.zeros((m, len(cols), 2), dtype=np.int64)
            for k, (a, b) in enumerate(cols):
                shown = pieces[:, a] >= 0
                out[:, k, 0] = np.where(shown, starts[:, a], 0)
                out[:, k, 1] = np.where(shown, ends[:, b], 0)
            return out

        enemy = spans(plan.enemy_cols)
        ally_slots = spans(plan.ally_cols)
        n_t = lay.n_targets
        targets = np.zeros((m, n_t, 2), dtype=np.int64)
        k = min(n_t, lay.n_enemies)
        targets[:, :k] = enemy[:, :k]
        if d.healer.any():  # a Medivac's target j is ally (agent) j
            ally_by_agent = np.zeros((m, lay.n_agents, 2), dtype=np.int64)
            rows = np.repeat(np.arange(m), ally_slots.shape[1])
            ally_by_agent[rows, d.ally_ids.reshape(-1)] = ally_slots.reshape(-1, 2)
            k = min(n_t, lay.n_agents)
            heal = np.zeros_like(targets)
            heal[:, :k] = ally_by_agent[:, :k]
            targets = np.where(d.healer[:, None, None], heal, targets)
        entity = []
        if with_entities:  # plain lists: one .tolist() per array instead of int() per value
            own = spans([plan.self_cols])[:, 0].tolist()
            agents, ally_ids = d.agent_ids.tolist(), d.ally_ids.tolist()
            ally_l, enemy_l = ally_slots.tolist(), enemy.tolist()
            for r in range(m):
                row = [("self", agents[r], own[r][0], own[r][1])]
                row += [("ally", a, s, e) for a, (s, e) in zip(ally_ids[r], ally_l[r], strict=True) if e > s]
                row += [("enemy", j, s, e) for j, (s, e) in enumerate(enemy_l[r]) if e > s]
                entity.append(row)
        width = ids.shape[1]
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        return TokenBatch(
            input_ids=torch.from_numpy(ids),
            attention_mask=torch.from_numpy(mask),
            lengths=torch.from_numpy(lengths.astype(np.int64)),
            prefix_len=self.prefix_len,
            target_spans=torch.from_numpy(targets),
            pad_id=self.pad_id,
            entity_spans=entity,
        )


def _special_tokens(tok: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer adds around a text by default (e.g. BOS; none for Qwen)."""
    plain = list(tok("Ally", add_special_tokens=False)["input_ids"])
    full = list(tok("Ally")["input_ids"])
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            return full[:i], full[i + len(plain) :]
    return [], []


def _common_prefix(rows: list[list[int]]) -> int:
    n = min(len(r) for r in rows)
    for i in range(n):
        if any(r[i] != rows[0][i] for r in rows):
            return i
    return n
