"""Global state rows -> one token per unit (METHOD section 5), the same token format on every map.

Feature columns are aligned by name, not by position: an ally row of SMAC's state is
[health, energy/cooldown, rel_x, rel_y, (shield), (type bits)] and an enemy row
[health, rel_x, rel_y, (shield), (type bits)] (smac `StarCraft2Env.get_state_dict`), so positions
differ between sides and between maps with and without shields. Each token has the columns of
`TOKEN_FEATURES`, zero where its unit lacks one. Unit-type bits are not token features: their
positions change from map to map. They give the unit's name instead, and with it the critic's
unit-type embedding (`unit_vocab`, keyed by name, so shared across maps). SMAC does not fix which
enemy sits in which slot on maps with mixed enemies (3s5z, MMM2, ...), so each row's type is read
from the set bit (`type_Zealot`, ...) of that row; a row with no bit set (a dead unit: SMAC zeroes
its whole row) keeps the layout's name. When the state
carries last actions (SMAC's `state_last_action`, always in SMAClite), each ally's token gets its last
base action one-hot and a "last action was an attack/heal" flag: the target slots' count depends on
the map, so they are summed into one column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from epymarl_llm.actions import N_BASE_ACTIONS
from epymarl_llm.critic.unit_vocab import (
    SIDES,
    UNIT_TYPES,
    normalise_unit_name,
    side_id,
    unit_type_id,
)

if TYPE_CHECKING:
    from epymarl_llm.prompts.layout import EntitySlot

UNIT_FEATURES = ("health", "cooldown", "rel_x", "rel_y", "shield")
LAST_ACTION_FEATURES = ("last_noop", "last_stop", "last_north", "last_south", "last_east", "last_west", "last_target")
TOKEN_FEATURES = UNIT_FEATURES + LAST_ACTION_FEATURES
UNIT_SIDES = ("ally", "enemy")
IGNORED_SIDES = ("last_action", "timestep")  # last actions are folded into the ally tokens

# The state layout's feature names (prompts.layout, `MapLayout._state_layout`, after SMAC's
# get_state_dict) -> token column.
_TOKEN_COLUMN = {
    "health": "health",
    "energy_or_cooldown": "cooldown",
    "rel_x": "rel_x",
    "rel_y": "rel_y",
    "shield": "shield",
}
TYPE_BIT_PREFIX = "type_"  # the layout's unit-type bits: type_Zealot, type_Spine_Crawler, ...


def _is_type_bit(name: str) -> bool:
    return name.startswith(TYPE_BIT_PREFIX)


def _type_bit_unit(name: str) -> str | None:
    """'type_Zealot' -> 'zealot' when the bit names a unit of the vocabulary, else None ('type_0')."""
    if not _is_type_bit(name):
        return None
    unit = normalise_unit_name(name[len(TYPE_BIT_PREFIX) :])
    return unit if unit in UNIT_TYPES else None


def _canonical_feature(name: str) -> str | None:
    """The token column of a state feature; None for unit-type bits (they give the type id instead)."""
    if _is_type_bit(name):
        return None
    if name not in _TOKEN_COLUMN:
        raise ValueError(
            f"state feature {name!r} has no token column; known: {sorted(_TOKEN_COLUMN)} "
            "and type bits (type_*). Map it to a column in critic/state_tokens.py _TOKEN_COLUMN"
        )
    return _TOKEN_COLUMN[name]


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

    def __init__(self, entities: Sequence[EntitySlot]):
        sides = {e.side for e in entities}
        if "agent_obs" in sides:
            raise ValueError(
                "the state is the agents' observations (obs_instead_of_state=True): the Transformer "
                "critic needs SMAC's unit state; set env_args.obs_instead_of_state=False"
            )
        unknown = sides - set(UNIT_SIDES) - set(IGNORED_SIDES)
        if unknown:
            raise ValueError(f"state blocks of unknown side {sorted(unknown)}; expected {UNIT_SIDES + IGNORED_SIDES}")
        units = [e for e in entities if e.side in UNIT_SIDES]
        if not units:
            raise ValueError("the state layout has no units: cannot build critic tokens")
        # An ally's last-action block carries the ally's unit id (its agent id).
        last_actions = {e.unit_id: e for e in entities if e.side == "last_action"}
        self.state_width = max(e.offset + e.size for e in entities)
        columns = []  # per unit: state column per token feature, -1 when absent
        type_columns = []  # per unit: [(state column of a type bit, its unit's type id)]
        target_sums = torch.zeros(self.state_width, len(units))  # state -> "last action was a target" column
        for k, unit in enumerate(units):
            if len(unit.features) != unit.size:
                raise ValueError(f"{unit.side} {unit.slot}: {len(unit.features)} feature names for size {unit.size}")
            row = [-1] * len(TOKEN_FEATURES)
            bits = []
            for i, name in enumerate(unit.features):
                canonical = _canonical_feature(name)
                if canonical is not None:
                    row[TOKEN_FEATURES.index(canonical)] = unit.offset + i
                elif _is_type_bit(name):
                    bits.append((unit.offset + i, unit_type_id(_type_bit_unit(name))))
            # Bits that name no known unit ("type_0") say nothing the layout's name does not.
            names_units = any(_type_bit_unit(unit.features[c - unit.offset]) for c, _ in bits)
            type_columns.append(bits if bits and (names_units or unit.unit_name is None) else [])
            if row[0] < 0:
                raise ValueError(
                    f"{unit.side} {unit.slot} has no health feature: the critic uses it to tell live units"
                )
            last = last_actions.get(unit.unit_id) if unit.side == "ally" else None
            if last is not None:
                for i in range(N_BASE_ACTIONS):
                    row[len(UNIT_FEATURES) + i] = last.offset + i
                target_sums[last.offset + N_BASE_ACTIONS : last.offset + last.size, k] = 1.0
            columns.append(row)
        self.n_entities = len(units)
        self._gather = torch.tensor(columns)
        self._health = self._gather[:, 0].clone()
        self._target_sums = target_sums
        self._has_last_actions = bool(last_actions)
        self.type_ids = torch.tensor([unit_type_id(e.unit_name) for e in units])
        width = max(len(b) for b in type_columns)
        # (E, T) state columns of the type bits (-1: none) and the type id each bit stands for.
        self._type_bits = torch.tensor([[c for c, _ in b] + [-1] * (width - len(b)) for b in type_columns]).reshape(
            len(units), width
        )
        self._type_bit_ids = torch.tensor([[t for _, t in b] + [0] * (width - len(b)) for b in type_columns]).reshape(
            len(units), width
        )
        self.side_ids = torch.tensor([side_id(e.side) for e in units])

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
        if self._has_last_actions:
            # One-hot columns summed by a 0/1 matrix: exact, and the map's target count drops out.
            targets = state.float()[..., : self.state_width] @ self._target_sums.to(device)
            features = features.clone()
            features[..., TOKEN_FEATURES.index("last_target")] = targets
        live = state[..., self._health.to(device)] > 0
        expand = (*lead, self.n_entities)
        return EntityTokens(
            features=features,
            type_ids=self._row_type_ids(padded, expand),
            side_ids=self.side_ids.to(device).expand(expand),
            live=live,
        )

    def _row_type_ids(self, padded: torch.Tensor, expand: tuple[int, ...]) -> torch.Tensor:
        """(..., E) type ids: the set type bit's unit where a row has one, else the layout's name."""
        device = padded.device
        static = self.type_ids.to(device).expand(expand)
        if self._type_bits.shape[1] == 0:
            return static
        columns = torch.where(self._type_bits < 0, padded.shape[-1] - 1, self._type_bits).to(device)
        bits = padded[..., columns.reshape(-1)].reshape(*expand, columns.shape[1])  # (..., E, T)
        ids = self._type_bit_ids.to(device).expand(*expand, columns.shape[1])
        picked = ids.gather(-1, bits.argmax(-1, keepdim=True)).squeeze(-1)
        return torch.where(bits.amax(-1) > 0, picked, static)


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
