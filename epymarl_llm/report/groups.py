"""Group runs into series (algorithm x map x kind of run) with one run per seed, and explain
every run the report cannot use fully."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from epymarl_llm.report.runs import FINISHED, Run, RunMode

# Algorithms whose policies take any map's observation (text prompts, attention over targets).
# Built-in EPyMARL networks have input and output sizes fixed by the map (obs_shape, n_actions).
DEFAULT_TRANSFERABLE_PREFIXES: tuple[str, ...] = ("lolm",)
NOT_TRANSFERABLE = "not transferable (fixed input size)"


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One line of a figure: an algorithm on a map, trained from scratch or transferred."""

    map_name: str
    algorithm: str
    mode: RunMode
    source_map: str | None = None

    def label(self) -> str:
        if self.mode is RunMode.SINGLE:
            return self.algorithm
        if self.mode in (RunMode.RESUMED, RunMode.EVALUATION):
            return f"{self.algorithm} ({self.mode})"
        return f"{self.algorithm} {self.mode} from {self.source_map}"


def series_key(run: Run) -> SeriesKey:
    return SeriesKey(run.map_name, run.algorithm, run.mode, run.source_map if run.is_transfer else None)


def is_transferable(algorithm: str, prefixes: Iterable[str] = DEFAULT_TRANSFERABLE_PREFIXES) -> bool:
    return any(algorithm.startswith(p) for p in prefixes)


def _preference(run: Run, metric: str) -> tuple[int, int, int]:
    curve = run.metrics.get(metric)
    return (run.status == FINISHED, len(curve) if curve is not None else -1, int(run.run_id) if run.run_id.isdigit() else 0)


def group_runs(runs: Iterable[Run], metric: str) -> tuple[dict[SeriesKey, list[Run]], list[str]]:
    """Series -> one run per seed (sorted by seed), and messages about runs set aside.

    Two runs of one series with the same seed (a rerun) keep the completed one with the most
    evaluations of `metric` (then the newest run id); the other is reported, not averaged in.
    """
    by_seed: dict[tuple[SeriesKey, int | None], list[Run]] = {}
    for run in runs:
        by_seed.setdefault((series_key(run), run.seed), []).append(run)
    groups: dict[SeriesKey, list[Run]] = {}
    messages: list[str] = []
    for (key, _seed), candidates in sorted(by_seed.items(), key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or 0)):
        chosen = max(candidates, key=lambda r: _preference(r, metric))
        for other in candidates:
            if other is not chosen:
                messages.append(f"{other.describe()}: same seed as {chosen.origin}; that run is used, this one is not")
        groups.setdefault(key, []).append(chosen)
    return groups, messages


def _last_line(trace: str) -> str:
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    return lines[-1][:240] if lines else "no traceback stored"


def diagnose(run: Run, metric: str) -> list[str]:
    """Messages about one run: how it ended if not COMPLETED, what it lacks, what was unreadable."""
    messages = [f"{run.describe()}: {problem}" for problem in run.problems]
    curve = run.metrics.get(metric)
    used = f"its curve up to step {curve.last_step} is used" if curve is not None and len(curve) else "it has no curve to use"
    if run.status == "FAILED":
        if run.is_transfer and run.crashed_on_input_size:
            messages.append(f"{run.describe()}: crashed, {NOT_TRANSFERABLE}: {_last_line(run.fail_trace)}")
        else:
            messages.append(f"{run.describe()}: crashed ({_last_line(run.fail_trace)}); {used}")
    elif run.status in ("RUNNING", "QUEUED"):
        messages.append(
            f"{run.describe()}: incomplete (status {run.status}: still running, or killed without Sacred noticing); {used}"
        )
    elif run.status != FINISHED:
        messages.append(f"{run.describe()}: incomplete (status {run.status}); {used}")
    if (curve is None or len(curve) == 0) and not (run.status == "FAILED" and not run.metrics):
        logged = ", ".join(sorted(run.metrics)[:8]) or "nothing"
        messages.append(f"{run.describe()}: lacks metric {metric!r} (it logged: {logged}); left out of that figure and table")
    return messages
