"""Read runs from Sacred FileStorageObserver folders (EPyMARL: results/sacred/<name>/<map>/<id>/).

A run folder holds config.json, run.json (status, fail_trace), metrics.json (`{name: {"steps",
"values", "timestamps"}}`), info.json and cout.txt (sacred/observers/file_storage.py). Any folder
given on the command line is searched for run folders, so `results/sacred` reads every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from epymarl_llm_tools.report.errors import ReportInputError
from epymarl_llm_tools.report.runs import Run, metrics_from_sacred, run_from_config

# Sacred keeps sources and resources next to the run folders; they hold no runs.
_NOT_RUNS = {"_sources", "_resources"}


def find_run_dirs(root: Path) -> list[Path]:
    """Every folder under `root` (or `root` itself) holding a Sacred run's config.json or run.json."""
    if not root.exists():
        raise ReportInputError(
            f"run folder {str(root)!r} does not exist; pass EPyMARL's results/sacred or a run folder"
        )
    if not root.is_dir():
        raise ReportInputError(f"{str(root)!r} is a file; pass a folder (EPyMARL's results/sacred or a run folder)")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_RUNS)
        if "config.json" in filenames or "run.json" in filenames:
            found.append(Path(dirpath))
            dirnames[:] = []  # a run folder has no runs below it
    return sorted(found, key=_natural_key)


def _natural_key(path: Path) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in path.parts)


def _load_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        problems.append(f"{path.name} is missing")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        # A run killed while Sacred rewrote the file leaves it truncated.
        problems.append(f"{path.name} is unreadable ({err.__class__.__name__}: {err})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name} is not a JSON object")
        return None
    return data


def read_run_dir(run_dir: Path) -> Run:
    """One run folder -> Run; missing or broken files become `problems`, never exceptions."""
    problems: list[str] = []
    config = _load_json(run_dir / "config.json", problems) or {}
    run_entry = _load_json(run_dir / "run.json", problems) or {}
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists():
        raw_metrics = _load_json(metrics_path, problems)
    else:
        raw_metrics = None
        problems.append("metrics.json is missing (the run logged nothing yet)")
    metrics, metric_problems = metrics_from_sacred(raw_metrics or {})
    return run_from_config(
        config,
        origin=str(run_dir),
        run_id=run_dir.name,
        status=run_entry.get("status", "UNKNOWN"),
        metrics=metrics,
        fail_trace=run_entry.get("fail_trace") or "",
        problems=problems + metric_problems,
    )


def read_file_runs(roots: Iterable[str | os.PathLike[str]]) -> tuple[list[Run], list[str]]:
    """All runs under the given folders, and messages for folders that hold none."""
    runs: list[Run] = []
    messages: list[str] = []
    for root in roots:
        run_dirs = find_run_dirs(Path(root))
        if not run_dirs:
            messages.append(f"{root}: no Sacred run folders (config.json/run.json) found")
        runs.extend(read_run_dir(d) for d in run_dirs)
    return runs, messages
