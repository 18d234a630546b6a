"""Known curves -> known transfer metrics (paper section 5.2.3)."""

import math

import numpy as np
import pytest

from epymarl_llm_tools.report.curves import Curve, seed_band
from epymarl_llm_tools.report.transfer_metrics import (
    TransferSettings,
    asymptotic_performance,
    jumpstart,
    speed_up,
    steps_to_asymptote,
    steps_to_reach,
    trailing_mean,
)

TRANSFER = Curve.from_lists([0, 10, 20, 30, 40, 50], [0.2, 0.4, 0.6, 0.8, 0.8, 0.8])
# From scratch: 0.0, 0.1, ..., 1.0 at steps 0, 10, ..., 100.
SCRATCH = Curve.from_lists(list(range(0, 101, 10)), [i / 10 for i in range(11)])


def test_jumpstart_is_the_first_evaluation():
    assert jumpstart(TRANSFER) == pytest.approx(0.2)


def test_asymptote_is_the_mean_of_the_last_k_evaluations():
    assert asymptotic_performance(TRANSFER, last_k=3) == pytest.approx(0.8)
    assert asymptotic_performance(TRANSFER, last_k=4) == pytest.approx(0.75)
    assert asymptotic_performance(TRANSFER, last_k=100) == pytest.approx(np.mean(TRANSFER.values))


def test_trailing_mean_never_looks_ahead():
    np.testing.assert_allclose(trailing_mean(np.array([0.0, 3.0, 6.0, 9.0]), 2), [0.0, 1.5, 4.5, 7.5])
    np.testing.assert_allclose(trailing_mean(np.array([1.0, 2.0]), 1), [1.0, 2.0])


def test_steps_to_asymptote_without_and_with_smoothing():
    # threshold 0.95 * 0.8 = 0.76: the raw curve reaches it at step 30 ...
    assert steps_to_asymptote(TRANSFER, TransferSettings(last_k=3, fraction=0.95, smooth=1)) == 30
    # ... the trailing mean over 3 evaluations (0.2 .3 .4 .6 .733 .8) only at step 50.
    assert steps_to_asymptote(TRANSFER, TransferSettings(last_k=3, fraction=0.95, smooth=3)) == 50
    assert steps_to_reach(TRANSFER, 0.9, smooth=1) is None


def test_steps_to_asymptote_is_undefined_for_a_run_that_never_wins():
    never = Curve.from_lists([0, 10, 20], [0.0, 0.0, 0.0])
    assert steps_to_asymptote(never) is None


def test_speed_up_against_scratch():
    settings = TransferSettings(last_k=3, fraction=0.95, smooth=1)
    result = speed_up(SCRATCH, TRANSFER, settings)
    # scratch reaches 0.76 at step 80 (0.8), transfer at step 30.
    assert result.value == pytest.approx(80 / 30)
    assert not result.lower_bound
    assert result.format() == "2.7x"


def test_speed_up_is_a_lower_bound_when_scratch_never_gets_there():
    slow = Curve.from_lists([0, 50, 100, 150], [0.0, 0.1, 0.2, 0.3])
    result = speed_up(slow, TRANSFER, TransferSettings(last_k=3, fraction=0.95, smooth=1))
    assert result.lower_bound and result.value == pytest.approx(150 / 30)
    assert result.format() == "> 5.0x"


def test_speed_up_edge_cases():
    settings = TransferSettings(last_k=2, fraction=0.95, smooth=1)
    instant = Curve.from_lists([0, 10], [0.9, 0.9])
    assert math.isinf(speed_up(SCRATCH, instant, settings).value)
    assert speed_up(instant, instant, settings).value == 1.0
    never = speed_up(SCRATCH, Curve.from_lists([0, 10], [0.0, 0.0]), settings)
    assert never.value is None and never.format() == "transfer run never wins"


@pytest.mark.parametrize("kwargs", [{"last_k": 0}, {"fraction": 0.0}, {"fraction": 1.5}, {"smooth": 0}])
def test_settings_reject_invalid_values_with_the_fix(kwargs):
    with pytest.raises(ValueError, match="got"):
        TransferSettings(**kwargs)


def test_empty_curve_is_an_error():
    with pytest.raises(ValueError, match="no evaluations"):
        jumpstart(Curve.from_lists([], []))


def test_curve_from_sacred_lists_drops_null_sorts_and_keeps_last_duplicate():
    curve = Curve.from_lists([20, 0, 10, 10, 30], [0.5, 0.1, 0.2, 0.3, None])
    assert curve.steps.tolist() == [0, 10, 20]
    assert curve.values.tolist() == [0.1, 0.3, 0.5]
    with pytest.raises(ValueError, match="3 steps but 2 values"):
        Curve.from_lists([0, 1, 2], [0.0, 1.0])


def test_seed_band_interpolates_and_counts_seeds_that_cover_each_step():
    a = Curve.from_lists([0, 10, 20], [0.0, 1.0, 1.0])
    b = Curve.from_lists([0, 5, 10], [0.0, 0.0, 0.0])  # stopped early (e.g. crashed at step 10)
    band = seed_band([a, b], n_points=5)  # grid 0, 5, 10, 15, 20
    np.testing.assert_allclose(band.steps, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(band.mean, [0.0, 0.25, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(band.std, [0.0, 0.25, 0.5, 0.0, 0.0])
    assert band.count.tolist() == [2, 2, 2, 1, 1]


def test_seed_band_ends_average_every_seed_that_tested_within_half_a_test_interval():
    # three seeds testing every ~300 steps, each at slightly other steps (episode lengths differ)
    seeds = [
        ([193, 529, 821], [0.0, 0.875, 0.875]),
        ([202, 584, 943], [0.375, 0.5, 0.75]),
        ([200, 602, 960], [0.125, 0.125, 0.875]),
    ]
    band = seed_band([Curve.from_lists(steps, values) for steps, values in seeds], n_points=3)
    assert band.count.tolist() == [3, 3, 3]
    np.testing.assert_allclose(band.mean[[0, 2]], [0.5 / 3, 2.5 / 3])


def test_zero_shot_values_are_one_mean_per_seed():
    from epymarl_llm_tools.report.build import zero_shot_values
    from epymarl_llm_tools.report.groups import SeriesKey
    from epymarl_llm_tools.report.runs import RunMode

    class _Run:
        crashed = False  # the report leaves crashed seeds out of every mean

        def __init__(self, values):
            self._curve = Curve.from_lists(list(range(len(values))), values)

        def curve(self, metric):
            return self._curve

    zero = SeriesKey("3s5z", "lolm_mappo", RunMode.ZERO_SHOT, "2s3z")
    few = SeriesKey("3s5z", "lolm_mappo", RunMode.FEW_SHOT, "2s3z")
    groups = {zero: [_Run([0.2, 0.4]), _Run([0.5])], few: [_Run([0.1, 0.9])]}
    assert zero_shot_values(groups, "test_battle_won_mean") == {zero: [pytest.approx(0.3), 0.5]}
