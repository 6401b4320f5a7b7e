"""A target's baseline persistency and the policies a scenario projects (the expensive part: cache it).

**Baseline** (:func:`baseline_for`). The Kaplan–Meier curve of voluntary exits of the
target's policies by months since issue (:func:`analysis.survival.curves.survival_data`,
:func:`analysis.survival.curves.km_curves`), read at whole months while at least 30
policies are at risk; beyond that it goes on at the constant hazard of its last 12
reliable months. Each projected policy follows the curve's conditional survival from its
current duration d: ``c(t) = S(d + t) / S(d)`` (new business: d = 0). The policies are
grouped by whole months in force, so the projection costs (durations × months), never
(policies × months).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.cohorts import predicate
from analysis.engine.dates import day_of
from analysis.engine.persistency import PREMIUM_TYPE
from analysis.engine.stays import STAY_COLUMNS, with_days
from analysis.errors import ExtractError
from analysis.interventions.scenario import MAX_HORIZON_YEARS, Target, check_population
from analysis.survival.curves import DAYS_PER_MONTH, km_from_counts, survival_counts

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

#: The Kaplan–Meier curve is read while at least this many policies are at risk.
MIN_AT_RISK = 30
#: The tail beyond that goes on at the hazard of this many last reliable months.
TAIL_MONTHS = 12
#: Statuses of policies projected forward (paid-up policies pay no premium).
PROJECTED_STATUSES = frozenset(S.ACTIVE_STATUSES - {S.PAID_UP})
#: New business by default: the target's issues in this many days up to the study date.
NEW_BUSINESS_DAYS = 365


@dataclass(frozen=True)
class Baseline:
    """The target's persistency curve and the policies to project; see the module docstring.

    Attributes
    ----------
    survival : ndarray
        S(m) for m = 0, 1, … months since issue: Kaplan–Meier of voluntary exits of the
        target, read directly up to ``reliable_months`` and extended at a constant hazard.
    durations, weights : ndarray
        Whole months in force of the projected policies, and how many are at each.
    mean_premium : float
        Their mean annual premium (NaN without an ``annual_premium`` column).
    target_policies : int
        Regular-premium policies of the target behind the curve.
    """

    survival: np.ndarray
    durations: np.ndarray
    weights: np.ndarray
    mean_premium: float
    reliable_months: int
    population: str
    target_policies: int

    @property
    def policies(self) -> int:
        """Policies projected (N)."""
        return int(round(float(self.weights.sum())))

    def conditional(self, months: int) -> np.ndarray:
        """Conditional survival ``S(d + t) / S(d)`` per duration d (rows), t = 0..months (columns)."""
        if int(self.durations.max()) + months >= len(self.survival):
            raise ExtractError("bad_scenario", reason="horizon", longest=len(self.survival) - int(self.durations.max()) - 1, months=months)
        index = self.durations[:, None] + np.arange(months + 1)[None, :]
        start = self.survival[self.durations][:, None]
        return np.asarray(self.survival[index] / start)

    def curve(self, months: int) -> np.ndarray:
        """The share of the projected policies still in force at t = 0..months without the lever."""
        return np.asarray(self.weights @ self.conditional(months) / self.weights.sum())

    @property
    def lapse_12m(self) -> float:
        """The projected policies' baseline probability of a voluntary exit within 12 months."""
        return float(1 - self.curve(12)[12])


def survival_by_month(curves: pd.DataFrame, months: int) -> tuple[np.ndarray, int]:
    """A Kaplan–Meier table (one cohort) read at whole months 0..months, and the last reliable month.

    The curve is read while at least :data:`MIN_AT_RISK` policies are at risk; after that
    month it continues at the constant monthly hazard of its last :data:`TAIL_MONTHS`
    reliable months.
    """
    times = curves["month"].to_numpy(dtype=float)
    survival = curves["survival"].to_numpy(dtype=float)
    at_risk = curves["at_risk"].to_numpy(dtype=float)
    grid = np.arange(months + 1, dtype=float)
    read = survival[np.clip(np.searchsorted(times, grid, side="right") - 1, 0, None)]
    after = np.searchsorted(times, grid, side="left")
    risk = np.where(after < len(times), at_risk[np.minimum(after, len(times) - 1)], 0.0)
    reliable_months = np.flatnonzero(risk >= MIN_AT_RISK)
    if len(reliable_months) == 0 or reliable_months[-1] < 1:
        raise ExtractError("no_policies", reason="at_risk", minimum=MIN_AT_RISK)
    last = int(reliable_months[-1])
    first = max(last - TAIL_MONTHS, 0)
    with np.errstate(divide="ignore"):
        hazard = float(np.log(read[first] / read[last]) / (last - first)) if read[last] > 0 else np.inf
    tail = read[last] * np.exp(-hazard * (grid - last))
    return np.where(grid <= last, read, tail), last


def regular_premium(policies: pd.DataFrame) -> pd.Series:
    """True for the policies (or model rows) with a regular premium (a payment frequency other than 0, or none known)."""
    if S.PAYMENT_FREQUENCY not in policies.columns:
        return pd.Series(True, index=policies.index)
    return (pd.to_numeric(policies[S.PAYMENT_FREQUENCY], errors="coerce") != 0).fillna(True).astype(bool)


def regular_premium_expr(table: ir.Table) -> ir.BooleanValue:
    """:func:`regular_premium` in the engine."""
    if S.PAYMENT_FREQUENCY not in table.columns:
        return ibis.literal(True)
    frequency = table[S.PAYMENT_FREQUENCY]
    number = frequency.cast("float64") if frequency.type().is_numeric() else frequency.try_cast("float64")
    return (number != 0).fill_null(True)


def _target_table(policies: pd.DataFrame | ir.Table, target: Target, backend: BaseBackend | None) -> tuple[ir.Table, BaseBackend]:
    """The target's regular-premium policies as an engine table (a pandas book with only the columns read)."""
    conditions = [*(target.cohort.conditions if target.cohort is not None else ()), *target.conditions]
    if isinstance(policies, pd.DataFrame):
        wanted = [*STAY_COLUMNS, S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, *(c.column for c in conditions)]
        policies = policies[[c for c in dict.fromkeys(wanted) if c in policies.columns]]
    table, engine = bind(policies, backend)
    return table.filter(predicate(table, conditions) & regular_premium_expr(table)), engine


def _projected(
    chosen: ir.Table, engine: BaseBackend, *, study_date: pd.Timestamp, population: str, new_policies: int | None
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """``(durations, weights, mean premium, policies)`` of what a scenario projects from the target's ``chosen`` policies.

    Worked out in the engine: the target's size, the policies projected grouped by whole months
    in force (in force) or counted (new business), and the sums behind their mean premium.
    """
    study_day = day_of(study_date)
    staged = with_days(chosen, [S.ISSUE_DATE])
    issue = staged[f"{S.ISSUE_DATE}_day"]
    # Exact decimal sums: the same mean premium on every run and engine, whatever the order of addition.
    premium = staged[S.ANNUAL_PREMIUM].cast(PREMIUM_TYPE) if S.ANNUAL_PREMIUM in staged.columns else ibis.null().cast(PREMIUM_TYPE)
    projected = staged[S.STATUS].isin(sorted(PROJECTED_STATUSES)).fill_null(False) & (issue <= study_day).fill_null(False)
    recent = ((issue > study_day - NEW_BUSINESS_DAYS) & (issue <= study_day)).fill_null(False)
    picked = projected if population == "in_force" else recent
    staged = staged.mutate(picked=picked, premium=premium, months=((study_day - issue) / DAYS_PER_MONTH).floor().cast("int64"))
    totals = run(
        engine,
        staged.aggregate(
            policies=staged.count(),
            picked=staged.picked.ifelse(1, 0).sum(),
            picked_premium=staged.picked.ifelse(staged.premium, ibis.null().cast(PREMIUM_TYPE)).sum(),
            picked_known=staged.picked.ifelse(staged.premium, ibis.null().cast(PREMIUM_TYPE)).count(),
            all_premium=staged.premium.sum(),
            all_known=staged.premium.count(),
        ),
    ).iloc[0]
    policies, picked_count = int(totals["policies"]), int(totals["picked"] or 0)
    if policies == 0:
        raise ExtractError("no_policies", reason="regular_premium")
    # The mean premium of the projected policies (new business without recent issues: of the whole target).
    use_picked = population == "in_force" or picked_count > 0
    known = int(totals["picked_known" if use_picked else "all_known"] or 0)
    mean_premium = float(totals["picked_premium" if use_picked else "all_premium"]) / known if known else float("nan")
    if population == "in_force":
        if picked_count == 0:
            raise ExtractError("no_policies", reason="in_force")
        kept = staged.filter(staged.picked)
        grouped = run(engine, kept.group_by("months").aggregate(weight=kept.count())).sort_values("months")
        return grouped["months"].to_numpy(dtype=np.int64), grouped["weight"].to_numpy(dtype=float), mean_premium, policies
    size = new_policies if new_policies is not None else picked_count
    if size < 1:
        raise ExtractError("no_policies", reason="new_business")
    return np.array([0]), np.array([float(size)]), mean_premium, policies


def baseline_for(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    target: Target | None = None,
    population: str = "in_force",
    new_policies: int | None = None,
    max_horizon_years: float = MAX_HORIZON_YEARS,
    backend: BaseBackend | None = None,
) -> Baseline:
    """The target's baseline persistency and the policies a scenario projects (cache this).

    Parameters
    ----------
    policies : DataFrame or ibis Table
        Canonical policies (``issue_date``, ``status`` and the exit dates; ``annual_premium``
        for premium figures, ``payment_frequency`` to leave single premiums out).
    study_date : Timestamp
        The extract's study date: the projection starts there.
    target : Target, optional
        Whom the lever reaches (whole book when omitted).
    population : str
        ``in_force`` or ``new_business`` (see :mod:`analysis.interventions.scenario`).
    new_policies : int, optional
        New-business cohort size; by default the target's issues in the last 12 months.
    max_horizon_years : float
        The longest horizon the baseline serves.
    backend : ibis backend, optional
        The engine a pandas book is handed to (DuckDB by default); a table keeps its own.

    Raises
    ------
    ExtractError
        ``no_policies`` (reason ``regular_premium``, ``in_force``, ``new_business`` or
        ``at_risk``) when the target leaves nothing to project.
    """
    check_population(population)
    chosen, engine = _target_table(policies, target or Target(), backend)
    durations, weights, mean_premium, size = _projected(
        chosen, engine, study_date=study_date, population=population, new_policies=new_policies
    )
    curves = km_from_counts(survival_counts(chosen, study_date=study_date, backend=engine))
    horizon = int(round(max_horizon_years * 12))
    survival, reliable = survival_by_month(curves, int(durations.max()) + horizon)
    return Baseline(survival, durations.astype(np.int64), weights, mean_premium, reliable, population, size)
