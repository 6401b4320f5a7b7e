"""Curves stop where fewer than a stated number of policies remain at risk (issue [4/7] item 5)."""

from __future__ import annotations

import pandas as pd

from analysis.survival.curves import MIN_AT_RISK, until_at_risk


def _curves() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": ["A"] * 5 + ["B"] * 2 + ["C"] * 4,
            "month": [0, 1, 2, 3, 4, 0, 1, 0, 1, 2, 3],
            # A thins out: 100, 80, 60 then 49 (< 50) and 30 — stops at month 2.
            # B never has 50 at risk: not drawn. C starts with 10 (a late-entry window), 60 join: it runs to month 2.
            "at_risk": [100, 80, 60, 49, 30, 40, 20, 10, 60, 55, 20],
        }
    )


def test_each_curve_stops_at_its_last_time_with_enough_at_risk() -> None:
    assert MIN_AT_RISK == 50
    cut = until_at_risk(_curves())
    assert cut.groupby("cohort")["month"].max().to_dict() == {"A": 2, "C": 2}
    assert cut["at_risk"].tolist() == [100, 80, 60, 10, 60, 55]  # C's thin start stays: the curve needs its beginning
    assert until_at_risk(_curves(), min_at_risk=0).equals(_curves())
    assert until_at_risk(_curves(), min_at_risk=45)["cohort"].value_counts().to_dict() == {"A": 4, "C": 3}


def test_one_curve_without_a_cohort_column_and_incidence_carries_its_numbers_at_risk(root) -> None:
    from analysis import load_extract
    from analysis.survival.incidence import cumulative_incidence

    single = _curves()[_curves()["cohort"] == "A"].drop(columns="cohort")
    assert until_at_risk(single, by=None)["month"].tolist() == [0, 1, 2]
    sample = load_extract(root / "data" / "sample_policies.csv")
    cif = cumulative_incidence(sample.policies, study_date=sample.study_date)
    lapse = cif[cif["cause"] == "lapse"]
    assert lapse["at_risk"].iloc[0] == len(sample.policies) and lapse["at_risk"].is_monotonic_decreasing
    cut = until_at_risk(cif, by="cause")
    assert cut.groupby("cause")["at_risk"].min().min() >= MIN_AT_RISK
    assert cut["month"].max() < cif["month"].max()  # the thin tail is gone


def test_summary_figures_read_past_a_curve_s_stop_are_named_and_kept() -> None:
    from analysis.survival.curves import mark_past_cutoff, survival_summary

    curves = pd.DataFrame(
        {
            "cohort": ["A"] * 5 + ["B"] * 3,
            # A: 100 at risk at 0, 60 at 12, 55 at 20 (its last time with 50 or more), 20 at 30, 10 at 70.
            # B never has 50 at risk.
            "month": [0.0, 12.0, 20.0, 30.0, 70.0, 0.0, 5.0, 14.0],
            "at_risk": [100, 60, 55, 20, 10, 40, 30, 10],
            "entered": [100, 0, 0, 0, 0, 40, 0, 0],
            "events": [0, 40, 5, 15, 8, 0, 10, 2],
            "survival": [1.0, 0.6, 0.55, 0.4, 0.2, 1.0, 0.75, 0.6],
        }
    )
    summary = survival_summary(curves, horizon=60)
    marked = mark_past_cutoff(summary, curves, min_at_risk=50, horizon=60).set_index("cohort")
    assert marked.loc["A", "solid_until"] == 20.0 and pd.isna(marked.loc["B", "solid_until"])
    # A: S(13) (read at 13 ≤ 20) is solid; S(25), S(37), S(61), the median (30 months: S first ≤ 0.5 at 30) and
    # the 60-month restricted mean are read past month 20. B: every figure it has; its S(25)… are missing (the
    # curve ends at 14), and a missing figure is never named.
    assert marked.loc["A", "past_cutoff"] == ("survival_25", "survival_37", "survival_61", "median", "rmst")
    assert marked.loc["B", "past_cutoff"] == ("survival_13", "rmst")
    assert pd.isna(marked.loc["B", "survival_25"]) and pd.isna(marked.loc["B", "median"])
    # The values themselves are kept: the mark is beside them.
    pd.testing.assert_frame_equal(marked.reset_index()[summary.columns], summary)
    # A shorter horizon inside the solid part is solid; no cutoff marks nothing.
    assert mark_past_cutoff(summary, curves, min_at_risk=50, horizon=18)["past_cutoff"].tolist()[0] == (
        "survival_25",
        "survival_37",
        "survival_61",
        "median",
    )
    assert mark_past_cutoff(summary, curves, min_at_risk=0)["past_cutoff"].tolist() == [(), ()]
    # The stop is where until_at_risk ends each drawn curve.
    drawn = until_at_risk(curves, min_at_risk=50).groupby("cohort")["month"].max()
    assert drawn.to_dict() == {"A": marked.loc["A", "solid_until"]}


def test_on_the_sample_a_named_figure_lies_past_the_curve_s_last_well_populated_time(root) -> None:
    from analysis import load_extract
    from analysis.survival.curves import mark_past_cutoff
    from analysis.survival.result import survival_study

    sample = load_extract(root / "data" / "sample_policies.csv")
    result = survival_study(sample.policies, study_date=sample.study_date, by="channel", compare=False)
    marked = mark_past_cutoff(result.summary, result.curves, min_at_risk=2000).set_index("cohort")
    for cohort, row in marked.iterrows():
        curve = result.curves[result.curves["cohort"] == cohort]
        assert row["solid_until"] == curve.loc[curve["at_risk"] >= 2000, "month"].max() or pd.isna(row["solid_until"])
        for month in (13, 25, 37, 61):
            named = f"survival_{month}" in row["past_cutoff"]
            present = pd.notna(row[f"survival_{month}"])
            assert named == (present and not month <= row["solid_until"]), (cohort, month)
    assert any(marked["past_cutoff"].map(len) > 0) and any(marked["past_cutoff"].map(len) == 0)
