"""The work queue: rows of the action lists as assignments, reassignment, outcomes recorded with the assignee of their time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis.collections.database import open_store
from analysis.collections.outcomes import checked_records, list_outcomes, record_outcomes
from analysis.collections.queue import QUEUE_COLUMNS, assign, assignments, queue_rows, unassign, work_queue
from analysis.errors import ExtractError

AT = dt.datetime(2026, 10, 1, 9, 0)


def calls() -> pd.DataFrame:
    """Two rows of the day's calls, as analysis.risk.worklist.worklist returns them (the columns the queue reads)."""
    return pd.DataFrame(
        {
            "policy_id": ["886372018100000005", "886372018100000006"],
            "state": ["in_grace", "due_soon"],
            "paid_to_date": pd.to_datetime(["2026-09-01", "2026-10-20"]),
            "probability": [0.31, 0.12],
            "premium_at_risk": [3100.0, 600.0],
            "annual_premium": [10000.0, 5000.0],
            "risk_band": ["high", "medium"],
            "lever": ["auto_debit", ""],
            "branch": ["山东分公司", None],
            "agent": ["A274314", "A1"],
            "name": ["张三", "李四"],
        }
    )


def test_due_rows_keep_what_the_list_said_and_their_end_of_grace() -> None:
    rows = queue_rows(calls(), list_kind="due", assignee_kind="agent", assignee=" A9 ", grace_days=60)
    assert list(rows.columns) == list(QUEUE_COLUMNS[:-2])
    first = rows.iloc[0]
    # due 2026-09-01 + 60 days of grace = 2026-10-31
    assert (first["due_date"], first["grace_end"]) == (dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert (first["assignee"], first["agent"], first["branch"]) == ("A9", "A9", "山东分公司")  # an agent's row keeps the policy's branch
    assert (first["probability"], first["premium_at_risk"], first["risk_band"], first["lever"]) == (0.31, 3100.0, "high", "auto_debit")
    assert rows.iloc[1]["lever"] is None and rows.iloc[1]["branch"] is None
    assert "name" not in rows  # no personal identifier is stored


def test_a_branch_row_has_no_agent_and_a_reinstatable_row_is_lapsed() -> None:
    back = pd.DataFrame({"policy_id": ["P1"], "lapse_date": pd.to_datetime(["2026-03-05"]), "annual_premium": [800.0], "agent": ["A1"]})
    rows = queue_rows(back, list_kind="reinstatable", assignee_kind="branch", assignee="北京分公司")
    row = rows.iloc[0]
    assert (row["branch"], row["agent"], row["state"], row["due_date"], row["grace_end"]) == (
        "北京分公司",
        None,
        "lapsed",
        dt.date(2026, 3, 5),
        None,
    )


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        ({"assignee": "  "}, "Name the agent or branch"),
        ({"assignee_kind": "team"}, "Assign to one of agent, branch; got team"),
        ({"list_kind": "all"}, "must be one of due, reinstatable; got all"),
    ],
)
def test_a_request_that_cannot_be_kept_is_refused(options: dict, sentence: str) -> None:
    chosen = {"list_kind": "due", "assignee_kind": "agent", "assignee": "A1"} | options
    with pytest.raises(ExtractError, match=sentence):
        queue_rows(calls(), **chosen)


def test_outcomes_are_checked_before_they_are_kept() -> None:
    good = {"policy_id": ["P1"], "outcome": ["paid"], "outcome_date": ["2026-10-02"]}
    assert checked_records(pd.DataFrame(good))["outcome_date"].tolist() == [dt.date(2026, 10, 2)]
    for change, sentence in (
        ({"outcome": ["settled"]}, "Outcome settled is not recognised"),
        ({"outcome_date": ["soon"]}, "policy P1 has no date"),
        ({"policy_id": [" "]}, "no policy number"),
        ({"lever": ["bribe"]}, "Lever bribe is not recognised"),
    ):
        with pytest.raises(ExtractError, match=sentence):
            checked_records(pd.DataFrame(good | change))


def test_reassigning_replaces_the_assignment_and_each_outcome_keeps_the_assignee_of_its_time(database_url: str) -> None:
    store = open_store(database_url)
    assign(store, queue_rows(calls(), list_kind="due", assignee_kind="agent", assignee="A1"), at=AT, by="lead@example.com")
    one = pd.DataFrame({"policy_id": ["886372018100000005"], "outcome": ["unreachable"], "outcome_date": ["2026-10-02"]})
    record_outcomes(store, one, at=AT, by="a1@example.com")
    later = AT + dt.timedelta(days=1)
    assign(store, queue_rows(calls().head(1), list_kind="due", assignee_kind="branch", assignee="山东分公司"), at=later)
    two = pd.DataFrame(
        {
            "policy_id": ["886372018100000005"],
            "outcome": ["paid"],
            "outcome_date": ["2026-10-04"],
            "lever": ["reminder"],
            "note": [" 微信转账 "],
        }
    )
    record_outcomes(store, two, at=later, by="sd@example.com", source="cli")

    queue = assignments(store)
    assert len(queue) == 2
    moved = queue.set_index("policy_id").loc["886372018100000005"]
    assert (moved["assignee_kind"], moved["assignee"], moved["agent"], moved["assigned_by"]) == ("branch", "山东分公司", None, None)
    outcomes = list_outcomes(store)
    assert outcomes[["outcome", "assignee", "recorded_by", "recorded_via", "lever", "note"]].values.tolist() == [
        ["unreachable", "A1", "a1@example.com", "form", None, None],
        ["paid", "山东分公司", "sd@example.com", "cli", "reminder", "微信转账"],
    ]

    view = work_queue(store).set_index("policy_id")
    assert view.loc["886372018100000005", ["attempts", "last_outcome", "last_note"]].tolist() == [2, "paid", "微信转账"]
    assert view.loc["886372018100000006", "attempts"] == 0 and pd.isna(view.loc["886372018100000006", "last_outcome"])

    assert unassign(store, ["886372018100000005"]) == 1
    assert len(assignments(store)) == 1 and len(list_outcomes(store)) == 2  # the outcomes stay
