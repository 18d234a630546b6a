"""Group runs into series (algorithm x map x kind of run) with one run per seed, and explain
every run the report cannot use fully."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from epymarl_llm_tools.report.runs import FINISHED, Run, RunMode

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
        if self.mode in (RunMode.RESUMED, RunMode.EVALUATION, RunMode.LOAD_FAILED):
            return f"{self.algorithm} ({self.mode})"
        return f"{self.algorithm} {self.mode} from {self.source_map}"


def series_key(run: Run) -> SeriesKey:
    return SeriesKey(run.map_name, run.algorithm, run.mode, run.source_map if run.is_transfer else None)


def is_transferable(algorithm: str, prefixes: Iterable[str] = DEFAULT_TRANSFERABLE_PREFIXES) -> bool:
    return any(algorithm.startswith(p) for p in prefixes)


def _preference(run: Run, metric: str) -> tuple[int, int, int]:
    curve = run.metrics.get(metric)
    return (
        run.status == FINISHED,
        len(curve) if curve is not None else -1,
        int(run.run_id) if run.run_id.isdigit() else 0,
    )


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


_EXCEPTION_LINE = re.compile(
    r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b.*?:|^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)$"
)


def cause_line(trace: str) -> str:
    """The first line of the exception that ended the run: "ModelLoadError: cannot load ...".

    A traceback ends with the exception's message, which can span many lines (the last one is then
    a hint, not the cause): the last line that starts with an exception name is where it begins.
    Chained tracebacks print the final exception last, so the search runs from the end.
    """
    lines = [line.strip() for line in trace.strip().splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if _EXCEPTION_LINE.match(lines[i]):
            line = lines[i]
            if line.endswith(":") and i + 1 < len(lines):  # "Error(s) in loading state_dict for X:" + the detail
                line += " " + lines[i + 1]
            return line[:240]
    return lines[-1][:240] if lines else "no traceback stored"


def diagnose(run: Run, metric: str) -> list[str]:
    """Messages about one run: how it ended if not COMPLETED, what it lacks, what was unreadable."""
    messages = [f"{run.describe()}: {problem}" for problem in run.problems]
    curve = run.metrics.get(metric)
    used = (
        f"its curve up to step {curve.last_step} is used"
        if curve is not None and len(curve)
        else "it has no curve to use"
    )
    if run.crashed:
        return messages  # listed in the report's broken-runs table (`broken_runs`), not averaged in
    if run.status in ("RUNNING", "QUEUED"):
        messages.append(
            f"{run.describe()}: incomplete (status {run.status}: still running, or killed without Sacred noticing); {used}"
        )
    elif run.status != FINISHED:
        messages.append(f"{run.describe()}: incomplete (status {run.status}); {used}")
    if curve is None or len(curve) == 0:
        logged = ", ".join(sorted(run.metrics)[:8]) or "nothing"
        messages.append(
            f"{run.describe()}: lacks metric {metric!r} (it logged: {logged}); left out of that figure and table"
        )
    return messages


@dataclass(frozen=True)
class BrokenRun:
    """One row of the report's broken-runs table; `trace` is the full text, written to a file."""

    run: str
    kind: str
    status: str
    cause: str
    trace: str


def broken_runs(runs: Iterable[Run]) -> list[BrokenRun]:
    """Every run that did not complete: crashed ones (never averaged into a series) and unfinished ones."""
    rows = []
    for run in runs:
        if run.status == FINISHED:
            continue
        if run.crashed:
            cause = cause_line(run.fail_trace)
            if run.is_transfer and run.crashed_on_input_size:
                cause = f"{NOT_TRANSFERABLE}: {cause}"
        elif run.status in ("RUNNING", "QUEUED"):
            cause = "still running, or killed without Sacred noticing"
        else:
            cause = f"status {run.status}"
        seed = "?" if run.seed is None else run.seed
        rows.append(
            BrokenRun(
                f"{run.algorithm} {run.map_name} seed {seed} (run {run.run_id})",
                f"{run.mode} from {run.source_map}" if run.is_transfer else str(run.mode),
                run.status,
                cause,
                run.fail_trace or "",
            )
        )
    return rows
