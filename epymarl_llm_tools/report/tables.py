"""The transfer table (paper tables 5 and 6): one row per source -> target pair and algorithm.

Per-seed metrics (zero-shot win rate, jumpstart, asymptote, steps to asymptote) are averaged over
seeds (mean +- population std); the speed-up compares the seed-mean curves of the few-shot run and
of the from-scratch run of the same algorithm on the target map (`transfer_metrics.speed_up`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from epymarl_llm_tools.report.curves import Curve, seed_band
from epymarl_llm_tools.report.groups import NOT_TRANSFERABLE, SeriesKey, is_transferable
from epymarl_llm_tools.report.metric_names import display_scale
from epymarl_llm_tools.report.runs import Run, RunMode
from epymarl_llm_tools.report.transfer_metrics import (
    SpeedUp,
    TransferSettings,
    asymptotic_performance,
    jumpstart,
    speed_up,
    steps_to_asymptote,
)


@dataclass(frozen=True)
class Stat:
    """Mean and population std over the seeds where a metric is defined (`n` of `of`)."""

    mean: float
    std: float
    n: int
    of: int

    @classmethod
    def of_values(cls, values: Sequence[float | None]) -> Stat | None:
        defined = [float(v) for v in values if v is not None]
        if not defined:
            return None
        return cls(float(np.mean(defined)), float(np.std(defined)), len(defined), len(values))


@dataclass
class TransferRow:
    source_map: str
    target_map: str
    algorithm: str
    zero_shot: Stat | None = None
    jumpstart: Stat | None = None
    asymptote: Stat | None = None
    steps: Stat | None = None
    scratch_seeds: int = 0
    speed_up: SpeedUp | None = None
    notes: list[str] = field(default_factory=list)


def _curves(runs: Sequence[Run], metric: str) -> list[Curve]:
    """Curves of the runs that did not crash (crashed seeds are listed apart, never averaged in)."""
    return [c for c in (r.curve(metric) for r in runs if not r.crashed) if c is not None]


def _mean_curve(curves: Sequence[Curve]) -> Curve:
    band = seed_band(curves)
    return Curve(band.steps, band.mean)


def transfer_rows(
    groups: Mapping[SeriesKey, Sequence[Run]],
    metric: str,
    settings: TransferSettings,
    transferable_prefixes: Sequence[str],
) -> list[TransferRow]:
    """Rows for every pair seen in a transfer run, for every algorithm with a transfer run on that pair.

    Built-in algorithms run only on one map are no transfer runs, so they get no row.
    """
    transfers = [k for k in groups if k.mode in (RunMode.ZERO_SHOT, RunMode.FEW_SHOT)]
    pairs = sorted({(k.source_map or "", k.map_name) for k in transfers})
    rows = []
    for source, target in pairs:
        algorithms = sorted({k.algorithm for k in transfers if k.map_name == target and (k.source_map or "") == source})
        for algorithm in algorithms:
            rows.append(_row(groups, metric, settings, transferable_prefixes, source, target, algorithm))
    return rows


def _row(groups, metric, settings, prefixes, source, target, algorithm) -> TransferRow:
    row = TransferRow(source, target, algorithm)
    zero = groups.get(SeriesKey(target, algorithm, RunMode.ZERO_SHOT, source), [])
    few = groups.get(SeriesKey(target, algorithm, RunMode.FEW_SHOT, source), [])
    scratch = _curves(groups.get(SeriesKey(target, algorithm, RunMode.SINGLE, None), []), metric)
    row.scratch_seeds = len(scratch)
    attempted = list(zero) + list(few)
    if not attempted:
        row.notes.append("no transfer run" if is_transferable(algorithm, prefixes) else NOT_TRANSFERABLE)
        return row
    if any(r.crashed_on_input_size for r in attempted):
        row.notes.append(NOT_TRANSFERABLE)

    zero_curves = _curves(zero, metric)
    if zero_curves:
        row.zero_shot = Stat.of_values([float(np.mean(c.values)) for c in zero_curves])

    few_curves = _curves(few, metric)
    if few_curves:
        row.jumpstart = Stat.of_values([jumpstart(c) for c in few_curves])
        row.asymptote = Stat.of_values([asymptotic_performance(c, settings.last_k) for c in few_curves])
        row.steps = Stat.of_values([steps_to_asymptote(c, settings) for c in few_curves])
        if scratch:
            row.speed_up = speed_up(_mean_curve(scratch), _mean_curve(few_curves), settings)
        else:
            row.speed_up = SpeedUp(None, reason=f"no from-scratch run on {target}")
    if attempted and not zero_curves and not few_curves and NOT_TRANSFERABLE not in row.notes:
        row.notes.append("no usable transfer run (see problems)")
    unfinished = sum(r.status != "COMPLETED" and not r.crashed_on_input_size for r in attempted)
    if unfinished:
        row.notes.append(f"{unfinished} of {len(attempted)} runs not completed")
    return row


# ---- rendering ---------------------------------------------------------------------------------


def format_stat(stat: Stat | None, scale: float) -> str:
    if stat is None:
        return "-"
    text = f"{stat.mean * scale:.1f} ± {stat.std * scale:.1f}"
    return text if stat.n == stat.of else f"{text} ({stat.n}/{stat.of} seeds)"


def format_steps(steps: float) -> str:
    """1_250_000 -> '1.25M', 6400 -> '6.4k'."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(steps) >= size:
            return f"{steps / size:.3g}{unit}"
    return f"{steps:.0f}"


def format_steps_stat(stat: Stat | None) -> str:
    if stat is None:
        return "-"
    text = f"{format_steps(stat.mean)} ± {format_steps(stat.std)}"
    return text if stat.n == stat.of else f"{text} ({stat.n}/{stat.of} seeds)"


def transfer_markdown(rows: Sequence[TransferRow], metric: str, settings: TransferSettings) -> str:
    scale = display_scale(metric)
    unit = " (%)" if scale == 100.0 else ""
    lines = [
        f"| source -> target | algorithm | zero-shot{unit} | jumpstart{unit} | asymptote{unit} "
        f"| steps to {settings.fraction:g} x asymptote | speed-up vs scratch | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        speed = row.speed_up.format() if row.speed_up is not None else "-"
        lines.append(
            f"| {row.source_map} -> {row.target_map} | {row.algorithm} | {format_stat(row.zero_shot, scale)} "
            f"| {format_stat(row.jumpstart, scale)} | {format_stat(row.asymptote, scale)} | {format_steps_stat(row.steps)} "
            f"| {speed} | {'; '.join(row.notes)} |"
        )
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "source_map",
    "target_map",
    "algorithm",
    "zero_shot_mean",
    "zero_shot_std",
    "zero_shot_seeds",
    "jumpstart_mean",
    "jumpstart_std",
    "asymptote_mean",
    "asymptote_std",
    "few_shot_seeds",
    "steps_to_asymptote_mean",
    "steps_to_asymptote_std",
    "steps_reached_seeds",
    "scratch_seeds",
    "speed_up",
    "speed_up_is_lower_bound",
    "notes",
)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return "inf" if math.isinf(value) else f"{value:.6g}"


def write_transfer_csv(rows: Sequence[TransferRow], path: Path) -> None:
    """Raw metric units (win rates as fractions); empty cells where a value is undefined."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            z, j, a, s = row.zero_shot, row.jumpstart, row.asymptote, row.steps
            speed = row.speed_up
            writer.writerow(
                [
                    row.source_map,
                    row.target_map,
                    row.algorithm,
                    _num(z and z.mean),
                    _num(z and z.std),
                    z.n if z else 0,
                    _num(j and j.mean),
                    _num(j and j.std),
                    _num(a and a.mean),
                    _num(a and a.std),
                    j.n if j else 0,
                    _num(s and s.mean),
                    _num(s and s.std),
                    s.n if s else 0,
                    row.scratch_seeds,
                    _num(speed.value) if speed else "",
                    bool(speed and speed.lower_bound),
                    "; ".join(row.notes + ([speed.reason] if speed is not None and speed.value is None else [])),
                ]
            )
