"""The management overview: analysis functions and the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from paths import ROOT
from shown import shown as markdown_text
from streamlit.testing.v1 import AppTest

from analysis import load_extract
from analysis.persistency.league import league_table
from analysis.persistency.overview import collections_funnel, persistency_kpis, persistency_trend, status_snapshot
from analysis.persistency.projection import heading, persistency_triangle, projected_persistency, triangle_and_projection
from analysis.persistency.ratios import PersistencyOptions, persistency_ratios


@pytest.fixture(scope="module")
def sample():
    return load_extract(ROOT / "data" / "sample_policies.csv")


def test_projection_is_the_chain_ladder_of_the_persistency_ratios(sample) -> None:
    """Recomputed from persistency_ratios (policy by policy) instead of the one-pass histogram."""
    policies, study = sample.policies, sample.study_date
    projection = projected_persistency(policies, study_date=study, months=(13,), cohort="quarter")
    assert len(projection) >= 3 and (projection["observed_month"] >= 1).all() and (projection["observed_month"] < 13).all()
    monthly = persistency_ratios(policies, study_date=study, options=PersistencyOptions(months=tuple(range(14)), cohort="month"))
    by_month = monthly.set_index(["cohort", "month"])["persisting"]
    factors = []
    for m in range(13):
        ready = sorted(set(monthly.loc[monthly["month"] == m + 1, "cohort"]))[-12:]
        factors.append(sum(by_month[(c, m + 1)] for c in ready) / sum(by_month[(c, m)] for c in ready))
    quarterly = persistency_ratios(policies, study_date=study, options=PersistencyOptions(months=tuple(range(13)), cohort="quarter"))
    for row in projection.itertuples(index=False):
        seen = quarterly[(quarterly["cohort"] == row.cohort)]
        assert seen["month"].max() == row.observed_month
        observed = float(seen.loc[seen["month"] == row.observed_month, "persistency"].iloc[0])
        assert row.observed == pytest.approx(observed, abs=1e-12)
        assert row.projected == pytest.approx(observed * float(np.prod(factors[row.observed_month : 13])), abs=1e-12)
    # a cohort that has reached the month is not projected
    reached = set(persistency_trend(policies, study_date=study, months=(13,))["cohort"])
    assert not reached & set(projection["cohort"])
    pooled, count, first, last = heading(projection, 13)
    assert count == projection["cohort_policies"].sum() and (first, last) == (projection["cohort"].iloc[0], projection["cohort"].iloc[-1])
    assert min(projection["projected"]) <= pooled <= max(projection["projected"])


def test_one_pass_gives_the_triangle_and_the_projection(sample) -> None:
    for cohort in ("month", "quarter", "year"):
        triangle, projection = triangle_and_projection(sample.policies, study_date=sample.study_date, cohort=cohort)
        pd.testing.assert_frame_equal(triangle, persistency_triangle(sample.policies, study_date=sample.study_date))
        pd.testing.assert_frame_equal(projection, projected_persistency(sample.policies, study_date=sample.study_date, cohort=cohort))


def test_issue_periods_from_month_counts_equal_calendar_labels() -> None:
    """issue_period counts months since 1970 (fast); it must equal labels built from year and month, before 1970 too."""
    from analysis.study.cohorts import issue_period

    dates = pd.Series(pd.to_datetime(["1965-02-03", "1969-12-31", "1970-01-01", "2001-11-30", "2024-02-29", "2001-11-01", None]))
    calendar = {
        "issue_month": [f"{d.year}-{d.month:02d}" if pd.notna(d) else None for d in dates],
        "issue_quarter": [f"{d.year}Q{(d.month - 1) // 3 + 1}" if pd.notna(d) else None for d in dates],
        "issue_year": [f"{d.year}" if pd.notna(d) else None for d in dates],
    }
    for kind, expected in calendar.items():
        got = issue_period(dates, kind)
        labels = sorted({e for e in expected if e is not None})
        assert [str(v) for v in got.cat.categories] == labels
        assert got.cat.codes.tolist() == [labels.index(e) if e is not None else -1 for e in expected]


@pytest.mark.parametrize("months_back", [6, 12, 18])
def test_projection_from_an_earlier_study_date_lands_near_what_happened(sample, months_back: int) -> None:
    """Back-test on the sample: project from an earlier study date, compare with the actual 13/25-month persistency.

    Cells that had developed by the earlier date do not depend on later events, so the earlier
    study date sees only what was known then.
    """
    earlier = sample.study_date - pd.DateOffset(months=months_back)
    projection = projected_persistency(sample.policies, study_date=earlier, months=(13, 25), cohort="quarter")
    actual = persistency_trend(sample.policies, study_date=sample.study_date, months=(13, 25))
    both = projection.merge(actual, on=["cohort", "month"])
    assert len(both) >= months_back // 3
    assert (both["projected"] - both["persistency"]).abs().max() < 0.02


def test_kpis_compare_the_latest_window_with_a_year_before(sample) -> None:
    kpis = {k.month: k for k in persistency_kpis(sample.policies, study_date=sample.study_date)}
    # 2025-08 + 13 months = 2026-09-30 (the study date) has *reached* month 13, but without a payment history its
    # lapses are still in the 60-day grace: 2025-07 and 2025-08 are settling, so the window ends at 2025-06
    # (2025-06-30 + 13 months + 60 days = 2026-09-29). Before the window left settling months out it was 2024-09 – 2025-08.
    assert kpis[13].window == ("2024-07", "2025-06") and kpis[13].settling == ("2025-07", "2025-08")
    assert kpis[25].window == ("2023-07", "2024-06") and kpis[25].settling == ("2024-07", "2024-08")
    assert 0.85 < kpis[13].count < 0.92 and kpis[13].target == 0.85
    ratios = persistency_ratios(sample.policies, study_date=sample.study_date, options=PersistencyOptions(months=(13,), cohort="month"))
    window = ratios[(ratios["cohort"] >= "2024-07") & (ratios["cohort"] <= "2025-06")]
    assert kpis[13].policies == window["cohort_policies"].sum() == 6790
    assert kpis[13].count == pytest.approx(window["persisting"].sum() / window["cohort_policies"].sum())
    before = ratios[(ratios["cohort"] >= "2023-07") & (ratios["cohort"] <= "2024-06")]
    assert kpis[13].count_last_year == pytest.approx(before["persisting"].sum() / before["cohort_policies"].sum())


def test_league_table_leaves_out_small_groups_and_puts_the_worst_first(sample) -> None:
    table = league_table(sample.policies, "agent", study_date=sample.study_date, min_policies=40)
    assert (table["cohort_policies"] >= 40).all()
    assert table["persistency"].is_monotonic_increasing
    channels = league_table(sample.policies, "channel", study_date=sample.study_date)
    assert channels.iloc[0]["channel"] in {"互联网", "电销"}  # the sample's weakest channels


def test_status_snapshot_and_funnel(sample) -> None:
    snapshot = status_snapshot(sample.policies, study_date=sample.study_date).set_index("item")
    counts = sample.status_counts
    assert snapshot.loc["grace", "policies"] == counts["grace"]
    assert snapshot.loc["suspended", "policies"] == counts["lapsed"]
    funnel = collections_funnel(sample.policies, study_date=sample.study_date).set_index("stage")
    # Independently: a paid policy's previous due date (paid-to date less one interval, by
    # pandas' own month arithmetic) fell in the study month; in grace = due this month, unpaid.
    p = sample.policies
    month = sample.study_date.to_period("M")
    paid = 0
    for frequency in (1, 3, 6, 12):
        rows = p[(p["payment_frequency"] == frequency) & p["status"].isin(["in_force", "reinstated", "apl"]) & p["paid_to_date"].notna()]
        paid += int(((rows["paid_to_date"] - pd.DateOffset(months=frequency)).dt.to_period("M") == month).sum())
    grace = int(((p["status"] == "grace") & (p["paid_to_date"].dt.to_period("M") == month) & (p["payment_frequency"] > 0)).sum())
    assert funnel.loc["paid", "policies"] == paid
    assert funnel.loc["in_grace", "policies"] == grace
    assert funnel.loc["due_this_month", "policies"] == paid + grace
    assert collections_funnel(sample.policies.drop(columns="paid_to_date"), study_date=sample.study_date) is None


def test_overview_page_in_both_languages(sample) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/overview.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    kpi13 = persistency_kpis(sample.policies, study_date=sample.study_date)[0]
    assert shown["13 个月继续率（件数）"] == f"{kpi13.count:.1%}"
    # Issue [2/7]: each card shows its 95 % interval, and the change against last year is marked when
    # within noise: the sample's 13-month count basis moved −0.8 pp against a noise of ±1.1 pp.
    count = kpi13.count_basis
    assert any(c.value == f"95% 置信区间 {count.lower:.1%}–{count.upper:.1%}" for c in at.caption)
    assert count.within_noise and abs(count.change) < count.noise
    card = next(m for m in at.metric if m.label == "13 个月继续率（件数）")
    assert card.delta == f"{count.change * 100:+.1f} 个百分点，在随机波动内（±{count.noise * 100:.1f}）"
    assert len(at.dataframe) == 2
    ahead = heading(projected_persistency(sample.policies, study_date=sample.study_date), 13)
    assert ahead is not None
    assert any(f"预计 13 个月继续率为 {ahead[0]:.1%}" in markdown_text(m.value) for m in at.markdown), [m.value for m in at.markdown]
    at.radio(key="overview_at__zh").set_value("N+1").run()
    assert not at.exception
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert "13-month persistency (count)" in {m.label for m in at.metric}
    assert any(c.value.startswith("95% interval ") for c in at.caption)
    assert any("within noise" in m.delta for m in at.metric)


def test_the_overview_league_table_follows_the_chosen_column_and_month(sample) -> None:
    """Every column's table comes from one pass; the page shows the chosen one, as league_table computes it alone."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/overview.py").run()
    options = PersistencyOptions(grace_days=sample.preset.grace_days)
    for column, month in (("channel", 13), ("agent", 13), ("product", 25), ("branch", 25)):
        at.selectbox(key="overview_league_by__zh").set_value(column)
        at.selectbox(key="overview_league_month__zh").set_value(str(month)).run()
        assert not at.exception
        shown = at.dataframe[0].value
        expected = league_table(
            sample.policies,
            column,
            study_date=sample.study_date,
            month=month,
            options=options,
        )
        assert len(shown) == len(expected) > 0
        assert shown.iloc[:, 0].astype(str).tolist() == expected[column].astype(str).tolist()
        np.testing.assert_allclose(shown.iloc[:, 3].to_numpy(dtype=float), expected["persistency"].to_numpy(dtype=float))
    at.selectbox(key="overview_league_by__zh").set_value("agent")
    at.selectbox(key="overview_league_month__zh").set_value("13").run()
    shown = at.dataframe[0].value
    at.number_input(key="overview_min_volume").set_value(120).run()  # a higher minimum volume: the same table, cut
    expected = league_table(sample.policies, "agent", study_date=sample.study_date, month=13, min_policies=120, options=options)
    assert not at.exception and 0 < len(expected) < len(shown)
    assert at.dataframe[0].value.iloc[:, 0].astype(str).tolist() == expected["agent"].astype(str).tolist()


def test_overview_without_any_reached_cohort_is_an_empty_state() -> None:
    frame = pd.DataFrame({"policy_id": ["a"], "issue_date": pd.to_datetime(["2024-01-01"]), "status": ["in_force"]})
    assert persistency_kpis(frame, study_date=pd.Timestamp("2024-06-30")) == []
