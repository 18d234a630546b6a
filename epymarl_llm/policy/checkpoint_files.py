"""Reading one file of a saved checkpoint: a truncated or damaged file is named, with the fix.

A save that was interrupted (the run killed while writing) or a copy that did not finish leaves a
short file; safetensors then says only "invalid header length" and torch "failed finding central
directory", naming no file. The step folder's siblings are the other saved steps, one of which
can be loaded instead.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from epymarl_llm.policy.errors import CheckpointError

T = TypeVar("T")


def _read_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, pickle.UnpicklingError, RuntimeError, ValueError)
    try:
        from safetensors import SafetensorError
    except ImportError:  # an old safetensors: its errors are among the above
        return errors
    return (SafetensorError, *errors)


def read_checkpoint_file(path: str | os.PathLike, read: Callable[[str], T]) -> T:
    """`read(path)`, or a `CheckpointError` naming `path` and the other saved steps when it fails."""
    try:
        return read(str(path))
    except _read_errors() as err:
        if "out of memory" in str(err).lower():
            raise
        problem = f"{type(err).__name__}: {err}"
    # Raised outside the `except`: the reader's own traceback names no file.
    raise CheckpointError(
        f"{path} cannot be read ({problem}): the file is truncated or damaged, as a save that was "
        f"interrupted or a copy that did not finish leaves it.\n{_fix(Path(path))}"
    )


def _fix(path: Path) -> str:
    step_dir = path.parent
    run_dir = step_dir.parent
    steps = (
        sorted(int(p.name) for p in run_dir.glob("*") if p.is_dir() and p.name.isdigit() and p != step_dir)
        if run_dir.is_dir()
        else []
    )
    if step_dir.name.isdigit() and steps:
        return (
            f"Load another saved step: checkpoint_path={str(run_dir)!r} load_step=N with N one of "
            f"{', '.join(map(str, steps[-5:]))}; or save this step again."
        )
    return "Save the checkpoint again, or load another one."
