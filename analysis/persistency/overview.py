"""The management overview: persistency KPIs, trend, status and collections, and the page's figures in one call.

League tables are in :mod:`analysis.persistency.league`.

Everything is computed from the canonical policies and the study date; the Overview page
(through ``ui/overview.py``'s cache) and the monthly report both take their figures from
:func:`overview_figures`. Definitions are those of :mod:`analysis.persistency.ratios`; the
triangle and the projection are in :mod:`analysis.persistency.projection`.

**How sure a headline is.** Each KPI carries a 95 % interval and the noise of its change
against last year, so a small book's figures are read as what they are:

* count basis: the Wilson score interval on persisting / policies;
* premium basis (a ratio of premium sums): the same Wilson interval taken with the
  *effective* number of policies ``n_eff = (Σ premium)² / Σ premium²`` (Kish), an
  approximation that equals the count basis when every premium is the same and shrinks
  when a few large premiums carry the ratio;
* the change against the same window a year earlier is *within noise* when
  ``|Δ| < NOISE_Z · SE``, with ``SE = sqrt(p₁(1 − p₁)/n₁ + p₀(1 − p₀)/n₀)`` the standard
  error of a difference of two independent proportions (n the effective count on the
  premium basis): a change that small could be chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import run
from analysis.engine.snapshot import book_status_expr, funnel_frame, snapshot_frame
from analysis.payments.funnel import payments_funnel
from analysis.payments.persistency import IN_FORCE_APPROXIMATION, persistency_definition
from analysis.persistency.maturity import TrendStatement, observed_cells, recording_lag, trend_maturity, trend_statements
from analysis.persistency.projection import TRIANGLE_MONTHS, development_from_cells, heading, triangle_and_projection_of
from analysis.persistency.ratios import (
    DEFAULT_OPTIONS,
    HEADLINE_MONTHS,
    Payments,
    PersistencyOptions,
    payment_rows,
    persistency_book,
    persistency_cells,
    persistency_ratios,
    regroup_cells,
    with_ratios,
)
from analysis.study.rates import Z95, wilson_interval

#: Stated defaults: agency 13-month targets are ≥ 85 % in China (DOMAIN.md §4); 25-month 80 %.
DEFAULT_TARGETS = {13: 0.85, 25: 0.80}
#: The trend's issue cohorts unless asked otherwise.
TREND_COHORT = "quarter"
#: A change against last year smaller than this many standard errors of the difference is within noise (95 %, two-sided).
NOISE_Z = Z95


@dataclass(frozen=True)
class Basis:
    """One basis (count or premium) of a KPI: the ratio, its 95 % interval, last year's, and the noise of the change.

    Attributes
    ----------
    value, last_year : float
        Persistency in the window and in the same window a year earlier (NaN when none).
    lower, upper : float
        95 % interval of ``value`` (see the module's notes: Wilson, with the effective number
        of policies on the premium basis).
    noise : float
        ``NOISE_Z`` standard errors of ``value − last_year``; NaN without last year.
    n, n_last_year : float
        The number of policies behind each ratio (effective on the premium basis).
    """

    value: float
    lower: float
    upper: float
    last_year: float
    noise: float
    n: float
    n_last_year: float

    @classmethod
    def of(cls, value: float, n: float, last_year: float, n_last_year: float) -> Basis:
        """From the ratios and the (effective) numbers of policies behind them, in the window and a year before."""
        lower, upper = (float(x[0]) for x in wilson_interval(np.array([value * n]), np.array([n])))
        both = n > 0 and n_last_year > 0
        variance = value * (1 - value) / n + last_year * (1 - last_year) / n_last_year if both else float("nan")
        return cls(value, lower, upper, last_year, NOISE_Z * float(np.sqrt(variance)), n, n_last_year)

    @property
    def change(self) -> float:
        """Change against the same window a year earlier."""
        return self.value - self.last_year

    @property
    def within_noise(self) -> bool:
        """The change is smaller than its noise (False when there is no last year to compare with)."""
        return bool(abs(self.change) < self.noise)


@dataclass(frozen=True)
class Kpi:
    """One persistency figure for the latest rolling 12 issue months that are fully observed at the month.

    ``count_basis`` and ``premium_basis`` (:class:`Basis`) carry each ratio with its 95 %
    interval, last year's ratio and the noise of the change; ``policies`` is the window's count;
    ``settling`` names the newer issue months that reached the month but are left out because
    they are not fully observed yet (:func:`~analysis.persistency.maturity.observed_cells`).
    """

    month: int
    window: tuple[str, str]
    policies: int
    target: float
    count_basis: Basis
    premium_basis: Basis
    settling: tuple[str, ...] = ()

    @property
    def count(self) -> float:
        """Count-basis persistency of the window."""
        return self.count_basis.value

    @property
    def premium(self) -> float:
        """Premium-basis persistency of the window."""
        return self.premium_basis.value

    @property
    def count_last_year(self) -> float:
        """Count-basis persistency of the same window a year earlier."""
        return self.count_basis.last_year

    @property
    def premium_last_year(self) -> float:
        """Premium-basis persistency of the same window a year earlier."""
        return self.premium_basis.last_year

    @property
    def count_vs_last_year(self) -> float:
        """Change in count-basis persistency against the same window a year earlier."""
        return self.count_basis.change

    @property
    def premium_vs_last_year(self) -> float:
        """Change in premium-basis persistency against the same window a year earlier."""
        return self.premium_basis.change


def _ratios(frame: pd.DataFrame) -> tuple[float, float, float, float]:
    """Count-basis ratio, policies, premium-basis ratio and premium of some monthly cohorts (NaN ratios when empty)."""
    policies, premium = float(frame["cohort_policies"].sum()), float(frame["cohort_premium"].sum())
    count = float(frame["persisting"].sum()) / policies if policies else float("nan")
    weighted = float(frame["persisting_premium"].sum()) / premium if premium else float("nan")
    return count, policies, weighted, premium


def _bases(current: pd.DataFrame, previous: pd.DataFrame) -> tuple[Basis, Basis]:
    """Count and premium bases of one KPI from its window's and last year's monthly cohorts (cells with ``premium_squares``)."""

    def effective(frame: pd.DataFrame, premium: float) -> float:
        # Kish's effective number of policies behind a premium-weighted ratio: (Σw)² / Σw².
        square = float(frame["premium_squares"].sum()) if len(frame) else 0.0
        return premium**2 / square if square > 0 else 0.0

    count, n, weighted, premium = _ratios(current)
    count_ly, n_ly, weighted_ly, premium_ly = _ratios(previous)
    return (
        Basis.of(count, n, count_ly, n_ly),
        Basis.of(weighted, effective(current, premium), weighted_ly, effective(previous, premium_ly)),
    )


def persistency_kpis(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    months: Sequence[int] = HEADLINE_MONTHS,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    targets: dict[int, float] | None = None,
    payments: Payments | None = None,
) -> list[Kpi]:
    """P13, P25… of the latest rolling 12 fully observed issue months, and the same 12 months a year before.

    The window is the 12 issue months ending with the last month whose every policy reached
    month N (N + 1 when measuring with grace) *and is fully observed*: without a payment
    history a lapse is recorded only after the grace period, so the month must also have
    passed its evaluation date by ``options.grace_days`` (:mod:`analysis.persistency.maturity`);
    with ``payments`` (persistency on premiums received) the two coincide. The reached months
    left out are the KPI's ``settling``. Each basis comes with its 95 % interval and the noise
    of its change against last year (module notes).
    """
    opts = replace(options, months=tuple(months), cohort="month")
    cells = persistency_cells(policies, study_date=study_date, options=opts, payments=payments)
    return kpis_from_cells(
        cells,
        study_date=study_date,
        shift=1 if options.include_grace else 0,
        lag_days=recording_lag(options, payments=payments is not None),
        months=months,
        targets=targets,
    )


def kpis_from_cells(
    cells: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    shift: int,
    lag_days: int,
    months: Sequence[int] = HEADLINE_MONTHS,
    targets: dict[int, float] | None = None,
) -> list[Kpi]:
    """:func:`persistency_kpis` from issue-month cells (:func:`~analysis.persistency.ratios.persistency_cells`).

    The cells need the premium sums at ``months``; ``shift`` (1 at N + 1) and ``lag_days``
    (:func:`~analysis.persistency.maturity.recording_lag`) say which cells are fully observed.
    A month with no fully observed issue month has no KPI.
    """
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    observed = observed_cells(cells, study_date=study_date, shift=shift, lag_days=lag_days)
    reached = cells["reached"].to_numpy(dtype=bool)
    out: list[Kpi] = []
    for month in months:
        at = (cells["month"] == month).to_numpy(dtype=bool)
        rows = cells[at & observed]
        if rows.empty:
            continue
        periods = pd.PeriodIndex(rows["cohort"], freq="M")
        last = periods.max()
        current = rows[(periods > last - 12) & (periods <= last)]
        previous = rows[(periods > last - 24) & (periods <= last - 12)]
        count, premium = _bases(current, previous)
        policies_in = int(current["cohort_policies"].sum())
        unsettled = cells[at & reached & ~observed]
        settling = tuple(sorted(str(c) for c in unsettled["cohort"] if pd.Period(str(c), freq="M") > last))
        window = (str(last - 11), str(last))
        out.append(Kpi(month, window, policies_in, targets.get(month, float("nan")), count, premium, settling))
    return out


def persistency_trend(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    months: Sequence[int] = HEADLINE_MONTHS,
    cohort: str = TREND_COHORT,
    options: PersistencyOptions = DEFAULT_OPTIONS,
) -> pd.DataFrame:
    """Persistency by issue cohort (``[cohort, month, persistency, premium_persistency, cohort_policies]``)."""
    opts = replace(options, months=tuple(months), cohort=cohort)
    ratios = persistency_ratios(policies, study_date=study_date, options=opts)
    return ratios[["cohort", "month", "cohort_policies", "persistency", "premium_persistency"]]


def status_snapshot(policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp) -> pd.DataFrame:
    """Policies and annual premium by status group, and what happened in the study month.

    Returns ``[item, policies, premium]`` for: in force, in grace, suspended (lapsed),
    reinstated this month, surrendered this month, surrendered (all). Counted in the engine
    (:mod:`analysis.engine.snapshot`).
    """
    return snapshot_frame(_book_status(policies, study_date=study_date))


def collections_funnel(
    policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp, grace_days: int = S.GRACE_DAYS
) -> pd.DataFrame | None:
    """Due this month → paid → in grace → suspended → reinstated, from the paid-to date snapshot.

    A premium fell due in the study month when the policy's due date (its paid-to date
    before payment, i.e. paid-to date minus one payment interval for paid policies) lies
    in that month; a policy in grace is due when its paid-to date lies in the month (the
    grace period itself, ``grace_days``, is the status the extract gives). Returns None when
    the extract has no paid-to date. Counted in the engine (:mod:`analysis.engine.snapshot`).
    """
    del grace_days  # the extract's grace status already applies it
    return funnel_frame(_book_status(policies, study_date=study_date))


def _book_status(policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp) -> pd.Series:
    """The one row of :func:`~analysis.engine.snapshot.book_status_expr` for the book."""
    table, engine = persistency_book(policies)
    return run(engine, book_status_expr(table, study_date=study_date)).iloc[0]


@dataclass(frozen=True)
class Heading:
    """Where the cohorts that have not reached a month yet are heading, against the target.

    ``persistency`` is the pooled projection of :func:`~analysis.persistency.projection.heading`
    over ``policies`` in the cohorts ``first`` … ``last``.
    """

    month: int
    persistency: float
    policies: int
    first: str
    last: str
    target: float

    @property
    def meets_target(self) -> bool:
        """The projection reaches the target."""
        return self.persistency >= self.target


@dataclass(frozen=True)
class OverviewFigures:
    """Everything the Overview page shows and the monthly report writes (league tables aside).

    Attributes
    ----------
    kpis : tuple of Kpi
        :func:`persistency_kpis`; empty when no issue month is fully observed at a headline month yet.
    trend : DataFrame
        :func:`persistency_trend` by the chosen issue cohort.
    projection, triangle : DataFrame
        :func:`~analysis.persistency.projection.triangle_and_projection`.
    headings : tuple of Heading
        The projection pooled per headline month that has one, against its target.
    snapshot : DataFrame
        :func:`status_snapshot`.
    funnel : DataFrame or None
        :func:`collections_funnel`; None without paid-to dates.
    """

    kpis: tuple[Kpi, ...]
    trend: pd.DataFrame
    projection: pd.DataFrame
    triangle: pd.DataFrame
    headings: tuple[Heading, ...]
    snapshot: pd.DataFrame
    funnel: pd.DataFrame | None
    #: The persistency definition (``premiums_received`` with a payment history, else ``in_force_approximation``).
    definition: str = IN_FORCE_APPROXIMATION
    #: :func:`~analysis.persistency.maturity.trend_maturity` of ``trend``: which cohorts are fully observed.
    maturity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["cohort", "month", "maturity"]))
    #: :func:`~analysis.persistency.maturity.trend_statements`: the trend over fully observed cohorts only.
    statements: tuple[TrendStatement, ...] = ()
    #: The issue cohort of ``trend`` and ``projection`` (``month``, ``quarter`` or ``year``).
    trend_cohort: str = TREND_COHORT


def overview_figures(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    targets: dict[int, float] | None = None,
    trend_cohort: str = TREND_COHORT,
    payments: Payments | None = None,
) -> OverviewFigures:
    """The overview's figures in one call: KPIs, trend, one-pass triangle and projection, status and collections.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    study_date : Timestamp
        The extract's study date.
    options : PersistencyOptions
        Exclusions, N or N + 1, grace period (``months`` and ``cohort`` are set per figure).
    targets : dict of int to float, optional
        Targets by month, over :data:`DEFAULT_TARGETS`.
    trend_cohort : str
        Issue cohorts of the trend and the projection: ``month``, ``quarter`` or ``year``.
    payments : PaymentHistory or DataFrame, optional
        A payment history: the KPIs, trend, triangle and projection are then on premiums
        received (:mod:`analysis.payments.persistency`) and the funnel counts real payments
        (:func:`analysis.payments.funnel.payments_funnel`); ``definition`` says which was used.

    Returns
    -------
    OverviewFigures
    """
    goals = {**DEFAULT_TARGETS, **(targets or {})}
    book, engine = persistency_book(policies, ids=payments is not None)  # bound to the engine once
    # One issue-month query at every month 0..36 feeds the KPIs, the trend, the triangle and the projection.
    top = max(TRIANGLE_MONTHS, *HEADLINE_MONTHS)
    every_month = replace(options, months=tuple(range(top + 1)), cohort="month")
    monthly = persistency_cells(book, study_date=study_date, options=every_month, premium=HEADLINE_MONTHS, payments=payments)
    grains = ("month",) if trend_cohort == "month" else ("month", trend_cohort)
    developed = development_from_cells(monthly, study_date=study_date, grains=grains, max_month=top, include_grace=options.include_grace)
    triangle, projection = triangle_and_projection_of(developed)
    headings = []
    for month in HEADLINE_MONTHS:
        ahead = heading(projection, month)
        if ahead is not None:
            headings.append(Heading(month, *ahead, target=goals.get(month, float("nan"))))
    headline = monthly[monthly["month"].isin(HEADLINE_MONTHS)].reset_index(drop=True)
    status = run(engine, book_status_expr(book, study_date=study_date)).iloc[0]
    shift = 1 if options.include_grace else 0
    trend = _trend_from_cells(headline, study_date=study_date, cohort=trend_cohort, shift=shift)
    # Without payments a lapse is recorded after its grace period: the newest reached cohorts may still be settling,
    # and the KPIs and the trend statements leave them out.
    lag = recording_lag(options, payments=payments is not None)
    maturity = trend_maturity(trend, grain=trend_cohort, study_date=study_date, shift=shift, lag_days=lag)
    return OverviewFigures(
        kpis=tuple(kpis_from_cells(headline, study_date=study_date, shift=shift, lag_days=lag, targets=targets)),
        trend=trend,
        projection=projection,
        triangle=triangle,
        headings=tuple(headings),
        snapshot=snapshot_frame(status),
        funnel=funnel_frame(status) if payments is None else payments_funnel(book, payment_rows(payments), study_date=study_date),
        definition=persistency_definition(payments),
        maturity=maturity,
        statements=tuple(trend_statements(trend, maturity)),
        trend_cohort=trend_cohort,
    )


def _trend_from_cells(headline: pd.DataFrame, *, study_date: pd.Timestamp, cohort: str, shift: int) -> pd.DataFrame:
    """:func:`persistency_trend` from the issue-month cells at the headline months."""
    cells = regroup_cells(headline, cohort=cohort, study_date=study_date, shift=shift)
    return with_ratios(cells)[["cohort", "month", "cohort_policies", "persistency", "premium_persistency"]]
