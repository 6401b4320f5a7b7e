"""The survival study as one call: the same curves as the steps it assembles, and its decisions."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import load_extract
from analysis.study.run import StudyRequest, study_frame
from analysis.survival.curves import km_curves, survival_data, survival_summary
from analysis.survival.logrank import SIGNIFICANCE_LEVEL, PairVerdict, logrank_tests, pair_verdicts
from analysis.survival.result import SurvivalResult, survival_study


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


def test_survival_study_equals_its_steps_by_channel(sample) -> None:
    result = survival_study(sample.policies, study_date=sample.study_date, by="channel")
    frame = study_frame(sample.policies, StudyRequest(by=("channel",)))
    data = survival_data(frame, study_date=sample.study_date, by=["channel"])
    curves = km_curves(data, by="channel")
    pd.testing.assert_frame_equal(result.curves, curves)
    pd.testing.assert_frame_equal(result.summary, survival_summary(curves))
    overall, pairwise = logrank_tests(data, by="channel")
    pd.testing.assert_frame_equal(result.overall, overall)
    pd.testing.assert_frame_equal(result.pairwise, pairwise)
    quick = survival_study(sample.policies, study_date=sample.study_date, by="channel", compare=False)  # as the command line asks
    pd.testing.assert_frame_equal(quick.curves, curves)
    assert quick.overall is None and quick.pairwise is None


def test_the_whole_book_has_one_curve_and_no_tests(sample) -> None:
    result = survival_study(sample.policies, study_date=sample.study_date)
    assert set(result.curves["cohort"]) == {"all"}
    assert result.overall is None and result.overall_p is None and result.cohorts_differ is None and result.pair_verdicts == ()


def test_young_new_earners_differ_and_lapse_sooner(sample) -> None:
    result = survival_study(sample.policies, study_date=sample.study_date, by="young_new_earners")
    assert result.overall_p is not None and result.overall_p < SIGNIFICANCE_LEVEL and result.cohorts_differ
    (verdict,) = result.pair_verdicts
    assert (verdict.worse, verdict.better, verdict.significant) == ("in", "rest", True)


def test_pair_verdicts_hand_worked() -> None:
    # b has the smaller RMST, so it is the worse of (a, b); (a, c): c's RMST is unknown, so c (cohort_b) is the worse.
    pairwise = pd.DataFrame({"cohort_a": ["a", "a"], "cohort_b": ["b", "c"], "p_holm": [0.01, SIGNIFICANCE_LEVEL]})
    summary = pd.DataFrame({"cohort": ["a", "b"], "rmst": [40.0, 30.0]})
    assert pair_verdicts(pairwise, summary) == (PairVerdict("b", "a", 0.01, True), PairVerdict("c", "a", SIGNIFICANCE_LEVEL, False))


def test_a_result_decides_at_its_own_level() -> None:
    overall = pd.DataFrame({"test_statistic": [3.0], "p_value": [0.03], "degrees_of_freedom": [1]})
    empty = pd.DataFrame()
    assert SurvivalResult(empty, empty, overall, None).cohorts_differ is True
    assert SurvivalResult(empty, empty, overall, None, alpha=0.01).cohorts_differ is False
