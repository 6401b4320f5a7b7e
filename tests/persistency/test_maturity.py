"""Which issue cohorts are fully observed, trend statements on those only, and P13 beside S(13) (issue [4/7] item 5)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.persistency.maturity import (
    MIN_TREND_POLICIES,
    OBSERVED,
    SETTLING,
    fully_observed,
    persistency_contrast,
    trend_maturity,
    trend_statements,
)
from analysis.persistency.overview import Basis, Kpi, overview_figures
from analysis.study.rates import Z95

STUDY = pd.Timestamp("2026-09-30")


@pytest.fixture(scope="module")
def sample(root):
    from analysis import load_extract

    return load_extract(root / "data" / "sample_policies.csv")


def test_a_cohort_is_fully_observed_once_its_last_policy_is_past_month_n_and_the_grace_period() -> None:
    # Last issue days: 2025-06-30, 2025-07-31, 2025-08-31; + 13 months: 2026-07-30, 2026-08-31, 2026-09-30 (all reached by 09-30).
    # + 60 days of grace: 2026-09-28 (observed), 2026-10-30 and 2026-11-29 (settling: lapses may still be in grace).
    months = ["2025-06", "2025-07", "2025-08"]
    got = fully_observed(months, [13, 13, 13], grain="month", study_date=STUDY, shift=0, lag_days=60)
    assert got.tolist() == [True, False, False]
    # With a payment history nothing waits for grace: every reached cohort is fully observed.
    assert fully_observed(months, [13, 13, 13], grain="month", study_date=STUDY, shift=0, lag_days=0).tolist() == [True, True, True]
    # A quarter ends on its last month's last day: 2025Q2 → 2025-06-30 as above; at N + 1: 2026-08-30 + 60 d = 2026-10-29.
    assert fully_observed(["2025Q2"], [13], grain="quarter", study_date=STUDY, shift=0, lag_days=60).tolist() == [True]
    assert fully_observed(["2025Q2"], [13], grain="quarter", study_date=STUDY, shift=1, lag_days=60).tolist() == [False]
    # A year at 25 months: 2024-12-31 + 25 months = 2027-01-31, after the study date.
    assert fully_observed(["2023", "2024"], [25, 25], grain="year", study_date=STUDY, shift=0, lag_days=0).tolist() == [True, False]
    assert fully_observed([], [], grain="month", study_date=STUDY, shift=0, lag_days=60).tolist() == []


def _trend() -> pd.DataFrame:
    cohorts = ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
    return pd.DataFrame(
        {
            "cohort": cohorts,
            "month": 13,
            "cohort_policies": [100, 200, 200, 400, 300, 300],
            "persistency": [0.90, 0.88, 0.87, 0.85, 0.89, 0.95],
        }
    )


def test_trend_statements_use_the_latest_fully_observed_cohorts_only() -> None:
    trend = _trend()
    maturity = trend_maturity(trend, grain="month", study_date=STUDY, shift=0, lag_days=60)
    assert maturity["maturity"].tolist() == [OBSERVED] * 4 + [SETTLING] * 2
    (statement,) = trend_statements(trend, maturity, cohorts=3)
    # The latest three observed: 2025-04 (88 %, 200) … 2025-06 (85 %, 400); 2025-07 and 2025-08 (95 %: the spike) left out.
    assert (statement.first, statement.last, statement.cohorts) == ("2025-04", "2025-06", 3)
    assert statement.change == pytest.approx(0.85 - 0.88)
    assert statement.settling == ("2025-07", "2025-08")
    # SE = sqrt(.88·.12/200 + .85·.15/400) = sqrt(0.000528 + 0.00031875) = 0.029099…; noise = 1.96 SE = 0.05703…
    assert statement.noise == pytest.approx(Z95 * math.sqrt(0.88 * 0.12 / 200 + 0.85 * 0.15 / 400))
    assert statement.within_noise  # |−3 pp| < 5.7 pp
    # Fewer than two observed cohorts: nothing to say.
    late = maturity.assign(maturity=[SETTLING] * 5 + [OBSERVED])
    assert trend_statements(trend, late) == []


def test_a_thin_cohort_is_left_out_of_trend_statements_and_named() -> None:
    # The US book's case: the newest observed cohort holds one policy at 100 %.
    trend = _trend().assign(cohort_policies=[100, 200, 200, 400, 1, 300], persistency=[0.90, 0.88, 0.87, 0.85, 1.0, 0.86])
    maturity = trend_maturity(trend, grain="month", study_date=STUDY, shift=0, lag_days=0)  # with payments: all observed
    assert maturity["thin"].tolist() == [False, False, False, False, True, False]  # 1 < MIN_TREND_POLICIES (50)
    (statement,) = trend_statements(trend, maturity, cohorts=3)
    # The latest three of enough policies: 2025-05, 2025-06, 2025-08; 2025-07 (1 policy) named as left out.
    assert (statement.first, statement.last, statement.end, statement.thin) == ("2025-05", "2025-08", 0.86, ("2025-07",))
    assert MIN_TREND_POLICIES == 50


def test_the_overview_marks_the_sample_s_newest_month_settling_and_leaves_it_out(sample) -> None:
    figures = overview_figures(sample.policies, study_date=sample.study_date, trend_cohort="month")
    settling = figures.maturity[(figures.maturity["maturity"] == SETTLING) & (figures.maturity["month"] == 13)]
    assert settling["cohort"].tolist() == ["2025-07", "2025-08"]  # 2025-08 is the 94.5 % spike
    spike = figures.trend[(figures.trend["cohort"] == "2025-08") & (figures.trend["month"] == 13)]["persistency"].iloc[0]
    assert spike == pytest.approx(0.945, abs=5e-4)
    p13 = next(s for s in figures.statements if s.month == 13)
    assert p13.last == "2025-06" and p13.settling == ("2025-07", "2025-08")
    assert len(figures.maturity) == len(figures.trend)


def _kpi(value: float, n: int) -> Kpi:
    basis = Basis.of(value, n, value, n)
    return Kpi(13, ("2024-07", "2025-06"), n, 0.85, basis, basis, settling=("2025-07", "2025-08"))


def test_p13_beside_s13_reads_the_step_curve_at_month_13() -> None:
    curve = pd.DataFrame(
        {
            "cohort": "all",
            "month": [0.0, 6.0, 12.5, 14.0],
            "entered": [1000, 0, 0, 0],
            "survival": [1.0, 0.98, 0.95, 0.90],
            "lower": [1.0, 0.97, 0.94, 0.88],
            "upper": [1.0, 0.99, 0.96, 0.92],
        }
    )
    contrast = persistency_contrast([_kpi(0.884, 6790)], curve)
    assert contrast is not None
    # The step at 12.5 months holds at 13: S(13) = 0.95 (0.94–0.96); 1,000 policies behind the curve.
    assert (contrast.survival, contrast.lower, contrast.upper, contrast.survival_policies) == (0.95, 0.94, 0.96, 1000)
    assert (contrast.persistency, contrast.policies, contrast.window) == (0.884, 6790, ("2024-07", "2025-06"))
    assert persistency_contrast([_kpi(0.884, 6790)], curve[curve["month"] < 13]) is None  # the curve stops before month 13
    assert persistency_contrast([], curve) is None
    assert np.isfinite(contrast.survival)


def test_the_us_book_s_one_policy_2009q1_at_100_percent_is_named_thin_not_read_as_a_rise(shared_data, root) -> None:
    from analysis import load_extract
    from analysis.ingest.presets import load_preset
    from analysis.persistency.ratios import PersistencyOptions

    book = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    figures = overview_figures(book.policies, study_date=book.study_date, options=PersistencyOptions(grace_days=book.preset.grace_days))
    p13 = next(s for s in figures.statements if s.month == 13)
    assert p13.thin == ("2009Q1",) and p13.last == "2008Q4" and p13.end < 0.9
    cell = figures.maturity[(figures.maturity["cohort"] == "2009Q1") & (figures.maturity["month"] == 13)]
    assert cell["thin"].tolist() == [True]
