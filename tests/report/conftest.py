"""Fixtures: run folders written by real Sacred experiments, as EPyMARL's main.py lays them out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.report.sacred_fixtures import Metrics, quiet_sacred_import, run_sacred


@pytest.fixture
def file_run() -> Callable[..., Path]:
    """file_run(results_dir, config, metrics, fail_with=None, status=None) -> the run folder.

    Folders follow EPyMARL's main.py: results/sacred/<name>/<map_name>/<id>. `status` overwrites
    run.json's status afterwards (what a run killed without notice leaves: RUNNING).
    """
    with quiet_sacred_import():
        from sacred.observers import FileStorageObserver

    def make(
        results: Path, config: dict[str, Any], metrics: Metrics, fail_with: str | None = None, status: str | None = None
    ) -> Path:
        base = results / "sacred" / config["name"] / config["env_args"]["map_name"]
        observer = FileStorageObserver(str(base))
        run_sacred(observer, config, metrics, fail_with)
        run_dir = Path(observer.dir)
        if status:
            entry = json.loads((run_dir / "run.json").read_text())
            entry["status"] = status
            entry.pop("stop_time", None)
            (run_dir / "run.json").write_text(json.dumps(entry))
        return run_dir

    return make
