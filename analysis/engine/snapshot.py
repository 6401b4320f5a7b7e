"""The book's status snapshot and the study month's collections funnel, as one engine aggregate.

The definitions are those of :func:`analysis.persistency.overview.status_snapshot` and
:func:`analysis.persistency.overview.collections_funnel`; both are conditional counts (and
premium sums) over the whole book, so they are worked out in a single ``aggregate`` and only
one row comes back.

A date "falls in the study month" when its day number lies in ``[first day, first day of the
next month)``; a premium fell due in the study month when the policy's previous due date
(its paid-to date less one payment interval, for a paid policy) lies in that month.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis import schema as S
from analysis.engine.dates import add_months, day_of
from analysis.engine.persistency import PREMIUM_TYPE, _number
from analysis.engine.stays import with_days

#: Statuses the snapshot counts as in force.
IN_FORCE_GROUP: Final = (S.IN_FORCE, S.APL, S.REINSTATED, S.PAID_UP)
#: Statuses of a policy whose premium was paid (the funnel's ``paid`` stage).
PAID_GROUP: Final = (S.IN_FORCE, S.REINSTATED, S.APL)
#: Months between payments when the extract does not say (annual premiums).
DEFAULT_INTERVAL_MONTHS: Final = 12
#: The snapshot's rows, in order.
SNAPSHOT_ITEMS: Final = ("in_force", "grace", "suspended", "reinstated_this_month", "surrendered_this_month", "surrendered")
#: The funnel's stages, in order.
FUNNEL_STAGES: Final = ("due_this_month", "paid", "in_grace", "suspended_this_month", "reinstated_this_month")
_DATES: Final = (S.STATUS_DATE, S.LAPSE_DATE, S.PAID_TO_DATE, S.REINSTATEMENT_DATE)


def _month_days(study_date: pd.Timestamp) -> tuple[int, int]:
    """Day numbers of the study month's first day and of the next month's first day."""
    first = pd.Timestamp(study_date).to_period("M").to_timestamp()
    return day_of(first), day_of(first + pd.offsets.MonthBegin(1))


def _conditions(table: ir.Table, *, study_date: pd.Timestamp) -> tuple[ir.Table, dict[str, ir.BooleanValue]]:
    """The book with day numbers and payment interval staged, and every snapshot item's and funnel stage's condition."""
    start, end = _month_days(study_date)
    staged = with_days(table, list(_DATES))
    interval = (
        _number(staged, S.PAYMENT_FREQUENCY).fill_null(DEFAULT_INTERVAL_MONTHS).cast("int64")
        if S.PAYMENT_FREQUENCY in staged.columns
        else ibis.literal(DEFAULT_INTERVAL_MONTHS, type="int64")
    )
    staged = staged.mutate(interval=interval)
    paid_to = staged[f"{S.PAID_TO_DATE}_day"]
    staged = staged.mutate(previous_due=add_months(paid_to, -staged.interval))
    status = staged[S.STATUS]

    def this_month(day: ir.IntegerValue) -> ir.BooleanValue:
        return ((day >= start) & (day < end)).fill_null(False)

    def status_is(*values: str) -> ir.BooleanValue:
        return status.isin(list(values)).fill_null(False)

    regular = staged.interval > 0
    paid = regular & status_is(*PAID_GROUP) & this_month(staged.previous_due)
    reinstated_now = status_is(S.REINSTATED) & this_month(staged[f"{S.REINSTATEMENT_DATE}_day"])
    conditions = {
        "in_force": status_is(*IN_FORCE_GROUP),
        "grace": status_is(S.GRACE),
        "suspended": status_is(S.LAPSED),
        "reinstated_this_month": reinstated_now,
        "surrendered_this_month": status_is(S.SURRENDERED) & this_month(staged[f"{S.STATUS_DATE}_day"]),
        "surrendered": status_is(S.SURRENDERED),
        "paid": paid,
        "in_grace": regular & status_is(S.GRACE) & this_month(paid_to),
        "suspended_this_month": status_is(S.LAPSED) & this_month(staged[f"{S.LAPSE_DATE}_day"]),
    }
    return staged, conditions


def book_status_expr(table: ir.Table, *, study_date: pd.Timestamp) -> ir.Table:
    """One row: ``<item>_policies`` and ``<item>_premium`` per snapshot item, ``<stage>_policies`` per stage, ``paid_to_known``.

    Premiums are summed as exact decimals (:data:`~analysis.engine.persistency.PREMIUM_TYPE`),
    so the totals do not depend on the engine or the order of addition.
    """
    staged, conditions = _conditions(table, study_date=study_date)
    premium = (
        _number(staged, S.ANNUAL_PREMIUM).fill_null(0.0).cast(PREMIUM_TYPE)
        if S.ANNUAL_PREMIUM in staged.columns
        else ibis.literal(0, type=PREMIUM_TYPE)
    )
    zero = ibis.literal(0, type=PREMIUM_TYPE)
    sums: dict[str, ir.Value] = {"paid_to_known": staged[f"{S.PAID_TO_DATE}_day"].count().cast("int64")}
    for name, condition in conditions.items():
        sums[f"{name}_policies"] = condition.ifelse(1, 0).sum().fill_null(0).cast("int64")
        if name in SNAPSHOT_ITEMS:
            sums[f"{name}_premium"] = condition.ifelse(premium, zero).sum()
    return staged.aggregate(**sums)


def snapshot_frame(row: pd.Series) -> pd.DataFrame:
    """``[item, policies, premium]`` from :func:`book_status_expr`'s row."""
    return pd.DataFrame(
        {
            "item": list(SNAPSHOT_ITEMS),
            "policies": [int(row[f"{item}_policies"]) for item in SNAPSHOT_ITEMS],
            "premium": [float(row[f"{item}_premium"]) if pd.notna(row[f"{item}_premium"]) else 0.0 for item in SNAPSHOT_ITEMS],
        }
    )


def funnel_frame(row: pd.Series) -> pd.DataFrame | None:
    """``[stage, policies]`` from :func:`book_status_expr`'s row; None when no policy has a paid-to date."""
    if int(row["paid_to_known"]) == 0:
        return None
    paid, grace = int(row["paid_policies"]), int(row["in_grace_policies"])
    counts = [paid + grace, paid, grace, int(row["suspended_this_month_policies"]), int(row["reinstated_this_month_policies"])]
    return pd.DataFrame({"stage": list(FUNNEL_STAGES), "policies": counts})
