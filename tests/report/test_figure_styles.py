"""Series stay visible when they overlap: distinct markers and dashes, the plugin's drawn on top."""

from __future__ import annotations

import numpy as np

from epymarl_llm_tools.report.curves import Curve
from epymarl_llm_tools.report.figures import _draw_order, plot_metric, series_colors
from epymarl_llm_tools.report.groups import SeriesKey
from epymarl_llm_tools.report.runs import RunMode


def _keys():
    return [SeriesKey("3s5z", a, RunMode.SINGLE) for a in ("mappo", "qmix", "ippo", "lolm_mappo")] + [
        SeriesKey("3s5z", "lolm_mappo", RunMode.FEW_SHOT, "3m")
    ]


def test_every_series_has_its_own_marker_and_baselines_their_own_dashes():
    styles = series_colors(_keys())
    assert len({s.marker for s in styles.values()}) == len(styles)
    assert len({s.color for s in styles.values()}) == len(styles)
    baselines = [styles[k] for k in ("mappo", "qmix", "ippo")]
    assert len({str(s.linestyle) for s in baselines}) == 3 and all(s.linestyle != "-" for s in baselines)
    assert styles["lolm_mappo"].on_top and styles["lolm_mappo"].linestyle == "-"
    assert styles["lolm_mappo few-shot from 3m"].linestyle == "--"


def test_the_plugins_series_are_drawn_last(tmp_path):
    keys = _keys()
    styles = series_colors(keys)
    order = [k.label() for k in _draw_order(keys, styles)]
    assert order[-2:] == ["lolm_mappo", "lolm_mappo few-shot from 3m"]
    # All at 0%: the figure is still written, and lolm_mappo's line is the last one in the SVG.
    zeros = [Curve(np.arange(0, 50_000, 10_000), np.zeros(5))]
    files = plot_metric({k: zeros for k in keys}, "test_battle_won_mean", "3s5z", tmp_path / "f", styles, ("svg",))
    svg = files[0].read_text()
    # matplotlib writes each legend text as a comment, in drawing order.
    assert svg.find("<!-- lolm_mappo (n=1) -->") > svg.find("<!-- mappo (n=1) -->") > 0
