"""Semantic mapping (paper figure 3): observation rows -> self, visible allies, visible enemies, moves.

`decode` works on M rows at once (numpy); `semantic_observation` is the readable view of one row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import LayoutMismatchError
from .layout import MOVE_DIRECTIONS, MapLayout

VALUE_LIMIT = 100  # SMAC observations lie in [-1, 1] (SMAClite's observation_space is Box(-1, 1))


def unit_name_table(names: tuple[str, ...], type_names: tuple[str, ...]) -> tuple[str, ...]:
    """The names a side's type index refers to: the type bits' meanings, else the distinct unit names.

    Names without a bit (SMACv2's per-episode placeholder) follow the bits, for units whose bits are zero.
    """
    if not type_names:
        return tuple(dict.fromkeys(names))
    return type_names + tuple(n for n in dict.fromkeys(names) if n not in type_names)


@dataclass
class Decoded:
    """M observation rows decoded into arrays (values in hundredths, i.e. rounded to two decimals).

    Shapes: A = n_agents - 1 ally slots, E = n_enemies.
    """

    q: np.ndarray  # (M, obs_size) int64: every column * 100, rounded
    agent_ids: np.ndarray  # (M,)
    alive: np.ndarray  # (M,) bool: the observer is alive (SMAC: only no-op available when dead)
    self_type: np.ndarray  # (M,) index into layout ally name table
    healer: np.ndarray  # (M,) bool: the observer heals (its target slots are allies)
    ally_ids: np.ndarray  # (M, A) agent id of each ally slot
    ally_visible: np.ndarray  # (M, A) bool
    ally_type: np.ndarray  # (M, A)
    ally_last_action: np.ndarray  # (M, A) action index, -1 when none recorded
    enemy_visible: np.ndarray  # (M, E) bool
    enemy_type: np.ndarray  # (M, E), -1 when unknown (not visible on a map without a fixed order)
    moves: np.ndarray  # (M, 4) bool


class SemanticDecoder:
    """Decodes observation rows of one layout; holds the column indices it needs."""

    def __init__(self, layout: MapLayout):
        self.layout = layout
        spec = layout.spec
        self.ally_names = unit_name_table(spec.ally_units, spec.ally_type_names)
        self.enemy_names = unit_name_table(spec.enemy_units, spec.enemy_type_names)
        self.ally_static = np.array([self.ally_names.index(u) for u in spec.ally_units])
        self.enemy_static = np.array(
            [self.enemy_names.index(u) if spec.enemy_order_known else -1 for u in spec.enemy_units]
        )
        self.healer_type = np.array([n in spec.healer_units for n in self.ally_names])
        ef, af, of = layout.enemy_features, layout.ally_features, layout.own_features
        self.e_type = [ef.index(f) for f in ef if f.startswith("type_")]
        self.a_type = [af.index(f) for f in af if f.startswith("type_")]
        self.o_type = [of.index(f) for f in of if f.startswith("type_")]
        self.a_last = [af.index(f) for f in af if f.startswith("last_action_")]
        health = []  # observation columns of every unit's health
        if "health" in ef:
            health += [
                layout.enemy_offset + j * layout.enemy_feats + ef.index("health") for j in range(layout.n_enemies)
            ]
        if "health" in af:
            health += [
                layout.ally_offset + a * layout.ally_feats + af.index("health") for a in range(layout.n_agents - 1)
            ]
        if "health" in of:
            health.append(layout.own_offset + of.index("health"))
        self.health_columns = np.array(health, dtype=np.int64)

    def normalise_obs(self, obs: np.ndarray) -> np.ndarray:
        """(M, W) -> (M, obs_size) float; accepts SMAC's one-wider timestep rows, rejects other widths."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim != 2:
            raise ValueError(f"obs must be (M, obs_size), got shape {obs.shape}")
        lay = self.layout
        if lay.timestep_column is not None and obs.shape[1] == lay.obs_size + 1:
            # StarCraft2Env.get_obs_agent with obs_timestep_number: a zero own column, then the timestep.
            obs = np.delete(obs, lay.timestep_column, axis=1)
        lay.check_obs_width(obs.shape[1])
        return obs

    def decode(self, obs: np.ndarray, avail: np.ndarray, agent_ids: np.ndarray) -> Decoded:
        lay = self.layout
        obs = self.normalise_obs(obs)
        m = obs.shape[0]
        avail = np.asarray(avail)
        if avail.shape != (m, lay.n_actions):
            raise LayoutMismatchError(
                f"map {lay.map_name!r}: avail must be (M, n_actions) = ({m}, {lay.n_actions}), got {avail.shape}"
            )
        agent_ids = np.asarray(agent_ids, dtype=np.int64).reshape(-1)
        if agent_ids.shape != (m,) or (m and (agent_ids.min() < 0 or agent_ids.max() >= lay.n_agents)):
            raise ValueError(f"agent_ids must be ({m},) ids in 0..{lay.n_agents - 1}, got {agent_ids!r}")
        q = np.rint(obs * 100.0).astype(np.int64)
        # A live unit below 0.5% health would print "health 0", which reads as dead: show it as 1.
        q[:, self.health_columns] = np.where(
            (obs[:, self.health_columns] > 0) & (q[:, self.health_columns] == 0), 1, q[:, self.health_columns]
        )
        n_en, n_al = lay.n_enemies, lay.n_agents - 1
        enemy = obs[:, lay.enemy_offset : lay.ally_offset].reshape(m, n_en, lay.enemy_feats)
        ally = obs[:, lay.ally_offset : lay.own_offset].reshape(m, n_al, lay.ally_feats)
        own = obs[:, lay.own_offset : lay.own_offset + lay.own_feats]
        alive = ~((avail[:, 0] > 0) & (avail[:, 1:].sum(axis=1) == 0))
        self_type = _type_index(own[:, None, self.o_type], self.ally_static[agent_ids][:, None])[:, 0]
        slots = np.arange(n_al)[None, :]
        ally_ids = slots + (slots >= agent_ids[:, None])
        ally_visible = ally[:, :, 0] > 0.5
        ally_type = _type_index(ally[:, :, self.a_type], self.ally_static[ally_ids])
        if self.a_last:
            last = ally[:, :, self.a_last]
            ally_last = np.where(last.max(axis=-1) > 0.5, last.argmax(axis=-1), -1)
        else:
            ally_last = np.full((m, n_al), -1)
        enemy_visible = (enemy != 0).any(axis=-1)
        enemy_type = _type_index(enemy[:, :, self.e_type], np.broadcast_to(self.enemy_static, (m, n_en)))
        return Decoded(
            q=q,
            agent_ids=agent_ids,
            alive=alive,
            self_type=self_type,
            healer=self.healer_type[self_type],
            ally_ids=ally_ids,
            ally_visible=ally_visible,
            ally_type=ally_type,
            ally_last_action=ally_last,
            enemy_visible=enemy_visible,
            enemy_type=enemy_type,
            moves=obs[:, :4] > 0.5,
        )


def _type_index(bits: np.ndarray, static: np.ndarray) -> np.ndarray:
    """One-hot type bits -> index; rows without a set bit keep the static index."""
    if bits.shape[-1] == 0:
        return np.array(static, copy=True)
    return np.where(bits.max(axis=-1) > 0.5, bits.argmax(axis=-1), static)


@dataclass(frozen=True)
class UnitView:
    """One unit of the semantic observation; values rounded to two decimals, None where absent."""

    side: str  # "self", "ally" or "enemy"
    unit_id: int
    unit_name: str | None
    visible: bool
    distance: float | None = None
    rel_x: float | None = None
    rel_y: float | None = None
    health: float | None = None
    shield: float | None = None
    attackable: bool | None = None
    last_action: int | None = None


@dataclass(frozen=True)
class SemanticObservation:
    """Paper figure 3b for one agent: itself, the allies and enemies it sees, where it can move."""

    self_unit: UnitView
    allies: tuple[UnitView, ...]
    enemies: tuple[UnitView, ...]
    can_move: dict[str, bool]
    timestep: float | None


def semantic_observation(
    layout: MapLayout, obs_row, agent_id: int, avail_row=None, keep_unseen: bool = False
) -> SemanticObservation:
    """The semantic view of one observation row (unseen units dropped unless `keep_unseen`)."""
    dec = SemanticDecoder(layout)
    if avail_row is None:  # a live agent: stop is always available (StarCraft2Env)
        avail_row = np.zeros(layout.n_actions)
        avail_row[1] = 1
    d = dec.decode(np.asarray(obs_row, dtype=np.float32)[None], np.asarray(avail_row)[None], np.array([agent_id]))
    q = d.q[0]

    def value(entity, feature):
        return float(q[entity.column(feature)] / 100) if feature in entity.features else None

    row = layout.obs_for_agent(agent_id)
    own = row.by_side("self")[0]
    self_unit = UnitView(
        "self",
        agent_id,
        dec.ally_names[d.self_type[0]],
        bool(d.alive[0]),
        health=value(own, "health"),
        shield=value(own, "shield"),
    )
    allies = []
    for s, ent in enumerate(row.by_side("ally")):
        if d.ally_visible[0, s] or keep_unseen:
            vis = bool(d.ally_visible[0, s])
            last = int(d.ally_last_action[0, s])
            allies.append(
                UnitView(
                    "ally",
                    ent.unit_id,
                    dec.ally_names[d.ally_type[0, s]] if vis else ent.unit_name,
                    vis,
                    *(value(ent, f) for f in ("distance", "rel_x", "rel_y", "health", "shield")),
                    last_action=last if last >= 0 else None,
                )
            )
    enemies = []
    for j, ent in enumerate(row.by_side("enemy")):
        if d.enemy_visible[0, j] or keep_unseen:
            vis = bool(d.enemy_visible[0, j])
            t = int(d.enemy_type[0, j])
            enemies.append(
                UnitView(
                    "enemy",
                    j,
                    dec.enemy_names[t] if t >= 0 else None,
                    vis,
                    *(value(ent, f) for f in ("distance", "rel_x", "rel_y", "health", "shield")),
                    attackable=bool(q[ent.column("attackable")]) if not d.healer[0] else None,
                )
            )
    ts = float(q[layout.timestep_column] / 100) if layout.timestep_column is not None else None
    return SemanticObservation(
        self_unit, tuple(allies), tuple(enemies), dict(zip(MOVE_DIRECTIONS, map(bool, d.moves[0]), strict=True)), ts
    )
