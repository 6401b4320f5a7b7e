"""Payment behaviour as lapse-risk drivers, known at an as-of date: engine expressions over the payment history.

For a policy at an as-of date A (a training row's as-of date, or the study date for scoring),
each premium due of its history (the rows of one policy and due date taken together: a failed
debit and its retry are one due) is read as it stood **before A**:

* the due's *known day* K is its first paid date, or — when it was still unpaid — its due date
  plus the grace period (:data:`~analysis.schema.GRACE_DAYS` days by default): an unpaid due
  tells nothing until its grace has run out. K is the earlier of the two, so a premium paid
  after the grace (a reinstatement) is known late on the day its grace ran out;
* the due counts at A only when K is before A. A due not yet due at A, a premium paid on or
  after A and an unpaid due still inside its grace at A are not seen, whatever happened later:
  a payment after the as-of date never changes the row's features (no leakage);
* its *delay* is ``K − due date`` in days (0 when paid early), so at most the grace; it is
  *late* when the delay exceeds :data:`LATE_AFTER_DAYS` days;
* its *method* is the method of its first payment (a code of
  :data:`analysis.payments.table.METHODS`), known on that payment's day.

The features, over the :data:`WINDOW_MONTHS` months before A (K on or after ``A − 12 months``
and before A):

* ``late_payments_12m`` — late dues (0 when none);
* ``max_delay_days_12m`` — the largest delay in days (0 when no due is known in the window);
* ``failed_debits_12m`` — dues with a failed automatic debit (扣款失败 = 是) known in the window:
  a flagged row is known on its paid date (the retry), or on its due date plus grace when unpaid;
* ``method_changed_12m`` — whether a payment in the window was made by another method than the
  payment before it (the last one before the window included);
* ``months_since_late`` — whole months from the last late due's known day to A, over the whole
  history before A (blank when never late).

**In the engine.** One ``group_by`` of the history's rows into dues, one join of the dues with
the (policy, as-of day) pairs, one ``group_by`` per pair; every stage is its own ``mutate``. The
first payment's method travels as one integer key ``(paid day + DAY_OFFSET) × METHOD_SCALE +
code`` whose minimum (per due) and maximum (before the window) name the day and the method at
once. Pairs with no due known before A come back with counts 0, delay 0 and no change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeAlias

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.dates import whole_months_ymd, with_ymd
from analysis.engine.stays import with_days
from analysis.payments.table import DUE_DATE, FAILED_DEBIT, METHOD, METHODS, PAID_DATE, PaymentHistory
from analysis.study.calendar import add_months

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

#: A premium paid more than this many days after its due date is late.
LATE_AFTER_DAYS: Final = 10
#: The look-back window of the counts, in months before the as-of date.
WINDOW_MONTHS: Final = 12
#: Day numbers are shifted by this before they enter a method key (keeps keys non-negative).
DAY_OFFSET: Final = 1_000_000
#: The method key's multiplier of the day (above every method code).
METHOD_SCALE: Final = 8
#: Each method's integer code in the key.
METHOD_CODES: Final = {method: code for code, method in enumerate(METHODS)}
#: The features, as the training and scoring rows name them.
LATE_PAYMENTS: Final = "late_payments_12m"
MAX_DELAY: Final = "max_delay_days_12m"
FAILED_DEBITS: Final = "failed_debits_12m"
METHOD_CHANGED: Final = "method_changed_12m"
MONTHS_SINCE_LATE: Final = "months_since_late"
PAYMENT_FEATURES: Final = (LATE_PAYMENTS, MAX_DELAY, FAILED_DEBITS, METHOD_CHANGED, MONTHS_SINCE_LATE)
#: The features' types in the rows (counts and days as integers, months blank when never late).
FEATURE_TYPES: Final = {
    LATE_PAYMENTS: "int64",
    MAX_DELAY: "int64",
    FAILED_DEBITS: "int64",
    METHOD_CHANGED: "bool",
    MONTHS_SINCE_LATE: "float64",
}
#: The columns of the (policy, as-of day) pairs the features are asked for.
PAIR_COLUMNS: Final = (S.POLICY_ID, "as_of_day")
#: A payment history as the features take it.
Payments: TypeAlias = PaymentHistory | pd.DataFrame | ir.Table


def feature_rows(payments: Payments) -> pd.DataFrame | ir.Table:
    """The columns the features read: ``[policy_id, due_date, paid_date, method, failed_debit]`` (the last two when present)."""
    if isinstance(payments, PaymentHistory):
        payments = payments.payments
    present = list(payments.columns)
    columns = [S.POLICY_ID, DUE_DATE, PAID_DATE, *(c for c in (METHOD, FAILED_DEBIT) if c in present)]
    return payments[columns] if isinstance(payments, pd.DataFrame) else payments.select(*columns)


def due_rows(payments: ir.Table, policies: ir.Table, *, grace_days: int = S.GRACE_DAYS, before_day: int | None = None) -> ir.Table:
    """One row per policy and due date: ``[policy, due_day, known_day, delay, late, failed_day, method_key]``.

    ``payments`` has ``policy_id``, ``due_date``, ``paid_date`` (null: not paid) and, when the
    history has them, ``method`` (codes of :data:`~analysis.payments.table.METHODS`) and
    ``failed_debit``. ``failed_day`` is the known day of the due's first row flagged as a failed
    debit (its paid date, or due date plus grace when unpaid; null when none). See the module
    notes for the known day, the delay and the method key.

    ``policies`` is ``[pair_policy, policy]``: the policy numbers (text) asked about and an
    integer standing for each; only their rows are kept and ``policy`` is that integer (an
    integer key groups and joins several times faster than text). Only rows known before
    ``before_day`` (the latest as-of day) are grouped when it is given: a row known on or after
    it (paid then, or unpaid with its grace running then) changes no feature, since a due's known
    day, failed day and first payment come from rows known earlier whenever they are seen at all.
    """
    staged = with_days(payments, [DUE_DATE, PAID_DATE])
    null_key = ibis.null().cast("int64")
    if METHOD in staged.columns:
        code = ibis.cases(*((staged[METHOD] == method, number) for method, number in METHOD_CODES.items()), else_=null_key)
    else:
        code = null_key
    failed = staged[FAILED_DEBIT].cast("boolean").fill_null(False) if FAILED_DEBIT in staged.columns else ibis.literal(False)
    rows = staged.select(
        pay_policy=staged[S.POLICY_ID].cast("string"),
        due_day=staged[f"{DUE_DATE}_day"],
        paid_day=staged[f"{PAID_DATE}_day"],
        code=code.cast("int64"),
        failed=failed,
    )
    rows = rows.filter(rows.due_day.notnull())
    rows = rows.join(policies, rows.pay_policy == policies.pair_policy).drop("pay_policy", "pair_policy")
    ends = rows.due_day + grace_days
    rows = rows.mutate(row_known=(rows.paid_day.notnull() & (rows.paid_day < ends)).ifelse(rows.paid_day, ends).cast("int64"))
    if before_day is not None:
        rows = rows.filter(rows.row_known < before_day)
    with_method = rows.paid_day.notnull() & rows.code.notnull()
    rows = rows.mutate(
        method_key=with_method.ifelse((rows.paid_day + DAY_OFFSET) * METHOD_SCALE + rows.code, null_key),
        failed_known=rows.failed.ifelse(rows.row_known, null_key),
    )
    dues = rows.group_by(["policy", "due_day"]).aggregate(
        known_day=rows.row_known.min(), failed_day=rows.failed_known.min(), method_key=rows.method_key.min()
    )
    delay = dues.known_day - dues.due_day
    dues = dues.mutate(delay=(delay > 0).ifelse(delay, 0).cast("int64"))
    return dues.mutate(late=dues.delay > LATE_AFTER_DAYS).select(
        "policy", "due_day", "known_day", "delay", "late", "failed_day", "method_key"
    )


def payment_features_expr(pairs: ir.Table, dues: ir.Table) -> ir.Table:
    """Per pair: ``[pair, late_payments_12m, max_delay_days_12m, failed_debits_12m, method_changed_12m, months_since_late]``.

    ``pairs`` has ``pair`` (a row number), ``policy`` (the integer of :func:`due_rows`), ``as_of_day`` and
    ``window_day`` (the as-of day minus :data:`WINDOW_MONTHS` months); ``dues`` is
    :func:`due_rows`. Only pairs with a due or a payment known before their as-of day come back.
    """
    joined = pairs.join(dues, "policy").select("pair", "as_of_day", "window_day", "known_day", "delay", "late", "failed_day", "method_key")
    method_day = (joined.method_key // METHOD_SCALE).cast("int64") - DAY_OFFSET
    joined = joined.mutate(method_day=method_day, code=(joined.method_key % METHOD_SCALE).cast("int64"))
    joined = joined.filter((joined.known_day < joined.as_of_day) | (joined.method_day < joined.as_of_day).fill_null(False))
    failed_seen = (joined.failed_day < joined.as_of_day).fill_null(False) & (joined.failed_day >= joined.window_day).fill_null(False)
    seen = (joined.known_day < joined.as_of_day) & (joined.known_day >= joined.window_day)
    known = joined.known_day < joined.as_of_day
    paid_seen = (joined.method_day < joined.as_of_day).fill_null(False)
    paid_in_window = paid_seen & (joined.method_day >= joined.window_day).fill_null(False)
    paid_before = paid_seen & (joined.method_day < joined.window_day).fill_null(False)
    per_pair = joined.group_by(["pair", "as_of_day"]).aggregate(
        late_count=(seen & joined.late).cast("int64").sum(),
        max_delay=joined.delay.max(where=seen),
        failed_count=failed_seen.cast("int64").sum(),
        last_late_day=joined.known_day.max(where=known & joined.late),
        window_low=joined.code.min(where=paid_in_window),
        window_high=joined.code.max(where=paid_in_window),
        before_key=joined.method_key.max(where=paid_before),
    )
    per_pair = per_pair.mutate(before_code=(per_pair.before_key % METHOD_SCALE).cast("int64"))
    changed = (per_pair.window_low != per_pair.window_high).fill_null(False) | (per_pair.before_code != per_pair.window_low).fill_null(
        False
    )
    parts = with_ymd(per_pair.mutate(changed=changed), "last_late_day", "as_of_day")
    months = whole_months_ymd(
        parts.last_late_day_y, parts.last_late_day_m, parts.last_late_day_d, parts.as_of_day_y, parts.as_of_day_m, parts.as_of_day_d
    )
    return parts.select(
        "pair",
        **{
            LATE_PAYMENTS: parts.late_count,
            MAX_DELAY: parts.max_delay.fill_null(0).cast("int64"),
            FAILED_DEBITS: parts.failed_count,
            METHOD_CHANGED: parts.changed,
            MONTHS_SINCE_LATE: months.cast("float64"),
        },
    )


def payment_features(
    pairs: pd.DataFrame, payments: Payments, *, grace_days: int = S.GRACE_DAYS, backend: BaseBackend | None = None
) -> pd.DataFrame:
    """The payment features of each (policy, as-of day) pair, worked out in the engine.

    Parameters
    ----------
    pairs : DataFrame
        ``[policy_id, as_of_day]``: the policies and their as-of dates as day numbers (days
        since 1970-01-01); a policy may appear at several days.
    payments : PaymentHistory, DataFrame or ibis Table
        The history (``policy_id``, ``due_date``, ``paid_date``, and ``method`` and
        ``failed_debit`` when known); an ibis Table stays in its engine.
    grace_days : int
        The grace period: an unpaid due is known late this many days after its due date.
    backend : ibis backend, optional
        Where to work (DuckDB by default; an ibis Table's own backend wins).

    Returns
    -------
    DataFrame
        On ``pairs``' index: :data:`PAYMENT_FEATURES` (counts and the delay as int64, the
        months as float with NaN for blank, the change as bool). See the module notes for
        what each one means.
    """
    paid, engine = bind(feature_rows(payments), backend)
    as_of = pairs["as_of_day"].to_numpy(dtype=np.int64)
    window = add_months(as_of.astype("datetime64[D]"), -WINDOW_MONTHS).astype(np.int64)
    codes, names = pd.factorize(pairs[S.POLICY_ID].astype("string").to_numpy())
    frame = pd.DataFrame(
        {
            "pair": np.arange(len(pairs), dtype=np.int64),
            "policy": codes.astype(np.int64),
            "as_of_day": as_of,
            "window_day": window,
        }
    )
    if len(frame) == 0:
        return pd.DataFrame({column: pd.Series(dtype=kind) for column, kind in FEATURE_TYPES.items()}, index=pairs.index)
    table, _ = bind(frame, engine)
    policies, _ = bind(
        pd.DataFrame({"pair_policy": pd.array(names, dtype="string"), "policy": np.arange(len(names), dtype=np.int64)}), engine
    )
    dues = due_rows(paid, policies, grace_days=grace_days, before_day=int(as_of.max()))
    found = run(engine, payment_features_expr(table, dues)).set_index("pair")
    found = found.reindex(np.arange(len(pairs), dtype=np.int64))
    out = pd.DataFrame(index=pairs.index)
    for column in (LATE_PAYMENTS, MAX_DELAY, FAILED_DEBITS):
        out[column] = found[column].fillna(0).to_numpy(dtype=np.int64)
    out[MONTHS_SINCE_LATE] = found[MONTHS_SINCE_LATE].to_numpy(dtype=float)
    out[METHOD_CHANGED] = found[METHOD_CHANGED].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return out[list(PAYMENT_FEATURES)]
