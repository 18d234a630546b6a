"""Attach the plugin's MongoDB handling to Sacred without editing EPyMARL's `main.py`.

A Sacred observer must be in `run.observers` before `Run.__call__` emits `started_event`; observers
appended later (e.g. from `logger.setup_sacred(_run)` inside the run) miss the start and are never
told. EPyMARL's `main.py` ends in `ex.run_commandline(params)`, which creates the run in
`Experiment._create_run` (config resolved, `-m` observers added) and starts it right after. The hook
wraps `_create_run` once per process (only in a marked EPyMARL checkout, see `hook.py`) to run
`mongo.attach_from_config` on the new run: Sacred's `-m` observers and `mongo_url` observers are then
both in place, and checked, before the start. It also records the source map of a loaded
checkpoint in the config (`transfer.record_source_map`), where the report reads it.
"""
from __future__ import annotations

import functools
import logging

_WRAPPED_FLAG = "_epymarl_llm_wrapped"


def install() -> None:
    """Wrap `sacred.Experiment._create_run` (idempotent)."""
    from sacred.experiment import Experiment

    original = Experiment._create_run
    if getattr(original, _WRAPPED_FLAG, False):
        return

    @functools.wraps(original)
    def _create_run(self, *args, **kwargs):
        run = original(self, *args, **kwargs)
        from epymarl_llm.epymarl import mongo, transfer

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
