"""The figures of one map: the report's metric per algorithm, policy entropy, and the KL panels."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from epymarl_llm_tools.report import metric_names as m
from epymarl_llm_tools.report.curves import Curve
from epymarl_llm_tools.report.figures import plot_metric, plot_panels
from epymarl_llm_tools.report.groups import SeriesKey
from epymarl_llm_tools.report.runs import Run, RunMode


def slug(name: str) -> str:
    """`name` as a file-name part."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", name)


def series_curves(
    groups: Mapping[SeriesKey, Sequence[Run]], metric: str, map_name: str
) -> dict[SeriesKey, list[Curve]]:
    """Per series of `map_name`, the `metric` curves of its runs that did not crash (series without any left out)."""
    out = {}
    for key, runs in groups.items():
        if key.map_name != map_name:
            continue
        curves = [c for c in (r.curve(metric) for r in runs if not r.crashed) if c is not None]
        if curves:
            out[key] = curves
    return out


def plot_map(
    groups: Mapping[SeriesKey, Sequence[Run]],
    map_name: str,
    colors: dict,
    out_dir: Path,
    metric: str,
    formats: tuple[str, ...],
) -> tuple[list[Path], list[str]]:
    """Write the map's figures; returns the files written and the problems found."""
    files: list[Path] = []
    messages: list[str] = []
    _plot_main_metric(groups, map_name, colors, out_dir, metric, formats, files, messages)
    _plot_entropy(groups, map_name, colors, out_dir, formats, files, messages)
    panels = [(key, series_curves(groups, key, map_name)) for key in m.KL_PANEL_METRICS]
    if any(series for _, series in panels):
        files += plot_panels(
            panels, f"{map_name}: KL to the reference policy", out_dir / f"kl_{slug(map_name)}", colors, formats
        )
    return files, messages


def _plot_main_metric(groups, map_name, colors, out_dir, metric, formats, files, messages) -> None:
    series = series_curves(groups, metric, map_name)
    prefix = "win_rate" if m.is_win_rate(metric) else slug(metric)
    if series:
        files += plot_metric(series, metric, map_name, out_dir / f"{prefix}_{slug(map_name)}", colors, formats)
    else:
        messages.append(f"{map_name}: no run logged {metric!r}; no figure")


def _plot_entropy(groups, map_name, colors, out_dir, formats, files, messages) -> None:
    entropy = series_curves(groups, m.ENTROPY, map_name)
    # Series that logged nothing (crashed at start) are reported once, by `diagnose`.
    lacking = sorted(
        {
            k.label()
            for k, rs in groups.items()
            if k.map_name == map_name
            and k not in entropy
            and k.mode not in (RunMode.ZERO_SHOT, RunMode.EVALUATION)
            and any(r.metrics for r in rs)
        }
    )
    if entropy:
        files += plot_metric(
            entropy, m.ENTROPY, f"{map_name}: policy entropy", out_dir / f"entropy_{slug(map_name)}", colors, formats
        )
    if lacking:
        messages.append(
            f"{map_name}: entropy curve missing for {', '.join(lacking)} (no {m.ENTROPY!r} logged; "
            "EPyMARL's built-in learners do not log policy entropy)"
        )
