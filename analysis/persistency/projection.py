"""Where persistency is heading: the issue month × duration triangle and the chain-ladder projection.

Both come from one engine query over the policies (:func:`_development`, the issue-month cells
of :func:`analysis.persistency.ratios.persistency_cells` at every month); definitions are
those of :func:`analysis.persistency.ratios.persistency_ratios`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis.persistency.ratios import DEFAULT_OPTIONS, HEADLINE_MONTHS, PersistencyOptions, persistency_cells, regroup_cells

PROJECTION_COLUMNS = ["cohort", "month", "observed_month", "observed", "projected", "cohort_policies", "reference_from", "reference_to"]
#: Durations (months) the triangle shows, and the latest issue months it keeps.
TRIANGLE_MONTHS, TRIANGLE_COHORTS = 36, 36
#: The development factors come from the latest this many issue months that have developed.
REFERENCE_MONTHS = 12


def persistency_triangle(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    max_month: int = TRIANGLE_MONTHS,
    last_cohorts: int = TRIANGLE_COHORTS,
    options: PersistencyOptions = DEFAULT_OPTIONS,
) -> pd.DataFrame:
    """Issue month × duration persistency, from one engine pass over the policies.

    The engine counts the policies persisting at every month 1..``max_month`` by issue month
    (:func:`~analysis.persistency.ratios.persistency_cells`). A cell is blank until the whole
    issue month has reached that duration.

    Returns
    -------
    DataFrame
        Index: issue month (the latest ``last_cohorts``); columns: months 1..``max_month``.
    """
    developed = _development(policies, study_date=study_date, grains=("month",), max_month=max_month, options=options)
    if not developed:
        return pd.DataFrame()
    return _triangle(*developed[0], max_month=max_month, last_cohorts=last_cohorts)


def _triangle(labels: list[str], persisting: np.ndarray, reached: np.ndarray, *, max_month: int, last_cohorts: int) -> pd.DataFrame:
    size = persisting[:, 0]
    table = np.where(reached[:, 1 : max_month + 1], persisting[:, 1 : max_month + 1] / size[:, None], np.nan)
    result = pd.DataFrame(table, index=pd.Index(labels, name="issue_month"), columns=pd.Index(range(1, max_month + 1), name="month"))
    return result.tail(last_cohorts)


def _development(
    policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp, grains: Sequence[str], max_month: int, options: PersistencyOptions
) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
    """Policies persisting at every month 0..``max_month`` by issue period, from one engine query.

    The engine gives the issue-month cells at every month; quarters and years pool them
    (:func:`development_from_cells`).
    """
    options = replace(options, months=tuple(range(max_month + 1)), cohort="month")
    monthly = persistency_cells(policies, study_date=study_date, options=options, premium=False)
    return development_from_cells(monthly, study_date=study_date, grains=grains, max_month=max_month, include_grace=options.include_grace)


def development_from_cells(
    monthly: pd.DataFrame, *, study_date: pd.Timestamp, grains: Sequence[str], max_month: int, include_grace: bool
) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
    """Per grain, ``(labels, persisting, reached)`` from issue-month cells at every month 0..``max_month``.

    ``labels`` are the cohort labels, ``persisting`` the counts ``[cohort, month]`` (month 0:
    the cohort's size) and ``reached`` whether the whole cohort has reached that month by the
    study date; an empty list when no policy is left after the exclusions.
    """
    monthly = monthly[monthly["month"] <= max_month]
    if monthly.empty:
        return []
    out = []
    for grain in grains:
        cells = regroup_cells(monthly, cohort=grain, study_date=study_date, shift=1 if include_grace else 0)
        labels = list(dict.fromkeys(cells["cohort"].astype(str)))
        shape = (len(labels), max_month + 1)
        persisting = cells["persisting"].to_numpy(dtype=float).reshape(shape)
        persisting[:, 0] = cells["cohort_policies"].to_numpy(dtype=float).reshape(shape)[:, 0]
        out.append((labels, persisting, cells["reached"].to_numpy(dtype=bool).reshape(shape)))
    return out


def projected_persistency(
    policies: pd.DataFrame | ir.Table,
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
    if not months:
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    grains = ("month",) if cohort == "month" else ("month", cohort)
    developed = _development(policies, study_date=study_date, grains=grains, max_month=max(months), options=options)
    if not developed:
        return pd.DataFrame(columns=PROJECTION_COLUMNS)
    return _projection(developed[0], developed[-1], months=months, reference_months=reference_months, min_observed=min_observed)


def triangle_and_projection(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    cohort: str = "quarter",
    options: PersistencyOptions = DEFAULT_OPTIONS,
    max_month: int = TRIANGLE_MONTHS,
    last_cohorts: int = TRIANGLE_COHORTS,
    months: Sequence[int] = HEADLINE_MONTHS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`persistency_triangle` and :func:`projected_persistency` (default settings) from one pass."""
    grains = ("month",) if cohort == "month" else ("month", cohort)
    developed = _development(policies, study_date=study_date, grains=grains, max_month=max(max_month, *months), options=options)
    return triangle_and_projection_of(developed, max_month=max_month, last_cohorts=last_cohorts, months=months)


def triangle_and_projection_of(
    developed: list[tuple[list[str], np.ndarray, np.ndarray]],
    *,
    max_month: int = TRIANGLE_MONTHS,
    last_cohorts: int = TRIANGLE_COHORTS,
    months: Sequence[int] = HEADLINE_MONTHS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The triangle and the projection from :func:`development_from_cells` (issue months first, then the projection's grain)."""
    if not developed:
        return pd.DataFrame(), pd.DataFrame(columns=PROJECTION_COLUMNS)
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
