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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.calendar import add_months, as_days
from analysis.cohorts import issue_period
from analysis.errors import ExtractError

MONTHS = (13, 25, 37, 49, 61)
EXCLUSIONS = ("single_premium", "free_look", "death", "maturity", "waiver")
COHORT_GRAINS = {"month": "issue_month", "quarter": "issue_quarter", "year": "issue_year"}
#: Statuses whose exit is a voluntary one (a lapse or a surrender).
VOLUNTARY = frozenset({S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.SURRENDERED, S.REINSTATED})


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

    months: tuple[int, ...] = (13, 25)
    cohort: str = "year"
    exclude: frozenset[str] = frozenset(EXCLUSIONS)
    include_grace: bool = False
    grace_days: int = 60


def _excluded(policies: pd.DataFrame, exclude: frozenset[str]) -> np.ndarray:
    status = policies[S.STATUS]
    out = np.zeros(len(policies), dtype=bool)
    if "single_premium" in exclude and S.PAYMENT_FREQUENCY in policies:
        out |= (pd.to_numeric(policies[S.PAYMENT_FREQUENCY], errors="coerce") == 0).to_numpy(dtype=bool)
    for name, statuses in (("free_look", [S.FREE_LOOK_CANCELLED]), ("death", [S.DEATH_CLAIM]), ("maturity", [S.MATURED])):
        if name in exclude:
            out |= status.isin(statuses).to_numpy(dtype=bool)
    if "waiver" in exclude and "waiver" in policies:
        out |= policies["waiver"].astype("string").str.lower().isin(["1", "true", "yes", "y", "是"]).fillna(False).to_numpy(dtype=bool)
    return out


def voluntary_exit_days(policies: pd.DataFrame, *, grace_days: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """The day each policy stopped paying or surrendered, and the day it was reinstated.

    Returns
    -------
    (exit_day, reinstated_day) : numpy ``datetime64[D]`` arrays
        ``exit_day`` is NaT for policies with no voluntary exit. For a lapse it is the
        missed due date: the paid-to date, or the suspension date less grace and a day.
    """
    status = policies[S.STATUS]
    n = len(policies)
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    lapse_day = as_days(policies[S.LAPSE_DATE]) if S.LAPSE_DATE in policies else nat
    status_day = as_days(policies[S.STATUS_DATE]) if S.STATUS_DATE in policies else nat
    paid_to = as_days(policies[S.PAID_TO_DATE]) if S.PAID_TO_DATE in policies else nat
    reinstated_day = as_days(policies[S.REINSTATEMENT_DATE]) if S.REINSTATEMENT_DATE in policies else nat
    lapse_like = status.isin([S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED]).to_numpy(dtype=bool)
    surrendered = (status == S.SURRENDERED).to_numpy(dtype=bool)
    missed_due = np.where(~np.isnat(paid_to) & (status != S.REINSTATED).to_numpy(dtype=bool), paid_to, lapse_day - np.timedelta64(grace_days + 1, "D"))
    missed_due = np.where(np.isnat(lapse_day) & ~np.isnat(paid_to), paid_to, missed_due)
    exit_day = np.where(lapse_like, missed_due, nat)
    exit_day = np.where(surrendered, status_day, exit_day)
    return exit_day.astype("datetime64[D]"), np.where((status == S.REINSTATED).to_numpy(dtype=bool), reinstated_day, nat)


def cohort_end_days(labels: np.ndarray, cohort: str) -> np.ndarray:
    """The last calendar day of each issue-period label (``2023``, ``2023Q2``, ``2023-05``)."""
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[cohort]
    distinct, codes = np.unique(labels, return_inverse=True)
    ends = pd.PeriodIndex(list(distinct), freq=freq).to_timestamp(how="end").normalize().to_numpy(dtype="datetime64[D]")
    return ends[codes]


def persistency_ratios(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = PersistencyOptions(),
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Count- and premium-basis persistency at each month, by issue cohort and group.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies: ``issue_date``, ``status`` and the date columns of
        :func:`voluntary_exit_days`; ``annual_premium`` for the premium basis.
    study_date : Timestamp
        Only cohorts whose every policy reached the evaluation month count.
    options : PersistencyOptions
    by : sequence of str
        Group columns (channel, branch...). :func:`pooled_persistency` pools the cohorts.

    Returns
    -------
    DataFrame
        ``[*by, cohort, month, cohort_policies, persisting, persistency,
        cohort_premium, persisting_premium, premium_persistency]``.
    """
    if options.cohort not in COHORT_GRAINS:
        raise ExtractError(f"cohort must be month, quarter or year, got {options.cohort!r}.", code="bad_option", detail=options.cohort)
    unknown = set(options.exclude) - set(EXCLUSIONS)
    if unknown:
        raise ExtractError(f"Unknown exclusion(s) {sorted(unknown)}; use {', '.join(EXCLUSIONS)}.", code="bad_option", detail=str(sorted(unknown)))
    missing = [c for c in by if c not in policies.columns]
    if missing:
        raise ExtractError(f"No column {missing[0]!r} in the policies.", code="missing_column", column=missing[0])
    keep = ~_excluded(policies, options.exclude)
    frame = policies.loc[keep]
    issue = as_days(frame[S.ISSUE_DATE])
    exit_day, reinstated_day = voluntary_exit_days(frame, grace_days=options.grace_days)
    premium = pd.to_numeric(frame[S.ANNUAL_PREMIUM], errors="coerce").fillna(0).to_numpy(dtype=float) if S.ANNUAL_PREMIUM in frame else np.zeros(len(frame))
    grain = issue_period(frame[S.ISSUE_DATE], COHORT_GRAINS[options.cohort]).astype(str).to_numpy()
    study_day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    # A cohort counts once the last day of its issue period has reached month N.
    cohort_last = cohort_end_days(grain, options.cohort)
    parts = []
    for month in options.months:
        offset = month + (1 if options.include_grace else 0)
        evaluation = add_months(issue, offset)
        reached = add_months(cohort_last, offset) <= study_day
        left = ~np.isnat(exit_day) & (exit_day < evaluation)
        back = ~np.isnat(reinstated_day) & (reinstated_day <= evaluation)
        persisting = ~left | back
        part = pd.DataFrame({c: frame[c].to_numpy() for c in by})
        part["cohort"] = grain
        part["month"] = month
        part["cohort_policies"] = 1
        part["persisting"] = persisting.astype(int)
        part["cohort_premium"] = premium
        part["persisting_premium"] = premium * persisting
        parts.append(part.loc[reached])
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    columns = [*by, "cohort", "month", "cohort_policies", "persisting", "persistency", "cohort_premium", "persisting_premium", "premium_persistency"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    out = table.groupby([*by, "cohort", "month"], observed=True, dropna=False, sort=True)[["cohort_policies", "persisting", "cohort_premium", "persisting_premium"]].sum().reset_index()
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out[columns]


def pooled_persistency(ratios: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """All eligible cohorts together: sums regrouped, ratios recomputed."""
    sums = ["cohort_policies", "persisting", "cohort_premium", "persisting_premium"]
    out = ratios.groupby([*by, "month"], observed=True, dropna=False)[sums].sum().reset_index()
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out
