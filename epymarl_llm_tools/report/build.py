"""Write the whole report for a list of runs: figures per map, tables, and the problems found.

Output folder layout:
    win_rate_<map>.png/.svg     every algorithm on the map (figures 5 and 7 of the paper)
    entropy_<map>.png/.svg      policy entropy (figure 11), runs that log it
    kl_<map>.png/.svg           KL to the reference policy and beta
    zero_shot.png/.svg          zero-shot results, a box per source -> target pair (figure 6)
    transfer.md / transfer.csv  one row per source -> target pair and algorithm with transfer runs (table 6)
    broken_runs.txt             the full traceback of every run that did not complete (report.md has
                                one table row each: run, kind, status, the cause's first line)
    single_task.md              final win rate and steps to reach it, per map and algorithm
    report.md                   index: runs read, files written, problems
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from epymarl_llm_tools.report import metric_names as m
from epymarl_llm_tools.report.figures import plot_zero_shot, series_colors
from epymarl_llm_tools.report.groups import (
    DEFAULT_TRANSFERABLE_PREFIXES,
    BrokenRun,
    SeriesKey,
    broken_runs,
    diagnose,
    group_runs,
)
from epymarl_llm_tools.report.map_figures import plot_map
from epymarl_llm_tools.report.runs import Run, RunMode
from epymarl_llm_tools.report.tables import (
    Stat,
    format_stat,
    format_steps_stat,
    transfer_markdown,
    transfer_rows,
    write_transfer_csv,
)
from epymarl_llm_tools.report.transfer_metrics import TransferSettings, asymptotic_performance, steps_to_asymptote

_FORMATS = ("png", "svg", "pdf")


@dataclass(frozen=True)
class ReportOptions:
    """What the report plots and how it computes the transfer metrics."""

    metric: str = m.TEST_WIN_RATE
    settings: TransferSettings = TransferSettings()
    formats: tuple[str, ...] = ("png", "svg")
    completed_only: bool = False
    transferable_prefixes: tuple[str, ...] = DEFAULT_TRANSFERABLE_PREFIXES

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in _FORMATS]
        if bad or not self.formats:
            raise ValueError(
                f"figure formats must be among {', '.join(_FORMATS)} (got {', '.join(self.formats) or 'none'})"
            )


@dataclass
class ReportResult:
    files: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    n_runs: int = 0
    broken: list[BrokenRun] = field(default_factory=list)


def zero_shot_values(groups: Mapping[SeriesKey, Sequence[Run]], metric: str) -> dict[SeriesKey, list[float]]:
    """Per zero-shot series, one value per seed: the mean of that run's evaluations of `metric`."""
    out = {}
    for key, runs in groups.items():
        if key.mode is not RunMode.ZERO_SHOT:
            continue
        values = [
            float(c.values.mean()) for c in (r.curve(metric) for r in runs if not r.crashed) if c is not None and len(c)
        ]
        if values:
            out[key] = values
    return out


def _single_task_markdown(groups: Mapping[SeriesKey, Sequence[Run]], metric: str, settings: TransferSettings) -> str:
    scale = m.display_scale(metric)
    unit = " (%)" if scale == 100.0 else ""
    lines = [
        f"| map | algorithm | seeds | final{unit} (mean of last {settings.last_k} evaluations) "
        f"| steps to {settings.fraction:g} x final |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in sorted(k for k in groups if k.mode is RunMode.SINGLE):
        curves = [c for c in (r.curve(metric) for r in groups[key] if not r.crashed) if c is not None]
        if not curves:
            continue
        final = Stat.of_values([asymptotic_performance(c, settings.last_k) for c in curves])
        steps = Stat.of_values([steps_to_asymptote(c, settings) for c in curves])
        lines.append(
            f"| {key.map_name} | {key.algorithm} | {len(curves)} | {format_stat(final, scale)} | {format_steps_stat(steps)} |"
        )
    return "\n".join(lines) + "\n"


def write_report(
    runs: Sequence[Run], out_dir: Path, options: ReportOptions = ReportOptions(), read_messages: Sequence[str] = ()
) -> ReportResult:
    """Figures, tables and report.md for `runs` in `out_dir`; problems become messages, not errors."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ReportResult(messages=list(read_messages), n_runs=len(runs))
    for run in runs:
        result.messages.extend(diagnose(run, options.metric))
    result.broken = broken_runs(runs)
    if result.broken:
        result.files.append(_write_broken_runs(result.broken, out_dir))
    runs = _runs_to_report(runs, options, result.messages)
    groups, duplicate_messages = group_runs(runs, options.metric)
    result.messages.extend(duplicate_messages)
    colors = series_colors(groups, options.transferable_prefixes)
    for map_name in sorted({k.map_name for k in groups}):
        files, messages = plot_map(groups, map_name, colors, out_dir, options.metric, options.formats)
        result.files += files
        result.messages += messages
    zero_shot = zero_shot_values(groups, options.metric)
    if zero_shot:
        result.files += plot_zero_shot(zero_shot, options.metric, out_dir / "zero_shot", colors, options.formats)
    result.files += _write_tables(groups, out_dir, options)
    index = out_dir / "report.md"
    index.write_text(_index_markdown(result, groups, options), encoding="utf-8")
    result.files.append(index)
    return result


def _write_broken_runs(broken: Sequence[BrokenRun], out_dir: Path) -> Path:
    """broken_runs.txt: the full traceback of every run that did not complete."""
    traces = out_dir / "broken_runs.txt"
    traces.write_text(
        "".join(f"===== {b.run}: {b.kind}, {b.status} =====\n{b.trace.strip() or b.cause}\n\n" for b in broken),
        encoding="utf-8",
    )
    return traces


def _runs_to_report(runs: Sequence[Run], options: ReportOptions, messages: list[str]) -> Sequence[Run]:
    """All runs, or with `completed_only` the COMPLETED ones (saying how many were left out)."""
    if not options.completed_only:
        return runs
    kept = [r for r in runs if r.status == "COMPLETED"]
    if len(kept) < len(runs):
        messages.append(f"--completed-only: {len(runs) - len(kept)} runs not COMPLETED are left out")
    return kept


def _write_tables(groups: Mapping[SeriesKey, Sequence[Run]], out_dir: Path, options: ReportOptions) -> list[Path]:
    """transfer.md, transfer.csv and single_task.md."""
    metric = options.metric
    rows = transfer_rows(groups, metric, options.settings, options.transferable_prefixes)
    transfer_md = out_dir / "transfer.md"
    transfer_md.write_text(
        "# Transfer\n\n"
        + (
            transfer_markdown(rows, metric, options.settings)
            if rows
            else "No transfer runs (runs with a `checkpoint_path`) were found.\n"
        ),
        encoding="utf-8",
    )
    write_transfer_csv(rows, out_dir / "transfer.csv")
    single_md = out_dir / "single_task.md"
    single_md.write_text(
        "# Single task\n\n" + _single_task_markdown(groups, metric, options.settings), encoding="utf-8"
    )
    return [transfer_md, out_dir / "transfer.csv", single_md]


def _index_markdown(result: ReportResult, groups: Mapping[SeriesKey, Sequence[Run]], options: ReportOptions) -> str:
    s = options.settings
    lines = [
        "# Report",
        "",
        f"{result.n_runs} runs read; metric `{options.metric}`; asymptote = mean of the last {s.last_k} "
        f"evaluations; steps = first step where the trailing mean over {s.smooth} evaluations reaches "
        f"{s.fraction:g} x asymptote.",
        "",
        "## Series",
        "",
        "| map | series | seeds averaged | crashed seeds (listed apart) | statuses |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in sorted(groups):
        runs = groups[key]
        statuses = ", ".join(sorted({r.status for r in runs}))
        seeds = ", ".join(str(r.seed) for r in runs if not r.crashed) or "-"
        crashed = ", ".join(str(r.seed) for r in runs if r.crashed) or "-"
        lines.append(f"| {key.map_name} | {key.label()} | {seeds} | {crashed} | {statuses} |")
    lines += ["", "## Broken runs", ""]
    if result.broken:
        lines += [
            (
                f"{_runs(len(result.broken))} did not complete. Crashed seeds are not averaged into any "
                "figure or table; full tracebacks in broken_runs.txt."
            ),
            "",
            "| run | kind | status | cause |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {b.run} | {b.kind} | {b.status} | {_cell(b.cause)} |" for b in result.broken]
    else:
        lines.append("None.")
    lines += ["", "## Files", ""] + [f"- {p.name}" for p in result.files] + ["- report.md", ""]
    lines += ["## Problems", ""] + ([f"- {msg}" for msg in result.messages] or ["None."]) + [""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Markdown table cell: pipes escaped, code spans kept readable."""
    return text.replace("|", "\\|")


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"
