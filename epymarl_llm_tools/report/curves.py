"""One logged metric of one run as a step -> value curve, and its mean/std over seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curve:
    """A metric over environment steps.

    Attributes:
        steps: (T,) int64, strictly increasing environment steps (EPyMARL's `t_env`).
        values: (T,) float64, the logged value at each step.
    """

    steps: np.ndarray
    values: np.ndarray

    @classmethod
    def from_lists(cls, steps: Sequence[float], values: Sequence[float | None]) -> Curve:
        """Build a curve from Sacred's `steps`/`values` lists.

        Non-numeric values (Sacred stores NaN as null) are dropped; when a step was logged twice
        (a resumed run), the last value wins; the result is sorted by step.
        """
        if len(steps) != len(values):
            raise ValueError(f"a metric has {len(steps)} steps but {len(values)} values")
        by_step: dict[int, float] = {}
        for step, value in zip(steps, values, strict=True):
            if value is None or isinstance(value, (str, bytes, dict, list)):
                continue
            value = float(value)
            if np.isfinite(value):
                by_step[int(step)] = value
        ordered = sorted(by_step)
        return cls(np.asarray(ordered, dtype=np.int64), np.asarray([by_step[s] for s in ordered], dtype=np.float64))

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    @property
    def last_step(self) -> int:
        return int(self.steps[-1])

    def shifted(self, offset: int) -> Curve:
        """The same curve with `offset` subtracted from every step (steps on the target task)."""
        return Curve(self.steps - int(offset), self.values)


@dataclass(frozen=True)
class SeedBand:
    """Mean and standard deviation over seeds on a common step grid.

    Attributes:
        steps: (G,) float64 grid of environment steps.
        mean: (G,) mean over the seeds whose curve covers the grid point.
        std: (G,) population standard deviation over those seeds (0 where only one covers it).
        count: (G,) int, how many seeds cover each grid point.
    """

    steps: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray


def seed_band(curves: Sequence[Curve], n_points: int | None = None) -> SeedBand:
    """Mean/std over seeds: each seed's curve is linearly interpolated onto one grid.

    Seeds test at slightly different steps (EPyMARL tests once `t_env` passes the next
    `test_interval`, and episodes have different lengths), so values are interpolated. A seed
    counts within half its own median test spacing of its first and last test, with that test's
    value: otherwise the grid's ends, which lie at the earliest first test and the latest last
    test of all seeds, would each average one seed. Beyond that nothing is extrapolated: a seed that
    stopped early (crashed or still running) contributes only up to about its last step, and
    `count` says how many seeds each point averages.
    """
    curves = [c for c in curves if len(c) > 0]
    if not curves:
        raise ValueError("seed_band needs at least one non-empty curve")
    start = min(int(c.steps[0]) for c in curves)
    stop = max(c.last_step for c in curves)
    if n_points is None:
        n_points = max(len(c) for c in curves)
    grid = np.linspace(start, stop, max(n_points, 1)) if stop > start else np.asarray([float(start)])
    stacked = np.full((len(curves), grid.shape[0]), np.nan)
    for row, curve in enumerate(curves):
        reach = float(np.median(np.diff(curve.steps))) / 2 if len(curve) > 1 else 0.0
        inside = (grid >= curve.steps[0] - reach) & (grid <= curve.steps[-1] + reach)
        # np.interp holds the first and last values outside the curve's steps.
        stacked[row, inside] = np.interp(grid[inside], curve.steps, curve.values)
    count = np.sum(~np.isnan(stacked), axis=0)
    keep = count > 0
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(stacked[:, keep], axis=0)
        std = np.nanstd(stacked[:, keep], axis=0)
    return SeedBand(grid[keep], mean, std, count[keep])
