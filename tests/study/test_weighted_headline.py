"""The Cohort explorer's headline rate is on the table's basis: weighted when the table is (issue [4/7] item 5)."""

from __future__ import annotations

import numpy as np
import pytest
from artefacts import sample_extract

from analysis.study.rates import wilson_interval
from analysis.study.run import StudyRequest, run_study


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


def test_the_headline_rate_is_weighted_when_the_table_is(sample) -> None:
    counted = run_study(sample.policies, StudyRequest(by=("channel",)), study_date=sample.study_date)
    weighted = run_study(sample.policies, StudyRequest(by=("channel",), weight="annual_premium"), study_date=sample.study_date)
    # Count basis as before: events / exposure with its Wilson interval.
    assert counted.overall_rate == pytest.approx(counted.total_events / counted.total_exposure)
    lower, upper = wilson_interval(np.array([counted.total_events]), np.array([counted.total_exposure]))
    assert counted.overall_interval == pytest.approx((lower[0], upper[0]))
    # Premium-weighted: the premium of the lapses over the premium exposed, like every rate of the weighted table.
    rates = weighted.rates
    expected = rates["events_annual_premium"].sum() / rates["exposure_annual_premium"].sum()
    assert weighted.overall_rate == pytest.approx(expected)
    assert weighted.overall_rate != pytest.approx(counted.overall_rate, rel=1e-3)
    low, high = weighted.overall_interval
    assert low < weighted.overall_rate < high
    # The interval keeps the count basis' relative width, centred on the weighted rate.
    assert low / weighted.overall_rate == pytest.approx(counted.overall_interval[0] / counted.overall_rate)
    totals = weighted.totals
    pooled = (totals["rate"] * totals["exposure_annual_premium"]).sum() / totals["exposure_annual_premium"].sum()
    assert weighted.overall_rate == pytest.approx(pooled)
