"""The env args that change SMAC's or SMACv2's observation/state layout, read into a typed record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .map_spec import EnvName

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class EnvFlags:
    """Layout flags of SMAC's `StarCraft2Env`, with its constructor defaults.

    EPyMARL's `sc2.yaml` differs from these defaults in `state_last_action: False`; pass the run's
    `env_args` to get its layout. SMAClite has no such options: its layout equals SMAC's with these
    defaults (state last actions included, never a timestep). The last four are SMACv2's
    (`smacv2.env.starcraft2.starcraft2.StarCraft2Env`); SMAC has none of them.
    """

    obs_all_health: bool = True
    obs_own_health: bool = True
    obs_last_action: bool = False
    obs_pathing_grid: bool = False
    obs_terrain_height: bool = False
    obs_timestep_number: bool = False
    state_last_action: bool = True
    state_timestep_number: bool = False
    obs_instead_of_state: bool = False
    obs_own_pos: bool = False
    conic_fov: bool = False
    num_fov_actions: int = 12
    obs_starcraft: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            want = int if f.name == "num_fov_actions" else bool
            value = getattr(self, f.name)
            if not isinstance(value, want) or (want is int and (isinstance(value, bool) or value < 1)):
                raise TypeError(
                    f"env arg {f.name} must be a {want.__name__}{' >= 1' if want is int else ''}, got {value!r}"
                )

    @property
    def own_health(self) -> bool:
        # StarCraft2Env.__init__: "if self.obs_all_health: self.obs_own_health = True".
        return self.obs_all_health or self.obs_own_health

    @classmethod
    def from_env_args(cls, env_args: Mapping[str, Any] | None, env: EnvName) -> EnvFlags:
        """Pick the layout flags out of a full `env_args` mapping (other keys are ignored)."""
        env_args = dict(env_args or {})
        values = {
            f.name: _as_int(f.name, env_args[f.name])
            if f.name == "num_fov_actions"
            else _as_bool(f.name, env_args[f.name])
            for f in fields(cls)
            if f.name in env_args
        }
        if env == "sc2":
            fixed = cls()
            wrong = {k: v for k, v in values.items() if k in SC2V2_ONLY and v != getattr(fixed, k)}
            if wrong:
                raise ValueError(
                    f"{sorted(wrong)} are SMACv2 env args that SMAC's StarCraft2Env does not take; "
                    "use --env sc2v2 (EPyMARL --env-config=sc2v2) or remove them"
                )
        if env == "smaclite":
            fixed = cls()
            wrong = {k: v for k, v in values.items() if v != getattr(fixed, k)}
            if wrong:
                raise ValueError(
                    f"SMAClite has no layout options, its layout is fixed; remove {sorted(wrong)} from env_args "
                    f"(SMAClite behaves as {', '.join(f'{k}={getattr(fixed, k)}' for k in sorted(wrong))})"
                )
            return fixed
        return cls(**values)

    def as_dict(self, env: EnvName = "sc2") -> dict[str, bool | int]:
        """The flags `env` has (SMAC: without SMACv2's)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if env == "sc2v2" or f.name not in SC2V2_ONLY}


SC2V2_ONLY = ("obs_own_pos", "conic_fov", "num_fov_actions", "obs_starcraft")


def _as_int(key: str, value: Any) -> int:
    try:
        return int(str(value).strip()) if not isinstance(value, bool) else _raise(key, value)
    except ValueError:
        return _raise(key, value)


def _raise(key: str, value: Any):
    raise ValueError(f"env arg {key} must be a whole number, got {value!r}")


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"env arg {key} must be True or False, got {value!r}")
