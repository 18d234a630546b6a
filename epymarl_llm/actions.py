"""SMAC's action space as every part of the plugin reads it: base actions, no-op, dead agents, masking.

SMAC (`StarCraft2Env.get_avail_agent_actions`), SMACv2 and SMAClite number the actions
0 no-op, 1 stop, 2-5 move north/south/east/west, then one attack/heal action per target slot
(SMACv2's `conic_fov` puts its turn actions between the moves and the targets: `MapSpec.n_base_actions`).
A dead unit may take only no-op. Imports nothing: the functions work on torch tensors and numpy arrays.
"""

from __future__ import annotations

from typing import Any

NO_OP = 0  # the only action a dead unit may take
N_BASE_ACTIONS = 6  # no-op, stop, north, south, east, west; the target actions follow
# Finite, so masked entries give probability exactly 0 (exp underflows in float32) and
# p * log p stays 0 instead of 0 * -inf = nan in entropies and KL terms.
MASKED_LOGIT = -1.0e9


def dead_agents(avail: Any) -> Any:
    """avail (..., n_actions) 0/1 or bool -> (...) bool: only no-op is available (SMAC's dead units)."""
    return (avail[..., NO_OP] > 0) & (avail[..., NO_OP + 1 :].sum(-1) == 0)


def acting_agents(avail: Any) -> Any:
    """avail (..., n_actions) -> (...) bool: some action besides no-op is available (alive, and a row
    of a step that exists: rows past an episode's end have no action at all)."""
    return ~dead_agents(avail) & (avail.sum(-1) > 0)
