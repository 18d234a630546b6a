"""Attach the plugin's MongoDB handling to Sacred without editing EPyMARL's `main.py`.

A Sacred observer must be in `run.observers` before `Run.__call__` emits `started_event`; observers
appended later (e.g. from `logger.setup_sacred(_run)` inside the run) miss the start and are never
told. EPyMARL's `main.py` ends in `ex.run_commandline(params)`, which creates the run in
`Experiment._create_run` (config resolved, `-m` observers added) and starts it right after. The hook
wraps `_create_run` once per process (only in a marked EPyMARL checkout, see `hook.py`) to run
`mongo.attach_from_config` on the new run: Sacred's `-m` observers and `mongo_url` observers are then
both in place, and checked, before the start. It also records the source map of a loaded
checkpoint in the config (`transfer.record_source_map`), where the report reads it.

Why the private `_create_run` and not a public hook (Sacred 0.8): every public hook is registered on
an `Experiment` instance (`ex.observers`, `config_hook`, `option_hook`, `pre_run_hook`), and the
plugin never sees EPyMARL's `ex`: the import hook fires while main.py runs `from run import run`,
before it creates `ex = Experiment("pymarl")`, and the plugin does not edit main.py. Even with `ex`,
none of them runs at the moment needed: a `config_hook` runs inside `create_run`, before the `-m`
observers exist and before `meta_info` holds the command line (so it can neither ping those observers
nor mask the password there); a `pre_run_hook` runs after `_emit_started`, when every observer has
already stored the password and an unreachable `-m` server has already blocked for 30 s; and
`ConfigAddedError` is raised inside `create_run`, where no hook sees it. The one place where the
run exists, with all its observers and meta info, and has not started yet is the return of
`_create_run` (the public `Experiment.run` is `_create_run` then `run()`), so the hook wraps it and
`uninstall` restores the original.

Two of Sacred's own errors get what the user needs to fix them: a misspelled key (Sacred's
`ConfigAddedError`, raised while the run is created) gets "did you mean `lora_rank`?", and a
checkpoint folder that EPyMARL's run.py would fail on later (no step folders: its `max() arg is an
empty sequence`; another algorithm's checkpoint under `--config=lolm_mappo`) stops the run before
it starts, naming the folder (`transfer.check_checkpoint`). Both are `SacredError`s that Sacred
prints as one message without a traceback, the last lines of the output.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

from sacred.utils import ConfigAddedError, SacredError

from epymarl_llm.config_errors import did_you_mean

_WRAPPED_FLAG = "_epymarl_llm_wrapped"


def install() -> None:
    """Wrap `sacred.Experiment._create_run` (idempotent).

    Private on purpose: no public Sacred hook runs between the `-m` observers' creation and the
    run's start, and none is reachable without EPyMARL's `ex` (see the module docstring).
    """
    from sacred.experiment import Experiment

    original = Experiment._create_run
    if getattr(original, _WRAPPED_FLAG, False):
        return

    @functools.wraps(original)
    def _create_run(self, *args, **kwargs):
        from epymarl_llm.epymarl import mongo, transfer

        try:
            run = original(self, *args, **kwargs)
        except ConfigAddedError as err:
            hinted = with_spelling_hint(err)
            if hinted is None:
                raise
            raise hinted from None
        problem = transfer.checkpoint_problem(run.config)
        if problem is not None:
            raise RunSetupError(problem)
        transfer.record_source_map(run)
        mongo.attach_from_config(run)
        return run

    # EPyMARL's get_logger() sets the root logger to DEBUG, which turns pymongo's per-heartbeat
    # structured debug records into console noise for a Mongo-observed run.
    if logging.getLogger("pymongo").level == logging.NOTSET:
        logging.getLogger("pymongo").setLevel(logging.WARNING)
    setattr(_create_run, _WRAPPED_FLAG, True)
    Experiment._create_run = _create_run


def uninstall() -> None:
    from sacred.experiment import Experiment

    current = Experiment._create_run
    if getattr(current, _WRAPPED_FLAG, False):
        Experiment._create_run = current.__wrapped__


class RunSetupError(SacredError):
    """A run that cannot start; Sacred prints the message alone (no traceback) and exits 1."""

    def __init__(self, message: str):
        super().__init__(message, print_traceback=False)


class ConfigAddedErrorWithHint(ConfigAddedError):
    """Sacred's message, then one line per misspelled key with the keys it is closest to."""

    hint = ""

    def __str__(self) -> str:
        return super().__str__() + "\n" + self.hint


def spelling_hints(keys: list[str], config: Mapping[str, Any]) -> list[str]:
    """ "lora_rnak: did you mean `lora_rank`?" for each dotted key close to one at its level of `config`."""
    hints = []
    for key in keys:
        *parents, leaf = key.split(".")
        level: Any = config
        for p in parents:
            level = level.get(p, {}) if isinstance(level, Mapping) else {}
        # Sacred has already added the misspelled key to `config`: `did_you_mean` skips it.
        candidates = [k for k in level if isinstance(k, str)] if isinstance(level, Mapping) else []
        prefix = ".".join(parents) + "." if parents else ""
        hint = did_you_mean(leaf, candidates, prefix)
        if hint:
            hints.append(hint)
    return hints


def with_spelling_hint(err: ConfigAddedError) -> ConfigAddedError | None:
    """The same error with a "did you mean" line per misspelled key; None when no key is close."""
    keys = [str(k) for k in err.__conflicting_configs__]  # may be a one-shot generator: kept as a list
    err.__conflicting_configs__ = tuple(keys)
    config = getattr(err, "__config__", None) or {}
    hints = spelling_hints(keys, config)
    if not hints:
        return None
    hinted = ConfigAddedErrorWithHint(tuple(keys), message=err.args[0] if err.args else "", config=config)
    hinted.__prefix_handled__ = True
    hinted.hint = "\n".join(hints)
    return hinted
