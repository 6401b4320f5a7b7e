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
