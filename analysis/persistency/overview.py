"""The management overview: persistency KPIs, trend, league tables, status and collections, and the page's figures in one call.

Everything is computed from the canonical policies and the study date; the Overview page
(through ``ui/overview.py``'s cache) and the monthly report both take their figures from
:func:`overview_figures`. Definitions are those of :mod:`analysis.persistency.ratios`; the
triangle and the projection are in :mod:`analysis.persistency.projection`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import pandas as pd

from analysis import schema as S
from analysis.persistency.projection import heading, triangle_and_projection
from analysis.persistency.ratios import DEFAULT_OPTIONS, HEADLINE_MONTHS, PersistencyOptions, persistency_ratios, pooled_persistency
from analysis.study.calendar import add_months, as_days

#: Stated defaults: agency 13-month targets are ≥ 85 % in China (DOMAIN.md §4); 25-month 80 %.
DEFAULT_TARGETS = {13: 0.85, 25: 0.80}
#: Columns management ranks persistency by (league tables), where the data set has them.
LEAGUE_COLUMNS = ("channel", "branch", "product", "agent")
#: A league table leaves out groups with fewer eligible policies than this (their ratio is noise).
MIN_LEAGUE_POLICIES = 50
#: The trend's issue cohorts unless asked otherwise.
TREND_COHORT = "quarter"


@dataclass(frozen=True)
class Kpi:
    """One persistency figure for the latest rolling 12 issue months that reached the month."""

    month: int
    window: tuple[str, str]
    count: float
    premium: float
    count_last_year: float
    premium_last_year: float
    policies: int
    target: float

    @property
    def count_vs_last_year(self) -> float:
        """Change in count-basis persistency against the same window a year earlier."""
        return self.count - self.count_last_year

    @property
    def premium_vs_last_year(self) -> float:
        """Change in premium-basis persistency against the same window a year earlier."""
        return self.premium - self.premium_last_year


def _ratio(frame: pd.DataFrame) -> tuple[float, float, int]:
    policies = float(frame["cohort_policies"].sum())
    premium = float(frame["cohort_premium"].sum())
    count = float(frame["persisting"].sum()) / policies if policies else float("nan")
    weighted = float(frame["persisting_premium"].sum()) / premium if premium else float("nan")
    return count, weighted, int(policies)


def persistency_kpis(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    months: Sequence[int] = HEADLINE_MONTHS,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    targets: dict[int, float] | None = None,
) -> list[Kpi]:
    """P13, P25… of the latest rolling 12 issue months that reached the month, and a year before.

    The window is the 12 issue months ending with the last month whose every policy
    reached month N by the study date (N + 1 when measuring with grace).
    """
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    monthly = persistency_ratios(
        policies,
        study_date=study_date,
        options=replace(options, months=tuple(months), cohort="month"),
    )
    out: list[Kpi] = []
    for month in months:
        rows = monthly[monthly["month"] == month]
        if rows.empty:
            continue
        periods = pd.PeriodIndex(rows["cohort"], freq="M")
        last = periods.max()
        current = rows[(periods > last - 12) & (periods <= last)]
        previous = rows[(periods > last - 24) & (periods <= last - 12)]
        count, premium, n = _ratio(current)
        count_ly, premium_ly, _ = _ratio(previous)
        out.append(Kpi(month, (str(last - 11), str(last)), count, premium, count_ly, premium_ly, n, targets.get(month, float("nan"))))
    return out


def persistency_trend(
    policies: pd.DataFrame,
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


def league_table(
    policies: pd.DataFrame,
    by: str,
    *,
    study_date: pd.Timestamp,
    month: int = 13,
    min_policies: int = MIN_LEAGUE_POLICIES,
    options: PersistencyOptions = DEFAULT_OPTIONS,
) -> pd.DataFrame:
    """Persistency at one month by a group column, worst first, groups below ``min_policies`` left out."""
    opts = replace(options, months=(month,))
    pooled = pooled_persistency(persistency_ratios(policies, study_date=study_date, options=opts, by=(by,)), by=(by,))
    pooled = pooled[pooled["cohort_policies"] >= min_policies]
    return pooled.sort_values("persistency").reset_index(drop=True)[
        [by, "cohort_policies", "persisting", "persistency", "premium_persistency"]
    ]


def status_snapshot(policies: pd.DataFrame, *, study_date: pd.Timestamp) -> pd.DataFrame:
    """Policies and annual premium by status group, and what happened in the study month.

    Returns ``[item, policies, premium]`` for: in force, in grace, suspended (lapsed),
    reinstated this month, surrendered this month, surrendered (all).
    """
    status = policies[S.STATUS]
    premium = (
        pd.to_numeric(policies[S.ANNUAL_PREMIUM], errors="coerce").fillna(0.0)
        if S.ANNUAL_PREMIUM in policies
        else pd.Series(0.0, index=policies.index)
    )
    month = pd.Timestamp(study_date).to_period("M")

    def in_month(column: str) -> pd.Series:
        if column not in policies:
            return pd.Series(False, index=policies.index)
        return (policies[column].dt.to_period("M") == month).fillna(False)

    groups = {
        "in_force": status.isin([S.IN_FORCE, S.APL, S.REINSTATED, S.PAID_UP]),
        "grace": status == S.GRACE,
        "suspended": status == S.LAPSED,
        "reinstated_this_month": (status == S.REINSTATED) & in_month(S.REINSTATEMENT_DATE),
        "surrendered_this_month": (status == S.SURRENDERED) & in_month(S.STATUS_DATE),
        "surrendered": status == S.SURRENDERED,
    }
    return pd.DataFrame(
        {
            "item": list(groups),
            "policies": [int(m.sum()) for m in groups.values()],
            "premium": [float(premium[m.fillna(False)].sum()) for m in groups.values()],
        }
    )


def collections_funnel(policies: pd.DataFrame, *, study_date: pd.Timestamp, grace_days: int = S.GRACE_DAYS) -> pd.DataFrame | None:
    """Due this month → paid → in grace → suspended → reinstated, from the paid-to date snapshot.

    A premium fell due in the study month when the policy's due date (its paid-to date
    before payment, i.e. paid-to date minus one payment interval for paid policies) lies
    in that month. Returns None when the extract has no paid-to date.
    """
    if S.PAID_TO_DATE not in policies or policies[S.PAID_TO_DATE].isna().all():
        return None
    month = pd.Timestamp(study_date).to_period("M")
    status = policies[S.STATUS]
    paid_to = policies[S.PAID_TO_DATE]
    frequency = (
        pd.to_numeric(policies.get(S.PAYMENT_FREQUENCY, pd.Series(12, index=policies.index)), errors="coerce").fillna(12).astype(int)
    )
    regular = frequency > 0
    previous_due = pd.Series(add_months(as_days(paid_to.fillna(pd.Timestamp("1900-01-01"))), -frequency.to_numpy()), index=policies.index)
    paid = (
        regular
        & status.isin([S.IN_FORCE, S.REINSTATED, S.APL])
        & (pd.to_datetime(previous_due).dt.to_period("M") == month)
        & paid_to.notna()
    )
    grace = regular & (status == S.GRACE) & (paid_to.dt.to_period("M") == month).fillna(False)
    lapse_month = policies[S.LAPSE_DATE].dt.to_period("M") if S.LAPSE_DATE in policies else pd.Series(pd.NaT, index=policies.index)
    suspended = (status == S.LAPSED) & (lapse_month == month).fillna(False)
    reinstated = (status == S.REINSTATED) & (
        (policies[S.REINSTATEMENT_DATE].dt.to_period("M") == month).fillna(False) if S.REINSTATEMENT_DATE in policies else False
    )
    due = int(paid.sum() + grace.sum())
    return pd.DataFrame(
        {
            "stage": ["due_this_month", "paid", "in_grace", "suspended_this_month", "reinstated_this_month"],
            "policies": [due, int(paid.sum()), int(grace.sum()), int(suspended.sum()), int(reinstated.sum())],
        }
    )


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
        :func:`persistency_kpis`; empty when no cohort has reached a month yet.
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


def overview_figures(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    targets: dict[int, float] | None = None,
    trend_cohort: str = TREND_COHORT,
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

    Returns
    -------
    OverviewFigures
    """
    goals = {**DEFAULT_TARGETS, **(targets or {})}
    triangle, projection = triangle_and_projection(policies, study_date=study_date, cohort=trend_cohort, options=options)
    headings = []
    for month in HEADLINE_MONTHS:
        ahead = heading(projection, month)
        if ahead is not None:
            headings.append(Heading(month, *ahead, target=goals.get(month, float("nan"))))
    return OverviewFigures(
        kpis=tuple(persistency_kpis(policies, study_date=study_date, options=options, targets=targets)),
        trend=persistency_trend(policies, study_date=study_date, cohort=trend_cohort, options=options),
        projection=projection,
        triangle=triangle,
        headings=tuple(headings),
        snapshot=status_snapshot(policies, study_date=study_date),
        funnel=collections_funnel(policies, study_date=study_date, grace_days=options.grace_days),
    )
