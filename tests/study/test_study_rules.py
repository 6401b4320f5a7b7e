"""Domain rules of the cohort study that used to live in ui/: the expected basis, the cohort dimensions, filter values."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import ExtractError
from analysis.study.cohorts import (
    AGE_EDGES,
    MAX_COHORT_LEVELS,
    YOUNG_NEW_EARNERS,
    cohort_dimensions,
    dimension_values,
)
from analysis.study.expected import read_expected
from analysis.study.run import StudyRequest


def test_an_expected_basis_is_read_with_whole_periods_and_a_grouping_column() -> None:
    table = read_expected("period,channel,expected_rate\n1,个险,0.05\n2.0,银保,0.1\n")
    assert table["period"].tolist() == [1, 2] and table["period"].dtype.kind == "i"
    assert table["expected_rate"].tolist() == [0.05, 0.1]
    assert table["channel"].tolist() == ["个险", "银保"]


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("", "not_csv", "not a readable CSV"),
        ("year,rate\n1,0.05\n", "expected_header", "needs the columns period and expected_rate"),
        ("period,expected_rate\n", "expected_header", "needs the columns period and expected_rate"),
        ("period,expected_rate\n1,5%\n", "expected_numbers", "must be numbers"),
        ("period,expected_rate\none,0.05\n", "expected_numbers", "must be numbers"),
    ],
)
def test_an_unusable_expected_basis_says_why(text: str, reason: str, words: str) -> None:
    with pytest.raises(ExtractError, match=words) as caught:
        read_expected(text)
    assert (caught.value.code, caught.value.reason) == ("bad_expected", reason)
    assert "{" not in caught.value.text("zh") and "{" not in str(caught.value)


def test_cohort_dimensions_in_order_with_the_few_valued_user_columns() -> None:
    # channel has values, branch is blank throughout (left out); 首单客户 has 2 values; 备注 has
    # MAX_COHORT_LEVELS + 1 (left out, but kept on the first MAX_COHORT_LEVELS rows); source_row is bookkeeping.
    n = MAX_COHORT_LEVELS + 1
    policies = pd.DataFrame(
        {
            "issue_date": pd.date_range("2020-01-01", periods=n),
            "status": ["in_force"] * n,
            "age": [30.0] * n,
            "channel": ["个险"] * n,
            "branch": [None] * n,
            "首单客户": ["是", "否"] * (n // 2) + ["是"],
            "备注": [f"note {i}" for i in range(n)],
            "source_row": range(n),
        }
    )
    keys = cohort_dimensions(policies, named=YOUNG_NEW_EARNERS)
    assert keys == ["young_new_earners", "age_band", "issue_year", "issue_quarter", "issue_month", "channel", "policy_year", "首单客户"]
    assert cohort_dimensions(policies.drop(columns="备注").iloc[:3])[-1] == "首单客户"
    assert "备注" in cohort_dimensions(policies.iloc[:MAX_COHORT_LEVELS])


def test_dimension_values_of_a_derived_column_most_frequent_first() -> None:
    policies = pd.DataFrame({"age": [20.0, 41.0, 45.0, None], "channel": ["银保", "个险", "个险", None]})
    assert dimension_values(policies, "channel") == ["个险", "银保"]
    assert dimension_values(policies, "age_band", age_edges=(0, 40)) == ["40+", "0–39"]
    assert dimension_values(policies, "no_such_column") == []
    assert dimension_values(policies, "channel", limit=1) == ["个险"]


def test_the_age_edges_are_defined_once() -> None:
    assert StudyRequest().age_edges == AGE_EDGES
