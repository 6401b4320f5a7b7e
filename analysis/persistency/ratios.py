"""Persistency ratios (继续率) by issue cohort: 13/25/37/49/61-month, count and premium basis.

``../shared/DOMAIN.md`` §2.1. A cohort is the regular-premium business issued in one
month, quarter or year; a cohort counts for month N only once every policy in it has
reached month N by the study date. Persistency is never "the share currently lapsed".

Without payment history, "the premium due by month N was received" is approximated by
"the policy was in force (or reinstated) at month N", with a lapse dated at the premium
it missed — the paid-to date when the extract has it, otherwise the suspension date less
the grace period and one day. A policy persists at month N when:

* it never left by a voluntary exit, or left on or after the evaluation date
  ``issue + N months`` (``issue + N + 1 months`` when measuring at N + 1 to include grace);
* a lapsed policy reinstated on or before the evaluation date persists.

Excluded from numerator and denominator (each can be switched off): single premium
(payment frequency 0), free-look cancellations, death and claim terminations, maturities,
and waiver-of-premium policies (a true value in a ``waiver`` column, if the extract has one).

The counting is done in the engine (:mod:`analysis.engine.persistency`: one ``group_by`` over
the book gives every ``group × issue period × month`` cell); cohort labels, cohort end days,
whether a cohort has reached a month, and the ratios are worked out here on those cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence, TypeAlias

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.persistency import DIMENSION, GROUP, PERIOD_MONTHS, long_cells, persistency_cells_expr
from analysis.errors import ExtractError
from analysis.payments.persistency import received_cells_expr
from analysis.payments.table import DUE_DATE, PAID_DATE, PaymentHistory
from analysis.study.calendar import add_months

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

EXCLUSIONS = ("single_premium", "free_look", "death", "maturity", "waiver")
#: The durations management reads first: 13- and 25-month persistency.
HEADLINE_MONTHS = (13, 25)
COHORT_GRAINS = {"month": "issue_month", "quarter": "issue_quarter", "year": "issue_year"}


@dataclass(frozen=True)
class PersistencyOptions:
    """How persistency is measured.

    Attributes
    ----------
    months : tuple of int
        Durations (13, 25, ...).
    cohort : str
        Issue cohorts by ``month``, ``quarter`` or ``year``.
    exclude : frozenset of str
        Any of :data:`EXCLUSIONS`.
    include_grace : bool
        Measure at month N + 1 instead of N.
    grace_days : int
        Grace period, used to date a lapse's missed premium when there is no paid-to date.
    """

    months: tuple[int, ...] = HEADLINE_MONTHS
    cohort: str = "year"
    exclude: frozenset[str] = frozenset(EXCLUSIONS)
    include_grace: bool = False
    grace_days: int = S.GRACE_DAYS


DEFAULT_OPTIONS = PersistencyOptions()
#: Bases of a persistency table: share of policies, or of their annual premium.
BASES = ("count", "premium")
#: A payment history as the persistency functions take it.
Payments: TypeAlias = PaymentHistory | pd.DataFrame | ir.Table


def payment_rows(payments: Payments) -> pd.DataFrame | ir.Table:
    """The columns persistency reads from a payment history: ``[policy_id, due_date, paid_date]``."""
    if isinstance(payments, PaymentHistory):
        payments = payments.payments
    columns = [S.POLICY_ID, DUE_DATE, PAID_DATE]
    return payments[columns] if isinstance(payments, pd.DataFrame) else payments.select(*columns)


def cohort_end_days(labels: np.ndarray, cohort: str) -> np.ndarray:
    """The last calendar day of each distinct issue-period label (``2023``, ``2023Q2``, ``2023-05``)."""
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[cohort]
    if len(labels) == 0:
        return np.array([], dtype="datetime64[D]")
    return pd.PeriodIndex([str(v) for v in labels], freq=freq).to_timestamp(how="end").normalize().to_numpy(dtype="datetime64[D]")


def persistency_ratios(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    by: Sequence[str] = (),
    backend: BaseBackend | None = None,
    payments: Payments | None = None,
) -> pd.DataFrame:
    """Count- and premium-basis persistency at each month, by issue cohort and group.

    Parameters
    ----------
    policies : DataFrame or ibis Table
        Canonical policies: ``issue_date``, ``status`` and whichever of ``status_date``,
        ``lapse_date``, ``paid_to_date``, ``reinstatement_date`` the extract has;
        ``annual_premium`` for the premium basis.
    study_date : Timestamp
        Only cohorts whose every policy reached the evaluation month count.
    options : PersistencyOptions
    by : sequence of str
        Group columns (channel, branch...). :func:`pooled_persistency` pools the cohorts.
    backend : ibis backend, optional
        The engine a pandas book is bound to (DuckDB by default); an ibis Table keeps its own.
    payments : PaymentHistory, DataFrame or ibis Table, optional
        A payment history (``policy_id``, ``due_date``, ``paid_date``): persisting then means
        the premium was received (:mod:`analysis.payments.persistency`, definition
        ``premiums_received``); without it, the in-force approximation above
        (``in_force_approximation``; :func:`analysis.payments.persistency.persistency_definition`).

    Returns
    -------
    DataFrame
        ``[*by, cohort, month, cohort_policies, persisting, persistency,
        cohort_premium, persisting_premium, premium_persistency]``, computed in the engine
        (:mod:`analysis.engine.persistency`).
    """
    cells = persistency_cells(policies, study_date=study_date, options=options, by=by, backend=backend, payments=payments)
    return with_ratios(cells, by=by)


def with_ratios(cells: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """The cells whose cohort reached its month, with count- and premium-basis ratios (:func:`persistency_ratios`'s columns)."""
    out = cells.loc[cells["reached"].to_numpy(dtype=bool)].reset_index(drop=True)
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out[[*by, "cohort", "month", *RATIO_COLUMNS]]


#: The columns of a persistency table after its group, cohort and month columns.
RATIO_COLUMNS = ["cohort_policies", "persisting", "persistency", "cohort_premium", "persisting_premium", "premium_persistency"]
#: The columns of :func:`persistency_cells`.
CELL_COLUMNS = [
    "period",
    "cohort",
    "month",
    "cohort_policies",
    "persisting",
    "cohort_premium",
    "persisting_premium",
    "premium_squares",
    "reached",
]


def persistency_cells(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    by: Sequence[str] = (),
    backend: BaseBackend | None = None,
    premium: bool | Sequence[int] = True,
    payments: Payments | None = None,
    stack: Sequence[str] = (),
) -> pd.DataFrame:
    """Every ``group × issue cohort × month`` cell, whether or not the cohort has reached the month.

    Without ``premium``, ``persisting_premium`` is NaN (the engine skips those sums); given
    months, it is summed at those months only. With ``payments``, persisting means the
    premium was received (see :func:`persistency_ratios`). With ``stack``, the cells of every
    group of each of those columns, named by ``DIMENSION`` (the column) and ``GROUP`` (its value
    as text) after the ``by`` columns, from one pass over the book
    (:func:`analysis.engine.persistency.cell_sums`).

    Returns
    -------
    DataFrame
        ``[*by, period, cohort, month, cohort_policies, persisting, cohort_premium,
        persisting_premium, premium_squares, reached]`` sorted by group, cohort and month:
        ``period`` numbers the issue periods, ``premium_squares`` is Σ annual premium² (for
        the premium basis' effective count), ``reached`` whether the cohort's last issue day
        had reached the evaluation month by the study date.
    """
    _check_options(policies, options, (*by, *stack))
    table, engine = persistency_book(policies, [*by, *stack], backend, ids=payments is not None)
    groups = [*by, DIMENSION, GROUP] if stack else list(by)
    if payments is not None:
        paid, _ = bind(payment_rows(payments), engine)
        expression = received_cells_expr(
            table,
            paid,
            months=options.months,
            cohort=options.cohort,
            exclude=options.exclude,
            include_grace=options.include_grace,
            by=by,
            premium=premium,
            stack=stack,
        )
    else:
        expression = persistency_cells_expr(
            table,
            months=options.months,
            cohort=options.cohort,
            exclude=options.exclude,
            include_grace=options.include_grace,
            grace_days=options.grace_days,
            by=by,
            premium=premium,
            stack=stack,
        )
    cells = long_cells(run(engine, expression), months=options.months, by=groups)
    if isinstance(policies, pd.DataFrame):  # the groups keep the book's types (categories, booleans, text)
        for column in by:
            cells[column] = cells[column].astype(policies[column].dtype)
    return label_cells(cells, cohort=options.cohort, study_date=study_date, shift=1 if options.include_grace else 0, by=groups)


def persistency_book(
    policies: pd.DataFrame | ir.Table, by: Sequence[str] = (), backend: BaseBackend | None = None, *, ids: bool = False
) -> tuple[ir.Table, BaseBackend]:
    """The book bound to its engine (:func:`analysis.engine.backend.bind`) with only the columns persistency reads.

    ``ids``: keep the policy numbers too (to join a payment history).
    """
    needed = [S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.PAID_TO_DATE, S.REINSTATEMENT_DATE, S.ANNUAL_PREMIUM]
    needed += [S.PAYMENT_FREQUENCY, S.WAIVER, *by, *([S.POLICY_ID] if ids else [])]
    return bind(policies, backend, columns=needed)


def label_cells(cells: pd.DataFrame, *, cohort: str, study_date: pd.Timestamp, shift: int, by: Sequence[str] = ()) -> pd.DataFrame:
    """Name each cell's issue cohort (``2023``, ``2023Q2``, ``2023-05``), mark whether it reached its month, and sort.

    A cohort counts at month N once the last day of its issue period has reached month N
    (N + ``shift``) by the study date.
    """
    periods, inverse = np.unique(cells["period"].to_numpy(dtype=np.int64), return_inverse=True)
    labels = np.array([_label(int(p), cohort) for p in periods], dtype=object)
    ends = cohort_end_days(labels, cohort)[inverse]
    study_day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    out = cells.assign(cohort=labels[inverse])
    out["reached"] = add_months(ends, cells["month"].to_numpy(dtype=np.int64) + shift) <= study_day if len(cells) else []
    out = out.sort_values([*by, "cohort", "month"], kind="stable").reset_index(drop=True)
    return out[[*by, *CELL_COLUMNS]]


def _label(period: int, cohort: str) -> str:
    """The label of an issue period counted from year 0 (months, quarters or years)."""
    if cohort == "year":
        return f"{period}"
    if cohort == "quarter":
        return f"{period // 4}Q{period % 4 + 1}"
    return f"{period // 12}-{period % 12 + 1:02d}"


def regroup_cells(monthly: pd.DataFrame, *, cohort: str, study_date: pd.Timestamp, shift: int) -> pd.DataFrame:
    """Issue-month cells (no groups) pooled into quarter or year cohorts: sums regrouped, reach recomputed."""
    if cohort == "month":
        return monthly
    step = PERIOD_MONTHS[cohort]
    sums = ["cohort_policies", "persisting", "cohort_premium", "persisting_premium", "premium_squares"]
    pooled = monthly.assign(period=monthly["period"] // step).groupby(["period", "month"], sort=True)[sums].sum().reset_index()
    return label_cells(pooled, cohort=cohort, study_date=study_date, shift=shift)


def _check_options(policies: pd.DataFrame | ir.Table, options: PersistencyOptions, by: Sequence[str]) -> None:
    """Refuse an unknown cohort grain or exclusion, and group columns the policies lack."""
    if options.cohort not in COHORT_GRAINS:
        raise ExtractError("bad_option", reason="persistency_cohort", cohort=options.cohort)
    unknown = set(options.exclude) - set(EXCLUSIONS)
    if unknown:
        raise ExtractError("bad_option", reason="persistency_exclusions", unknown=sorted(unknown), allowed=", ".join(EXCLUSIONS))
    missing = [c for c in by if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_policies", column=missing[0])


def pooled_persistency(ratios: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """All eligible cohorts together: sums regrouped, ratios recomputed."""
    sums = ["cohort_policies", "persisting", "cohort_premium", "persisting_premium"]
    out = ratios.groupby([*by, "month"], observed=True, dropna=False)[sums].sum().reset_index()
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out


def persistency_table(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    by: Sequence[str] = (),
    basis: str = "count",
    backend: BaseBackend | None = None,
    payments: Payments | None = None,
) -> pd.DataFrame:
    """Pooled persistency by group and month, as ``python -m analysis persistency`` prints it (``payments``: :func:`persistency_ratios`).

    Returns
    -------
    DataFrame
        ``[*by, month, cohort_policies, persisting, persistency]`` and, on the ``premium``
        basis, ``cohort_premium, persisting_premium, premium_persistency``: all eligible
        cohorts of :func:`persistency_ratios` together (:func:`pooled_persistency`).
    """
    ratios = persistency_ratios(policies, study_date=study_date, options=options, by=by, backend=backend, payments=payments)
    ratios = pooled_persistency(ratios, by=by)
    columns = [*by, "month", "cohort_policies", "persisting", "persistency"]
    if basis == "premium":
        columns += ["cohort_premium", "persisting_premium", "premium_persistency"]
    return ratios[columns]
