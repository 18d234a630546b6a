"""Global state rows -> one token per unit (spec section 5), the same token format on every map.

Feature columns are aligned by name, not by position: an ally row of SMAC's state is
[health, energy/cooldown, rel_x, rel_y, (shield), (type bits)] and an enemy row
[health, rel_x, rel_y, (shield), (type bits)] (smac `StarCraft2Env.get_state_dict`), so positions
differ between sides and between maps with and without shields. Each token has the columns of
`TOKEN_FEATURES`, zero where its unit lacks one. Unit-type bits are dropped: their meaning changes
from map to map, and the critic's unit-type embedding keyed by unit name replaces them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from epymarl_llm.critic.unit_vocab import SIDES, side_id, unit_type_id

TOKEN_FEATURES = ("health", "cooldown", "rel_x", "rel_y", "shield")

# Spellings of the same quantity (SMAC's attribute names, and common variants).
_ALIASES = {
    "health": "health", "hp": "health",
    "energy/cooldown": "cooldown", "energy_cooldown": "cooldown", "cooldown": "cooldown",
    "weapon_cooldown": "cooldown", "energy": "cooldown",
    "rel_x": "rel_x", "x": "rel_x", "pos_x": "rel_x",
    "rel_y": "rel_y", "y": "rel_y", "pos_y": "rel_y",
    "shield": "shield", "shields": "shield",
}


class EntitySlotLike(Protocol):
    """What the tokenizer reads from `epymarl_llm.prompts`' EntitySlot."""

    side: str
    slot: int
    unit_name: str
    offset: int
    size: int
    features: tuple[str, ...]


def _canonical_feature(name: str) -> str | None:
    """The token column of a state feature; None for unit-type bits (replaced by the embedding)."""
    key = name.strip().lower()
    if key.startswith("type") or key.startswith("unit_type"):
        return None
    if key not in _ALIASES:
        raise ValueError(f"state feature {name!r} has no token column; known: {sorted(_ALIASES)} "
                         "and type bits (type_*). Add its spelling to critic/state_tokens.py _ALIASES")
    return _ALIASES[key]


@dataclass
class EntityTokens:
    """Units of a batch of states as tokens.

    Args:
        features: (..., E, F) float, F = len(TOKEN_FEATURES).
        type_ids: (..., E) long, unit-type ids (unit_vocab).
        side_ids: (..., E) long, 0 ally, 1 enemy.
        live: (..., E) bool, units alive in that state (health > 0).
    """

    features: torch.Tensor
    type_ids: torch.Tensor
    side_ids: torch.Tensor
    live: torch.Tensor


class StateTokenizer:
    """Cuts state rows of one map into entity tokens; holds index tensors, no trainable weights."""

    def __init__(self, entities: Sequence[EntitySlotLike]):
        if not entities:
            raise ValueError("the state layout has no entities: cannot build critic tokens")
        columns = []  # per entity: state column per token feature, -1 when absent
        health_cols = []
        for entity in entities:
            if len(entity.features) != entity.size:
                raise ValueError(f"entity {entity.side} {entity.slot}: {len(entity.features)} feature names "
                                 f"for size {entity.size}")
            row = [-1] * len(TOKEN_FEATURES)
            for i, name in enumerate(entity.features):
                canonical = _canonical_feature(name)
                if canonical is not None:
                    row[TOKEN_FEATURES.index(canonical)] = entity.offset + i
            columns.append(row)
            health_cols.append(row[0])
        if any(c < 0 for c in health_cols):
            raise ValueError("every entity needs a health feature: the critic uses it to tell live units")
        self.n_entities = len(entities)
        self.state_width = max(e.offset + e.size for e in entities)
        # Absent features (-1) read from a zero column appended after the state's last column.
        self._gather = torch.tensor(columns)
        self._health = torch.tensor(health_cols)
        self.type_ids = torch.tensor([unit_type_id(e.unit_name) for e in entities])
        self.side_ids = torch.tensor([side_id(e.side) for e in entities])

    def __call__(self, state: torch.Tensor) -> EntityTokens:
        """state (..., state_size) -> EntityTokens with leading dims (...) kept."""
        if state.shape[-1] < self.state_width:
            raise ValueError(f"state rows have {state.shape[-1]} columns, the layout needs {self.state_width}")
        device = state.device
        lead = state.shape[:-1]
        padded = torch.cat([state.float(), state.new_zeros(*lead, 1, dtype=torch.float32)], dim=-1)
        gather = self._gather.to(device)
        gather = torch.where(gather < 0, state.shape[-1], gather)
        features = padded[..., gather.reshape(-1)].reshape(*lead, *gather.shape)
        live = state[..., self._health.to(device)] > 0
        expand = (*lead, self.n_entities)
        return EntityTokens(features=features, type_ids=self.type_ids.to(device).expand(expand),
                            side_ids=self.side_ids.to(device).expand(expand), live=live)


def pad_tokens(batches: Sequence[EntityTokens]) -> EntityTokens:
    """Stack token sets of states with different unit counts (B_i, E_i, F) into (sum B_i, max E, F).

    Padded entities are dead (live False): they take no part in attention or pooling.
    """
    width = max(t.features.shape[-2] for t in batches)

    def pad(x: torch.Tensor, value) -> torch.Tensor:
        extra = width - x.shape[1]
        if extra == 0:
            return x
        filler = torch.full((x.shape[0], extra, *x.shape[2:]), value, dtype=x.dtype, device=x.device)
        return torch.cat([x, filler], dim=1)

    return EntityTokens(
        features=torch.cat([pad(t.features, 0.0) for t in batches]),
        type_ids=torch.cat([pad(t.type_ids, 0) for t in batches]),
        side_ids=torch.cat([pad(t.side_ids, 0) for t in batches]),
        live=torch.cat([pad(t.live, False) for t in batches]),
    )


__all__ = ["EntityTokens", "SIDES", "StateTokenizer", "TOKEN_FEATURES", "pad_tokens"]
