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
from analysis.errors import ExtractError
from analysis.study.calendar import add_months, as_days
from analysis.study.cohorts import issue_period
from analysis.study.exposure import cohort_codes

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


def excluded_mask(policies: pd.DataFrame, exclude: frozenset[str]) -> np.ndarray:
    """True for the policies left out of persistency by the chosen exclusions."""
    status = policies[S.STATUS]
    out = np.zeros(len(policies), dtype=bool)
    if "single_premium" in exclude and S.PAYMENT_FREQUENCY in policies:
        out |= (pd.to_numeric(policies[S.PAYMENT_FREQUENCY], errors="coerce") == 0).to_numpy(dtype=bool)
    for name, statuses in (("free_look", [S.FREE_LOOK_CANCELLED]), ("death", [S.DEATH_CLAIM]), ("maturity", [S.MATURED])):
        if name in exclude:
            out |= status.isin(statuses).to_numpy(dtype=bool)
    if "waiver" in exclude and S.WAIVER in policies:
        out |= policies[S.WAIVER].astype("string").str.lower().isin(["1", "true", "yes", "y", "是"]).fillna(False).to_numpy(dtype=bool)
    return out


def voluntary_exit_days(policies: pd.DataFrame, *, grace_days: int = S.GRACE_DAYS) -> tuple[np.ndarray, np.ndarray]:
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
    missed_due = np.where(
        ~np.isnat(paid_to) & (status != S.REINSTATED).to_numpy(dtype=bool), paid_to, lapse_day - np.timedelta64(grace_days + 1, "D")
    )
    missed_due = np.where(np.isnat(lapse_day) & ~np.isnat(paid_to), paid_to, missed_due)
    exit_day = np.where(lapse_like, missed_due, nat)
    exit_day = np.where(surrendered, status_day, exit_day)
    return exit_day.astype("datetime64[D]"), np.where((status == S.REINSTATED).to_numpy(dtype=bool), reinstated_day, nat)


def cohort_end_days(labels: np.ndarray, cohort: str) -> np.ndarray:
    """The last calendar day of each distinct issue-period label (``2023``, ``2023Q2``, ``2023-05``)."""
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[cohort]
    if len(labels) == 0:
        return np.array([], dtype="datetime64[D]")
    return pd.PeriodIndex([str(v) for v in labels], freq=freq).to_timestamp(how="end").normalize().to_numpy(dtype="datetime64[D]")


def persistency_ratios(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
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
    _check_options(policies, options, by)
    needed = [S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.PAID_TO_DATE, S.REINSTATEMENT_DATE, S.ANNUAL_PREMIUM, *by]
    frame = policies[[c for c in dict.fromkeys(needed) if c in policies.columns]]
    keep = ~excluded_mask(policies, options.exclude)
    if not keep.all():
        frame = frame.loc[keep]
    columns = [*by, "cohort", "month", *RATIO_COLUMNS]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    issue = as_days(frame[S.ISSUE_DATE])
    exit_day, reinstated_day = voluntary_exit_days(frame, grace_days=options.grace_days)
    premium = (
        pd.to_numeric(frame[S.ANNUAL_PREMIUM], errors="coerce").fillna(0).to_numpy(dtype=float)
        if S.ANNUAL_PREMIUM in frame
        else np.zeros(len(frame))
    )
    cohort = issue_period(frame[S.ISSUE_DATE], COHORT_GRAINS[options.cohort])
    labels = np.asarray(cohort.cat.categories, dtype=object)
    group_code, groups = cohort_codes(frame, by)
    n_cohorts = max(len(labels), 1)
    key = group_code * n_cohorts + cohort.cat.codes.to_numpy(dtype=np.int64)
    size = max(len(groups), 1) * n_cohorts
    cells = _Cells(
        key=key,
        n_cohorts=n_cohorts,
        labels=labels,
        groups=groups if by else None,
        policies=np.bincount(key, minlength=size),
        premium=np.bincount(key, weights=premium, minlength=size),
        # A cohort counts once the last day of its issue period has reached month N.
        ends=cohort_end_days(labels, options.cohort),
        study_day=np.datetime64(pd.Timestamp(study_date).date(), "D"),
    )
    parts = [
        _month_part(cells, month=month, issue=issue, exit_day=exit_day, reinstated_day=reinstated_day, premium=premium, options=options)
        for month in options.months
    ]
    if not parts or all(p.empty for p in parts):
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out.sort_values([*by, "cohort", "month"], kind="stable").reset_index(drop=True)[columns]


#: The columns of a persistency table after its group, cohort and month columns.
RATIO_COLUMNS = ["cohort_policies", "persisting", "persistency", "cohort_premium", "persisting_premium", "premium_persistency"]


def _check_options(policies: pd.DataFrame, options: PersistencyOptions, by: Sequence[str]) -> None:
    """Refuse an unknown cohort grain or exclusion, and group columns the policies lack."""
    if options.cohort not in COHORT_GRAINS:
        raise ExtractError("bad_option", reason="persistency_cohort", cohort=options.cohort)
    unknown = set(options.exclude) - set(EXCLUSIONS)
    if unknown:
        raise ExtractError("bad_option", reason="persistency_exclusions", unknown=sorted(unknown), allowed=", ".join(EXCLUSIONS))
    missing = [c for c in by if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_policies", column=missing[0])


@dataclass(frozen=True)
class _Cells:
    """The ``group × issue cohort`` cells of a persistency table, keyed ``group * n_cohorts + cohort``."""

    key: np.ndarray
    n_cohorts: int
    labels: np.ndarray
    groups: pd.DataFrame | None
    policies: np.ndarray
    premium: np.ndarray
    ends: np.ndarray
    study_day: np.datetime64


def _month_part(
    cells: _Cells,
    *,
    month: int,
    issue: np.ndarray,
    exit_day: np.ndarray,
    reinstated_day: np.ndarray,
    premium: np.ndarray,
    options: PersistencyOptions,
) -> pd.DataFrame:
    """Policies and premium persisting at one month, per cell whose whole cohort has reached it (rates not yet divided)."""
    key, n_cohorts, size = cells.key, cells.n_cohorts, len(cells.policies)
    offset = month + (1 if options.include_grace else 0)
    evaluation = add_months(issue, offset)
    left = ~np.isnat(exit_day) & (exit_day < evaluation)
    back = ~np.isnat(reinstated_day) & (reinstated_day <= evaluation)
    persisting = (~left | back).astype(float)
    reached = add_months(cells.ends, offset) <= cells.study_day
    chosen = np.flatnonzero((cells.policies > 0) & reached[np.arange(size) % n_cohorts])
    if cells.groups is not None:
        part = cells.groups.iloc[chosen // n_cohorts].reset_index(drop=True)
    else:
        part = pd.DataFrame(index=range(len(chosen)))
    part["cohort"] = cells.labels[chosen % n_cohorts]
    part["month"] = month
    part["cohort_policies"] = cells.policies[chosen]
    part["persisting"] = np.bincount(key, weights=persisting, minlength=size)[chosen].round().astype(np.int64)
    part["cohort_premium"] = cells.premium[chosen]
    part["persisting_premium"] = np.bincount(key, weights=premium * persisting, minlength=size)[chosen]
    return part


def pooled_persistency(ratios: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """All eligible cohorts together: sums regrouped, ratios recomputed."""
    sums = ["cohort_policies", "persisting", "cohort_premium", "persisting_premium"]
    out = ratios.groupby([*by, "month"], observed=True, dropna=False)[sums].sum().reset_index()
    out["persistency"] = out["persisting"] / out["cohort_policies"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["premium_persistency"] = np.where(out["cohort_premium"] > 0, out["persisting_premium"] / out["cohort_premium"], np.nan)
    return out


def persistency_table(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    by: Sequence[str] = (),
    basis: str = "count",
) -> pd.DataFrame:
    """Pooled persistency by group and month, as ``python -m analysis persistency`` prints it.

    Returns
    -------
    DataFrame
        ``[*by, month, cohort_policies, persisting, persistency]`` and, on the ``premium``
        basis, ``cohort_premium, persisting_premium, premium_persistency``: all eligible
        cohorts of :func:`persistency_ratios` together (:func:`pooled_persistency`).
    """
    ratios = pooled_persistency(persistency_ratios(policies, study_date=study_date, options=options, by=by), by=by)
    columns = [*by, "month", "cohort_policies", "persisting", "persistency"]
    if basis == "premium":
        columns += ["cohort_premium", "persisting_premium", "premium_persistency"]
    return ratios[columns]
