"""Persistency cells as engine expressions: ``group × issue period`` → policies and premium persisting at each month.

The definitions are those of :mod:`analysis.persistency.ratios` (``DOMAIN.md`` §2.1). Each
policy's voluntary exit is dated at the premium it missed (a lapse: the paid-to date, or the
suspension date less the grace period and a day; a surrender: its status date); a lapsed
policy reinstated on or before the evaluation date persists. The evaluation date at month N
is ``issue + N months`` (``N + 1`` with grace), so each policy needs only two integers:

* ``first_out``, the first month at which it has left: the exit falls before
  ``issue + (m + shift) months`` exactly when ``m >= whole_months(issue, exit) + 1 − shift``;
* ``back_at``, the first month at which its reinstatement counts: the smallest ``j`` with
  ``issue + j months >= reinstatement``, less the shift.

A policy persists at month ``m`` when ``m < first_out`` or ``m >= back_at``. The cells are one
``group_by`` over the book with two sums per month; cohort labels, cohort end days and
whether a cohort has reached a month are worked out on the small result
(:func:`analysis.persistency.ratios.persistency_cells`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.dates import days_in_month, ymd
from analysis.engine.stays import with_days

#: A month no policy reaches: ``first_out`` / ``back_at`` of a policy that never leaves / never comes back.
NEVER = 1_000_000
#: Months in each issue period of a cohort grain.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: Text of a true ``waiver`` flag (a boolean column is read as it is).
WAIVER_TRUE = ("1", "true", "yes", "y", "是")
#: Statuses an exclusion leaves out.
EXCLUDED_STATUSES = {"free_look": S.FREE_LOOK_CANCELLED, "death": S.DEATH_CLAIM, "maturity": S.MATURED}
#: Premiums are summed as decimals of this type (exact, so a figure does not change between runs).
PREMIUM_TYPE = "decimal(38, 6)"
#: Stacked cells (:func:`cell_sums` with ``stack``) name their group by these columns: which column, and its value as text.
DIMENSION, GROUP = "_dimension", "_group"
_LAPSE_LIKE = sorted({S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED})


def _number(table: ir.Table, column: str) -> ir.NumericValue:
    """A numeric column as float (text is read as a number where it is one)."""
    value = table[column]
    return value.cast("float64") if value.type().is_numeric() else value.try_cast("float64")


def excluded(table: ir.Table, exclude: Iterable[str]) -> ir.BooleanValue:
    """True for the policies left out of persistency by the chosen exclusions (single premium, free look, …)."""
    exclude = frozenset(exclude)
    out: ir.BooleanValue = ibis.literal(False)
    if "single_premium" in exclude and S.PAYMENT_FREQUENCY in table.columns:
        out = out | (_number(table, S.PAYMENT_FREQUENCY) == 0).fill_null(False)
    statuses = sorted(status for name, status in EXCLUDED_STATUSES.items() if name in exclude)
    if statuses:
        out = out | table[S.STATUS].isin(statuses).fill_null(False)
    if "waiver" in exclude and S.WAIVER in table.columns:
        flag = table[S.WAIVER]
        waived = flag if flag.type().is_boolean() else flag.cast("string").lower().isin(list(WAIVER_TRUE))
        out = out | waived.fill_null(False)
    return out


def _exits(table: ir.Table, *, grace_days: int) -> ir.Table:
    """``issue_day``, ``exit_day`` (the missed due date or surrender day, null without a voluntary exit), ``back_day``, ``premium``."""
    staged = with_days(table, [S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.PAID_TO_DATE, S.REINSTATEMENT_DATE])
    status = staged[S.STATUS]
    paid_to, lapse_day = staged[f"{S.PAID_TO_DATE}_day"], staged[f"{S.LAPSE_DATE}_day"]
    reinstated = (status == S.REINSTATED).fill_null(False)
    missed_due = (paid_to.notnull() & ~reinstated).ifelse(paid_to, lapse_day - (grace_days + 1))
    missed_due = (lapse_day.isnull() & paid_to.notnull()).ifelse(paid_to, missed_due)
    null_day = ibis.null().cast("int64")
    exit_day = status.isin(_LAPSE_LIKE).fill_null(False).ifelse(missed_due, null_day)
    exit_day = (status == S.SURRENDERED).fill_null(False).ifelse(staged[f"{S.STATUS_DATE}_day"], exit_day)
    premium = _number(staged, S.ANNUAL_PREMIUM).fill_null(0.0) if S.ANNUAL_PREMIUM in staged.columns else ibis.literal(0.0)
    staged = staged.mutate(
        issue_day=staged[f"{S.ISSUE_DATE}_day"],
        exit_day=exit_day.cast("int64"),
        back_day=reinstated.ifelse(staged[f"{S.REINSTATEMENT_DATE}_day"], null_day).cast("int64"),
        # Exact decimal sums: the same premium totals on every run and engine, whatever the order of addition.
        premium=premium.cast(PREMIUM_TYPE),
    )
    return staged.filter(staged.issue_day.notnull())


def _smaller(a: ir.IntegerValue, b: ir.IntegerValue) -> ir.IntegerValue:
    return (a < b).ifelse(a, b)


def _first_months(table: ir.Table, *, shift: int, step: int) -> ir.Table:
    """Add ``first_out``, ``back_at`` (months, :data:`NEVER` when none) and ``period`` (issue period key).

    Calendar parts are staged as columns (year, month and day of issue, exit and
    reinstatement), so no date expression is inlined into another.
    """
    issue = table.issue_day
    iy, im, idd = ymd(issue)
    ey, em, ed = ymd(table.exit_day.fill_null(issue))
    ry, rm, rd = ymd(table.back_day.fill_null(issue))
    parts = table.mutate(iy=iy, im=im, idd=idd, ey=ey, em=em, ed=ed, ry=ry, rm=rm, rd=rd)
    # The monthiversary in the exit's (reinstatement's) calendar month: the issue day clipped to that month.
    exit_mark = _smaller(parts.idd, days_in_month(parts.ey, parts.em))
    back_mark = _smaller(parts.idd, days_in_month(parts.ry, parts.rm))
    # whole_months: the last monthiversary on or before the day; the first one on or after it is
    # the same month when the day is a monthiversary, else the next.
    k_exit = (parts.ey - parts.iy) * 12 + (parts.em - parts.im) - (parts.ed < exit_mark).cast("int64")
    k_back = (parts.ry - parts.iy) * 12 + (parts.rm - parts.im) - (parts.rd < back_mark).cast("int64")
    staged = parts.mutate(
        k_exit=k_exit.cast("int64"),
        back_month=(k_back + (parts.rd != back_mark).cast("int64")).cast("int64"),
        # Issue periods counted from year 0, so the division has non-negative operands on every engine.
        period=((parts.iy * 12 + parts.im - 1) // step).cast("int64"),
    )
    first_out = staged.k_exit + 1 - shift
    back_at = staged.back_month - shift
    return staged.mutate(
        first_out=staged.exit_day.isnull().ifelse(NEVER, (first_out < 0).ifelse(0, first_out)).cast("int64"),
        back_at=staged.back_day.isnull().ifelse(NEVER, (back_at < 0).ifelse(0, back_at)).cast("int64"),
    )


def persistency_cells_expr(
    table: ir.Table,
    *,
    months: Sequence[int],
    cohort: str,
    exclude: Iterable[str],
    include_grace: bool,
    grace_days: int,
    by: Sequence[str] = (),
    premium: bool | Sequence[int] = True,
    stack: Sequence[str] = (),
) -> ir.Table:
    """``[*by, period, cohort_policies, cohort_premium, premium_squares, persisting_<m>, persisting_premium_<m> …]``.

    One row per group and issue period that has policies after the exclusions; ``period``
    counts issue periods (months, quarters or years of :data:`PERIOD_MONTHS`) from year 0.
    ``persisting_<m>`` and ``persisting_premium_<m>`` are the policies and annual premium
    persisting at month ``m`` (not yet restricted to cohorts that reached it); without
    ``premium`` (the triangle counts policies only) the ``persisting_premium_<m>`` sums are left out;
    given months, only those months' premium sums are taken. With ``stack``, the cells of every
    group of each of those columns, in one pass (:func:`cell_sums`).
    """
    kept = table.filter(~excluded(table, exclude))
    policies = _first_months(_exits(kept, grace_days=grace_days), shift=1 if include_grace else 0, step=PERIOD_MONTHS[cohort])
    persists = {month: (policies.first_out > month) | (policies.back_at <= month) for month in dict.fromkeys(months)}
    return cell_sums(policies, persists, by=by, premium=premium, stack=stack)


def cell_sums(
    policies: ir.Table,
    persists: dict[int, ir.BooleanValue],
    *,
    by: Sequence[str] = (),
    premium: bool | Sequence[int] = True,
    stack: Sequence[str] = (),
) -> ir.Table:
    """The wide cells from one row per policy (``issue_day``, ``premium``, ``period``, ``by``) and whether it persists at each month.

    Shared by the in-force approximation and the premiums-received definition
    (:mod:`analysis.payments.persistency`), so both give the same columns.

    ``stack``: columns whose groups each get their cells, as if the book were stacked once per
    column — the cells are ``[*by, DIMENSION, GROUP, period, …]`` with :data:`DIMENSION` the
    column's name and :data:`GROUP` its value as text. The policies are staged once (on an engine
    that computes a shared step once, as DuckDB does; Spark may stage them again in each branch):
    summed by every stacked column together, then those sums summed again per column (every sum
    is additive). Groups are taken before the value is read as text, so a float column's 0.0 and
    −0.0 are one group (as in :func:`analysis.persistency.league.league_table`).
    """
    sums: dict[str, ir.Value] = {
        "cohort_policies": policies.issue_day.count().cast("int64"),
        "cohort_premium": policies.premium.sum(),
        "premium_squares": (policies.premium * policies.premium).sum(),
    }
    for month, persisting in persists.items():
        sums[f"persisting_{month}"] = persisting.ifelse(1, 0).sum().cast("int64")
        if premium is True or (not isinstance(premium, bool) and month in premium):
            sums[f"persisting_premium_{month}"] = persisting.ifelse(policies.premium, ibis.literal(0, type=PREMIUM_TYPE)).sum()
    if not stack:
        return policies.group_by([*by, "period"]).aggregate(**sums)
    fine = policies.group_by([*dict.fromkeys([*by, *stack]), "period"]).aggregate(**sums)
    again = {name: fine[name].sum().cast(fine[name].type()) for name in sums}
    parts = [
        fine.group_by([*by, ibis.literal(column).name(DIMENSION), fine[column].cast("string").name(GROUP), "period"]).aggregate(**again)
        for column in dict.fromkeys(stack)
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def long_cells(wide: pd.DataFrame, *, months: Sequence[int], by: Sequence[str] = ()) -> pd.DataFrame:
    """The engine's wide cells in long form.

    Returns ``[*by, period, month, cohort_policies, persisting, cohort_premium,
    persisting_premium, premium_squares]``, one row per cell and month.
    """
    keys = [*by, "period", "cohort_policies", "cohort_premium", "premium_squares"]
    parts = [
        wide[keys].assign(
            month=month,
            persisting=wide[f"persisting_{month}"].astype("int64"),
            persisting_premium=wide[f"persisting_premium_{month}"].astype(float) if f"persisting_premium_{month}" in wide else np.nan,
        )
        for month in dict.fromkeys(months)
    ]
    columns = [*by, "period", "month", "cohort_policies", "persisting", "cohort_premium", "persisting_premium", "premium_squares"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)[columns]
    out["cohort_policies"] = out["cohort_policies"].astype("int64")
    out["cohort_premium"] = out["cohort_premium"].astype(float)
    out["premium_squares"] = out["premium_squares"].astype(float)
    return out
