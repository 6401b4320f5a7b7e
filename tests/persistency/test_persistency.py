"""Persistency ratios: hand-worked exclusions, N vs N+1, the real data set, and agreement with the rates engine."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli

from analysis import load_extract, load_preset
from analysis.persistency.ratios import EXCLUSIONS, PersistencyOptions, persistency_ratios, pooled_persistency
from analysis.study.exposure import StudySpec, exposures
from analysis.study.rates import cumulative_exit_probability, lapse_rates

STUDY = pd.Timestamp("2023-12-31")


def book() -> pd.DataFrame:
    # Six policies issued in 2021 (cohort 2021 reaches month 13 on 2023-01-31 + ... ≤ 2023-12-31).
    rows = [
        ("P1", "2021-01-10", "in_force", None, None, 1, 1000.0),
        ("P2", "2021-02-01", "surrendered", "2021-11-15", None, 12, 2000.0),  # left before month 13
        ("P3", "2021-03-01", "lapsed", None, "2022-05-01", 12, 3000.0),  # missed the 2022-03-01 premium (lapse − 61 days)
        ("P4", "2021-04-01", "death_claim", "2021-09-01", None, 12, 4000.0),  # excluded (death)
        ("P5", "2021-05-01", "in_force", None, None, 0, 5000.0),  # excluded (single premium)
        ("P6", "2021-06-01", "free_look_cancelled", "2021-06-08", None, 12, 6000.0),  # excluded (free look)
    ]
    frame = pd.DataFrame(
        rows, columns=["policy_id", "issue_date", "status", "status_date", "lapse_date", "payment_frequency", "annual_premium"]
    )
    for column in ("issue_date", "status_date", "lapse_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def p13(policies: pd.DataFrame, backend=None, **options) -> pd.Series:
    ratios = persistency_ratios(policies, study_date=STUDY, options=PersistencyOptions(months=(13,), **options), backend=backend)
    return pooled_persistency(ratios).iloc[0]


def test_hand_worked_count_and_premium_basis_with_all_exclusions(engine) -> None:
    # Cohort after exclusions: P1, P2, P3. Persisting at month 13: P1 only.
    # Count basis 1/3; premium basis 1000 / (1000 + 2000 + 3000) = 1/6.
    row = p13(book(), engine)
    assert (row["cohort_policies"], row["persisting"]) == (3, 1)
    assert row["persistency"] == pytest.approx(1 / 3)
    assert row["premium_persistency"] == pytest.approx(1000 / 6000)


@pytest.mark.parametrize("dropped", ["death", "single_premium", "free_look"])
def test_each_exclusion_can_be_switched_off(dropped: str) -> None:
    # Switching one exclusion off brings its policy back into the cohort (4 policies). None of
    # P4 (death), P5 (single premium, in force) or P6 (free-look) left by a voluntary exit, so
    # each persists: 2 of 4.
    row = p13(book(), exclude=frozenset(EXCLUSIONS) - {dropped})
    assert (row["cohort_policies"], row["persisting"]) == (4, 2)


def test_waiver_of_premium_policies_are_excluded_when_flagged(engine) -> None:
    frame = book()
    frame["waiver"] = pd.array([True, False, False, False, False, False], dtype="boolean")  # P1, the one persisting policy, is on waiver
    assert (p13(frame, engine)["cohort_policies"], p13(frame, engine)["persisting"]) == (2, 0)
    frame["waiver"] = ["是", "否", None, "no", "0", "n"]  # a text flag
    assert p13(frame)["cohort_policies"] == 2
    assert p13(frame, exclude=frozenset(EXCLUSIONS) - {"waiver"})["cohort_policies"] == 3


def test_unknown_exclusion_is_refused() -> None:
    from analysis import ExtractError

    with pytest.raises(ExtractError, match="Unknown exclusion"):
        p13(book(), exclude=frozenset({"gone"}))


def test_measuring_at_n_plus_1_includes_the_grace_month(engine) -> None:
    # P7 issued 2021-01-01, surrendered 2022-01-20: after month 13 starts? Month 13 is reached
    # on 2022-02-01 (issue + 13 months): the surrender on 2022-01-20 is before it, so P7 has
    # left at N = 13. A surrender on 2022-02-10 persists at N (2022-02-01) but not at N + 1
    # (2022-03-01).
    frame = pd.DataFrame(
        {
            "policy_id": ["P7", "P8"],
            "issue_date": pd.to_datetime(["2021-01-01", "2021-01-01"]),
            "status": ["surrendered", "surrendered"],
            "status_date": pd.to_datetime(["2022-01-20", "2022-02-10"]),
        }
    )
    assert p13(frame, engine)["persisting"] == 1
    assert p13(frame, engine, include_grace=True)["persisting"] == 0


def test_only_cohorts_that_reached_the_month_count() -> None:
    frame = pd.DataFrame(
        {"policy_id": ["A", "B"], "issue_date": pd.to_datetime(["2021-06-01", "2022-12-01"]), "status": ["in_force", "in_force"]}
    )
    ratios = persistency_ratios(frame, study_date=STUDY, options=PersistencyOptions(months=(13,)))
    assert ratios["cohort"].tolist() == ["2021"]  # 2022 cohort reaches month 13 only in 2024


def test_reinstated_by_the_month_persists(engine) -> None:
    frame = pd.DataFrame(
        {
            "policy_id": ["R1", "R2"],
            "issue_date": pd.to_datetime(["2021-01-01", "2021-01-01"]),
            "status": ["reinstated", "reinstated"],
            "lapse_date": pd.to_datetime(["2021-09-01", "2021-09-01"]),
            "reinstatement_date": pd.to_datetime(["2021-12-01", "2022-06-01"]),
        }
    )
    assert p13(frame, engine)["persisting"] == 1  # R1 back in force before month 13, R2 after it


def test_us_agency_book_is_close_to_the_published_reference(root, shared_data) -> None:
    # ../shared/data/README.md: P13 ≈ 90.6 %, P25 ≈ 84.3 % (deaths censored in a survival
    # reading). Here deaths are excluded and only fully matured issue years count: within 1 point.
    loaded = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    options = PersistencyOptions(months=(13, 25), grace_days=loaded.preset.grace_days)
    pooled = pooled_persistency(persistency_ratios(loaded.policies, study_date=loaded.study_date, options=options)).set_index("month")
    assert pooled.loc[13, "persistency"] == pytest.approx(0.906, abs=0.01)
    assert pooled.loc[25, "persistency"] == pytest.approx(0.843, abs=0.01)


def test_sample_p13_is_in_the_high_80s(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    pooled = pooled_persistency(persistency_ratios(loaded.policies, study_date=loaded.study_date, options=PersistencyOptions(months=(13,))))
    assert 0.85 < pooled.loc[0, "persistency"] < 0.90


def test_p13_equals_one_minus_the_13_month_cumulative_exit_of_the_rates_engine() -> None:
    # Where the definitions coincide: a closed book (every policy observed past month 13,
    # no competing exits), exits dated at the event (surrenders), initial exposure by
    # policy month. Then q_m = exits in month m / policies in force at its start, and
    # Π(1 − q_m) over months 1..13 is exactly the share still in force at month 13.
    rng = np.random.default_rng(11)
    n = 5000
    issue = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    surrendered = rng.random(n) < 0.3
    exit_date = issue + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    policies = pd.DataFrame(
        {
            "policy_id": np.arange(n).astype(str),
            "issue_date": issue,
            "status": np.where(surrendered, "surrendered", "in_force"),
            "status_date": exit_date.where(surrendered),
        }
    )
    p13_value = pooled_persistency(persistency_ratios(policies, study_date=STUDY, options=PersistencyOptions(months=(13,)))).loc[
        0, "persistency"
    ]
    monthly = lapse_rates(exposures(policies, spec=StudySpec(period="policy_month"), study_date=STUDY))
    exit13 = cumulative_exit_probability(monthly, periods=13).loc[0, "cumulative_exit"]
    assert p13_value == pytest.approx(1 - exit13, abs=1e-12)


def test_cli_persistency_columns(root) -> None:
    done = run_cli(
        "persistency",
        "data/sample_policies.csv",
        "--months",
        "13,25",
        "--basis",
        "premium",
        "--by",
        "channel",
        "--format",
        "json",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert set(rows[0]) == {
        "channel",
        "month",
        "cohort_policies",
        "persisting",
        "persistency",
        "cohort_premium",
        "persisting_premium",
        "premium_persistency",
    }
    assert {r["month"] for r in rows} == {13, 25}
    none = run_cli("persistency", "data/sample_policies.csv", "--months", "13", "--exclude", "", "--format", "json", cwd=root)
    assert none.returncode == 0, none.stderr
    assert (
        json.loads(none.stdout)[0]["cohort_policies"]
        > json.loads(run_cli("persistency", "data/sample_policies.csv", "--months", "13", "--format", "json", cwd=root).stdout)[0][
            "cohort_policies"
        ]
    )
