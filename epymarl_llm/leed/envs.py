"""EPyMARL's own env construction, outside a training run.

Demonstrations must come from exactly the env a run trains on, so they are played through the
checkout's `envs.REGISTRY` with the env yaml's `env_args` (`src/config/envs/<env>.yaml`) and the
keys EPyMARL's `main.py` / `run.py` add (`seed`, `common_reward`, `reward_scalarisation`).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

ENVS = ("smaclite", "sc2")


class EnvSetupError(RuntimeError):
    """The EPyMARL checkout or the env cannot be used."""


def epymarl_src(epymarl: str | Path | None) -> Path:
    root = Path(epymarl or os.environ.get("EPYMARL_PATH") or "")
    if not str(root) or not (root / "src" / "main.py").is_file():
        raise EnvSetupError(
            f"{str(root) or '(none)'} is not an EPyMARL checkout (no src/main.py): pass "
            "--epymarl DIR or set EPYMARL_PATH"
        )
    return root / "src"


def env_args_for(src: Path, env: str, map_name: str, seed: int, overrides: dict[str, Any] | None = None) -> dict:
    """The env yaml's `env_args` + map, seed and overrides, as `main.py` hands them to the runner."""
    import yaml

    if env not in ENVS:
        raise EnvSetupError(f"env must be one of {ENVS}; got {env!r}")
    path = src / "config" / "envs" / f"{env}.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    args = dict(config.get("env_args") or {})
    args.update(overrides or {})
    args["map_name"], args["seed"] = map_name, seed
    return args


def make_env(epymarl: str | Path | None, env: str, env_args: dict) -> Any:
    """An env of EPyMARL's registry (SMAC is registered on demand, as its run.py does)."""
    src = epymarl_src(epymarl)
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        envs = importlib.import_module("envs")
    except ModuleNotFoundError as err:
        raise EnvSetupError(f"cannot import EPyMARL's envs from {src} ({err}); install its requirements") from err
    if env == "sc2" and "sc2" not in envs.REGISTRY:
        try:
            envs.register_smac()
        except ImportError as err:
            raise EnvSetupError(
                f"SMAC is not installed ({err}): pip install git+https://github.com/oxwhirl/smac.git "
                "and the StarCraft II binary, or use --env smaclite"
            ) from err
    return envs.REGISTRY[env](**env_args, common_reward=True, reward_scalarisation="sum")
