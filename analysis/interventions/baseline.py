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

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.interventions.scenario import MAX_HORIZON_YEARS, Target, check_population
from analysis.study.calendar import as_days
from analysis.survival.curves import DAYS_PER_MONTH, km_curves, survival_data

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
    """True for the policies with a regular premium (a payment frequency other than 0, or none known)."""
    if S.PAYMENT_FREQUENCY not in policies.columns:
        return pd.Series(True, index=policies.index)
    return (pd.to_numeric(policies[S.PAYMENT_FREQUENCY], errors="coerce") != 0).fillna(True).astype(bool)


def _projected(
    chosen: pd.DataFrame, *, study_date: pd.Timestamp, population: str, new_policies: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(durations, weights, premiums)`` of the policies a scenario projects from the target's ``chosen`` policies."""
    study_day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    issue = as_days(chosen[S.ISSUE_DATE])
    premium = (
        pd.to_numeric(chosen[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float)
        if S.ANNUAL_PREMIUM in chosen
        else np.full(len(chosen), np.nan)
    )
    if population == "in_force":
        projected = chosen[S.STATUS].isin(list(PROJECTED_STATUSES)).to_numpy(dtype=bool) & (issue <= study_day)
        if not projected.any():
            raise ExtractError("no_policies", reason="in_force")
        months_in_force = np.floor((study_day - issue[projected]).astype(np.int64) / DAYS_PER_MONTH).astype(np.int64)
        durations, counts = np.unique(months_in_force, return_counts=True)
        return durations, counts.astype(float), premium[projected]
    recent = (issue > study_day - np.timedelta64(NEW_BUSINESS_DAYS, "D")) & (issue <= study_day)
    size = new_policies if new_policies is not None else int(recent.sum())
    if size < 1:
        raise ExtractError("no_policies", reason="new_business")
    return np.array([0]), np.array([float(size)]), premium[recent] if recent.any() else premium


def baseline_for(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    target: Target | None = None,
    population: str = "in_force",
    new_policies: int | None = None,
    max_horizon_years: float = MAX_HORIZON_YEARS,
) -> Baseline:
    """The target's baseline persistency and the policies a scenario projects (cache this).

    Parameters
    ----------
    policies : DataFrame
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

    Raises
    ------
    ExtractError
        ``no_policies`` (reason ``regular_premium``, ``in_force``, ``new_business`` or
        ``at_risk``) when the target leaves nothing to project.
    """
    check_population(population)
    chosen = policies.loc[(target or Target()).mask(policies) & regular_premium(policies)]
    if chosen.empty:
        raise ExtractError("no_policies", reason="regular_premium")
    durations, weights, premiums = _projected(chosen, study_date=study_date, population=population, new_policies=new_policies)
    mean_premium = float(np.nanmean(premiums)) if np.isfinite(premiums).any() else float("nan")
    curves = km_curves(survival_data(chosen, study_date=study_date))
    horizon = int(round(max_horizon_years * 12))
    survival, reliable = survival_by_month(curves, int(durations.max()) + horizon)
    return Baseline(survival, durations.astype(np.int64), weights, mean_premium, reliable, population, len(chosen))
