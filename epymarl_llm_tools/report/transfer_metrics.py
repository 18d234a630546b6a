"""Transfer metrics of paper section 5.2.3 (METHOD section 8) as small pure functions.

All take a win-rate `Curve` whose steps count environment steps on the target task (a few-shot
run's steps are shifted so that its first evaluation is step 0, see `runs.Run.curve`).

Definitions (the paper names the metrics but not their arithmetic; these are ours, documented in
docs/EXPERIMENTS.md):
- jumpstart: the value at the first evaluation on the target task;
- asymptotic performance: the mean of the last `last_k` evaluations (default 5), which averages out
  the 20-episode test noise of a single evaluation;
- steps to reach asymptotic performance: the first step at which the trailing moving average
  (window `smooth`, default 3 evaluations, so no look-ahead) reaches `fraction` (default 0.95) of
  the asymptotic performance; undefined when the asymptote is 0 (nothing to reach);
- speed-up against learning from scratch: the steps the from-scratch curve needs to reach the same
  threshold (`fraction` x the transfer run's asymptote) divided by the steps the transfer curve
  needs. When the from-scratch curve never reaches it, the ratio uses its last step and is a lower
  bound ("> x").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from epymarl_llm_tools.report.curves import Curve

DEFAULT_LAST_K = 5
DEFAULT_FRACTION = 0.95
DEFAULT_SMOOTH = 3

# A smoothed value within this of the threshold counts as reaching it (float round-off of means).
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TransferSettings:
    """How the transfer metrics are computed; the report's `--last-k/--fraction/--smooth`."""

    last_k: int = DEFAULT_LAST_K
    fraction: float = DEFAULT_FRACTION
    smooth: int = DEFAULT_SMOOTH

    def __post_init__(self) -> None:
        if self.last_k < 1:
            raise ValueError(f"last_k must be >= 1 evaluations (got {self.last_k}); use e.g. --last-k 5")
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1] (got {self.fraction}); use e.g. --fraction 0.95")
        if self.smooth < 1:
            raise ValueError(f"smooth must be >= 1 evaluations (got {self.smooth}); 1 means no smoothing")


@dataclass(frozen=True)
class SpeedUp:
    """Speed-up against learning from scratch.

    Attributes:
        value: the ratio; `math.inf` when the transfer run is at the threshold at its first
            evaluation and the from-scratch run is not; None when undefined (`reason` says why).
        lower_bound: True when the from-scratch run never reached the threshold, so the true
            speed-up is at least `value`.
        reason: why `value` is None, for the table.
    """

    value: float | None
    lower_bound: bool = False
    reason: str = ""

    def format(self) -> str:
        if self.value is None:
            return self.reason or "n/a"
        if math.isinf(self.value):
            return "inf (at first evaluation)"
        return f"{'> ' if self.lower_bound else ''}{self.value:.1f}x"


def _require(curve: Curve) -> None:
    if len(curve) == 0:
        raise ValueError("the curve has no evaluations")


def jumpstart(curve: Curve) -> float:
    """Win rate at the first evaluation on the target task."""
    _require(curve)
    return float(curve.values[0])


def asymptotic_performance(curve: Curve, last_k: int = DEFAULT_LAST_K) -> float:
    """Mean of the last `last_k` evaluations (all of them when the run has fewer)."""
    _require(curve)
    if last_k < 1:
        raise ValueError(f"last_k must be >= 1, got {last_k}")
    return float(np.mean(curve.values[-last_k:]))


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """(T,) -> (T,): mean of values[max(0, i - window + 1) : i + 1] at each i."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    values = np.asarray(values, dtype=np.float64)
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, values.shape[0] + 1)
    lo = np.maximum(index - window, 0)
    return (cumsum[index] - cumsum[lo]) / (index - lo)


def steps_to_reach(curve: Curve, threshold: float, smooth: int = DEFAULT_SMOOTH) -> int | None:
    """First step at which the trailing mean over `smooth` evaluations is >= threshold; None if never."""
    _require(curve)
    reached = np.nonzero(trailing_mean(curve.values, smooth) >= threshold - _TOLERANCE)[0]
    return int(curve.steps[reached[0]]) if reached.size else None


def steps_to_asymptote(curve: Curve, settings: TransferSettings = TransferSettings()) -> int | None:
    """Steps to reach `fraction` of the asymptotic performance; None when the asymptote is <= 0."""
    asymptote = asymptotic_performance(curve, settings.last_k)
    if asymptote <= 0.0:
        return None
    return steps_to_reach(curve, settings.fraction * asymptote, settings.smooth)


def speed_up(scratch: Curve, transfer: Curve, settings: TransferSettings = TransferSettings()) -> SpeedUp:
    """Steps from scratch / steps with transfer to reach `fraction` x the transfer asymptote."""
    asymptote = asymptotic_performance(transfer, settings.last_k)
    if asymptote <= 0.0:
        return SpeedUp(None, reason="transfer run never wins")
    threshold = settings.fraction * asymptote
    transfer_steps = steps_to_reach(transfer, threshold, settings.smooth)
    if transfer_steps is None:  # only with smooth > last_k: the smoothed curve lags the asymptote
        return SpeedUp(None, reason="transfer run does not reach its asymptote")
    scratch_steps = steps_to_reach(scratch, threshold, settings.smooth)
    lower_bound = scratch_steps is None
    if lower_bound:
        scratch_steps = scratch.last_step
    if transfer_steps <= 0:
        if scratch_steps <= 0 and not lower_bound:
            return SpeedUp(1.0)
        return SpeedUp(math.inf, lower_bound=lower_bound)
    return SpeedUp(scratch_steps / transfer_steps, lower_bound=lower_bound)
