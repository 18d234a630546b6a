"""`MapSpec`: the facts of one map that fix its observation/state layout and its unit names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..actions import N_BASE_ACTIONS
from .units import HEALERS

EnvName = Literal["sc2", "sc2v2", "smaclite"]
ENVS: tuple[str, ...] = ("sc2", "sc2v2", "smaclite")
# The name a layout gives a unit whose type changes every episode (SMACv2) until an episode's
# composition is known (`MapLayout.for_episode`); prompts read visible units' names from their bits.
UNKNOWN_UNIT = "Unit"


@dataclass(frozen=True)
class MapSpec:
    """One map of SMAC's or SMAClite's registry (or a SMAClite JSON map file).

    Args:
        name: the map name the env knows it by (`map_name`, or the JSON's `name`).
        env: "sc2" (SMAC `StarCraft2Env`), "sc2v2" (SMACv2 `StarCraftCapabilityEnvWrapper`) or
            "smaclite" (`SMACliteEnv`).
        ally_units: unit name of each agent, index = agent id.
        enemy_units: unit name of each enemy, index = enemy id (= attack target slot).
        ally_type_names: meaning of the allies' one-hot unit-type bits, in bit order; () when the
            map has none.
        enemy_type_names: the same for enemies (SMAC orders them differently on some maps).
        ally_shields / enemy_shields: whether the side has a shield feature (Protoss).
        n_actions: 6 base actions + attack/heal target slots.
        episode_limit: SMAC's `limit` (the timestep feature is steps / limit); None for SMAClite.
        enemy_order_known: False where the env does not fix which enemy slot holds which unit type
            (SMAC numbers enemies in the game's raw unit order); `enemy_units` is then the map's
            composition in type-bit order and every prompt reads enemy names from the type bits.
        map_type: SMAC's `map_type` (selects its type-bit meaning); None for SMAClite.
        healer_units: unit names whose target actions heal allies (Medivac; SMAClite `HEALING` units).
        ally_order_known: False where every episode draws a new team (SMACv2): `ally_units` is then
            UNKNOWN_UNIT per agent until `MapLayout.for_episode` names the episode's units.
        n_fov_actions: SMACv2 `conic_fov` turn actions, between the moves and the targets.
    """

    name: str
    env: EnvName
    ally_units: tuple[str, ...]
    enemy_units: tuple[str, ...]
    ally_type_names: tuple[str, ...]
    enemy_type_names: tuple[str, ...]
    ally_shields: bool
    enemy_shields: bool
    n_actions: int
    episode_limit: int | None = None
    enemy_order_known: bool = True
    map_type: str | None = None
    healer_units: frozenset[str] = HEALERS
    ally_order_known: bool = True
    n_fov_actions: int = 0

    def __post_init__(self) -> None:
        if not self.ally_units or not self.enemy_units:
            raise ValueError(f"map {self.name!r}: a map needs at least one ally and one enemy unit")
        if len(self.ally_type_names) != len(self.enemy_type_names):
            raise ValueError(f"map {self.name!r}: allies and enemies must have the same number of type bits")
        for side, units, names in (
            ("ally", self.ally_units, self.ally_type_names),
            ("enemy", self.enemy_units, self.enemy_type_names),
        ):
            missing = set(units) - set(names) - {UNKNOWN_UNIT} if names else set()
            if missing:
                raise ValueError(f"map {self.name!r}: {side} units {sorted(missing)} have no type bit")
        if self.n_actions < self.n_base_actions + 1:
            raise ValueError(
                f"map {self.name!r}: n_actions must be {self.n_base_actions} base actions plus at least one target"
            )

    @property
    def n_agents(self) -> int:
        return len(self.ally_units)

    @property
    def n_enemies(self) -> int:
        return len(self.enemy_units)

    @property
    def unit_type_bits(self) -> int:
        return len(self.ally_type_names)

    @property
    def n_base_actions(self) -> int:
        """No-op, stop, four moves, then SMACv2's conic-FOV turns (StarCraft2Env.n_actions_no_attack)."""
        return N_BASE_ACTIONS + self.n_fov_actions

    @property
    def n_targets(self) -> int:
        return self.n_actions - self.n_base_actions

    def is_healer(self, agent_id: int) -> bool:
        """Whether agent `agent_id`'s target actions heal allies (Medivac) instead of attacking."""
        return self.ally_units[agent_id] in self.healer_units


def expand(composition: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """(("Stalker", 3), ("Zealot", 5)) -> one name per unit, in order."""
    return tuple(name for name, count in composition for _ in range(count))
