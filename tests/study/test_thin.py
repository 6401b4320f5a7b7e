"""Thin cells and the rate axis fitted to the well-exposed cells (issue [4/7] items 5 and 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.study.thin import AXIS_HEADROOM, AXIS_QUANTILE, THIN_EXPOSURE, mark_thin, rate_axis, thin_cells


def _rates() -> pd.DataFrame:
    # Three policy years near 1 % on 1,000 policy-years each, and a thin fourth: 2 lapses on 2.5 policy-years (80 %).
    return pd.DataFrame({"period": [1, 2, 3, 4], "rate": [0.010, 0.012, 0.011, 0.8], "exposure": [1000.0, 1000.0, 1000.0, 2.5]})


def test_cells_below_the_exposure_floor_are_thin() -> None:
    rates = _rates()
    assert THIN_EXPOSURE == 100
    assert thin_cells(rates).tolist() == [False, False, False, True]
    marked = mark_thin(rates, min_exposure=1000.5)
    assert marked["thin"].tolist() == [True] * 4 and "thin" not in rates  # the input is left alone


def test_the_axis_is_fitted_to_the_well_exposed_rates_not_the_thin_outlier() -> None:
    assert (AXIS_QUANTILE, AXIS_HEADROOM) == (1.0, 0.10)
    # Well exposed: 0.010, 0.011, 0.012. The top is the highest of them with 10 % room: 0.012 × 1.1 = 0.0132 — not 0.8.
    low, high = rate_axis(_rates())
    assert low == 0.0 and high == pytest.approx(0.0132)
    # A lower quantile: the 95th percentile (linear) sits at 0.95 × 2 = 1.9 steps: 0.011 + 0.9 × 0.001 = 0.0119;
    # with 25 % room the top is 0.0119 × 1.25 = 0.014875.
    assert rate_axis(_rates(), quantile=0.95, headroom=0.25) == (0.0, pytest.approx(0.014875))
    # Every cell thin: the axis is fitted to all of them (the 80 % included).
    everything = rate_axis(_rates(), min_exposure=10_000)
    assert everything is not None and everything[1] > 0.8
    # The median of the three well-exposed rates with no room: 0.011.
    assert rate_axis(_rates(), quantile=0.5, headroom=0.0) == (0.0, pytest.approx(0.011))
    assert rate_axis(_rates().assign(rate=np.nan)) is None
    assert rate_axis(_rates().assign(rate=0.0)) == (0.0, 1.0)  # no events at all: a plain 0–100 % axis
