"""`epymarl-llm latest-checkpoint PATH`: the newest checkpoint EPyMARL saved, ready to paste.

EPyMARL's run.py saves to `results/models/<unique_token>/<t_env>/`, where the token is
`<name>_seed<seed>_<map>_<datetime.now()>`: it holds a space and colons
(`lolm_mappo_seed1_3s5z_2026-12-01 23:43:15.123456`), and every resumed run writes a new token.
`checkpoint_path` takes the token folder (run.py then loads its largest step, or the one closest
to `load_step`). This command finds the token folder written last (by its newest step folder's
modification time) and prints it shell-quoted, as a `with` argument by default.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

HELP = "print the newest checkpoint folder under EPyMARL's results/models (shell-quoted, ready for `with`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        default=".",
        help="an EPyMARL checkout, its results/ or results/models/ folder, or one run's token "
        "folder (default: the current folder)",
    )
    parser.add_argument("--name", default=None, help="only runs of this config name (e.g. lolm_mappo)")
    parser.add_argument("--map", dest="map_name", default=None, help="only runs on this map (e.g. 3s5z)")
    parser.add_argument(
        "--path-only",
        action="store_true",
        help="print the bare token folder (unquoted) instead of `checkpoint_path=... load_step=N`",
    )


class NoCheckpointError(ValueError):
    """No saved step folder under the given path (or none matching the filters)."""


def _steps(token_dir: Path) -> list[int]:
    return sorted(int(p.name) for p in token_dir.iterdir() if p.is_dir() and p.name.isdigit())


def _models_dir(path: Path) -> Path:
    for candidate in (path / "results" / "models", path / "models", path):
        if candidate.is_dir():
            return candidate
    raise NoCheckpointError(f"{path} is not a folder")


def latest_checkpoint(path: str | Path, name: str | None = None, map_name: str | None = None) -> tuple[Path, int]:
    """(token folder, its largest step) of the run whose newest step folder was written last."""
    path = Path(path)
    if path.is_dir() and _steps(path):
        return path, _steps(path)[-1]  # one run's token folder
    models = _models_dir(path)
    best: tuple[float, Path, int] | None = None
    for token in models.iterdir():
        if not token.is_dir():
            continue
        if name is not None and not token.name.startswith(f"{name}_seed"):
            continue
        if map_name is not None and f"_{map_name}_" not in token.name:
            continue
        steps = _steps(token)
        if not steps:
            continue
        written = max(os.path.getmtime(token / str(s)) for s in steps)
        if best is None or written > best[0]:
            best = (written, token, steps[-1])
    if best is None:
        filters = " and ".join(f for f in (f"name {name}" if name else "", f"map {map_name}" if map_name else "") if f)
        raise NoCheckpointError(
            f"no checkpoint under {models}"
            + (f" for {filters}" if filters else "")
            + ": EPyMARL saves one with save_model=True (results/models/<run token>/<t_env>/)"
        )
    return best[1], best[2]


def run(args: argparse.Namespace) -> int:
    try:
        token, step = latest_checkpoint(args.path, args.name, args.map_name)
    except NoCheckpointError as err:
        print(f"epymarl-llm latest-checkpoint: {err}", file=sys.stderr)
        return 2
    if args.path_only:
        print(token)
    else:
        print(f"{shlex.quote(f'checkpoint_path={token}')} load_step={step}")
    return 0
