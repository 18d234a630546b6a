"""The prompt template (paper section 4.2, figure 4) as a table of text pieces, and the vectorised
planner that picks, for M decoded rows at once, which pieces make each prompt.

Each prompt is the concatenation of its pieces. Pieces are cut where every pre-tokenizer of the
GPT-2/Qwen family splits anyway (before a space-word, around punctuation, around a lone newline
between a word or digit and a word), so the token ids of a prompt are the concatenated ids of its
pieces; `PromptEncoder` checks that against the tokenizer before trusting it.
Line rule: every line ends with a letter or digit followed by its own "\\n" piece, or with ":\\n"
inside one piece; no piece boundary falls inside a run of punctuation or newlines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import PromptConfig
from .layout import MOVE_DIRECTIONS, MapLayout
from .semantic import VALUE_LIMIT, Decoded, SemanticDecoder

INSTRUCTION = (
    "Instruction: You control one unit of the allied team in a StarCraft II battle against an enemy team. "
    "Read the current game state and choose exactly one action from the available actions. "
)
# SMAC and SMAClite alike: observation distances are divided by the sight range 9, and a target
# action is available within range 6 (smac StarCraft2Env.unit_shoot_range / unit_sight_range;
# smaclite AGENT_TARGET_RANGE / AGENT_SIGHT_RANGE), also for a Medivac's heal.
TARGET_RANGE_HUNDREDTHS = round(100 * 6 / 9)
GOAL = (
    "\n\nGoal: In the long term, defeat every enemy unit while keeping your allies alive. "
    "In the short term, focus fire on enemies in range with low health, keep damaged units out of enemy "
    "fire and stay together with your allies."
)
HEALER_GOAL = " A Medivac heals allies instead of attacking."


def units_text(layout: MapLayout, config: PromptConfig) -> str:
    """What the numbers of this map's prompts are measured in: only quantities the prompts show."""
    percent = config.number_format != "decimal"
    feats = set(layout.own_features) | set(layout.ally_features) | set(layout.enemy_features)
    shown = [f for f in ("health", "shield") if f in feats]
    healer = bool(layout.spec.healer_units & (set(layout.spec.ally_units) | set(layout.spec.enemy_units)))
    text = "Distance and the positions x (east) and y (north) are relative to your unit, " + (
        "in percent of your sight range" if percent else "as fractions of your sight range"
    )
    if shown:
        what = " and ".join(shown)
        verb = "are" if len(shown) > 1 else "is"
        text += (f"; {what} {verb} in percent of " if percent else f"; {what} {verb} fractions of ") + (
            "their maximum" if len(shown) > 1 else "its maximum"
        )
    text += (
        f". A unit can attack{' or heal' if healer else ''} a target up to distance "
        f"{config.number(TARGET_RANGE_HUNDREDTHS)} (in range)."
    )

    if layout.timestep_column is not None:
        text += (
            " Elapsed time is in percent of the episode's step limit."
            if percent
            else " Elapsed time is the fraction of the episode's step limit gone."
        )
    return text


def goal_text(layout: MapLayout) -> str:
    """The goal; the Medivac sentence only on maps that have one (either side)."""
    spec = layout.spec
    healer = bool(spec.healer_units & (set(spec.ally_units) | set(spec.enemy_units)))
    return GOAL + (HEALER_GOAL if healer else "")


STATE_HEADER = "\n\nCurrent game state:\n"
NUMBER_LABELS = (" distance", ", x", ", y", " health", ", health", ", shield", "Elapsed time")
# number_format "compact": the same fields without commas (a comma is a token of its own).
COMPACT_LABELS = {", x": " x", ", y": " y", ", health": " health", ", shield": " shield"}


def action_name(action: int, healer: bool) -> str:
    """SMAC action index -> words (actions 6 + j target enemy j, or ally j for a Medivac)."""
    if action == 0:
        return "no-op"
    if action == 1:
        return "stop"
    if action < 6:
        return f"move {MOVE_DIRECTIONS[action - 2]}"
    return f"heal ally {action - 6}" if healer else f"attack enemy {action - 6}"


class _PieceTable:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.texts)
            self.texts.append(text)
        return self._index[text]


@dataclass
class Plan:
    """Pieces of M prompts: `pieces` (M, P) piece indices, -1 where a column is absent.

    Each unit's description is the columns [first, last] (both included) of `pieces`.
    """

    pieces: np.ndarray
    self_cols: tuple[int, int]
    ally_cols: list[tuple[int, int]]  # per ally slot (agent id = Decoded.ally_ids[:, slot])
    enemy_cols: list[tuple[int, int]]  # per enemy id


# The label before each number of a unit line.
_FIELD_LABELS = {"distance": " distance", "rel_x": ", x", "rel_y": ", y", "health": ", health", "shield": ", shield"}


class _Columns:
    """The piece columns of a plan in prompt order, each an (M,) array or one piece for every row."""

    def __init__(self, rows: int):
        self.columns: list[np.ndarray | int] = []
        self.absent = np.full(rows, -1, dtype=np.int64)  # -1: no piece in that row

    def add(self, column) -> int:
        """Append a column; returns its index."""
        self.columns.append(column)
        return len(self.columns) - 1


_UNIT_NUMBERS = ("distance", "rel_x", "rel_y", "health", "shield")  # an ally's / enemy's line, in order


def _add_number_pieces(t: _PieceTable, config: PromptConfig) -> dict[str, int]:
    """Add one piece per (label, value); returns label -> its first piece.

    Each label's pieces are contiguous: piece = base + value + VALUE_LIMIT. Compact labels that
    coincide share their pieces.
    """
    first = len(t.texts)
    number_base: dict[str, int] = {}
    bases: dict[str, int] = {}  # label text -> its first piece
    for label in NUMBER_LABELS:
        text = COMPACT_LABELS.get(label, label) if config.compact else label
        if text not in bases:
            bases[text] = len(t.texts)
            for v in range(-VALUE_LIMIT, VALUE_LIMIT + 1):
                t.add(f"{text} {config.number(v)}")
        number_base[label] = bases[text]
    assert len(t.texts) == first + (2 * VALUE_LIMIT + 1) * len(bases), "number pieces must be distinct"
    return number_base


class PromptTemplate:
    """All text pieces of one map's prompts, and the planner from decoded rows to pieces."""

    def __init__(self, layout: MapLayout, config: PromptConfig | None = None):
        config = PromptConfig() if config is None else config
        self.layout, self.config = layout, config
        self.decoder = SemanticDecoder(layout)
        spec, dec = layout.spec, self.decoder
        t = _PieceTable()
        self.table = t
        self.prefix_text = (
            INSTRUCTION + layout.race_sentence + units_text(layout, config) + goal_text(layout) + STATE_HEADER
        )
        self.p_prefix = t.add(self.prefix_text)
        self.p_newline = t.add("\n")
        self.number_base = _add_number_pieces(t, config)
        na, ne = spec.n_agents, spec.n_enemies
        # a line never ends in punctuation (it would merge with the newline piece): with no own
        # numbers to follow (obs_own_health=False) the header has no colon
        own_numbers = "health" in layout.own_features
        self.self_header = np.array(
            [
                [t.add(f"Self: Ally {a} ({n}):" if own_numbers else f"Self: Ally {a}, {n}") for n in dec.ally_names]
                for a in range(na)
            ]
        )
        self.self_dead = np.array([[t.add(f"Self: Ally {a} ({n}): dead") for n in dec.ally_names] for a in range(na)])
        self.ally_header = np.array([[t.add(f"Ally {a} ({n}):") for n in dec.ally_names] for a in range(na)])
        self.enemy_header = np.array([[t.add(f"Enemy {j} ({n}):") for n in dec.enemy_names] for j in range(ne)])
        self.ally_unseen = np.array([t.add(f"Ally {a}: dead or out of sight") for a in range(na)])
        self.enemy_unseen = np.array([t.add(f"Enemy {j}: dead or out of sight") for j in range(ne)])
        self.p_in_range = t.add(" in range" if config.compact else ", in range")
        self.p_out_of_range = -1 if config.compact else t.add(", out of range")  # -1: no piece
        self.last_action = np.array(
            [[t.add(f", last action {action_name(k, h)}") for k in range(spec.n_actions)] for h in (False, True)]
        )
        self.p_move = t.add("Can move:")
        self.move_first = np.array([t.add(f" {d}") for d in MOVE_DIRECTIONS])
        self.move_next = np.array([t.add(f", {d}") for d in MOVE_DIRECTIONS])
        self.p_move_none = t.add(" nowhere")
        self.p_allies, self.p_allies_none = t.add("Allies:\n"), t.add("Allies: none visible\n")
        self.p_enemies, self.p_enemies_none = t.add("Enemies:\n"), t.add("Enemies: none visible\n")
        self.p_actions = t.add("Available actions:\n")
        self.actions = np.array(
            [[t.add(action_name(k, h) + "\n") for k in range(spec.n_actions)] for h in (False, True)]
        )
        self.p_end = t.add("Your action:")
        # observation columns of the numbers each unit line shows
        self.own_cols = [
            layout.own_offset + layout.own_features.index(f) for f in ("health", "shield") if f in layout.own_features
        ]
        self.ally_fields = [f for f in _UNIT_NUMBERS if f in layout.ally_features]
        self.enemy_fields = [f for f in _UNIT_NUMBERS if f in layout.enemy_features]
        self.enemy_attackable = layout.enemy_features.index("attackable")

    @property
    def texts(self) -> list[str]:
        return self.table.texts

    def _numbers(self, q: np.ndarray, label: str, columns) -> np.ndarray:
        vals = q[:, columns]  # (M,) for one column
        bad = np.abs(vals) > VALUE_LIMIT
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"map {self.layout.map_name!r}: observation value {vals[r] / 100} in column {columns} is outside "
                "[-1, 1]; SMAC rows are normalised, so this row does not follow the layout (check env and env_args)"
            )
        return self.number_base[label] + VALUE_LIMIT + vals

    def plan(self, d: Decoded, avail: np.ndarray) -> Plan:
        """Piece indices of every prompt (M rows), fully vectorised."""
        cols = _Columns(d.q.shape[0])
        cols.add(self.p_prefix)
        self_cols = self._plan_self(cols, d)
        if not self.config.compact:  # compact: the available actions list the same moves
            self._plan_moves(cols, d)
        ally_cols = self._plan_allies(cols, d)
        enemy_cols = self._plan_enemies(cols, d)
        if self.layout.timestep_column is not None:
            cols.add(self._numbers(d.q, "Elapsed time", self.layout.timestep_column))
            cols.add(self.p_newline)
        cols.add(self.p_actions)
        return Plan(self._pieces(cols, d, avail), self_cols, ally_cols, enemy_cols)

    def _plan_self(self, cols: _Columns, d: Decoded) -> tuple[int, int]:
        """The agent's own line (header, then health and shield while alive); returns its first and last column."""
        header = np.where(d.alive, self.self_header[d.agent_ids, d.self_type], self.self_dead[d.agent_ids, d.self_type])
        c0 = cols.add(header)
        labels = [" health", ", shield"][: len(self.own_cols)]
        c1 = c0
        for label, col in zip(labels, self.own_cols, strict=True):
            c1 = cols.add(np.where(d.alive, self._numbers(d.q, label, col), cols.absent))
        cols.add(self.p_newline)
        return c0, c1

    def _plan_moves(self, cols: _Columns, d: Decoded) -> None:
        """ "Can move:" and the open directions, comma-separated, or "nowhere"."""
        cols.add(self.p_move)
        seen = np.cumsum(d.moves, axis=1)
        for k in range(4):
            first_or_next = np.where(seen[:, k] == 1, self.move_first[k], self.move_next[k])
            cols.add(np.where(d.moves[:, k], first_or_next, cols.absent))
        cols.add(np.where(seen[:, -1] == 0, self.p_move_none, cols.absent))
        cols.add(self.p_newline)

    def _plan_allies(self, cols: _Columns, d: Decoded) -> list[tuple[int, int]]:
        """The allies' heading and one line per ally slot; returns each line's first and last column."""
        lay, dyn = self.layout, self.config.dynamic_prompt
        any_ally = d.ally_visible.any(axis=1) if lay.n_agents > 1 else np.zeros(d.q.shape[0], bool)
        cols.add(np.where(any_ally | (not dyn and lay.n_agents > 1), self.p_allies, self.p_allies_none))
        return [self._plan_ally(cols, d, s) for s in range(lay.n_agents - 1)]

    def _plan_ally(self, cols: _Columns, d: Decoded, s: int) -> tuple[int, int]:
        lay, dyn, absent = self.layout, self.config.dynamic_prompt, cols.absent
        vis = d.ally_visible[:, s]
        unseen = absent if dyn else self.ally_unseen[d.ally_ids[:, s]]
        first = cols.add(np.where(vis, self.ally_header[d.ally_ids[:, s], d.ally_type[:, s]], unseen))
        for f in self.ally_fields:
            col = lay.ally_offset + s * lay.ally_feats + lay.ally_features.index(f)
            cols.add(np.where(vis, self._numbers(d.q, _FIELD_LABELS[f], col), absent))
        la = d.ally_last_action[:, s]
        # a Medivac's (ally's) last target action healed an ally
        ally_heals = self.decoder.healer_type[d.ally_type[:, s]]
        last_action = self.last_action[ally_heals.astype(int), np.maximum(la, 0)]
        last = cols.add(np.where(vis & (la >= 0), last_action, absent))
        cols.add(np.where(vis | (not dyn), self.p_newline, absent))
        return first, last

    def _plan_enemies(self, cols: _Columns, d: Decoded) -> list[tuple[int, int]]:
        """The enemies' heading and one line per enemy; returns each line's first and last column."""
        dyn = self.config.dynamic_prompt
        cols.add(np.where(d.enemy_visible.any(axis=1) | (not dyn), self.p_enemies, self.p_enemies_none))
        return [self._plan_enemy(cols, d, j) for j in range(self.layout.n_enemies)]

    def _plan_enemy(self, cols: _Columns, d: Decoded, j: int) -> tuple[int, int]:
        lay, dyn, absent = self.layout, self.config.dynamic_prompt, cols.absent
        vis = d.enemy_visible[:, j]
        unseen = absent if dyn else self.enemy_unseen[j]
        first = cols.add(np.where(vis, self.enemy_header[j, np.maximum(d.enemy_type[:, j], 0)], unseen))
        for f in self.enemy_fields:
            col = lay.enemy_offset + j * lay.enemy_feats + lay.enemy_features.index(f)
            cols.add(np.where(vis, self._numbers(d.q, _FIELD_LABELS[f], col), absent))
        # A Medivac's "attackable" enemy bit is SMAC's avail bit of heal target j, not about the
        # enemy (get_obs_agent: enemy_feats[e, 0] = avail_actions[6 + e]): left out for healers.
        att = d.q[:, lay.enemy_offset + j * lay.enemy_feats + self.enemy_attackable] > 0
        last = cols.add(np.where(vis & ~d.healer, np.where(att, self.p_in_range, self.p_out_of_range), absent))
        cols.add(np.where(vis | (not dyn), self.p_newline, absent))
        return first, last

    def _pieces(self, cols: _Columns, d: Decoded, avail: np.ndarray) -> np.ndarray:
        """(M, pieces): the planned columns, the available actions, then "Your action:"."""
        # exactly the actions avail_actions allows, named; a Medivac's target actions heal allies
        names = self.actions[d.healer.astype(int)]  # (M, n_actions)
        acts = np.where(np.asarray(avail) > 0, names, -1)
        pieces = np.empty((d.q.shape[0], len(cols.columns) + acts.shape[1] + 1), dtype=np.int64)
        for k, column in enumerate(cols.columns):
            pieces[:, k] = column
        pieces[:, len(cols.columns) : -1] = acts
        pieces[:, -1] = self.p_end
        return pieces

    def texts_of(self, pieces: np.ndarray) -> list[str]:
        tx = self.table.texts
        return ["".join(tx[p] for p in row if p >= 0) for row in pieces.tolist()]
