"""The outcomes view: what the work queue achieved, from the stored outcomes joined with the book.

The unit is an **assigned policy** (a row of the work queue). For each, from its outcomes
(every outcome recorded for the policy) and from the book as it is now:

* **attempted** — at least one outcome recorded;
* **reached** — at least one outcome that means the customer was spoken to: ``reached``,
  ``paid``, ``promised`` or ``refused`` (:data:`~analysis.collections.outcomes.REACHED_OUTCOMES`;
  ``unreachable`` is the only outcome that is not);
* **paid within grace** (rows from the due list) — an outcome ``paid`` dated on or before the
  last day of grace of the premium that was due when the row was assigned (``grace_end``), or
  the book showing that premium received: its paid-to date now later than that due date and
  the policy on the books (an active status);
* **settled** (rows from the due list) — paid within grace, or its grace over by the as-of
  date (``grace_end`` before it): the rows whose result is known;
* **won back** (rows from the reinstatable list) — the book showing the lapsed policy on the
  books again (an active status: reinstated or in force), or an outcome ``paid`` recorded.

The rates (blank when their denominator is zero):

* **reach rate** = reached ÷ attempted;
* **paid-within-grace rate** = paid within grace ÷ settled;
* **won-back rate** = won back ÷ reinstatable rows assigned; ``won_back_premium`` sums their
  annual premium (as assigned).

Grouped by the **lever** (the lever recorded most recently with one of the policy's outcomes,
else the lever the list suggested; ``none`` without either), the **branch** and the **agent** that work the row
(as assigned: an agent's row keeps its policy's branch; a branch's row has no agent).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.collections.outcomes import PAID, REACHED_OUTCOMES
from analysis.collections.queue import DUE, REINSTATABLE

#: The dimensions the view is grouped by (None: the whole queue).
DIMENSIONS: Final = ("lever", "branch", "agent")
#: A row with no lever, branch or agent is grouped under this code.
NO_GROUP: Final = "none"
#: The view's columns after the group.
SUMMARY_COLUMNS: Final = (
    "assigned",
    "attempted",
    "reached",
    "reach_rate",
    "due_assigned",
    "settled",
    "paid_in_grace",
    "paid_in_grace_rate",
    "reinstatable",
    "won_back",
    "won_back_rate",
    "won_back_premium",
)


def policy_results(queue: pd.DataFrame, outcomes: pd.DataFrame, policies: pd.DataFrame | None, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per assigned policy: the facts the rates count (see the module docstring).

    Parameters
    ----------
    queue : DataFrame
        Assignments (:func:`analysis.collections.queue.assignments`): ``policy_id``,
        ``list_kind``, ``branch``, ``agent``, ``due_date``, ``grace_end``, ``annual_premium``, ``lever``.
    outcomes : DataFrame
        Recorded outcomes (:func:`analysis.collections.outcomes.list_outcomes`): ``policy_id``,
        ``outcome``, ``outcome_date``, ``lever``.
    policies : DataFrame or None
        The book now (``policy_id``, ``status``, ``paid_to_date``); None: outcomes only.
    as_of : Timestamp
        The day the results are read on (the book's study date).

    Returns
    -------
    DataFrame
        ``[policy_id, list_kind, lever, branch, agent, annual_premium, attempted, reached,
        due, settled, paid_in_grace, reinstatable, won_back]`` (booleans), on the queue's order.
    """
    ids = queue[S.POLICY_ID].astype(str)
    mine = outcomes.assign(policy_id=outcomes[S.POLICY_ID].astype(str)).sort_values("outcome_date", kind="stable")
    attempted = ids.isin(set(mine[S.POLICY_ID])).to_numpy()
    reached = ids.isin(set(mine.loc[mine["outcome"].isin(list(REACHED_OUTCOMES)), S.POLICY_ID])).to_numpy()
    paid = mine[mine["outcome"] == PAID]
    first_paid = paid.groupby(S.POLICY_ID)["outcome_date"].min()
    used = mine.dropna(subset=["lever"]).groupby(S.POLICY_ID)["lever"].last() if "lever" in mine else pd.Series(dtype=object)
    grace_end = pd.to_datetime(queue["grace_end"])
    due_date = pd.to_datetime(queue["due_date"])
    paid_on = pd.to_datetime(ids.map(first_paid))
    due = (queue["list_kind"] == DUE).to_numpy() & grace_end.notna().to_numpy()
    paid_by_outcome = (paid_on <= grace_end).fillna(False).to_numpy(dtype=bool)
    active, paid_to = np.zeros(len(queue), dtype=bool), pd.Series(pd.NaT, index=queue.index, dtype="datetime64[ns]")
    if policies is not None:
        # only the queue's policies of the book (a book of a million policies, a queue of thousands)
        mine_of_book = policies[S.POLICY_ID].astype(str).isin(set(ids)).to_numpy()
        wanted = [c for c in (S.POLICY_ID, S.STATUS, S.PAID_TO_DATE) if c in policies]
        book = policies.loc[mine_of_book, wanted].astype({S.POLICY_ID: str}).drop_duplicates(S.POLICY_ID).set_index(S.POLICY_ID)
        status = ids.map(book[S.STATUS].astype(str)) if S.STATUS in book else pd.Series(None, index=queue.index)
        active = status.isin(list(S.ACTIVE_STATUSES)).to_numpy()
        if S.PAID_TO_DATE in book:
            paid_to = pd.to_datetime(ids.map(book[S.PAID_TO_DATE]))
    paid_by_book = ((paid_to > due_date).fillna(False).to_numpy(dtype=bool)) & active
    paid_in_grace = due & (paid_by_outcome | paid_by_book)
    settled = due & (paid_in_grace | (grace_end < pd.Timestamp(as_of)).fillna(False).to_numpy(dtype=bool))
    reinstatable = (queue["list_kind"] == REINSTATABLE).to_numpy()
    won_back = reinstatable & (active | paid_on.notna().to_numpy())
    lever = ids.map(used).fillna(queue["lever"]).fillna(NO_GROUP)
    return pd.DataFrame(
        {
            S.POLICY_ID: ids.to_numpy(),
            "list_kind": queue["list_kind"].to_numpy(),
            "lever": lever.to_numpy(),
            "branch": queue["branch"].fillna(NO_GROUP).to_numpy(),
            "agent": queue["agent"].fillna(NO_GROUP).to_numpy(),
            "annual_premium": pd.to_numeric(queue["annual_premium"], errors="coerce").to_numpy(dtype=float),
            "attempted": attempted,
            "reached": reached,
            "due": due,
            "settled": settled,
            "paid_in_grace": paid_in_grace,
            "reinstatable": reinstatable,
            "won_back": won_back,
        }
    )


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    return (top / bottom.where(bottom > 0)).astype(float)


def outcome_views(
    queue: pd.DataFrame, outcomes: pd.DataFrame, policies: pd.DataFrame | None = None, *, as_of: pd.Timestamp
) -> dict[str | None, pd.DataFrame]:
    """The outcomes view of the whole queue (key None) and by each of :data:`DIMENSIONS`, from one pass over the policies."""
    results = policy_results(queue, outcomes, policies, as_of=as_of)
    return {by: summarised(results, by=by) for by in (None, *DIMENSIONS)}


def outcome_summary(
    queue: pd.DataFrame, outcomes: pd.DataFrame, policies: pd.DataFrame | None = None, *, as_of: pd.Timestamp, by: str | None = None
) -> pd.DataFrame:
    """The outcomes view: counts and rates of the work queue, in all or by a dimension.

    Parameters
    ----------
    queue, outcomes, policies, as_of
        As :func:`policy_results` takes them.
    by : str, optional
        One of :data:`DIMENSIONS`; None for one row, the whole queue (``scope`` ``all``).

    Returns
    -------
    DataFrame
        ``[<by or "scope">, *SUMMARY_COLUMNS]``: the counts (policies) and the rates of the
        module docstring, one row per group, the most assigned first.
    """
    return summarised(policy_results(queue, outcomes, policies, as_of=as_of), by=by)


def summarised(results: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """:func:`outcome_summary` from :func:`policy_results` (so several views share one pass)."""
    key = by or "scope"
    results = results.copy()
    results[key] = results[by] if by else "all"
    results["won_back_premium"] = np.where(results["won_back"], results["annual_premium"], 0.0)
    grouped = results.groupby(key, sort=False)
    table = grouped.agg(
        assigned=(S.POLICY_ID, "size"),
        attempted=("attempted", "sum"),
        reached=("reached", "sum"),
        due_assigned=("due", "sum"),
        settled=("settled", "sum"),
        paid_in_grace=("paid_in_grace", "sum"),
        reinstatable=("reinstatable", "sum"),
        won_back=("won_back", "sum"),
        won_back_premium=("won_back_premium", "sum"),
    )
    table["reach_rate"] = _ratio(table["reached"], table["attempted"])
    table["paid_in_grace_rate"] = _ratio(table["paid_in_grace"], table["settled"])
    table["won_back_rate"] = _ratio(table["won_back"], table["reinstatable"])
    table = table.reset_index().sort_values(["assigned", key], ascending=[False, True], kind="stable")
    counts = [c for c in SUMMARY_COLUMNS if not c.endswith("_rate") and c != "won_back_premium"]
    table[counts] = table[counts].astype(np.int64)
    return table[[key, *SUMMARY_COLUMNS]].reset_index(drop=True)
