"""Building the policy with the default keys prints no deprecation warning (FutureWarning included)."""

from __future__ import annotations

import warnings


def test_building_the_default_policy_warns_of_nothing(make_policy):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        make_policy()
