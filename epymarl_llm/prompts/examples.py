"""Plausible random observation rows of a map (their prompts: `samples.example_prompts`).

Rows are built the way SMAC's `get_obs_agent` fills them (zeros for dead or unseen units, distances
and positions divided by the sight range 9, attack range 6, type bits from the map's composition), so
their prompts look like real ones: for tokenizer training, tests and the `layout` command.
"""

from __future__ import annotations

import numpy as np

from .layout import MapLayout

SIGHT_RANGE, SHOOT_RANGE = 9.0, 6.0  # StarCraft2Env.unit_sight_range / unit_shoot_range


def random_observations(
    layout: MapLayout,
    n: int,
    seed: int = 0,
    agent_id: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random rows: (obs (n, obs_size) float32, avail (n, n_actions) int64, agent_ids (n,) int64).

    Observers are drawn at random, or all `agent_id`. On SMACv2 (a team drawn per episode) the rows
    are of one episode whose team is drawn as SMACv2's `weighted_teams` does.
    """
    rng = np.random.default_rng(seed)
    if layout.composition_varies:
        from .sc2v2_maps import draw_teams

        layout = layout.for_episode(*draw_teams(layout.env_args, rng))
    spec = layout.spec
    obs = np.zeros((n, layout.obs_size), dtype=np.float32)
    avail = np.zeros((n, layout.n_actions), dtype=np.int64)
    agent_ids = rng.integers(0, spec.n_agents, size=n)
    if agent_id is not None:
        agent_ids[:] = agent_id
    p_alive, p_seen = rng.uniform(0.3, 1.0, size=n), rng.uniform(0.2, 1.0, size=n)  # battle stage per row
    for r, a in enumerate(agent_ids):
        if rng.random() > max(p_alive[r], 0.85):  # dead: SMAC zero-fills the row, only no-op is available
            avail[r, 0] = 1
            continue
        _fill_live_row(rng, layout, obs[r], avail[r], a, p_alive[r] * p_seen[r])
    return obs, avail, agent_ids


# The helpers below draw from `rng` in a fixed order (moves, enemies, allies, own features, timestep):
# the rows of a seed are part of the tests' and tokenizer data's expectations.
def _fill_live_row(rng, layout: MapLayout, row: np.ndarray, avail: np.ndarray, a, p_visible: float) -> None:
    """Fill one live agent's observation row and its avail row in place; `p_visible`: each unit's chance to be seen."""
    healer = layout.spec.is_healer(a)
    _fill_moves(rng, layout, row, avail)
    _fill_enemies(rng, layout, row, avail, p_visible, attacks=not healer)
    _fill_allies(rng, layout, row, avail, a, p_visible, heals=healer)
    if healer:
        _heal_targets_in_attackable_column(layout, row, avail)
    _fill_own_features(rng, layout, row, a)
    if layout.timestep_column is not None:
        row[layout.timestep_column] = round(rng.random(), 2)


def _fill_moves(rng, layout: MapLayout, row: np.ndarray, avail: np.ndarray) -> None:
    """Move directions (and their avail bits), stop, conic-FOV turns, pathing and height."""
    nb = layout.spec.n_base_actions
    moves = rng.random(4) < 0.85
    row[:4] = moves
    avail[1], avail[2:6] = 1, moves
    avail[6:nb] = 1  # SMACv2's conic-FOV turns are always available
    extra = layout.move_features[4:]
    for k, name in enumerate(extra, start=4):
        row[k] = float(rng.random() < 0.8) if name.startswith("pathing") else round(rng.random(), 2)


def _fill_enemies(rng, layout: MapLayout, row, avail, p_visible: float, attacks: bool) -> None:
    """The visible enemies; those in shooting range are attack targets unless the agent heals."""
    spec, nb = layout.spec, layout.spec.n_base_actions
    enemy_names = list(spec.enemy_units)
    if not spec.enemy_order_known and not layout.composition_varies:
        rng.shuffle(enemy_names)
    for j in range(spec.n_enemies):
        if rng.random() > p_visible:
            continue
        base = layout.enemy_offset + j * layout.enemy_feats
        dist = _fill_unit(rng, row, base, layout.enemy_features, enemy_names[j], spec.enemy_type_names)
        in_range = dist * SIGHT_RANGE <= SHOOT_RANGE
        if attacks:
            avail[nb + j] = in_range


def _fill_allies(rng, layout: MapLayout, row, avail, a, p_visible: float, heals: bool) -> None:
    """The visible allies, their last actions, and for a healer the non-healers in range as targets."""
    spec, nb = layout.spec, layout.spec.n_base_actions
    for s in range(spec.n_agents - 1):
        if rng.random() > p_visible:
            continue
        ally = MapLayout.ally_id(int(a), s)
        base = layout.ally_offset + s * layout.ally_feats
        dist = _fill_unit(rng, row, base, layout.ally_features, spec.ally_units[ally], spec.ally_type_names)
        if layout.flags.obs_last_action and rng.random() < 0.8:
            k = int(rng.integers(1, min(layout.n_actions, nb + spec.n_enemies)))
            row[base + layout.ally_features.index(f"last_action_{k}")] = 1
        if heals and not spec.is_healer(ally) and dist * SIGHT_RANGE <= SHOOT_RANGE:
            avail[nb + ally] = 1


def _heal_targets_in_attackable_column(layout: MapLayout, row, avail) -> None:
    """SMAC writes a healer's heal-target avail bits into the enemy "attackable" column."""
    nb = layout.spec.n_base_actions
    for j in range(layout.spec.n_enemies):
        base = layout.enemy_offset + j * layout.enemy_feats
        if row[base : base + layout.enemy_feats].any():
            row[base] = avail[nb + j]


def _fill_own_features(rng, layout: MapLayout, row, a) -> None:
    """Health, shield, position, field of view and unit type of the observing agent."""
    spec, own = layout.spec, layout.own_offset
    # drawn only where SMACv2's FOV columns exist, so other maps' rows stay those of earlier versions
    angle = rng.uniform(0, 2 * np.pi) if "fov_x" in layout.own_features else 0.0
    for f in layout.own_features:
        if f in ("health", "shield", "attack_probability", "own_pos_x", "own_pos_y"):
            row[own] = round(rng.uniform(0.05, 1.0), 2)
        elif f == "health_level":
            row[own] = round(rng.uniform(0.0, 0.3), 2)
        elif f in ("fov_x", "fov_y"):
            row[own] = round(float(np.cos(angle) if f == "fov_x" else np.sin(angle)), 2)
        elif f == "type_" + spec.ally_units[a].replace(" ", "_"):
            row[own] = 1
        own += 1


def _fill_unit(rng, row, base, features, name, type_names) -> float:
    dist = rng.uniform(0.05, 0.99)
    angle = rng.uniform(0, 2 * np.pi)
    values = {
        "attackable": dist * SIGHT_RANGE <= SHOOT_RANGE,
        "visible": 1.0,
        "distance": dist,
        "rel_x": dist * np.cos(angle),
        "rel_y": dist * np.sin(angle),
        "health": rng.uniform(0.05, 1.0),
        "shield": rng.uniform(0.0, 1.0),
    }
    # SMACv2's capability columns: drawn only where they exist (other maps keep their rows)
    if "attack_probability" in features:
        values["attack_probability"] = rng.uniform(0.5, 1.0)
    if "health_level" in features:
        values["health_level"] = rng.uniform(0.0, 0.3)
    for k, f in enumerate(features):
        if f in values:
            row[base + k] = values[f]
        elif f == "type_" + name.replace(" ", "_") and type_names:
            row[base + k] = 1
    return dist
