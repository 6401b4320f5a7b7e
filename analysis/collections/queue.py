"""The work queue: rows of the action list assigned to an agent or a branch, kept in the database.

A row of the day's calls (:func:`analysis.risk.worklist.worklist`, or the due list of
:mod:`analysis.risk.actions` without a model) or of the reinstatable list
(:func:`analysis.risk.actions.reinstatable_list`) becomes an **assignment**
(:func:`queue_rows`): the policy number as the book writes it, who works it, and what the list
said when it was assigned — the state, the premium due and the last day of its grace, the
probability, the premium at risk, the risk band and the suggested lever. The outcomes view
(:mod:`analysis.collections.summary`) measures against that snapshot.

One assignment per policy: assigning a policy again (to someone else) replaces the earlier
assignment; the outcomes already recorded stay, each with the assignee of its time. No name,
phone or ID number is stored: the page and the export take them from the book when shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from analysis import schema as S
from analysis.collections.database import ASSIGNMENTS, OUTCOMES, Store, raw, read_frame
from analysis.errors import ExtractError

#: The lists a row comes from: the due list (due soon or in grace) and the reinstatable list.
DUE, REINSTATABLE = "due", "reinstatable"
LIST_KINDS: Final = (DUE, REINSTATABLE)
#: Who a row is assigned to.
AGENT, BRANCH = "agent", "branch"
ASSIGNEE_KINDS: Final = (AGENT, BRANCH)
#: The state of a row taken from the reinstatable list.
LAPSED_STATE: Final = S.LAPSED
#: The columns of an assignment, in the database's order.
QUEUE_COLUMNS: Final = tuple(c.name for c in ASSIGNMENTS.columns)
#: The columns a new assignment of an assigned policy replaces (all but the policy number).
UPDATED: Final = tuple(c for c in QUEUE_COLUMNS if c != "policy_id")
#: What the queue view adds to each assignment from its outcomes.
LATEST_COLUMNS: Final = ("attempts", "last_outcome", "last_outcome_date", "last_note", "last_recorded_by")


def blank(value: object) -> bool:
    """Whether a cell is empty: None, NaN, NaT, NA or text of spaces only."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def nullable(values: pd.Series) -> pd.Series:
    """The values as objects, every empty cell (:func:`blank`) None (what a database driver writes as NULL)."""
    return pd.Series([None if blank(v) else v for v in values], index=values.index, dtype=object)


def _dates(values: Any) -> list[dt.date | None]:
    stamps = pd.to_datetime(pd.Series(values), errors="coerce")
    return [None if pd.isna(v) else v.date() for v in stamps]


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    return rows[name] if name in rows else pd.Series(None, index=rows.index, dtype=object)


def queue_rows(rows: pd.DataFrame, *, list_kind: str, assignee_kind: str, assignee: str, grace_days: int = S.GRACE_DAYS) -> pd.DataFrame:
    """Rows of an action list as assignments (without ``assigned_at`` / ``assigned_by``).

    Parameters
    ----------
    rows : DataFrame
        For ``list_kind="due"``: rows of the due list or the day's calls (``policy_id``,
        ``state``, ``paid_to_date`` — the premium due —, and when scored ``probability``,
        ``premium_at_risk``, ``risk_band``, ``lever``; ``annual_premium``, ``branch``,
        ``agent`` when the book has them). For ``"reinstatable"``: rows of the reinstatable
        list (``policy_id``, ``lapse_date``, ``annual_premium``, ``branch``, ``agent``).
    list_kind, assignee_kind : str
        One of :data:`LIST_KINDS`, one of :data:`ASSIGNEE_KINDS`.
    assignee : str
        The agent's or the branch's name or code, as the team writes it.
    grace_days : int
        The grace period: a due row's ``grace_end`` is its due date plus this many days.

    Returns
    -------
    DataFrame
        The columns of :data:`QUEUE_COLUMNS` but the last two; ``branch`` and ``agent`` say
        who works the row (an agent's row keeps the policy's branch; a branch's row has no agent).

    Raises
    ------
    ExtractError
        ``queue`` (``blank_assignee``, ``assignee_kind``, ``list_kind``) for a request that cannot be kept.
    """
    name = str(assignee).strip()
    if not name:
        raise ExtractError("queue", reason="blank_assignee")
    if assignee_kind not in ASSIGNEE_KINDS:
        raise ExtractError("queue", reason="assignee_kind", value=assignee_kind, allowed=", ".join(ASSIGNEE_KINDS))
    if list_kind not in LIST_KINDS:
        raise ExtractError("queue", reason="list_kind", value=list_kind, allowed=", ".join(LIST_KINDS))
    out = pd.DataFrame({"policy_id": rows[S.POLICY_ID].astype(str).to_numpy()}, index=rows.index)
    out["list_kind"], out["assignee_kind"], out["assignee"] = list_kind, assignee_kind, name
    policy_branch = nullable(_column(rows, S.BRANCH))
    out["branch"] = name if assignee_kind == BRANCH else policy_branch.map(lambda v: None if v is None else str(v))
    out["agent"] = name if assignee_kind == AGENT else None
    if list_kind == DUE:
        due = pd.to_datetime(_column(rows, "paid_to_date"), errors="coerce")
        out["state"] = _column(rows, "state")
        out["due_date"] = _dates(due)
        out["grace_end"] = _dates(due + pd.Timedelta(days=grace_days))
    else:
        out["state"] = LAPSED_STATE
        out["due_date"] = _dates(_column(rows, "lapse_date"))
        out["grace_end"] = None
    for column in ("probability", "annual_premium", "premium_at_risk"):
        out[column] = pd.to_numeric(_column(rows, column), errors="coerce").astype(float)
    for column in ("risk_band", "lever"):
        out[column] = nullable(_column(rows, column))
    return out.reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (NaN and NaT as None) for the database driver."""
    records = frame.astype(object).to_dict("records")
    return [{str(k): None if blank(v) else float(v) if isinstance(v, np.floating) else v for k, v in r.items()} for r in records]


def _upsert(connection: sa.Connection, records: list[dict[str, Any]]) -> None:
    """Insert the assignments, replacing those of the same policies (one statement, so two sessions never collide)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(ASSIGNMENTS)
        connection.execute(pg.on_conflict_do_update(index_elements=["policy_id"], set_={c: pg.excluded[c] for c in UPDATED}), records)
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(ASSIGNMENTS)
    connection.execute(lite.on_conflict_do_update(index_elements=["policy_id"], set_={c: lite.excluded[c] for c in UPDATED}), records)


def assign(store: Store, rows: pd.DataFrame, *, at: dt.datetime, by: str | None = None) -> int:
    """Keep the assignments ``rows`` (as :func:`queue_rows` makes them); return how many.

    ``at`` is when (UTC), ``by`` who assigned them (the signed-in user, or None when sign-in
    is off). A policy already in the queue is assigned anew (the latest assignment wins).
    """
    if rows.empty:
        return 0
    frame = rows.drop_duplicates("policy_id", keep="last").assign(assigned_at=at, assigned_by=by)
    with store.engine.begin() as connection:
        _upsert(connection, _records(frame[list(QUEUE_COLUMNS)]))
    return len(frame)


def unassign(store: Store, policy_ids: Iterable[str]) -> int:
    """Take policies out of the queue (their outcomes stay); return how many were in it."""
    ids = [str(p) for p in policy_ids]
    if not ids:
        return 0
    with store.engine.begin() as connection:
        return int(connection.execute(ASSIGNMENTS.delete().where(ASSIGNMENTS.c.policy_id.in_(ids))).rowcount or 0)


def assignments(store: Store) -> pd.DataFrame:
    """Every assignment (:data:`QUEUE_COLUMNS`), the latest first."""
    query = sa.select(*(raw(c) for c in ASSIGNMENTS.columns)).order_by(ASSIGNMENTS.c.assigned_at.desc(), ASSIGNMENTS.c.policy_id)
    frame = read_frame(store, query, dates=("due_date", "grace_end", "assigned_at"))
    for column in ("probability", "annual_premium", "premium_at_risk"):
        frame[column] = frame[column].astype(float)
    return frame


def work_queue(store: Store) -> pd.DataFrame:
    """The queue with each policy's outcomes so far: :data:`QUEUE_COLUMNS` and :data:`LATEST_COLUMNS`.

    ``attempts`` counts the outcomes recorded for the policy (any assignee); ``last_*`` are the
    latest by outcome date, then by the order they were recorded.
    """
    queue = assignments(store)
    latest = (
        sa.select(
            OUTCOMES.c.policy_id,
            OUTCOMES.c.outcome,
            raw(OUTCOMES.c.outcome_date),
            OUTCOMES.c.note,
            OUTCOMES.c.recorded_by,
            sa.func.count().over(partition_by=OUTCOMES.c.policy_id).label("attempts"),
            sa.func.row_number()
            .over(partition_by=OUTCOMES.c.policy_id, order_by=(OUTCOMES.c.outcome_date.desc(), OUTCOMES.c.id.desc()))
            .label("rank"),
        )
        .where(OUTCOMES.c.policy_id.in_(sa.select(ASSIGNMENTS.c.policy_id)))
        .subquery()
    )
    last = read_frame(store, sa.select(latest).where(latest.c.rank == 1), dates=("outcome_date",))
    last = last.drop(columns="rank").rename(
        columns={"outcome": "last_outcome", "outcome_date": "last_outcome_date", "note": "last_note", "recorded_by": "last_recorded_by"}
    )
    out = queue.merge(last, on="policy_id", how="left")
    out["attempts"] = pd.to_numeric(out["attempts"]).fillna(0).astype(int)
    out["last_outcome_date"] = pd.to_datetime(out["last_outcome_date"])
    return out[[*QUEUE_COLUMNS, *LATEST_COLUMNS]]
