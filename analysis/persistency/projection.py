"""Where persistency is heading: the issue month × duration triangle and the chain-ladder projection.

Both come from one histogram pass over the policies (:func:`_development`); definitions are
those of :func:`analysis.persistency.ratios.persistency_ratios`, which the tests recompute
policy by policy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.persistency.ratios import (
    DEFAULT_OPTIONS,
    HEADLINE_MONTHS,
    PersistencyOptions,
    cohort_end_days,
    excluded_mask,
    voluntary_exit_days,
)
from analysis.study.calendar import add_months, as_days, whole_months
from analysis.study.cohorts import issue_period

PROJECTION_COLUMNS = ["cohort", "month", "observed_month", "observed", "projected", "cohort_policies", "reference_from", "reference_to"]
#: Durations (months) the triangle shows, and the latest issue months it keeps.
TRIANGLE_MONTHS, TRIANGLE_COHORTS = 36, 36
#: The development factors come from the latest this many issue months that have developed.
REFERENCE_MONTHS = 12


def persistency_triangle(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    max_month: int = TRIANGLE_MONTHS,
    last_cohorts: int = TRIANGLE_COHORTS,
    options: PersistencyOptions = DEFAULT_OPTIONS,
) -> pd.DataFrame:
    """Issue month × duration persistency, in one pass over the policies.

    Each policy's voluntary exit falls in one duration month; a histogram of exits by
    ``issue month × exit month`` (and of reinstatements) accumulated along the duration
    gives persistency at every month at once. A cell is blank until the whole issue month
    has reached that duration.

    Returns
    -------
    DataFrame
        Index: issue month (the latest ``last_cohorts``); columns: months 1..``max_month``.
    """
    frame = _persistency_frame(policies, options)
    if frame.empty:
        return pd.DataFrame()
    ((labels, persisting, reached),) = _development(frame, study_date=study_date, grains=("month",), max_month=max_month, options=options)
    return _triangle(labels, persisting, reached, max_month=max_month, last_cohorts=last_cohorts)


def _persistency_frame(policies: pd.DataFrame, options: PersistencyOptions) -> pd.DataFrame:
    """The columns persistency needs, without the excluded policies."""
    needed = [S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.PAID_TO_DATE, S.REINSTATEMENT_DATE]
    frame = policies[[c for c in needed if c in policies.columns]]
    keep = ~excluded_mask(policies, options.exclude)
    return frame if keep.all() else frame.loc[keep]


def _triangle(labels: list[str], persisting: np.ndarray, reached: np.ndarray, *, max_month: int, last_cohorts: int) -> pd.DataFrame:
    size = persisting[:, 0]
    table = np.where(reached[:, 1 : max_month + 1], persisting[:, 1 : max_month + 1] / size[:, None], np.nan)
    result = pd.DataFrame(table, index=pd.Index(labels, name="issue_month"), columns=pd.Index(range(1, max_month + 1), name="month"))
    return result.tail(last_cohorts)


def _development(
    frame: pd.DataFrame, *, study_date: pd.Timestamp, grains: Sequence[str], max_month: int, options: PersistencyOptions
) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
    """Policies persisting at every month 0..``max_month`` by issue period, in one pass per grain.

    Each policy's voluntary exit falls in one duration month (and its reinstatement in
    another); a histogram of both by ``issue period × month``, accumulated along the duration,
    gives the persisting count at every month at once (month 0: the cohort's size). The
    policies' months are worked out once for all ``grains``.

    Returns, per grain, ``(labels, persisting, reached)``: the cohort labels, persisting counts
    ``[cohort, month]`` and whether the whole cohort has reached that month by the study date
    (definitions of :func:`analysis.persistency.ratios.persistency_ratios`).
    """
    issue = as_days(frame[S.ISSUE_DATE])
    exit_day, back_day = voluntary_exit_days(frame, grace_days=options.grace_days)
    shift = 1 if options.include_grace else 0
    # Left at month m when exit < issue + (m + shift) months, i.e. m > whole_months(issue, exit) - shift.
    width = max_month + 2
    first_out = np.where(
        np.isnat(exit_day), width - 1, np.clip(whole_months(issue, np.where(np.isnat(exit_day), issue, exit_day)) + 1 - shift, 1, width - 1)
    )
    # Back in force from the first month m with reinstatement <= issue + (m + shift) months.
    back_months = whole_months(issue, np.where(np.isnat(back_day), issue, back_day))
    back_at = np.where(
        np.isnat(back_day),
        width - 1,
        np.clip(back_months + (np.where(np.isnat(back_day), issue, back_day) > add_months(issue, back_months)) - shift, 1, width - 1),
    )
    back_at = np.maximum(back_at, first_out)
    study_day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    out = []
    for grain in grains:
        cohort = issue_period(frame[S.ISSUE_DATE], {"month": "issue_month", "quarter": "issue_quarter", "year": "issue_year"}[grain])
        codes, labels = cohort.cat.codes.to_numpy(dtype=np.int64), [str(v) for v in cohort.cat.categories]
        n = len(labels)
        grid = np.bincount(codes * width + first_out, minlength=n * width).reshape(n, width).astype(float)
        grid -= np.bincount(codes * width + back_at, minlength=n * width).reshape(n, width)
        left = np.cumsum(grid, axis=1)[:, : max_month + 1]
        size = np.bincount(codes, minlength=n).astype(float)
        ends = cohort_end_days(np.asarray(labels, dtype=object), grain)
        reached = np.stack([add_months(ends, m + shift) <= study_day for m in range(max_month + 1)], axis=1)
        out.append((labels, size[:, None] - left, reached))
    return out


def projected_persistency(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    months: Sequence[int] = HEADLINE_MONTHS,
    cohort: str = "quarter",
    options: PersistencyOptions = DEFAULT_OPTIONS,
    reference_months: int = REFERENCE_MONTHS,
    min_observed: int = 1,
) -> pd.DataFrame:
    """Where the cohorts that have not reached a month yet are heading (chain ladder on persistency).

    A cohort seen up to month ``d`` (its whole issue period has reached ``d``) is projected to
    month ``N`` as its persistency at ``d`` times the development factors ``f_d … f_{N-1}``.
    ``f_m`` = persisting at month m+1 / persisting at month m, summed over the latest
    ``reference_months`` issue months whose every policy has reached month m+1 — how the most
    recent experience developed from m to m+1. Same definitions as the trend (exclusions, N or
    N+1); count basis. Cohorts seen for fewer than ``min_observed`` months are left out (their
    projection would be the reference experience alone).

    Returns
    -------
    DataFrame
        ``[cohort, month, observed_month, observed, projected, cohort_policies, reference_from,
        reference_to]``: one row per cohort and month not reached yet; ``observed`` is the
        persistency at ``observed_month``; ``reference_*`` name the issue months behind the
        last factor used. Empty when no cohort is waiting or nothing has developed yet.
    """
    frame = _persistency_frame(policies, options)
    if frame.empty or not months:
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    grains = ("month",) if cohort == "month" else ("month", cohort)
    developed = _development(frame, study_date=study_date, grains=grains, max_month=max(months), options=options)
    return _projection(developed[0], developed[-1], months=months, reference_months=reference_months, min_observed=min_observed)


def triangle_and_projection(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    cohort: str = "quarter",
    options: PersistencyOptions = DEFAULT_OPTIONS,
    max_month: int = TRIANGLE_MONTHS,
    last_cohorts: int = TRIANGLE_COHORTS,
    months: Sequence[int] = HEADLINE_MONTHS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`persistency_triangle` and :func:`projected_persistency` (default settings) from one pass."""
    frame = _persistency_frame(policies, options)
    if frame.empty:
        return pd.DataFrame(), pd.DataFrame(columns=PROJECTION_COLUMNS)
    grains = ("month",) if cohort == "month" else ("month", cohort)
    developed = _development(frame, study_date=study_date, grains=grains, max_month=max(max_month, *months), options=options)
    triangle = _triangle(*developed[0], max_month=max_month, last_cohorts=last_cohorts)
    return triangle, _projection(developed[0], developed[-1], months=months, reference_months=REFERENCE_MONTHS, min_observed=1)


def _projection(
    monthly_development: tuple[list[str], np.ndarray, np.ndarray],
    development: tuple[list[str], np.ndarray, np.ndarray],
    *,
    months: Sequence[int],
    reference_months: int,
    min_observed: int,
) -> pd.DataFrame:
    month_labels, monthly, month_reached = monthly_development
    top = max(months)
    factors = np.full(top, np.nan)
    reference: list[tuple[str, str]] = [("", "")] * top
    for m in range(top):
        ready = np.flatnonzero(month_reached[:, m + 1] & (monthly[:, m] > 0))[-reference_months:]
        if len(ready):
            factors[m] = monthly[ready, m + 1].sum() / monthly[ready, m].sum()
            reference[m] = (month_labels[ready[0]], month_labels[ready[-1]])
    labels, persisting, reached = development
    rows = []
    for code, label in enumerate(labels):
        size = persisting[code, 0]
        seen = np.flatnonzero(reached[code])
        if size <= 0 or not len(seen):
            continue
        d = int(seen[-1])
        if d < min_observed:
            continue
        for month in months:
            if d >= month:
                continue
            path = factors[d:month]
            if np.isnan(path).any():
                continue
            observed = persisting[code, d] / size
            rows.append((label, month, d, observed, observed * float(np.prod(path)), int(size), *reference[month - 1]))
    return pd.DataFrame(rows, columns=PROJECTION_COLUMNS)


def heading(projection: pd.DataFrame, month: int) -> tuple[float, int, str, str] | None:
    """The pooled projection at ``month``: (persistency, policies, first cohort, last cohort), or None."""
    rows = projection[projection["month"] == month]
    if rows.empty:
        return None
    policies = int(rows["cohort_policies"].sum())
    pooled = float((rows["projected"] * rows["cohort_policies"]).sum() / policies)
    return pooled, policies, str(rows["cohort"].iloc[0]), str(rows["cohort"].iloc[-1])
