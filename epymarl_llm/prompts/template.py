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


class PromptTemplate:
    """All text pieces of one map's prompts, and the planner from decoded rows to pieces."""

    def __init__(self, layout: MapLayout, config: PromptConfig = PromptConfig()):
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
        n_vals = 2 * VALUE_LIMIT + 1
        self.number_base: dict[str, int] = {}
        bases: dict[str, int] = {}  # label text -> its first piece (compact labels coincide)
        for label in NUMBER_LABELS:  # contiguous: piece = base + value + VALUE_LIMIT
            text = COMPACT_LABELS.get(label, label) if config.compact else label
            if text not in bases:
                bases[text] = len(t.texts)
                for v in range(-VALUE_LIMIT, VALUE_LIMIT + 1):
                    t.add(f"{text} {config.number(v)}")
            self.number_base[label] = bases[text]
        assert len(t.texts) == 2 + n_vals * len(bases), "number pieces must be distinct"
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
        lay = layout
        # observation columns of the numbers each unit line shows
        self.own_cols = [
            lay.own_offset + lay.own_features.index(f) for f in ("health", "shield") if f in lay.own_features
        ]
        self.ally_fields = [f for f in ("distance", "rel_x", "rel_y", "health", "shield") if f in lay.ally_features]
        self.enemy_fields = [f for f in ("distance", "rel_x", "rel_y", "health", "shield") if f in lay.enemy_features]
        self.enemy_attackable = lay.enemy_features.index("attackable")

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
        lay, cfg = self.layout, self.config
        m = d.q.shape[0]
        q = d.q
        cols: list[np.ndarray | int] = []
        ally_cols: list[tuple[int, int]] = []
        enemy_cols: list[tuple[int, int]] = []

        def add(column) -> int:
            cols.append(column)  # an (M,) array or one piece for every row
            return len(cols) - 1

        absent = np.full(m, -1, dtype=np.int64)
        add(self.p_prefix)
        header = np.where(d.alive, self.self_header[d.agent_ids, d.self_type], self.self_dead[d.agent_ids, d.self_type])
        c0 = add(header)
        labels = [" health", ", shield"][: len(self.own_cols)]
        c1 = c0
        for label, col in zip(labels, self.own_cols):
            c1 = add(np.where(d.alive, self._numbers(q, label, col), absent))
        self_cols = (c0, c1)
        add(self.p_newline)
        if not cfg.compact:  # compact: the available actions list the same moves
            add(self.p_move)
            seen = np.cumsum(d.moves, axis=1)
            for k in range(4):
                add(np.where(d.moves[:, k], np.where(seen[:, k] == 1, self.move_first[k], self.move_next[k]), absent))
            add(np.where(seen[:, -1] == 0, self.p_move_none, absent))
            add(self.p_newline)

        dyn = cfg.dynamic_prompt
        any_ally = d.ally_visible.any(axis=1) if lay.n_agents > 1 else np.zeros(m, bool)
        add(np.where(any_ally | (not dyn and lay.n_agents > 1), self.p_allies, self.p_allies_none))
        labels = {"distance": " distance", "rel_x": ", x", "rel_y": ", y", "health": ", health", "shield": ", shield"}
        for s in range(lay.n_agents - 1):
            vis = d.ally_visible[:, s]
            first = add(
                np.where(
                    vis,
                    self.ally_header[d.ally_ids[:, s], d.ally_type[:, s]],
                    absent if dyn else self.ally_unseen[d.ally_ids[:, s]],
                )
            )
            for f in self.ally_fields:
                col = lay.ally_offset + s * lay.ally_feats + lay.ally_features.index(f)
                last = add(np.where(vis, self._numbers(q, labels[f], col), absent))
            la = d.ally_last_action[:, s]
            # a Medivac's (ally's) last target action healed an ally
            ally_heals = self.decoder.healer_type[d.ally_type[:, s]]
            last = add(np.where(vis & (la >= 0), self.last_action[ally_heals.astype(int), np.maximum(la, 0)], absent))
            add(np.where(vis | (not dyn), self.p_newline, absent))
            ally_cols.append((first, last))
        add(np.where(d.enemy_visible.any(axis=1) | (not dyn), self.p_enemies, self.p_enemies_none))
        for j in range(lay.n_enemies):
            vis = d.enemy_visible[:, j]
            first = add(
                np.where(
                    vis,
                    self.enemy_header[j, np.maximum(d.enemy_type[:, j], 0)],
                    absent if dyn else self.enemy_unseen[j],
                )
            )
            for f in self.enemy_fields:
                col = lay.enemy_offset + j * lay.enemy_feats + lay.enemy_features.index(f)
                last = add(np.where(vis, self._numbers(q, labels[f], col), absent))
            # A Medivac's "attackable" enemy bit is SMAC's avail bit of heal target j, not about the
            # enemy (get_obs_agent: enemy_feats[e, 0] = avail_actions[6 + e]): left out for healers.
            att = q[:, lay.enemy_offset + j * lay.enemy_feats + self.enemy_attackable] > 0
            last = add(np.where(vis & ~d.healer, np.where(att, self.p_in_range, self.p_out_of_range), absent))
            add(np.where(vis | (not dyn), self.p_newline, absent))
            enemy_cols.append((first, last))
        if lay.timestep_column is not None:
            add(self._numbers(q, "Elapsed time", lay.timestep_column))
            add(self.p_newline)
        add(self.p_actions)
        # exactly the actions avail_actions allows, named; a Medivac's target actions heal allies
        names = self.actions[d.healer.astype(int)]  # (M, n_actions)
        acts = np.where(np.asarray(avail) > 0, names, -1)
        pieces = np.empty((m, len(cols) + acts.shape[1] + 1), dtype=np.int64)
        for k, column in enumerate(cols):
            pieces[:, k] = column
        pieces[:, len(cols) : -1] = acts
        pieces[:, -1] = self.p_end
        return Plan(pieces, self_cols, ally_cols, enemy_cols)

    def texts_of(self, pieces: np.ndarray) -> list[str]:
        tx = self.table.texts
        return ["".join(tx[p] for p in row if p >= 0) for row in pieces.tolist()]
