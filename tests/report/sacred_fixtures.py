"""Helpers: Sacred runs made by real Sacred experiments (FileStorageObserver / MongoObserver), shaped like
EPyMARL's: its config keys (`name`, `env_args.map_name`, `seed`, `checkpoint_path`, `evaluate`) and
its metric names logged with `log_scalar(name, value, t_env)` as EPyMARL's Logger does."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Metrics = Mapping[str, tuple[Sequence[int], Sequence[float]]]


@contextlib.contextmanager
def quiet_sacred_import() -> Iterator[None]:
    """sacred 0.8.7 imports the deprecated pkg_resources: keep its warnings out of the test log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def epymarl_config(name: str, map_name: str, seed: int, **extra: Any) -> dict[str, Any]:
    """The keys the report reads, with EPyMARL's defaults for the transfer switches."""
    config = {
        "name": name,
        "seed": seed,
        "env": "sc2",
        "env_args": {"map_name": map_name},
        "checkpoint_path": "",
        "evaluate": False,
        "load_step": 0,
        "t_max": 100000,
    }
    config.update(extra)
    return config


def run_sacred(observer: Any, config: dict[str, Any], metrics: Metrics, fail_with: str | None = None) -> None:
    """Run a tiny Sacred experiment that logs `metrics`, then fails with `fail_with` if given."""
    with quiet_sacred_import():
        from sacred import Experiment

    ex = Experiment("pymarl", save_git_info=False, interactive=True)  # EPyMARL's experiment name
    ex.add_config(config)

    @ex.main
    def main(_run):
        for name, (steps, values) in metrics.items():
            for step, value in zip(steps, values, strict=True):
                _run.log_scalar(name, value, step)
        if fail_with:
            raise RuntimeError(fail_with)

    ex.observers.append(observer)
    try:
        ex.run(options={"--capture": "no", "--loglevel": "ERROR"})
    except RuntimeError:
        if not fail_with:
            raise


def ramp(n: int, every: int, start: int = 0) -> list[int]:
    return [start + i * every for i in range(n)]
