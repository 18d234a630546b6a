"""Paper-style figures: a metric over environment steps, mean line and shaded std over seeds.

One figure per map with every algorithm (paper figures 5 and 7), policy entropy (figure 11), the
KL term with its coefficient beta, and the zero-shot results as box plots over seeds (figure 6). matplotlib runs on the Agg backend (no display needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import EngFormatter  # noqa: E402

from epymarl_llm_tools.report.curves import Curve, seed_band  # noqa: E402
from epymarl_llm_tools.report.groups import SeriesKey  # noqa: E402
from epymarl_llm_tools.report.metric_names import display_scale, is_win_rate, label  # noqa: E402
from epymarl_llm_tools.report.runs import RunMode  # noqa: E402

# Red first: the paper draws LoLM-MARL in red, and plugin series are ordered first.
_PALETTE = (
    "tab:red",
    "tab:blue",
    "tab:green",
    "tab:orange",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)
_LINESTYLE = {RunMode.SINGLE: "-", RunMode.FEW_SHOT: "--", RunMode.RESUMED: ":"}
_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
}


_MARKERS = ("o", "s", "^", "v", "P", "X", "*", "<", ">", "h")
# Baselines cycle through these; the plugin's series keep their mode's style (solid from scratch).
_BASELINE_LINESTYLES = ("--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))


@dataclass(frozen=True)
class SeriesStyle:
    """How one series is drawn in every figure of a report: when several series share values (all
    at 0% win rate) the markers and dashes still tell them apart, and `on_top` (the plugin's own
    series) is drawn last, above the others."""

    color: str
    marker: str
    linestyle: str | tuple
    on_top: bool


def series_colors(keys: Iterable[SeriesKey], first_prefixes: Sequence[str] = ("lolm",)) -> dict[str, SeriesStyle]:
    """One style (color, marker, line style) per series label, the same in every figure of a report."""
    keys = list(keys)
    mode_of = {k.label(): k.mode for k in keys}
    labels = sorted(mode_of, key=lambda s: (not s.startswith(tuple(first_prefixes)), s))
    styles, n_baselines = {}, 0
    for i, name in enumerate(labels):
        plugin = name.startswith(tuple(first_prefixes))
        if plugin:
            linestyle = _LINESTYLE.get(mode_of[name], "-")
        else:
            linestyle = _BASELINE_LINESTYLES[n_baselines % len(_BASELINE_LINESTYLES)]
            n_baselines += 1
        styles[name] = SeriesStyle(_PALETTE[i % len(_PALETTE)], _MARKERS[i % len(_MARKERS)], linestyle, plugin)
    return styles


def _draw_order(keys: Iterable[SeriesKey], styles: Mapping[str, SeriesStyle]) -> list[SeriesKey]:
    """Baselines first, the plugin's series last (on top)."""
    return sorted(keys, key=lambda k: (styles[k.label()].on_top, k.mode is not RunMode.SINGLE, k.label()))


def _draw(ax: Axes, key: SeriesKey, curves: Sequence[Curve], style: SeriesStyle, scale: float) -> None:
    label_text = f"{key.label()} (n={len(curves)})"
    z = 3 if style.on_top else 2
    if key.mode in (RunMode.ZERO_SHOT, RunMode.EVALUATION) or all(len(c) == 1 for c in curves):
        # An evaluation is one point per seed (zero-shot: at step 0 on the target): a marker with
        # its std over seeds.
        values = np.array([float(np.mean(c.values)) for c in curves]) * scale
        step = float(np.mean([c.steps[0] for c in curves]))
        ax.errorbar(
            [step],
            [values.mean()],
            yerr=[values.std()],
            fmt=style.marker,
            color=style.color,
            capsize=3,
            clip_on=False,
            label=label_text,
            zorder=z + 1,
        )
        return
    band = seed_band(curves)
    mean, std = band.mean * scale, band.std * scale
    # About 8 markers per line, offset per series so that overlapping lines do not hide each other's.
    every = max(1, len(band.steps) // 8)
    ax.plot(
        band.steps,
        mean,
        linestyle=style.linestyle,
        color=style.color,
        linewidth=2.2 if style.on_top else 1.5,
        marker=style.marker,
        markersize=5,
        markevery=(_MARKERS.index(style.marker) % every, every) if every > 1 else 1,
        label=label_text,
        zorder=z + 1,
    )
    ax.fill_between(
        band.steps,
        mean - std,
        mean + std,
        color=style.color,
        alpha=0.18 if style.on_top else 0.10,
        linewidth=0,
        zorder=z,
    )


def _finish_axes(ax: Axes, metric: str) -> None:
    ax.set_xlabel("Environment steps")
    ax.set_ylabel(label(metric))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, alpha=0.3, linewidth=0.6)
    if is_win_rate(metric):
        ax.set_ylim(-2, 102)
    ax.set_xlim(left=0)


def _save(fig: plt.Figure, stem: Path, formats: Sequence[str]) -> list[Path]:
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=200 if fmt == "png" else None)
        written.append(path)
    plt.close(fig)
    return written


def plot_metric(
    series: Mapping[SeriesKey, Sequence[Curve]],
    metric: str,
    title: str,
    stem: Path,
    colors: Mapping[str, SeriesStyle],
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """One panel: every series' mean over seeds with a shaded +-1 std band. Returns the files."""
    scale = display_scale(metric)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        for key in _draw_order(series, colors):
            _draw(ax, key, series[key], colors[key.label()], scale)
        _finish_axes(ax, metric)
        ax.set_title(title)
        ax.legend(loc="best", frameon=False)
        return _save(fig, stem, formats)


def plot_panels(
    panels: Sequence[tuple[str, Mapping[SeriesKey, Sequence[Curve]]]],
    title: str,
    stem: Path,
    colors: Mapping[str, SeriesStyle],
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Side-by-side panels, one metric each (the KL term and beta), one shared legend."""
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 3.6), squeeze=False)
        for ax, (metric, series) in zip(axes[0], panels, strict=True):
            for key in _draw_order(series, colors):
                _draw(ax, key, series[key], colors[key.label()], display_scale(metric))
            _finish_axes(ax, metric)
            if not series:
                ax.text(0.5, 0.5, "not logged", transform=ax.transAxes, ha="center", color="0.5")
        # One legend, in the first panel that has lines: every panel shows the same series.
        for ax in axes[0]:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", frameon=False)
                break
        fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, stem, formats)


def plot_zero_shot(
    values: Mapping[SeriesKey, Sequence[float]],
    metric: str,
    stem: Path,
    colors: Mapping[str, SeriesStyle],
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Zero-shot results, one box per (source -> target, algorithm) over seeds (paper figure 6).

    Args:
        values: per zero-shot series, one value per seed (the mean of that run's evaluations).
    """
    keys = sorted(values, key=lambda k: (k.source_map or "", k.map_name, k.algorithm))
    scale = display_scale(metric)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(keys) + 1.5), 3.8))
        data = [np.asarray(values[k], dtype=float) * scale for k in keys]
        boxes = ax.boxplot(data, patch_artist=True, widths=0.55, medianprops={"color": "black"})
        for patch, key in zip(boxes["boxes"], keys, strict=True):
            patch.set(facecolor=colors[key.label()].color, alpha=0.45)
        # Every seed as a point: with three seeds a box alone hides how few values there are.
        for i, d in enumerate(data, start=1):
            ax.scatter(np.full(len(d), i), d, s=14, color="black", zorder=3)
        ax.set_xticks(range(1, len(keys) + 1))
        ax.set_xticklabels(
            [f"{k.source_map} \u2192 {k.map_name}\n{k.algorithm} (n={len(values[k])})" for k in keys], fontsize=8
        )
        ax.set_ylabel(label(metric))
        if is_win_rate(metric):
            ax.set_ylim(-2, 102)
        ax.grid(True, axis="y", alpha=0.3, linewidth=0.6)
        ax.set_title("Zero-shot transfer")
        return _save(fig, stem, formats)
