"""Persistency on premiums received (``DOMAIN.md`` §2.1) as engine expressions over the payments joined to the book.

With a payment history, a policy of cohort C persists at month N (13, 25, … = 12k + 1) when its
(k + 1)-th policy-year premium — the first payment row whose due date is on or after ``issue +
12k months`` — was received (its paid date) on or before the evaluation date ``issue + N
months`` (``N + 1`` months with ``include_grace``). A month that is not of the form 12k + 1
takes k = (N − 1) // 12 (month 0: the first premium, received by the issue date). A lapsed
policy that was reinstated persists exactly when that premium was paid by the evaluation date
(reinstatement collects it); a policy with no due row on or after ``issue + 12k months`` (its
billing stopped: lapsed, surrendered, or a single premium when that exclusion is switched off)
does not persist. The exclusions, the cohorts and the rule for when a cohort has reached month
N are those of :mod:`analysis.persistency.ratios`; the premium basis weights by the book's
annual premium.

**In the engine, one join and one ``group_by``.** For every year index k, each payment row of
a policy whose due date is on or after ``issue + 12k months`` gets a sort key
``(due day + DAY_OFFSET) × SCALE + low`` where ``low`` is the days from due to paid plus
:data:`DELAY_OFFSET` (:data:`UNPAID` when not paid); the smallest key per policy names the
first such due date and, among the rows of that due date, the earliest paid date. Both are
read back from the key with integer division of non-negative numbers (the same on every
engine). Every stage is its own ``mutate``.
"""

from __future__ import annotations

from typing import Final, Iterable, Sequence

import ibis
import ibis.expr.types as ir

from analysis import schema as S
from analysis.engine.dates import add_months_ymd, days_in_month, with_ymd
from analysis.engine.persistency import PERIOD_MONTHS, PREMIUM_TYPE, cell_sums, excluded
from analysis.engine.stays import with_days
from analysis.payments.table import DUE_DATE, PAID_DATE

#: The definitions a persistency figure can be measured on, and the words that name them.
PREMIUMS_RECEIVED: Final = "premiums_received"
IN_FORCE_APPROXIMATION: Final = "in_force_approximation"
DEFINITIONS: Final = (PREMIUMS_RECEIVED, IN_FORCE_APPROXIMATION)
DEFINITION_KEYS: Final = {
    PREMIUMS_RECEIVED: "persistency.definition.premiums_received",
    IN_FORCE_APPROXIMATION: "persistency.definition.in_force_approximation",
}
#: Day numbers are shifted by this before they enter a key (keeps keys non-negative back to year −700).
DAY_OFFSET: Final = 1_000_000
#: Days from due to paid are shifted by this (a premium paid up to ~2,700 years early still sorts).
DELAY_OFFSET: Final = 1_000_000
#: The key's multiplier of the due day, and the ``low`` part of an unpaid row (sorts after every paid row).
SCALE: Final = 10_000_000
UNPAID: Final = SCALE - 1


def persistency_definition(payments: object | None) -> str:
    """The definition a persistency figure is measured on: :data:`PREMIUMS_RECEIVED` with payments, else the approximation."""
    return IN_FORCE_APPROXIMATION if payments is None else PREMIUMS_RECEIVED


def _book_thresholds(table: ir.Table, *, months: Sequence[int], step: int, by: Sequence[str]) -> ir.Table:
    """``[policy_id, *by, issue_day, premium, issue_day_y/m/d, period, due_from_<k>…]`` of the kept policies with an issue date."""
    staged = with_days(table, [S.ISSUE_DATE])
    premium = staged[S.ANNUAL_PREMIUM] if S.ANNUAL_PREMIUM in staged.columns else ibis.literal(0.0)
    premium = premium.cast("float64") if premium.type().is_numeric() else premium.try_cast("float64")
    staged = staged.mutate(issue_day=staged[f"{S.ISSUE_DATE}_day"], premium=premium.fill_null(0.0).cast(PREMIUM_TYPE))
    staged = staged.filter(staged.issue_day.notnull()).select(S.POLICY_ID, *by, "issue_day", "premium")
    parts = with_ymd(staged, "issue_day")
    y, m, d = parts.issue_day_y, parts.issue_day_m, parts.issue_day_d
    return parts.mutate(
        period=((y * 12 + m - 1) // step).cast("int64"),
        **{f"due_from_{k}": add_months_ymd(y, m, d, 12 * k) for k in _years(months)},
    )


def _received_months(policies: ir.Table, years: Sequence[int]) -> ir.Table:
    """Add ``received_<k>``: the first month j with ``issue + j months`` on or after the paid day (null when not paid).

    So the premium was received by ``issue + M months`` exactly when ``received_<k> <= M``: one
    integer per policy and year instead of one date per month (the engine's SQL stays small).
    """
    parts = with_ymd(policies, *(f"paid_{k}" for k in years))
    out: dict[str, ir.Value] = {}
    for k in years:
        py, pm, pd_ = parts[f"paid_{k}_y"], parts[f"paid_{k}_m"], parts[f"paid_{k}_d"]
        mark = days_in_month(py, pm)
        mark = (parts.issue_day_d < mark).ifelse(parts.issue_day_d, mark)  # the monthiversary in the paid day's month
        whole = (py - parts.issue_day_y) * 12 + (pm - parts.issue_day_m)
        out[f"received_{k}"] = (whole + (pd_ > mark).cast("int64")).cast("int64")
    return parts.mutate(**out)


def _year(month: int) -> int:
    """The year index k whose premium decides month N: (N − 1) // 12, and 0 (the first premium) at month 0."""
    return max(0, (month - 1) // 12)


def _years(months: Sequence[int]) -> list[int]:
    """The year indexes of the months (:func:`_year`)."""
    return sorted({_year(month) for month in months})


def _first_received(book: ir.Table, payments: ir.Table, *, years: Sequence[int]) -> ir.Table:
    """``[pay_policy, due_<k>, paid_<k>…]``: per policy, the first due on or after ``issue + 12k months`` and its earliest paid day."""
    staged = with_days(payments, [DUE_DATE, PAID_DATE])
    # Policy numbers compared as text: a database book may hold them as numbers, a history read through the door holds text.
    rows = staged.select(
        pay_policy=staged[S.POLICY_ID].cast("string"), due_day=staged[f"{DUE_DATE}_day"], paid_day=staged[f"{PAID_DATE}_day"]
    )
    rows = rows.filter(rows.due_day.notnull())
    thresholds = book.select(book[S.POLICY_ID].cast("string").name(S.POLICY_ID), *(f"due_from_{k}" for k in years))
    joined = thresholds.join(rows, thresholds[S.POLICY_ID] == rows.pay_policy).select(
        "pay_policy", "due_day", "paid_day", *(f"due_from_{k}" for k in years)
    )
    delay = (joined.paid_day - joined.due_day + DELAY_OFFSET).clip(lower=0, upper=UNPAID - 1)
    keyed = joined.mutate(base=(joined.due_day + DAY_OFFSET) * SCALE, low=joined.paid_day.isnull().ifelse(UNPAID, delay))
    null_key = ibis.null().cast("int64")
    keyed = keyed.mutate(**{f"key_{k}": (keyed.due_day >= keyed[f"due_from_{k}"]).ifelse(keyed.base + keyed.low, null_key) for k in years})
    firsts = keyed.group_by("pay_policy").aggregate(**{f"key_{k}": keyed[f"key_{k}"].min() for k in years})
    firsts = firsts.mutate(**{f"shifted_{k}": (firsts[f"key_{k}"] // SCALE).cast("int64") for k in years})
    firsts = firsts.mutate(**{f"low_{k}": (firsts[f"key_{k}"] - firsts[f"shifted_{k}"] * SCALE).cast("int64") for k in years})
    null_day = ibis.null().cast("int64")
    out: dict[str, ir.Value] = {}
    for k in years:
        due = firsts[f"shifted_{k}"] - DAY_OFFSET
        out[f"due_{k}"] = due
        out[f"paid_{k}"] = (firsts[f"low_{k}"] == UNPAID).ifelse(null_day, due + firsts[f"low_{k}"] - DELAY_OFFSET)
    return firsts.select("pay_policy", **out)


def received_cells_expr(
    table: ir.Table,
    payments: ir.Table,
    *,
    months: Sequence[int],
    cohort: str,
    exclude: Iterable[str],
    include_grace: bool,
    by: Sequence[str] = (),
    premium: bool | Sequence[int] = True,
    stack: Sequence[str] = (),
) -> ir.Table:
    """The wide cells of :func:`analysis.engine.persistency.persistency_cells_expr`, persisting meaning premium received.

    ``table`` is the book (``policy_id``, ``issue_date``, ``status``, ``annual_premium`` and the
    exclusions' columns); ``payments`` has ``policy_id``, ``due_date`` and ``paid_date`` (null:
    not paid). Returns ``[*by, period, cohort_policies, cohort_premium, premium_squares,
    persisting_<m>, persisting_premium_<m> …]``.
    """
    kept = table.filter(~excluded(table, exclude))
    shift = 1 if include_grace else 0
    carried = [*dict.fromkeys([*by, *stack])]  # the group columns, and the stacked ones (cell_sums)
    book = _book_thresholds(kept, months=months, step=PERIOD_MONTHS[cohort], by=carried)
    years = _years(months)
    firsts = _first_received(book, payments, years=years)
    joined = book.left_join(firsts, book[S.POLICY_ID].cast("string") == firsts.pay_policy)
    ymd_columns = ("issue_day_y", "issue_day_m", "issue_day_d")
    policies = _received_months(
        joined.select(*carried, "issue_day", "premium", "period", *ymd_columns, *(f"paid_{k}" for k in years)), years
    )
    persists = {month: (policies[f"received_{_year(month)}"] <= month + shift).fill_null(False) for month in dict.fromkeys(months)}
    return cell_sums(policies, persists, by=by, premium=premium, stack=stack)
