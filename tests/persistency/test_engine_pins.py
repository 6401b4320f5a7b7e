"""Persistency from the engine pinned against a policy-by-policy rebuild in plain Python, on DuckDB and Spark.

The rebuild states the definitions of ``analysis/persistency/ratios.py`` (DOMAIN.md §2.1) one
policy at a time with calendar dates (``dateutil``'s month arithmetic clips the day to the
month's end, as the policy calendar does): a policy's voluntary exit is the premium it missed
(a lapse: its paid-to date, or the suspension date less grace and a day; a surrender: its
status date); it persists at month N unless it left before ``issue + N months`` (N + 1 with
grace) and was not reinstated by then; a cohort counts once its last issue day reached that
date by the study date.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from records import records

from analysis import load_extract
from analysis.persistency.projection import persistency_triangle
from analysis.persistency.ratios import EXCLUSIONS, PersistencyOptions, persistency_book, persistency_ratios

LAPSE_LIKE = {"lapsed", "terminated_after_lapse", "reinstated"}
EXCLUDED_STATUS = {"free_look": "free_look_cancelled", "death": "death_claim", "maturity": "matured"}


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


def label(issue: pd.Timestamp, cohort: str) -> str:
    if cohort == "year":
        return f"{issue.year}"
    if cohort == "quarter":
        return f"{issue.year}Q{(issue.month - 1) // 3 + 1}"
    return f"{issue.year}-{issue.month:02d}"


@lru_cache(maxsize=1 << 16)
def plus_months(day: pd.Timestamp, months: int) -> pd.Timestamp:
    """``day + relativedelta(months=months)``, remembered: the rebuild asks the same few thousand days again and again."""
    return day + relativedelta(months=months)


@lru_cache(maxsize=1 << 16)
def period_end(issue: pd.Timestamp, cohort: str) -> pd.Timestamp:
    first_month = {"year": 1, "quarter": (issue.month - 1) // 3 * 3 + 1, "month": issue.month}[cohort]
    length = {"year": 12, "quarter": 3, "month": 1}[cohort]
    return pd.Timestamp(issue.year, first_month, 1) + relativedelta(months=length) - relativedelta(days=1)


def known(value) -> bool:
    return value is not None and not pd.isna(value)


def rebuild(policies: pd.DataFrame, *, study_date: pd.Timestamp, options: PersistencyOptions, by: str | None = None) -> pd.DataFrame:
    """Persistency cell by cell from each policy's own dates (no vectorisation, no engine)."""
    shift = 1 if options.include_grace else 0
    cells: dict[tuple, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for row in records(policies):
        status = row["status"]
        if "single_premium" in options.exclude and known(row.get("payment_frequency")) and row["payment_frequency"] == 0:
            continue
        if any(name in options.exclude and status == word for name, word in EXCLUDED_STATUS.items()):
            continue
        if "waiver" in options.exclude and known(row.get("waiver")) and str(row["waiver"]).lower() in {"1", "true", "yes", "y", "是"}:
            continue
        issue = row["issue_date"]
        paid_to, lapse = row.get("paid_to_date"), row.get("lapse_date")
        exit_day = None
        if status in LAPSE_LIKE:
            if known(paid_to) and (status != "reinstated" or not known(lapse)):
                exit_day = paid_to
            elif known(lapse):
                exit_day = lapse - pd.Timedelta(days=options.grace_days + 1)
        elif status == "surrendered" and known(row.get("status_date")):
            exit_day = row["status_date"]
        back = row.get("reinstatement_date") if status == "reinstated" else None
        premium = float(row["annual_premium"]) if known(row.get("annual_premium")) else 0.0
        end = period_end(issue, options.cohort)
        for month in options.months:
            if plus_months(end, month + shift) > study_date:
                continue
            evaluation = plus_months(issue, month + shift)
            persists = not (known(exit_day) and exit_day < evaluation) or (known(back) and back <= evaluation)
            cell = cells[((row[by],) if by else ()) + (label(issue, options.cohort), month)]
            cell[0] += 1
            cell[1] += int(persists)
            cell[2] += premium
            cell[3] += premium * persists
    keys = [*([by] if by else []), "cohort", "month"]
    out = pd.DataFrame(
        [(*k, *v) for k, v in cells.items()], columns=[*keys, "cohort_policies", "persisting", "cohort_premium", "persisting_premium"]
    )
    return out.sort_values(keys).reset_index(drop=True)


def assert_same(mine: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    mine = mine.sort_values(keys).reset_index(drop=True)
    assert mine[keys].astype(str).equals(expected[keys].astype(str))
    assert mine["cohort_policies"].tolist() == expected["cohort_policies"].tolist()
    assert mine["persisting"].tolist() == expected["persisting"].tolist()
    np.testing.assert_allclose(mine["cohort_premium"], expected["cohort_premium"], rtol=1e-12)
    np.testing.assert_allclose(mine["persisting_premium"], expected["persisting_premium"], rtol=1e-12)
    np.testing.assert_allclose(mine["persistency"], expected["persisting"] / expected["cohort_policies"], rtol=1e-14)


@pytest.mark.parametrize(
    ("cohort", "grace", "by"),
    [("year", False, None), ("quarter", True, "channel")],
)
def test_persistency_ratios_equal_the_policy_by_policy_rebuild_on_the_sample(sample, engine, cohort, grace, by) -> None:
    options = PersistencyOptions(months=(0, 13, 25), cohort=cohort, include_grace=grace)
    mine = persistency_ratios(sample.policies, study_date=sample.study_date, options=options, by=(by,) if by else (), backend=engine)
    expected = rebuild(sample.policies, study_date=sample.study_date, options=options, by=by)
    assert len(expected) > 10
    assert_same(mine, expected, [*([by] if by else []), "cohort", "month"])


def test_rebuild_by_month_without_exclusions_and_a_short_grace(sample) -> None:
    options = PersistencyOptions(months=(1, 7, 13), cohort="month", exclude=frozenset(), grace_days=30)
    mine = persistency_ratios(sample.policies, study_date=sample.study_date, options=options)
    assert_same(mine, rebuild(sample.policies, study_date=sample.study_date, options=options), ["cohort", "month"])


def test_triangle_equals_the_rebuild_at_every_reached_cell(sample, engine) -> None:
    book, _ = persistency_book(sample.policies, (), engine)
    triangle = persistency_triangle(book, study_date=sample.study_date, max_month=25, last_cohorts=60)
    expected = rebuild(sample.policies, study_date=sample.study_date, options=PersistencyOptions(months=(1, 7, 13, 25), cohort="month"))
    for month in (1, 7, 13, 25):
        cells = expected[expected["month"] == month].set_index("cohort")
        shown = triangle[month].dropna()
        assert set(shown.index) == set(cells.index) & set(triangle.index)
        expected_ratio = (cells["persisting"] / cells["cohort_policies"]).loc[shown.index]
        np.testing.assert_allclose(shown.to_numpy(), expected_ratio.to_numpy(), rtol=0, atol=1e-12)
    # the triangle: later issue months reach fewer durations
    assert triangle.notna().sum(axis=1).is_monotonic_decreasing


def test_an_ibis_table_gives_the_same_table_as_its_pandas_book(sample, engine) -> None:
    options = PersistencyOptions(months=(13,), exclude=frozenset(EXCLUSIONS))
    table, _ = persistency_book(sample.policies, ("channel",), engine)
    from_table = persistency_ratios(table, study_date=sample.study_date, options=options, by=("channel",))
    from_frame = persistency_ratios(sample.policies, study_date=sample.study_date, options=options, by=("channel",), backend=engine)
    pd.testing.assert_frame_equal(
        from_table, from_frame, check_dtype=False, check_categorical=False
    )  # the book keeps its groups as categories


def rebuild_status(policies: pd.DataFrame, *, study_date: pd.Timestamp) -> tuple[dict[str, tuple[int, float]], dict[str, int]]:
    """The snapshot and the funnel one policy at a time (``dateutil`` month arithmetic)."""
    month = (study_date.year, study_date.month)

    def in_month(value) -> bool:
        return known(value) and (value.year, value.month) == month

    items = ("in_force", "grace", "suspended", "reinstated_this_month", "surrendered_this_month", "surrendered")
    snapshot = {item: [0, 0.0] for item in items}
    stages = dict.fromkeys(("paid", "in_grace", "suspended_this_month", "reinstated_this_month"), 0)
    for row in records(policies):
        status, premium = row["status"], row.get("annual_premium")
        premium = float(premium) if known(premium) else 0.0
        frequency = int(row["payment_frequency"]) if known(row.get("payment_frequency")) else 12
        paid_to = row.get("paid_to_date")
        hits = {
            "in_force": status in {"in_force", "apl", "reinstated", "paid_up"},
            "grace": status == "grace",
            "suspended": status == "lapsed",
            "reinstated_this_month": status == "reinstated" and in_month(row.get("reinstatement_date")),
            "surrendered_this_month": status == "surrendered" and in_month(row.get("status_date")),
            "surrendered": status == "surrendered",
        }
        for item, hit in hits.items():
            if hit:
                snapshot[item][0] += 1
                snapshot[item][1] += premium
        regular = frequency > 0
        if regular and status in {"in_force", "reinstated", "apl"} and known(paid_to):
            stages["paid"] += in_month(plus_months(paid_to, -frequency))
        stages["in_grace"] += regular and status == "grace" and in_month(paid_to)
        stages["suspended_this_month"] += status == "lapsed" and in_month(row.get("lapse_date"))
        stages["reinstated_this_month"] += hits["reinstated_this_month"]
    return {k: (v[0], v[1]) for k, v in snapshot.items()}, stages


def test_snapshot_and_funnel_equal_the_policy_by_policy_rebuild(sample, engine) -> None:
    from analysis.persistency.overview import collections_funnel, status_snapshot

    book, _ = persistency_book(sample.policies, (), engine)
    snapshot = status_snapshot(book, study_date=sample.study_date).set_index("item")
    funnel = collections_funnel(book, study_date=sample.study_date).set_index("stage")["policies"]
    expected, stages = rebuild_status(sample.policies, study_date=sample.study_date)
    for item, (count, premium) in expected.items():
        assert snapshot.loc[item, "policies"] == count, item
        assert snapshot.loc[item, "premium"] == pytest.approx(premium, rel=1e-12), item
    assert expected["reinstated_this_month"][0] > 0 and expected["surrendered_this_month"][0] > 0
    for stage, count in stages.items():
        assert funnel[stage] == count, stage
    assert funnel["due_this_month"] == stages["paid"] + stages["in_grace"] > 0
