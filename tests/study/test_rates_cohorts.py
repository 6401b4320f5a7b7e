"""Rates, intervals, credibility, A/E, cohorts and the rates command line."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract
from clirun import run_cli

from analysis import ExtractError
from analysis.study.cohorts import YOUNG_NEW_EARNERS, Condition, band, cohort_from_dict, filter_mask, issue_period, quantile_band
from analysis.study.rates import credibility, cumulative_exit_probability, lapse_rates, rate_totals, wilson_interval
from analysis.study.run import StudyRequest, run_study


def test_wilson_interval_hand_worked() -> None:
    # 10 events in 100 years of exposure, z = 1.96: centre (0.1 + 0.019208) / 1.038415 = 0.114800,
    # half-width 1.96 * sqrt(0.0009 + 0.00009604) / 1.038415 = 0.059578 → [0.0552, 0.1744].
    lower, upper = wilson_interval(np.array([10.0]), np.array([100.0]))
    assert lower[0] == pytest.approx(0.05522, abs=1e-4)
    assert upper[0] == pytest.approx(0.17437, abs=1e-4)


def test_credibility_full_at_1082_events() -> None:
    assert credibility(np.array([1082.0, 270.5, 0.0])).tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_rates_invariants_and_totals_equal_the_regrouped_detail() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "channel": rng.choice(["个险", "银保", "电销"], 60),
            "period": np.tile(np.arange(1, 21), 3),
            "exposure": rng.uniform(0.5, 500, 60),
        }
    )
    table["events"] = np.floor(table["exposure"] * rng.uniform(0, 0.3, 60))
    rates = lapse_rates(table, by=["channel"])
    assert ((rates["rate"] >= 0) & (rates["rate"] <= 1)).all()
    assert ((rates["lower"] <= rates["rate"]) & (rates["rate"] <= rates["upper"])).all()
    totals = rate_totals(rates, by=["channel"])
    regrouped = table.groupby("channel")[["exposure", "events"]].sum()
    np.testing.assert_allclose(totals.set_index("channel").loc[regrouped.index, "exposure"], regrouped["exposure"])
    np.testing.assert_allclose(totals.set_index("channel").loc[regrouped.index, "events"], regrouped["events"])
    overall = lapse_rates(table)
    np.testing.assert_allclose(overall["exposure"].sum(), table["exposure"].sum())


def test_actual_to_expected_flat_and_by_period() -> None:
    table = pd.DataFrame({"period": [1, 2], "exposure": [100.0, 50.0], "events": [10.0, 2.0]})
    flat = lapse_rates(table, expected=0.05)
    assert flat["expected"].tolist() == [5.0, 2.5]
    assert flat["ae"].tolist() == [2.0, 0.8]
    basis = pd.DataFrame({"period": [1, 2], "expected_rate": [0.1, 0.04]})
    by_year = lapse_rates(table, expected=basis)
    assert by_year["ae"].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ExtractError, match="expected_rate"):
        lapse_rates(table, expected=pd.DataFrame({"period": [1]}))


def test_cumulative_exit_probability() -> None:
    rates = pd.DataFrame({"period": [1, 2], "rate": [0.1, 0.2]})
    assert cumulative_exit_probability(rates, periods=2)["cumulative_exit"][0] == pytest.approx(1 - 0.9 * 0.8)


def test_bands_and_issue_periods() -> None:
    ages = pd.Series([18, 25, 29, 30, 61, None])
    assert band(ages, [0, 25, 30, 60]).astype(str).tolist() == ["0–24", "25–29", "25–29", "30–59", "60+", "nan"]
    quartiles = quantile_band(pd.Series(np.arange(1, 101, dtype=float)))
    assert quartiles.nunique() == 4
    dates = pd.Series(pd.to_datetime(["2023-05-06", "2024-12-31"]))
    assert issue_period(dates, "issue_quarter").tolist() == ["2023Q2", "2024Q4"]
    assert issue_period(dates, "issue_month").tolist() == ["2023-05", "2024-12"]


def test_named_cohort_is_readable_and_filters() -> None:
    policies = pd.DataFrame({"age": [23.0, 35.0, 28.0], "income": ["5万以下", "5万以下", "20-50万"], "首单客户": ["是", "是", "是"]})
    assert filter_mask(policies, YOUNG_NEW_EARNERS.conditions).tolist() == [True, False, False]
    assert YOUNG_NEW_EARNERS.text() == "age between 22 and 30 AND income in {5万以下, 5-10万} AND 首单客户 == 是"
    assert YOUNG_NEW_EARNERS.text("zh") == "投保年龄 介于 22 与 30 之间 且 年收入 属于 {5万以下, 5-10万} 且 首单客户 = 是"
    assert Condition("渠道", "not in", ["银保"]).text("zh") == "渠道 不属于 {银保}"
    assert Condition("age", "is blank").text("zh") == "投保年龄 为空"
    assert Condition("age", ">=", 50).text("zh") == "投保年龄 ≥ 50"
    assert cohort_from_dict(YOUNG_NEW_EARNERS.to_dict()) == YOUNG_NEW_EARNERS
    with pytest.raises(ExtractError, match="Unknown operator"):
        cohort_from_dict({"key": "x", "name": {}, "all": [{"column": "age", "op": "~", "value": 1}]})
    with pytest.raises(ExtractError, match="does not have"):
        filter_mask(policies, [Condition("colour", "==", "red")])


def test_young_new_earners_lapse_more_on_the_sample_with_separate_intervals(root, engine) -> None:
    loaded = sample_extract()
    result = run_study(loaded.policies, StudyRequest(by=("young_new_earners",)), study_date=loaded.study_date, backend=engine)
    totals = result.totals.set_index("young_new_earners")
    assert totals.loc["in", "rate"] > 1.3 * totals.loc["rest", "rate"]
    assert totals.loc["in", "lower"] > totals.loc["rest", "upper"]
    year1 = result.rates[result.rates["period"] == 1].set_index("young_new_earners")
    assert year1.loc["in", "lower"] > year1.loc["rest", "upper"]


def test_filters_report_the_share_used(root, engine) -> None:
    loaded = sample_extract()
    result = run_study(
        loaded.policies,
        StudyRequest(by=("channel",), filters=(Condition("channel", "==", "银保"),)),
        study_date=loaded.study_date,
        backend=engine,
    )
    assert 0.1 < result.share_used < 0.3
    assert set(result.rates["channel"]) == {"银保"}


def test_cli_rates_matches_the_library(root) -> None:
    done = run_cli("rates", "data/sample_policies.csv", "--by", "channel,policy_year", "--format", "csv", cwd=root)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(io.StringIO(done.stdout))
    assert table.columns.tolist() == ["channel", "period", "events", "exposure", "rate", "lower", "upper", "credibility"]
    loaded = sample_extract()
    library = run_study(loaded.policies, StudyRequest(by=("channel",)), study_date=loaded.study_date).rates
    np.testing.assert_allclose(table["rate"].to_numpy(), library["rate"].to_numpy(), rtol=1e-12)
    weighted = run_cli(
        "rates", "data/sample_policies.csv", "--period", "calendar_year", "--weight", "annual_premium", "--format", "json", cwd=root
    )
    assert weighted.returncode == 0, weighted.stderr
    rows = json.loads(weighted.stdout)
    assert rows[0]["period"] >= 2018 and set(rows[0]) == {"period", "events", "exposure", "rate", "lower", "upper", "credibility"}


def test_cli_rates_rejects_unknown_events(root) -> None:
    done = run_cli("rates", "data/sample_policies.csv", "--event", "vanished", cwd=root)
    assert done.returncode == 2 and "Unknown or non-exit status" in done.stderr


def test_expected_table_keyed_by_period_and_a_cohort_column(root) -> None:
    loaded = sample_extract()
    expected = pd.DataFrame({"period": [1, 1], "channel": ["个险", "银保"], "expected_rate": [0.05, 0.10]})
    result = run_study(loaded.policies, StudyRequest(by=("channel",)), study_date=loaded.study_date, expected=expected)
    year1 = result.rates[result.rates["period"] == 1].set_index("channel")
    assert year1.loc["个险", "expected"] == pytest.approx(year1.loc["个险", "exposure"] * 0.05)
    assert year1.loc["银保", "expected"] == pytest.approx(year1.loc["银保", "exposure"] * 0.10)
    assert year1.loc["个险", "ae"] == pytest.approx(year1.loc["个险", "events"] / year1.loc["个险", "expected"])


def test_a_blank_key_of_an_expected_table_matches_no_policy_without_the_column() -> None:
    """A policy without a channel is the cohort <NA>; an expected row with a blank channel (read as NaN) is no match for it."""
    loaded = sample_extract()
    policies = loaded.policies.copy()
    policies.loc[policies.index[:500], "channel"] = np.nan  # the door keeps channel as categories
    assert isinstance(policies["channel"].dtype, pd.CategoricalDtype)
    expected = pd.DataFrame({"period": [1, 1], "channel": ["个险", np.nan], "expected_rate": [0.05, 0.5]})
    rates = run_study(policies, StudyRequest(by=("channel",)), study_date=loaded.study_date, expected=expected).rates
    year1 = rates[rates["period"] == 1]
    blank = year1[year1["channel"].isna() | (year1["channel"] == "<NA>")]  # the merge gives the blank cohort as text
    assert len(blank) == 1 and np.isnan(blank["expected"].iloc[0])
    covered = year1[year1["channel"] == "个险"]
    assert covered["expected"].tolist() == pytest.approx((covered["exposure"] * 0.05).tolist())


def test_odd_books_do_not_crash_the_study() -> None:
    one = pd.DataFrame(
        {"policy_id": ["a"], "issue_date": pd.to_datetime(["2020-01-01"]), "status": ["in_force"], "annual_premium": [100.0]}
    )
    result = run_study(one, StudyRequest(by=("premium_band",)), study_date=pd.Timestamp("2022-01-01"))
    assert result.rates["exposure"].sum() == pytest.approx(2 + 1 / 366, abs=0.01)
    empty = run_study(one, StudyRequest(filters=(Condition("status", "==", "lapsed"),)), study_date=pd.Timestamp("2022-01-01"))
    assert empty.rates.empty and empty.share_used == 0
    with pytest.raises(ExtractError, match="starts"):
        run_study(one, StudyRequest(study_start="2023-01-01", study_end="2022-01-01"), study_date=pd.Timestamp("2022-01-01"))


def test_partial_expected_basis_gives_ae_over_covered_cells_only() -> None:
    table = pd.DataFrame({"period": [1, 2], "exposure": [100.0, 100.0], "events": [10.0, 30.0]})
    rates = lapse_rates(table, expected=pd.DataFrame({"period": [1], "expected_rate": [0.05]}))
    assert rates["ae"].iloc[0] == pytest.approx(2.0) and np.isnan(rates["ae"].iloc[1])
    assert rate_totals(rates)["ae"].iloc[0] == pytest.approx(2.0)  # period 2 has no expectation


def test_flat_expected_rate_is_annual_even_by_policy_month(root) -> None:
    loaded = sample_extract()
    monthly = run_study(loaded.policies, StudyRequest(period="policy_month", expected_rate=0.06), study_date=loaded.study_date).totals
    yearly = run_study(loaded.policies, StudyRequest(expected_rate=0.06), study_date=loaded.study_date).totals
    assert monthly["ae"].iloc[0] == pytest.approx(yearly["ae"].iloc[0], rel=0.15)


def test_age_edges_that_are_not_finite_fall_back_to_the_defaults() -> None:
    from analysis.study.cohorts import AGE_EDGES as DEFAULT_AGE_EDGES
    from analysis.study.cohorts import age_edges_from, edges_are_numbers

    for text in ("nan", "0, inf, 30", "-inf", "NaN,25"):
        assert age_edges_from(text) == DEFAULT_AGE_EDGES and not edges_are_numbers(text)
    assert age_edges_from("0，25, 40") == (0.0, 25.0, 40.0) and edges_are_numbers("0, 25, 40")


def test_named_cohort_definitions_at_the_edges() -> None:
    """A scalar for in, between with text or blanks, keys the tables use themselves: no crash, a clear answer."""
    policies = pd.DataFrame({"age": [23.0, 35.0], "income": ["5万以下", "20-50万"], "渠道": ["个险", "银保"]})
    scalar = cohort_from_dict({"key": "x", "name": {}, "all": [{"column": "income", "op": "in", "value": "5万以下"}]})
    assert filter_mask(policies, scalar.conditions).tolist() == [True, False]
    text_bounds = cohort_from_dict({"key": "x", "name": {}, "all": [{"column": "age", "op": "between", "value": ["a", "z"]}]})
    assert filter_mask(policies, text_bounds.conditions).tolist() == [False, False]  # numbers compared as text with letters
    for bad in ({"column": "age", "op": "between", "value": [None, 3]}, {"column": "age", "op": "between", "value": 3}):
        with pytest.raises(ExtractError, match="'between' needs two values"):
            cohort_from_dict({"key": "x", "name": {}, "all": [bad]})
    for key in ("period", "events", "age_band", "status", " "):
        with pytest.raises(ExtractError, match="uses itself"):
            cohort_from_dict({"key": key, "name": {}, "all": []})
