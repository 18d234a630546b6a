"""SMACv2 in an EPyMARL run: the env args the live env is really built with, and its episode's units.

EPyMARL's `envs/smacv2_wrapper.py` (`--env-config=sc2v2`) reads `env_args.map_name` as a scenario,
loads `config/envs/smacv2_configs/<map_name>.yaml` and builds `StarCraftCapabilityEnvWrapper`
from that file's `env_args` alone: `load_scenario` merges the run's other env args into the
file's top level, which the wrapper never reads. So the layout must come from the scenario file,
and an env arg on the command line that would change it is an error, not a silent no-op.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .env_flags import EnvFlags
from .sc2v2_maps import SC2V2_RACES, SC2V2_SCENARIOS

# Keys of the run's env_args that the scenario file decides (the layout keys and the team draw).
_DECIDED_BY_SCENARIO = tuple(EnvFlags.__dataclass_fields__) + ("capability_config",)


def scenario_dir() -> Path | None:
    """EPyMARL's smacv2_configs folder, where the run's EPyMARL has imported its SMACv2 wrapper."""
    module = sys.modules.get("envs.smacv2_wrapper")
    path = getattr(module, "SMACv2_CONFIG_DIR", None)
    return Path(path) if path is not None else None


def run_env_args(env_args: Mapping[str, Any], config_dir: Path | None = None) -> dict[str, Any]:
    """The env args EPyMARL builds the SMACv2 env of a run with (`env_args` = the run's).

    Pass them on as `load_map_layout(env_args["map_name"], "sc2v2", env_args=<these>)`.

    Reads `<config_dir>/<map_name>.yaml` (default: the run's EPyMARL, else the scenario table) and
    raises ValueError, naming the fix, where `env_args` sets a layout key to another value.
    """
    name = env_args.get("map_name")
    if not name:
        raise ValueError(
            "env_args.map_name is not set: with --env-config=sc2v2 it names a scenario of EPyMARL's "
            f"smacv2_configs, e.g. {', '.join(list(SC2V2_SCENARIOS)[:3])}"
        )
    config_dir = config_dir or scenario_dir()
    path = config_dir / f"{name}.yaml" if config_dir is not None else None
    if path is not None and path.is_file():
        import yaml

        scenario = dict(yaml.safe_load(path.read_text())["env_args"])
        where = str(path)
    elif name in SC2V2_SCENARIOS:
        scenario, where = copy.deepcopy(SC2V2_SCENARIOS[name]), f"smacv2_configs/{name}.yaml"
    else:
        known = (
            sorted(p.stem for p in config_dir.glob("*.yaml"))
            if config_dir and config_dir.is_dir()
            else list(SC2V2_SCENARIOS)
        )
        raise ValueError(
            f"SMACv2 scenario {name!r} has no file {path or f'smacv2_configs/{name}.yaml'}; "
            f"EPyMARL knows {', '.join(known)}"
        )
    ignored = [k for k in _DECIDED_BY_SCENARIO if k in env_args and env_args[k] != scenario.get(k, env_args[k])]
    if ignored:
        raise ValueError(
            f"env_args {', '.join(ignored)} differ from SMACv2 scenario {name!r}, but EPyMARL's SMACv2Wrapper builds "
            f"the env from {where} alone and would ignore them; put the change into a copy of that file under "
            "a new name in smacv2_configs/ and pass env_args.map_name=<that name>"
        )
    return scenario  # map_name: SMACv2's map (10gen_*); the layout is named by the scenario


def episode_units(env: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ally names by agent id, enemy names by enemy id) of the live SMACv2 env's current episode.

    `env` is SMACv2's `StarCraft2Env` (or its capability wrapper, or EPyMARL's SMACv2Wrapper);
    names come from its own `get_unit_type_id`, so they are the type bits' names.
    """
    while not hasattr(env, "get_unit_type_id") and hasattr(env, "env"):
        env = env.env
    bits = SC2V2_RACES[env.map_type][1]
    allies = tuple(bits[env.get_unit_type_id(env.agents[a], True)] for a in range(env.n_agents))
    enemies = tuple(bits[env.get_unit_type_id(env.enemies[j], False)] for j in range(env.n_enemies))
    return allies, enemies
