"""Checks of `env`, `env_args.map_name`, `map_file` and the env args, before any env worker starts.

EPyMARL's `ParallelRunner.__init__` starts its env workers first and then waits for the first
one's `get_env_info`: a worker whose env cannot be built (an unknown map, a broken map file, an
argument the env does not take) dies, and the parent waits for ever. Everything here is read from
the plugin's own map table and the env classes' signatures, so a bad run stops in seconds with the
fix, and no process is started.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

# Keys EPyMARL's runners add to every env's args, and that its env functions remove again.
_RUNNER_KEYS = ("common_reward", "reward_scalarisation")
CUSTOM_MAP = "custom"  # SMAClite's gym id for a JSON map: smaclite/custom-v0 (smaclite/__init__.py)


class EnvArgsError(ValueError):
    """The env config cannot start an env: says which key and what to set."""


def check_env_config(env: str, env_args: Mapping[str, Any] | None):
    """Raise EnvArgsError (or the map table's UnknownMapError) unless the env can be built.

    Returns the map's layout (`prompts.load_map_layout`), which the runner reuses.
    """
    from epymarl_llm.prompts import load_map_layout

    env_args = dict(env_args or {})
    map_name, map_file = env_args.get("map_name"), env_args.get("map_file")
    if not map_name:
        raise EnvArgsError(
            "env_args.map_name is not set: LoLM-MARL builds its prompts from the map's layout; "
            "add `with env_args.map_name=3s5z`"
        )
    if env == "smaclite":
        _check_smaclite_map(map_name, map_file)
    elif map_file is not None:
        raise EnvArgsError(f"env_args.map_file is a SMAClite option; --env-config={env} takes a map name only")
    if env == "sc2v2":  # the scenario file decides the layout (EPyMARL's SMACv2Wrapper)
        from epymarl_llm.prompts.sc2v2_run import run_env_args

        env_args = run_env_args(env_args)
    from epymarl_llm.prompts.errors import UnknownMapError

    try:
        layout = load_map_layout(map_name, env=env, env_args=env_args, map_file=map_file)
    except UnknownMapError as err:
        if env != "smaclite":
            raise
        raise UnknownMapError(
            f"{err} With EPyMARL: --env-config=smaclite_custom with env_args.map_file=/path/to/map.json"
        ) from None
    except OSError as err:  # a missing or unreadable map file
        raise EnvArgsError(str(err)) from None
    _check_arguments(env, env_args)
    return layout


def _check_smaclite_map(map_name: str, map_file: Any) -> None:
    """SMAClite's wrapper makes `smaclite/{map_name}-v0`; a JSON map needs the id `custom`."""
    if map_file is None and map_name == CUSTOM_MAP:
        raise EnvArgsError(
            "env_args.map_name=custom needs a JSON map: add `with env_args.map_file=/path/to/map.json` "
            "(--env-config=smaclite_custom declares the key)"
        )
    if map_file is not None and map_name != CUSTOM_MAP:
        raise EnvArgsError(
            f"env_args.map_file is set but env_args.map_name is {map_name!r}: SMAClite reads a JSON "
            "map only under map_name=custom; use --env-config=smaclite_custom with "
            "env_args.map_file=/path/to/map.json"
        )
    if map_file is not None and not isinstance(map_file, str):
        raise EnvArgsError(f"env_args.map_file must be a path to a JSON map; got {map_file!r}")


def _constructors(env: str) -> list[Callable]:
    """The callables that receive the env args, outermost first (EPyMARL's wrapper, then the env)."""
    if env == "smaclite":
        from envs.smaclite_wrapper import SMACliteWrapper  # EPyMARL's, from the checkout's src/

        return [SMACliteWrapper.__init__]
    if env == "sc2":
        from envs.smac_wrapper import SMACWrapper
        from smac.env import StarCraft2Env

        return [SMACWrapper.__init__, StarCraft2Env.__init__]
    return []


def _check_arguments(env: str, env_args: Mapping[str, Any]) -> None:
    """Each constructor must accept the args it gets: no unknown key, no required key missing."""
    try:
        constructors = _constructors(env)
    except ImportError:
        return  # outside an EPyMARL checkout: the worker's own error is the check
    given = {k: v for k, v in env_args.items() if k not in _RUNNER_KEYS}
    given.setdefault("seed", None)  # EPyMARL's run.py always sets it
    for constructor in constructors:
        params = list(inspect.signature(constructor).parameters.values())[1:]  # drop self
        names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
        unknown = sorted(set(given) - set(names))
        if unknown and not takes_any:
            raise EnvArgsError(
                f"env_args {', '.join(unknown)} not taken by {env}'s env "
                f"({constructor.__qualname__}); it takes: {', '.join(sorted(names))}"
            )
        missing = [
            p.name
            for p in params
            if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in given
        ]
        if missing:
            raise EnvArgsError(
                f"env_args {', '.join(missing)} missing for {env}'s env ({constructor.__qualname__}); "
                f"add `with env_args.{missing[0]}=...` or use EPyMARL's --env-config={env}"
            )
        if not takes_any:
            return
        given = {k: v for k, v in given.items() if k not in names}  # what the next constructor gets
