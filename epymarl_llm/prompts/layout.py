"""Observation and state layouts: where every feature of every entity sits in an env row.

Follows SMAC's `StarCraft2Env.get_obs_agent` / `get_state_dict` and the `get_obs_*_feats_size`
methods (SMAClite's `SMACliteEnv` writes the same layout with SMAC's default flags). SMACv2's
`StarCraft2Env` adds capability columns (`attack_probability`, `health_level`), the agent's own
position (`obs_own_pos`) and field-of-view direction (`conic_fov`, also in the state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .env_flags import EnvFlags
from .errors import LayoutMismatchError, UnknownMapError
from .map_spec import ENVS, UNKNOWN_UNIT, EnvName, MapSpec
from .sc2_maps import SC2_MAPS
from .sc2v2_maps import (
    RACE_NAMES,
    SC2V2_RACES,
    SC2V2_SCENARIOS,
    Capabilities,
    build_spec,
    scenario_env_args,
)
from .smaclite_maps import SMACLITE_PRESETS, smaclite_map_file, smaclite_preset

MOVE_DIRECTIONS = ("north", "south", "east", "west")  # actions 2..5 (SMAC `Direction`)
N_PATHING = 8  # StarCraft2Env.n_obs_pathing
N_HEIGHT = 9  # StarCraft2Env.n_obs_height


@dataclass(frozen=True)
class EntitySlot:
    """One block of a row: a unit (or the move, last-action or timestep block).

    Args:
        side: "move", "enemy", "ally", "self", "timestep" (observation); "ally", "enemy",
            "last_action", "timestep" or "agent_obs" (state).
        slot: index of the block among its side (for an observation's allies: the relative slot).
        unit_name: the unit's type name where the layout fixes it, else None.
        offset: first column in the row; size: number of columns.
        features: the name of each column, in order.
        unit_id: the unit's id (agent id for allies/self, enemy id = attack slot for enemies).
    """

    side: str
    slot: int
    unit_name: str | None
    offset: int
    size: int
    features: tuple[str, ...]
    unit_id: int | None = None

    def column(self, feature: str) -> int:
        """Absolute column of `feature` in the row."""
        return self.offset + self.features.index(feature)

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "slot": self.slot,
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "offset": self.offset,
            "size": self.size,
            "features": {name: self.offset + i for i, name in enumerate(self.features)},
        }


@dataclass(frozen=True)
class RowLayout:
    """The layout of one row (an observation of one agent, or the state)."""

    size: int
    entities: tuple[EntitySlot, ...]

    @property
    def units(self) -> tuple[EntitySlot, ...]:
        """Only the unit entities (self, allies, enemies)."""
        return tuple(e for e in self.entities if e.side in ("self", "ally", "enemy"))

    def by_side(self, side: str) -> tuple[EntitySlot, ...]:
        return tuple(e for e in self.entities if e.side == side)


def _type_features(names: Sequence[str]) -> tuple[str, ...]:
    return tuple("type_" + n.replace(" ", "_") for n in names)


class MapLayout:
    """Observation and state layouts of one map under one set of env args.

    Build with `load_map_layout`. Column blocks (all in observation columns):
    `move_offset`, `enemy_offset` + j * `enemy_feats`, `ally_offset` + s * `ally_feats`,
    `own_offset`, then the optional timestep column `timestep_column`.
    """

    def __init__(
        self,
        spec: MapSpec,
        flags: EnvFlags,
        map_file: str | None = None,
        capabilities: Capabilities | None = None,
        env_args: Mapping[str, Any] | None = None,
    ):
        self.spec = spec
        self.flags = flags
        self.map_file = map_file
        self.capabilities = caps = capabilities or Capabilities()
        self.env_args = dict(env_args or {})  # SMACv2: the scenario's full env args
        f = flags
        if spec.env == "sc2v2":
            _check_sc2v2_flags(spec, f)
        cap = (("attack_probability",) if caps.attack else ()) + (("health_level",) if caps.health else ())
        self.move_features: tuple[str, ...] = (
            tuple(f"move_{d}" for d in MOVE_DIRECTIONS)
            + (tuple(f"pathing_{k}" for k in range(N_PATHING)) if f.obs_pathing_grid else ())
            + (tuple(f"height_{k}" for k in range(N_HEIGHT)) if f.obs_terrain_height else ())
        )
        enemy_health = ("health",) + (("shield",) if spec.enemy_shields else ()) if f.obs_all_health else ()
        ally_health = ("health",) + (("shield",) if spec.ally_shields else ()) if f.obs_all_health else ()
        self.enemy_features: tuple[str, ...] = (
            ("attackable", "distance", "rel_x", "rel_y") + enemy_health + _type_features(spec.enemy_type_names)
        )
        self.ally_features: tuple[str, ...] = (
            ("visible", "distance", "rel_x", "rel_y")
            + ally_health
            + cap
            + _type_features(spec.ally_type_names)
            + (tuple(f"last_action_{k}" for k in range(spec.n_actions)) if f.obs_last_action else ())
        )
        own_health = ("health",) + (("shield",) if spec.ally_shields else ()) if f.own_health else ()
        self.own_features: tuple[str, ...] = (
            own_health
            + cap
            + (("own_pos_x", "own_pos_y") if f.obs_own_pos else ())
            + (("fov_x", "fov_y") if f.conic_fov else ())
            + _type_features(spec.ally_type_names)
        )
        self.move_offset = 0
        self.enemy_offset = len(self.move_features)
        self.enemy_feats = len(self.enemy_features)
        self.ally_offset = self.enemy_offset + spec.n_enemies * self.enemy_feats
        self.ally_feats = len(self.ally_features)
        self.own_offset = self.ally_offset + (spec.n_agents - 1) * self.ally_feats
        self.own_feats = len(self.own_features)
        # SMAC counts the timestep among the own features (get_obs_own_feats_size) and places it last.
        # Its get_obs_agent actually zero-fills that column and appends the timestep after it, one
        # column beyond get_obs_size(); the encoder accepts such rows (see `normalise_obs`). SMACv2
        # appends it after the own features and counts it in get_obs_size: the same columns.
        self.timestep_column: int | None = self.own_offset + self.own_feats if f.obs_timestep_number else None
        self.obs_size = self.own_offset + self.own_feats + (1 if f.obs_timestep_number else 0)
        self.obs = self.obs_for_agent(0)
        self.state = self._state_layout()
        self.state_size = self.state.size

    # ----- the contract's plain facts
    @property
    def map_name(self) -> str:
        return self.spec.name

    @property
    def env(self) -> EnvName:
        return self.spec.env

    @property
    def n_agents(self) -> int:
        return self.spec.n_agents

    @property
    def n_enemies(self) -> int:
        return self.spec.n_enemies

    @property
    def n_actions(self) -> int:
        return self.spec.n_actions

    @property
    def n_targets(self) -> int:
        return self.spec.n_targets

    @property
    def n_base_actions(self) -> int:
        return self.spec.n_base_actions

    @property
    def ally_unit_names(self) -> tuple[str, ...]:
        """One name per agent; UNKNOWN_UNIT on SMACv2 until `for_episode` names an episode's team."""
        return self.spec.ally_units

    @property
    def race_sentence(self) -> str:
        """The prompt's words on the races where every episode draws new units (SMACv2), else ""."""
        if not self.composition_varies or self.spec.map_type not in SC2V2_RACES:
            return ""
        race = RACE_NAMES[SC2V2_RACES[self.spec.map_type][0]]
        return f"Both teams are {race}; every battle draws new unit types, named below for each unit. "

    @property
    def composition_varies(self) -> bool:
        """Every episode draws new unit types (SMACv2): names come from the type bits or `for_episode`."""
        return not self.spec.ally_order_known

    def for_episode(self, ally_units: Sequence[str], enemy_units: Sequence[str] | None = None) -> MapLayout:
        """This layout with one episode's unit names (SMACv2 draws a team per episode).

        The columns do not change; names must be the race's type-bit names, e.g. those the live
        env reports (`sc2v2_episode.episode_units`).
        """
        spec = self.spec
        allies, enemies = tuple(ally_units), tuple(enemy_units) if enemy_units is not None else spec.enemy_units
        if len(allies) != spec.n_agents or len(enemies) != spec.n_enemies:
            raise ValueError(
                f"map {spec.name!r}: an episode has {spec.n_agents} allies and {spec.n_enemies} enemies, "
                f"got {len(allies)} and {len(enemies)} names"
            )
        bad = sorted((set(allies) | set(enemies)) - set(spec.ally_type_names) - {UNKNOWN_UNIT})
        if bad:
            raise ValueError(
                f"map {spec.name!r}: units {bad} have no type bit; its units are {', '.join(spec.ally_type_names)}"
            )
        episode = replace(spec, ally_units=allies, enemy_units=enemies)
        return MapLayout(episode, self.flags, self.map_file, self.capabilities, self.env_args)

    @property
    def enemy_unit_names(self) -> tuple[str, ...]:
        """One name per enemy; see `MapSpec.enemy_order_known` for maps where the bits decide."""
        return self.spec.enemy_units

    @staticmethod
    def ally_id(observer: int, slot: int) -> int:
        """Agent id of ally slot `slot` in agent `observer`'s observation (SMAC skips the observer)."""
        return slot + (slot >= observer)

    # ----- layouts
    def obs_for_agent(self, agent_id: int) -> RowLayout:
        """The observation layout as agent `agent_id` sees it (ally slots named by their agent)."""
        spec = self.spec
        if not 0 <= agent_id < spec.n_agents:
            raise ValueError(f"map {spec.name}: agent id {agent_id} is outside 0..{spec.n_agents - 1}")
        known = spec.enemy_order_known
        ents = [EntitySlot("move", 0, None, 0, len(self.move_features), self.move_features)]
        ents += [
            EntitySlot(
                "enemy",
                j,
                _known(spec.enemy_units[j]) if known else None,
                self.enemy_offset + j * self.enemy_feats,
                self.enemy_feats,
                self.enemy_features,
                j,
            )
            for j in range(spec.n_enemies)
        ]
        for s in range(spec.n_agents - 1):
            a = self.ally_id(agent_id, s)
            ents.append(
                EntitySlot(
                    "ally",
                    s,
                    _known(spec.ally_units[a]),
                    self.ally_offset + s * self.ally_feats,
                    self.ally_feats,
                    self.ally_features,
                    a,
                )
            )
        ents.append(
            EntitySlot(
                "self",
                0,
                _known(spec.ally_units[agent_id]),
                self.own_offset,
                self.own_feats,
                self.own_features,
                agent_id,
            )
        )
        if self.timestep_column is not None:
            ents.append(EntitySlot("timestep", 0, None, self.timestep_column, 1, ("timestep",)))
        return RowLayout(self.obs_size, tuple(ents))

    def _state_layout(self) -> RowLayout:
        spec, f = self.spec, self.flags
        if f.obs_instead_of_state:  # StarCraft2Env.get_state: the agents' observations concatenated
            names = tuple(f"{e.side}_{e.slot}.{feat}" for e in self.obs.entities for feat in e.features)
            return RowLayout(
                self.obs_size * spec.n_agents,
                tuple(
                    EntitySlot("agent_obs", a, spec.ally_units[a], a * self.obs_size, self.obs_size, names, a)
                    for a in range(spec.n_agents)
                ),
            )
        caps = self.capabilities
        # SMACv2 get_state_dict: shield, attack probability, health level, FOV direction, type bits
        ally = (
            ("health", "energy_or_cooldown", "rel_x", "rel_y")
            + (("shield",) if spec.ally_shields else ())
            + (("attack_probability",) if caps.attack else ())
            + (("health_level",) if caps.health else ())
            + (("fov_x", "fov_y") if f.conic_fov else ())
            + _type_features(spec.ally_type_names)
        )
        enemy = (
            ("health", "rel_x", "rel_y")
            + (("shield",) if spec.enemy_shields else ())
            + _type_features(spec.enemy_type_names)
        )
        ents: list[EntitySlot] = []
        offset = 0
        for a in range(spec.n_agents):
            ents.append(EntitySlot("ally", a, _known(spec.ally_units[a]), offset, len(ally), ally, a))
            offset += len(ally)
        for j in range(spec.n_enemies):
            name = _known(spec.enemy_units[j]) if spec.enemy_order_known else None
            ents.append(EntitySlot("enemy", j, name, offset, len(enemy), enemy, j))
            offset += len(enemy)
        if f.state_last_action or spec.env == "smaclite":  # SMAClite's state always has them
            acts = tuple(f"last_action_{k}" for k in range(spec.n_actions))
            for a in range(spec.n_agents):
                ents.append(EntitySlot("last_action", a, _known(spec.ally_units[a]), offset, len(acts), acts, a))
                offset += len(acts)
        if f.state_timestep_number:
            ents.append(EntitySlot("timestep", 0, None, offset, 1, ("timestep",)))
            offset += 1
        return RowLayout(offset, tuple(ents))

    # ----- checks
    def check_prompt_support(self) -> None:
        """Raise unless prompts and the policy's action head cover this layout's actions.

        Both name and score 6 base actions (no-op, stop, four moves) and then the targets; SMACv2's
        `conic_fov` inserts turn actions between them, which neither has.
        """
        if self.spec.n_fov_actions:
            raise ValueError(
                f"map {self.map_name!r}: conic_fov=True adds {self.spec.n_fov_actions} turn actions (6..."
                f"{self.n_base_actions - 1}) that the prompts and the attention action head do not have; "
                "set env_args.conic_fov=False (as every EPyMARL SMACv2 scenario does)"
            )

    def check_env(
        self, obs_shape: int | Sequence[int], state_shape: int | Sequence[int], n_actions: int | None = None
    ) -> None:
        """Raise LayoutMismatchError unless the live env reports this layout's sizes."""
        got = {"obs size": _flat(obs_shape), "state size": _flat(state_shape)}
        want = {"obs size": self.obs_size, "state size": self.state_size}
        if n_actions is not None:
            got["n_actions"], want["n_actions"] = int(n_actions), self.n_actions
        bad = [f"{k}: layout {want[k]}, env {got[k]}" for k in want if want[k] != got[k]]
        if bad:
            raise LayoutMismatchError(
                f"map {self.map_name!r} ({self.env}): the layout disagrees with the env ({'; '.join(bad)}). "
                f"Layout flags: {self._flags_text()}. Pass the run's env_args (and map_file) to "
                "load_map_layout, or check that env and map name are those the env was built with."
            )

    def check_obs_width(self, width: int, what: str = "observation") -> None:
        if width != self.obs_size:
            raise LayoutMismatchError(
                f"map {self.map_name!r} ({self.env}): an {what} row has {width} values but the layout's "
                f"obs size is {self.obs_size} (flags: {self._flags_text()}); build the layout with the env's env_args"
            )

    def _flags_text(self) -> str:
        if self.env == "smaclite":
            return "SMAClite fixed layout"
        text = ", ".join(f"{k}={v}" for k, v in self.flags.as_dict(self.env).items())
        if self.env == "sc2v2":
            caps = [k for k in ("attack", "health") if getattr(self.capabilities, k)]
            text += f", capability features {caps or 'none'}"
        return text

    def as_dict(self, agent_id: int = 0) -> dict[str, Any]:
        """Everything the `layout` command prints, as plain data."""
        return {
            "map_name": self.map_name,
            "env": self.env,
            "map_file": self.map_file,
            "n_agents": self.n_agents,
            "n_enemies": self.n_enemies,
            "n_actions": self.n_actions,
            "n_targets": self.n_targets,
            "obs_size": self.obs_size,
            "state_size": self.state_size,
            "unit_type_bits": self.spec.unit_type_bits,
            "ally_unit_names": list(self.ally_unit_names),
            "enemy_unit_names": list(self.enemy_unit_names),
            "enemy_order_known": self.spec.enemy_order_known,
            "ally_type_bits": list(self.spec.ally_type_names),
            "enemy_type_bits": list(self.spec.enemy_type_names),
            "healers": [a for a in range(self.n_agents) if self.spec.is_healer(a)],
            "env_args": self.flags.as_dict(self.env) if self.env != "smaclite" else {},
            "composition_varies": self.composition_varies,
            "n_base_actions": self.n_base_actions,
            "capabilities": {
                k: getattr(self.capabilities, k)
                for k in ("attack", "health", "team_gen", "observe_types", "enemy_mask", "start_positions")
            },
            "observer": agent_id,
            "entities": [e.as_dict() for e in self.obs_for_agent(agent_id).entities],
            "state_entities": [e.as_dict() for e in self.state.entities],
        }

    def __repr__(self) -> str:
        return (
            f"MapLayout({self.map_name!r}, env={self.env!r}, n_agents={self.n_agents}, "
            f"n_enemies={self.n_enemies}, obs_size={self.obs_size}, state_size={self.state_size})"
        )


def _flat(shape: int | Sequence[int]) -> int:
    if isinstance(shape, int):
        return shape
    size = 1
    for d in shape:
        size *= int(d)
    return size


def _known(name: str) -> str | None:
    return None if name == UNKNOWN_UNIT else name


def _check_sc2v2_flags(spec: MapSpec, f: EnvFlags) -> None:
    if f.obs_instead_of_state:
        raise ValueError(
            f"SMACv2 scenario {spec.name!r}: obs_instead_of_state=True is not supported by SMACv2 itself "
            "(StarCraft2Env.build_state_feature_names raises NotImplementedError); set it False"
        )
    if not f.obs_starcraft:
        raise ValueError(
            f"SMACv2 scenario {spec.name!r}: obs_starcraft=False leaves no unit in the observation "
            "(at most the timestep), so there is nothing to write a prompt from; set it True"
        )


def map_names(env: EnvName = "sc2") -> tuple[str, ...]:
    """The maps `load_map_layout` knows by name for `env` (SMACv2: EPyMARL's scenario names)."""
    return tuple(SC2_MAPS) if env == "sc2" else tuple(SC2V2_SCENARIOS) if env == "sc2v2" else tuple(SMACLITE_PRESETS)


def load_map_layout(
    map_name: str | None,
    env: EnvName = "sc2",
    env_args: Mapping[str, Any] | None = None,
    map_file: str | Path | None = None,
) -> MapLayout:
    """The layout of `map_name` in `env` ("sc2" = SMAC, "sc2v2" = SMACv2, "smaclite") under `env_args`.

    `map_file` (or `env_args["map_file"]`) reads a SMAClite JSON map instead of a preset; its `name`
    then wins over `map_name`. For "sc2v2", `map_name` is an EPyMARL scenario (`protoss_5_vs_5`):
    its yaml's env args, with the layout keys of `env_args` (capability_config included) on top.
    Raises UnknownMapError for a map no registry knows.
    """
    if env not in ENVS:
        raise ValueError(f"env must be one of {ENVS}, got {env!r}")
    map_file = map_file or (env_args or {}).get("map_file")
    if map_file is not None:
        if env != "smaclite":
            raise ValueError("map_file is a SMAClite option: pass env='smaclite' (--env smaclite)")
        spec = smaclite_map_file(map_file)
    elif env == "sc2v2":
        args = scenario_env_args(str(map_name), env_args)
        spec, caps = build_spec(str(map_name), args)
        return MapLayout(spec, EnvFlags.from_env_args(args, env), None, caps, args)
    elif env == "sc2":
        if map_name not in SC2_MAPS:
            hint = (
                " (SMAClite has it: use env='smaclite')"
                if map_name in SMACLITE_PRESETS
                else " (a SMACv2 scenario: use env='sc2v2', --env sc2v2)"
                if map_name in SC2V2_SCENARIOS
                else ""
            )
            raise UnknownMapError(f"unknown SMAC map {map_name!r}{hint}; SMAC's registry holds {', '.join(SC2_MAPS)}")
        spec = SC2_MAPS[map_name]
    else:
        spec = smaclite_preset(map_name)
    return MapLayout(spec, EnvFlags.from_env_args(env_args, env), str(map_file) if map_file else None)
