"""A customer's file (客户档案): their policies, the payment timeline and the status history, found by an index.

**Who is a customer.** A customer column groups a person's policies: a column of the
extract whose header names a customer number (:data:`CUSTOMER_HEADERS`: 投保人编号, 客户号,
customer_id …, kept by the door as an extra column), else the ID number (``id_number``,
证件号码) when the door mapped one. Without either, every policy is its own file
(:func:`customer_column` returns None and the page says so).

**Found in constant time.** :func:`index_book` and :func:`index_payments` are built once per
book and history (a hash index of policy numbers, and the rows sorted by customer and by
policy with their boundaries); a lookup then costs a hash probe and a slice, never a scan of
the book or of the tens of millions of payment rows.

**The timeline** (:func:`payment_timeline`) has one row per premium due (a failed debit and
its retry are one due): its first paid date, the delay in days, whether any debit of it
failed, and its state (:data:`TIMELINE_STATES`) — ``on_time``, ``late`` (paid more than
:data:`LATE_AFTER_DAYS` days after the due date, as the model's payment features count it),
``in_grace`` (unpaid, grace not over at the study date) or ``unpaid``.

**The status history** (:func:`status_history`) is what a snapshot extract can tell: issue,
lapse and reinstatement dates, the dated current status, and the status on the study date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Mapping

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.headers import header_key
from analysis.payments.table import AMOUNT, DUE_DATE, FAILED_DEBIT, METHOD, PAID_DATE

#: Headers of a customer-number column (compared by :func:`~analysis.ingest.headers.header_key`).
CUSTOMER_HEADERS: Final = (
    "投保人编号",
    "投保人客户号",
    "投保人客户编号",
    "投保人代码",
    "客户号",
    "客户编号",
    "客户代码",
    "客户id",
    "customer_id",
    "customer_no",
    "customer_number",
    "client_id",
    "holder_id",
    "policyholder_id",
)
#: A premium paid more than this many days after its due date is late (the payment features' rule).
LATE_AFTER_DAYS: Final = 10
ON_TIME, LATE, IN_GRACE, UNPAID = "on_time", "late", "in_grace", "unpaid"
TIMELINE_STATES: Final = (ON_TIME, LATE, IN_GRACE, UNPAID)
TIMELINE_COLUMNS: Final = (S.POLICY_ID, DUE_DATE, PAID_DATE, "delay_days", AMOUNT, METHOD, FAILED_DEBIT, "state")
#: Events of the status history.
ISSUED, LAPSED_EVENT, REINSTATED_EVENT, STATUS_DATED, AT_STUDY_DATE = "issued", "lapsed", "reinstated", "status_dated", "at_study_date"
HISTORY_EVENTS: Final = (ISSUED, LAPSED_EVENT, REINSTATED_EVENT, STATUS_DATED, AT_STUDY_DATE)
HISTORY_COLUMNS: Final = (S.POLICY_ID, "date", "event", S.STATUS)


def customer_column(policies: pd.DataFrame, *, sources: Mapping[str, str] | None = None) -> str | None:
    """The column that names a policy's customer: a customer-number column, else ``id_number``; None without either.

    A column is a customer number when its header — or, for a column the door mapped, the
    file's own header (``sources``: column → source header, the load's mapping) — is one of
    :data:`CUSTOMER_HEADERS`: a file's 投保人编号 that the door read as the applicant's ``name``
    still groups by customer. A column qualifies only when it holds at least one value.
    """
    wanted = {header_key(h) for h in CUSTOMER_HEADERS}
    headers = dict(sources or {})
    for column in policies.columns:
        if header_key(headers.get(str(column), column)) in wanted and policies[column].notna().any():
            return str(column)
    if S.ID_NUMBER in policies.columns and policies[S.ID_NUMBER].notna().any():
        return S.ID_NUMBER
    return None


def _text(values: pd.Series) -> np.ndarray:
    return values.astype("string").str.strip().fillna("").to_numpy(dtype=object)


@dataclass(frozen=True)
class BookIndex:
    """Row positions of the book by policy number and by customer (see the module's notes)."""

    column: str | None
    policy_ids: pd.Index
    customer_keys: np.ndarray
    customer_order: np.ndarray

    def policy_rows(self, policy_id: str) -> np.ndarray:
        """The positions of the rows with this policy number (empty when none)."""
        found = self.policy_ids.get_indexer(pd.Index([str(policy_id).strip()]))
        if found[0] >= 0 or not self.policy_ids.has_duplicates:
            return found[found >= 0].astype(np.int64)
        return np.flatnonzero(self.policy_ids == str(policy_id).strip())

    def customer_rows(self, key: str) -> np.ndarray:
        """The positions of the customer's policies (empty without a customer column or an unknown key)."""
        if self.column is None or not str(key).strip():
            return np.array([], dtype=np.int64)
        left, right = (
            np.searchsorted(self.customer_keys, [str(key).strip()], side="left")[0],
            np.searchsorted(self.customer_keys, [str(key).strip()], side="right")[0],
        )
        return np.sort(self.customer_order[left:right]).astype(np.int64)

    def customer_of(self, position: int, policies: pd.DataFrame) -> str:
        """The customer key of the policy at ``position`` ('' without a customer column or value)."""
        if self.column is None:
            return ""
        value = policies[self.column].iloc[position]
        return "" if pd.isna(value) else str(value).strip()

    def find(self, text: str, policies: pd.DataFrame) -> tuple[str, np.ndarray]:
        """The file a search opens: ``(customer key, positions)`` of a customer key or a policy number, exact match.

        A policy number opens its customer's whole file (or the policy alone, without a
        customer column); the key is '' then. Nothing found: ``('', empty)``.
        """
        wanted = str(text).strip()
        rows = self.customer_rows(wanted)
        if len(rows):
            return wanted, rows
        rows = self.policy_rows(wanted)
        if len(rows) == 0:
            return "", rows
        key = self.customer_of(int(rows[0]), policies)
        return (key, self.customer_rows(key)) if key else ("", rows)


def index_book(policies: pd.DataFrame, *, column: str | None = None, sources: Mapping[str, str] | None = None) -> BookIndex:
    """The book's index by policy number and by customer (``column``; by default :func:`customer_column` with ``sources``)."""
    column = customer_column(policies, sources=sources) if column is None else column
    ids = pd.Index(_text(policies[S.POLICY_ID]))
    ids.get_indexer(ids[:1])  # the hash table is built now, once, not on the first search
    if column is None:
        return BookIndex(None, ids, np.array([], dtype=object), np.array([], dtype=np.int64))
    keys = _text(policies[column]).astype(str)
    order = np.argsort(keys, kind="stable")
    return BookIndex(column, ids, keys[order], order.astype(np.int64))


@dataclass(frozen=True)
class PaymentIndex:
    """The history's rows grouped by policy: policy ``i`` of ``policy_ids`` owns ``order[starts[i]:starts[i + 1]]``."""

    policy_ids: pd.Index
    starts: np.ndarray
    order: np.ndarray

    def rows(self, policy_ids: list[str]) -> np.ndarray:
        """The positions (in the history) of these policies' payments, in the history's order."""
        codes = self.policy_ids.get_indexer(pd.Index([str(p) for p in policy_ids]))
        parts = [self.order[self.starts[c] : self.starts[c + 1]] for c in codes if c >= 0]
        return np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)


def index_payments(payments: pd.DataFrame) -> PaymentIndex:
    """:class:`PaymentIndex` of a history's ``policy_id`` column (one factorisation and one stable sort, once)."""
    codes, uniques = pd.factorize(payments[S.POLICY_ID].astype("string"), use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(counts)]) + int((codes < 0).sum())
    ids = pd.Index(np.asarray(uniques, dtype=object).astype(str))
    ids.get_indexer(ids[:1])  # the hash table is built now, once, not on the first file opened
    return PaymentIndex(ids, starts.astype(np.int64), order.astype(np.int64))


def payment_timeline(payments: pd.DataFrame, *, study_date: pd.Timestamp, grace_days: int = S.GRACE_DAYS) -> pd.DataFrame:
    """One row per premium due of a few policies' payments: ``TIMELINE_COLUMNS``, by policy and due date.

    Parameters
    ----------
    payments : DataFrame
        Rows of a payment history (``policy_id, due_date, paid_date`` and optionally
        ``amount, method, failed_debit``); a due's rows are taken together.
    study_date : Timestamp
        The book's study date: an unpaid due whose grace runs past it is ``in_grace``.
    grace_days : int
        The grace period after a missed due, in days.

    Returns
    -------
    DataFrame
        ``paid_date`` the due's first payment (NaT unpaid); ``delay_days`` paid − due in days
        (0 when paid early; blank unpaid); ``amount`` and ``method`` of its first payment;
        ``failed_debit`` True when any of its debits failed; ``state`` of :data:`TIMELINE_STATES`.
    """
    if payments.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TIMELINE_COLUMNS})
    rows = payments.copy()
    for column in (AMOUNT, METHOD, FAILED_DEBIT):
        if column not in rows:
            rows[column] = pd.NA
    rows["_paid"] = rows[PAID_DATE].fillna(pd.Timestamp.max)
    rows = rows.sort_values([S.POLICY_ID, DUE_DATE, "_paid"], kind="stable")
    grouped = rows.groupby([S.POLICY_ID, DUE_DATE], sort=True, observed=True)
    dues = grouped.first()[[AMOUNT, METHOD]].join(grouped[PAID_DATE].min()).reset_index()
    failed = rows[FAILED_DEBIT].astype("boolean").fillna(False).astype(bool)
    dues[FAILED_DEBIT] = failed.groupby([rows[S.POLICY_ID], rows[DUE_DATE]], sort=True, observed=True).any().to_numpy()
    paid = dues[PAID_DATE].notna().to_numpy()
    delay = (dues[PAID_DATE] - dues[DUE_DATE]).dt.days.clip(lower=0)
    dues["delay_days"] = delay.astype("Int64")
    grace_over = (dues[DUE_DATE] + pd.Timedelta(days=grace_days) < pd.Timestamp(study_date)).to_numpy()
    dues["state"] = np.where(
        paid, np.where(delay.fillna(0).to_numpy() > LATE_AFTER_DAYS, LATE, ON_TIME), np.where(grace_over, UNPAID, IN_GRACE)
    )
    return dues[list(TIMELINE_COLUMNS)]


def status_history(policies: pd.DataFrame, *, study_date: pd.Timestamp) -> pd.DataFrame:
    """What the extract tells of a few policies' statuses, dated: ``HISTORY_COLUMNS``, by policy and date.

    Events (:data:`HISTORY_EVENTS`): ``issued`` (issue date), ``lapsed`` (lapse date),
    ``reinstated`` (reinstatement date), ``status_dated`` (the current status at its status
    date, when the extract dates it) and ``at_study_date`` (the status on the study date).
    The ``status`` column is the status code the event leads to.
    """
    parts = []
    dated = (
        (ISSUED, S.ISSUE_DATE, S.IN_FORCE),
        (LAPSED_EVENT, S.LAPSE_DATE, S.LAPSED),
        (REINSTATED_EVENT, S.REINSTATEMENT_DATE, S.REINSTATED),
        (STATUS_DATED, S.STATUS_DATE, None),
    )
    for event, column, status in dated:
        if column not in policies:
            continue
        known = policies[policies[column].notna()]
        parts.append(
            pd.DataFrame(
                {
                    S.POLICY_ID: known[S.POLICY_ID].astype(str).to_numpy(),
                    "date": known[column].to_numpy(),
                    "event": event,
                    S.STATUS: known[S.STATUS].astype(str).to_numpy() if status is None else status,
                }
            )
        )
    parts.append(
        pd.DataFrame(
            {
                S.POLICY_ID: policies[S.POLICY_ID].astype(str).to_numpy(),
                "date": pd.Timestamp(study_date),
                "event": AT_STUDY_DATE,
                S.STATUS: policies[S.STATUS].astype(str).to_numpy(),
            }
        )
    )
    history = pd.concat(parts, ignore_index=True)
    order = history["event"].map({e: i for i, e in enumerate(HISTORY_EVENTS)})
    return history.assign(_o=order).sort_values([S.POLICY_ID, "date", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


@dataclass(frozen=True)
class CustomerFile:
    """One customer's file: the key and the column it was found by (None: grouped by policy), policies, timeline, history."""

    key: str
    column: str | None
    policies: pd.DataFrame
    timeline: pd.DataFrame
    history: pd.DataFrame


def customer_file(
    policies: pd.DataFrame,
    positions: np.ndarray,
    *,
    study_date: pd.Timestamp,
    key: str = "",
    column: str | None = None,
    payments: pd.DataFrame | None = None,
    payment_index: PaymentIndex | None = None,
    grace_days: int = S.GRACE_DAYS,
) -> CustomerFile:
    """Assemble the file of the policies at ``positions`` (one customer's, from :meth:`BookIndex.find`).

    ``payments`` is the matched history's rows and ``payment_index`` its
    :func:`index_payments` (built once): the timeline then takes only these policies' rows.
    Without a history the timeline is empty.
    """
    rows = policies.iloc[np.asarray(positions, dtype=np.int64)]
    timeline = payment_timeline(pd.DataFrame(columns=[S.POLICY_ID, DUE_DATE, PAID_DATE]), study_date=study_date)
    if payments is not None:
        index = payment_index if payment_index is not None else index_payments(payments)
        mine = payments.iloc[index.rows(rows[S.POLICY_ID].astype(str).tolist())]
        timeline = payment_timeline(mine, study_date=study_date, grace_days=grace_days)
    return CustomerFile(key, column, rows, timeline, status_history(rows, study_date=study_date))
