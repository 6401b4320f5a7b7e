"""The outcomes view pinned against a hand-worked example (the arithmetic in the comments)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.collections.database import open_store
from analysis.collections.outcomes import list_outcomes, record_outcomes
from analysis.collections.queue import assign, assignments
from analysis.collections.summary import SUMMARY_COLUMNS, outcome_summary, policy_results

AS_OF = pd.Timestamp("2026-10-15")


def queue() -> pd.DataFrame:
    """Four rows of the due list (agents A and B) and two reinstatable rows (branch 北京).

    P1 due 09-01, grace to 10-31; P2 due 08-01, grace to 09-30 (over on 10-15); P3 due 09-15,
    grace to 11-14 (not over); P4 due 07-01, grace to 08-30 (over); P5, P6 lapsed.
    """
    return pd.DataFrame(
        {
            "policy_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "list_kind": ["due"] * 4 + ["reinstatable"] * 2,
            "assignee_kind": ["agent"] * 4 + ["branch"] * 2,
            "assignee": ["A", "A", "B", "B", "北京", "北京"],
            "branch": ["北京", "北京", "上海", "上海", "北京", "北京"],
            "agent": ["A", "A", "B", "B", None, None],
            "state": ["in_grace", "in_grace", "due_soon", "in_grace", "lapsed", "lapsed"],
            "due_date": pd.to_datetime(["2026-09-01", "2026-08-01", "2026-09-15", "2026-07-01", "2025-05-01", "2025-06-01"]),
            "grace_end": pd.to_datetime(["2026-10-31", "2026-09-30", "2026-11-14", "2026-08-30", None, None]),
            "probability": [0.3, 0.2, 0.1, 0.4, np.nan, np.nan],
            "annual_premium": [1000.0, 2000.0, 3000.0, 4000.0, 1000.0, 2000.0],
            "premium_at_risk": [300.0, 400.0, 300.0, 1600.0, np.nan, np.nan],
            "risk_band": ["high", "high", "medium", "high", None, None],
            "lever": ["reminder", "auto_debit", "reminder", None, None, None],
            "assigned_at": pd.Timestamp("2026-09-20 08:00"),
            "assigned_by": None,
        }
    )


def outcomes() -> pd.DataFrame:
    """P1: unreachable, then paid on 10-20 (inside grace) with the auto-debit lever; P2 promised; P3 refused; P6 unreachable."""
    return pd.DataFrame(
        {
            "policy_id": ["P1", "P1", "P2", "P3", "P6"],
            "outcome": ["unreachable", "paid", "promised", "refused", "unreachable"],
            "outcome_date": pd.to_datetime(["2026-10-01", "2026-10-20", "2026-09-10", "2026-10-05", "2026-10-06"]),
            "lever": [None, "auto_debit", None, None, None],
            "note": None,
        }
    )


def book() -> pd.DataFrame:
    """The book now: P2 lapsed (paid-to unchanged); P4 paid (paid-to moved a year on, in force); P5 reinstated; P6 still lapsed."""
    return pd.DataFrame(
        {
            "policy_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "status": ["in_force", "lapsed", "in_force", "in_force", "reinstated", "lapsed"],
            "paid_to_date": pd.to_datetime(["2026-09-01", "2026-08-01", "2026-09-15", "2027-07-01", "2026-10-01", "2025-06-01"]),
        }
    )


def test_each_policy_result_by_hand() -> None:
    results = policy_results(queue(), outcomes(), book(), as_of=AS_OF).set_index("policy_id")
    assert results["attempted"].tolist() == [True, True, True, False, False, True]
    assert results["reached"].tolist() == [True, True, True, False, False, False]  # unreachable alone is not reached
    # P1 by its paid outcome (10-20 <= 10-31); P4 by the book (paid-to 2027-07-01 > due 2026-07-01, in force)
    assert results["paid_in_grace"].tolist() == [True, False, False, True, False, False]
    # settled: P1, P4 (paid), P2 (grace over 09-30 < 10-15); P3's grace runs to 11-14
    assert results["settled"].tolist() == [True, True, False, True, False, False]
    assert results["won_back"].tolist() == [False, False, False, False, True, False]  # P5 reinstated in the book
    # the lever recorded with an outcome wins over the suggested one
    assert results["lever"].tolist() == ["auto_debit", "auto_debit", "reminder", "none", "none", "none"]


def test_the_whole_queue_by_hand() -> None:
    total = outcome_summary(queue(), outcomes(), book(), as_of=AS_OF).iloc[0]
    assert total["scope"] == "all"
    assert total[["assigned", "attempted", "reached", "due_assigned", "settled", "paid_in_grace", "reinstatable", "won_back"]].tolist() == [
        6,
        4,
        3,
        4,
        3,
        2,
        2,
        1,
    ]
    assert total["reach_rate"] == pytest.approx(3 / 4)
    assert total["paid_in_grace_rate"] == pytest.approx(2 / 3)
    assert total["won_back_rate"] == pytest.approx(1 / 2)
    assert total["won_back_premium"] == 1000.0


def test_by_lever_agent_and_branch_by_hand() -> None:
    by_lever = outcome_summary(queue(), outcomes(), book(), as_of=AS_OF, by="lever").set_index("lever")
    assert list(by_lever.index) == ["none", "auto_debit", "reminder"]  # most assigned first
    assert list(by_lever.columns) == list(SUMMARY_COLUMNS)
    # auto_debit: P1, P2 — reached 2 of 2; paid 1 (P1) of 2 settled
    assert by_lever.loc["auto_debit", ["reach_rate", "paid_in_grace_rate"]].tolist() == [1.0, 0.5]
    # reminder: P3 — reached 1 of 1; nothing settled yet: no rate
    assert by_lever.loc["reminder", "reach_rate"] == 1.0 and np.isnan(by_lever.loc["reminder", "paid_in_grace_rate"])
    # none: P4, P5, P6 — P6 attempted, not reached; P4 paid of 1 settled; P5 won back of 2
    assert by_lever.loc["none", ["reach_rate", "paid_in_grace_rate", "won_back_rate"]].tolist() == [0.0, 1.0, 0.5]

    by_agent = outcome_summary(queue(), outcomes(), book(), as_of=AS_OF, by="agent").set_index("agent")
    assert list(by_agent.index) == ["A", "B", "none"]
    # B: P3 reached (1 of 1 attempted); P4 paid by the book, P3 unsettled: 1 of 1
    assert by_agent.loc["B", ["attempted", "reach_rate", "settled", "paid_in_grace_rate"]].tolist() == [1, 1.0, 1, 1.0]
    assert by_agent.loc["A", ["reach_rate", "paid_in_grace_rate"]].tolist() == [1.0, 0.5]

    by_branch = outcome_summary(queue(), outcomes(), book(), as_of=AS_OF, by="branch").set_index("branch")
    # 北京: P1, P2, P5, P6 — reached 2 of 3 attempted; paid 1 of 2 settled; won back 1 of 2
    assert by_branch.loc["北京", ["assigned", "reach_rate", "paid_in_grace_rate", "won_back"]].tolist() == [4, pytest.approx(2 / 3), 0.5, 1]


def test_without_the_book_only_outcomes_count() -> None:
    total = outcome_summary(queue(), outcomes(), None, as_of=AS_OF).iloc[0]
    # P4's payment is known only from the book; P5's reinstatement too
    assert total[["paid_in_grace", "settled", "won_back"]].tolist() == [1, 3, 0]


def test_a_paid_outcome_after_grace_does_not_count_and_an_empty_queue_has_no_rates() -> None:
    late = outcomes().assign(outcome_date=lambda f: f["outcome_date"].where(f["outcome"] != "paid", pd.Timestamp("2026-11-01")))
    results = policy_results(queue(), late, None, as_of=AS_OF).set_index("policy_id")
    assert not results.loc["P1", "paid_in_grace"] and not results.loc["P1", "settled"]  # paid after 10-31; grace not over on 10-15
    empty = outcome_summary(queue().head(0), outcomes().head(0), None, as_of=AS_OF)
    assert empty.empty and list(empty.columns) == ["scope", *SUMMARY_COLUMNS]


def test_the_same_view_from_the_database(database_url: str) -> None:
    store = open_store(database_url)
    assign(store, queue().drop(columns=["assigned_at", "assigned_by"]), at=dt.datetime(2026, 9, 20, 8, 0))
    record_outcomes(store, outcomes(), at=dt.datetime(2026, 10, 15, 8, 0), by="me")
    stored = outcome_summary(assignments(store), list_outcomes(store), book(), as_of=AS_OF, by="lever")
    expected = outcome_summary(queue(), outcomes(), book(), as_of=AS_OF, by="lever")
    pd.testing.assert_frame_equal(stored, expected)


def test_the_views_of_one_pass_equal_each_summary() -> None:
    from analysis.collections.summary import DIMENSIONS, outcome_views

    views = outcome_views(queue(), outcomes(), book(), as_of=AS_OF)
    assert list(views) == [None, *DIMENSIONS]
    for by, table in views.items():
        pd.testing.assert_frame_equal(table, outcome_summary(queue(), outcomes(), book(), as_of=AS_OF, by=by))
