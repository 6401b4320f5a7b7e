"""Survival view: durations, and Kaplan–Meier by cohort from an aggregated table.

Durations are months (days ÷ 365.25/12) from issue to the first studied event (the event
sets of the cohort study). Competing exits (death, maturity, free-look) and the study end
censor; a policy issued before the study window starts enters late (left truncation).

The fast path aggregates policies into ``cohort × duration → entrance, removed, observed``
and derives the Kaplan–Meier curve, its exponential-Greenwood band and the numbers at
risk from that small table. It follows lifelines' ``KaplanMeierFitter`` exactly (a
subject entering at t is at risk at t; the band is the log(−log) Greenwood interval), and
the tests hold the two equal to 1e-10. Tests between cohorts are in
:mod:`analysis.survival.logrank`, the Cox model in :mod:`analysis.survival.cox`, competing
risks in :mod:`analysis.survival.incidence`; :mod:`analysis.survival.result` assembles the
page's and the command line's result.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.study.calendar import as_days
from analysis.study.exposure import cohort_codes, event_dates

DAYS_PER_MONTH = 365.25 / 12
Z95 = stats.norm.ppf(0.975)
SUMMARY_MONTHS = (13, 25, 37, 61)
#: Restricted mean survival time is measured up to this many months unless asked otherwise.
RMST_HORIZON = 60


def survival_data(
    policies: pd.DataFrame,
    *,
    events: frozenset[str] = S.VOLUNTARY_EXITS,
    study_date: pd.Timestamp,
    study_start: pd.Timestamp | None = None,
    study_end: pd.Timestamp | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per policy in the study: ``[*by, duration, event, entry]`` in months.

    ``duration`` runs from issue to the event or censoring day; ``entry`` is the
    duration at which a late entrant joined the study (0 for policies issued inside
    the window). Policies gone before the window opened are left out.
    """
    missing = [c for c in by if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_policies", column=missing[0])
    issue = as_days(policies[S.ISSUE_DATE])
    if len(issue) == 0:
        return pd.DataFrame({**{c: [] for c in by}, "duration": [], "event": [], "entry": []})
    exit_day, is_event = event_dates(policies, events)
    end = np.datetime64(pd.Timestamp(study_end if study_end is not None else study_date).date(), "D")
    start = np.datetime64(pd.Timestamp(study_start).date(), "D") if study_start is not None else np.nanmin(issue)
    after = ~np.isnat(exit_day) & (exit_day > end)
    stop = np.where(np.isnat(exit_day) | after, end, exit_day)
    event = is_event & ~after
    entry_day = np.maximum(issue, start)
    # A late entrant must still be in force on the day it enters.
    keep = ~np.isnat(issue) & (stop >= entry_day) & (issue <= end)
    out = pd.DataFrame({c: policies[c].to_numpy()[keep] for c in by}, index=policies.index[keep])
    out["duration"] = (stop[keep] - issue[keep]).astype(np.int64) / DAYS_PER_MONTH
    out["event"] = event[keep]
    out["entry"] = (entry_day[keep] - issue[keep]).astype(np.int64) / DAYS_PER_MONTH
    return out


def km_curves(data: pd.DataFrame, *, by: str | None = None, z: float = Z95) -> pd.DataFrame:
    """Kaplan–Meier survival by cohort from aggregated durations.

    Parameters
    ----------
    data : DataFrame
        From :func:`survival_data`: ``duration``, ``event``, ``entry`` and the cohort column.
    by : str, optional
        The cohort column; one curve for the whole book when omitted.

    Returns
    -------
    DataFrame
        ``[cohort, month, at_risk, events, censored, entered, survival, lower, upper]``:
        one row per cohort and distinct time (event, censoring or entry), as lifelines'
        timeline; ``lower``/``upper`` are the 95 % exponential-Greenwood band.
    """
    codes, cohorts = cohort_codes(data, [by] if by else [])
    names = cohorts[by].astype(str).to_numpy() if by else np.array(["all"])
    duration = data["duration"].to_numpy(dtype=float)
    entry = data["entry"].to_numpy(dtype=float)
    event = data["event"].to_numpy(dtype=bool)
    frames = []
    for code, name in enumerate(names):
        mask = codes == code
        if not mask.any():
            continue
        d, e, w = duration[mask], event[mask], entry[mask]
        times = np.unique(np.concatenate([d, w[w > 0], [0.0]]))
        removed = np.bincount(np.searchsorted(times, d), minlength=len(times))
        observed = np.bincount(np.searchsorted(times, d[e]), minlength=len(times))
        entrance = np.bincount(np.searchsorted(times, w), minlength=len(times))
        at_risk = np.cumsum(entrance) - np.concatenate([[0], np.cumsum(removed)[:-1]])
        # As lifelines: exits at t are taken before the entrants at t join (except at the start).
        late = entrance.copy()
        late[0] = 0
        population = at_risk - late
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(population > 0, 1 - observed / population, 1.0)
            survival = np.cumprod(factor)
            increments = np.where((population > 0) & (population > observed), observed / (population * (population - observed)), 0.0)
            variance = np.cumsum(increments)
            log_s = np.log(survival)
            centre = np.log(-log_s)
            half = z * np.sqrt(variance) / log_s  # negative: log_s < 0
            lower = np.exp(-np.exp(centre - half))
            upper = np.exp(-np.exp(centre + half))
        # Where S = 1 the band is undefined: lifelines shows it as 1.
        lower = np.where(np.isnan(lower), 1.0, lower)
        upper = np.where(np.isnan(upper), 1.0, upper)
        frames.append(
            pd.DataFrame(
                {
                    "cohort": name,
                    "month": times,
                    "at_risk": at_risk,
                    "events": observed,
                    "censored": removed - observed,
                    "entered": entrance,
                    "survival": survival,
                    "lower": lower,
                    "upper": upper,
                }
            )
        )
    columns = ["cohort", "month", "at_risk", "events", "censored", "entered", "survival", "lower", "upper"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def survival_summary(curves: pd.DataFrame, *, horizon: float = RMST_HORIZON, months: Sequence[float] = SUMMARY_MONTHS) -> pd.DataFrame:
    """Per cohort: policies, events, survival at 13/25/37/61 months, median (where reached) and RMST to ``horizon``.

    The restricted mean survival time is the area under the step curve up to the
    horizon, in months.
    """
    rows = []
    for cohort, curve in curves.groupby("cohort", sort=False):
        times = curve["month"].to_numpy()
        surv = curve["survival"].to_numpy()
        row: dict[str, object] = {"cohort": cohort, "policies": int(curve["entered"].sum()), "events": int(curve["events"].sum())}
        for month in months:
            i = np.searchsorted(times, month, side="right") - 1
            row[f"survival_{int(month)}"] = float(surv[i]) if times.max() >= month else np.nan
        below = np.flatnonzero(surv <= 0.5)
        row["median"] = float(times[below[0]]) if len(below) else np.nan
        edges = np.concatenate([times[times < horizon], [horizon]])
        steps = surv[: len(edges) - 1]
        row["rmst"] = float(np.sum(np.diff(edges) * steps)) if times.max() >= horizon or len(edges) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def at_risk_table(curves: pd.DataFrame, ticks: Sequence[float]) -> pd.DataFrame:
    """Numbers at risk under the plot: cohort × tick month (policies still under observation at that month)."""
    rows = {}
    for cohort, curve in curves.groupby("cohort", sort=False):
        times = curve["month"].to_numpy()
        risk = curve["at_risk"].to_numpy()
        values = []
        for tick in ticks:
            i = np.searchsorted(times, tick, side="left")
            values.append(int(risk[i]) if i < len(times) else 0)
        rows[cohort] = values
    return pd.DataFrame(rows, index=pd.Index(list(ticks), name="month")).T
