"""Survival view: durations, and Kaplan–Meier by cohort from an aggregated table.

Durations are months (days ÷ 365.25/12) from issue to the first studied event (the event
sets of the cohort study). Competing exits (death, maturity, free-look) and the study end
censor; a policy issued before the study window starts enters late (left truncation).

The engine aggregates policies into ``cohort × duration → entered, removed, observed``
(:mod:`analysis.engine.survival`; durations in whole days, months applied on the small
table) and the Kaplan–Meier curve, its exponential-Greenwood band and the numbers at
risk are derived from that small table (:func:`km_from_counts`). It follows lifelines' ``KaplanMeierFitter`` exactly (a
subject entering at t is at risk at t; the band is the log(−log) Greenwood interval), and
the tests hold the two equal to 1e-10. Tests between cohorts are in
:mod:`analysis.survival.logrank`, the Cox model in :mod:`analysis.survival.cox`, competing
risks in :mod:`analysis.survival.incidence`; :mod:`analysis.survival.result` assembles the
page's and the command line's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.stays import STAY_COLUMNS
from analysis.engine.survival import COUNT_COLUMNS, km_counts_expr, survival_days_expr
from analysis.errors import ExtractError

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

DAYS_PER_MONTH = 365.25 / 12
Z95 = stats.norm.ppf(0.975)
SUMMARY_MONTHS = (13, 25, 37, 61)
#: Restricted mean survival time is measured up to this many months unless asked otherwise.
RMST_HORIZON = 60
#: A curve is drawn only while at least this many policies remain at risk (a setting on the Survival page):
#: past it each exit moves the curve by 2 points or more, and a handful of policies drops it straight down.
MIN_AT_RISK = 50


def survival_data(
    policies: pd.DataFrame,
    *,
    events: frozenset[str] = S.VOLUNTARY_EXITS,
    study_date: pd.Timestamp,
    study_start: pd.Timestamp | None = None,
    study_end: pd.Timestamp | None = None,
    by: Sequence[str] = (),
    backend: BaseBackend | None = None,
) -> pd.DataFrame:
    """One row per policy in the study: ``[*by, duration, event, entry]`` in months, indexed as ``policies``.

    ``duration`` runs from issue to the event or censoring day; ``entry`` is the
    duration at which a late entrant joined the study (0 for policies issued inside
    the window). Policies gone before the window opened are left out. The days are worked
    out in the engine (:func:`analysis.engine.survival.survival_days_expr`); these rows are
    for the models that need them (Cox, the campaign's comparison, competing risks), while
    the curves and tests come from :func:`survival_counts`.
    """
    missing = [c for c in by if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_policies", column=missing[0])
    if len(policies) == 0:
        return pd.DataFrame({**{c: [] for c in by}, "duration": [], "event": [], "entry": []})
    frame = policies[[c for c in STAY_COLUMNS if c in policies.columns]].assign(**{_ROW: np.arange(len(policies), dtype=np.int64)})
    table, engine = bind(frame, backend)
    days = survival_days_expr(table, events=events, study_date=study_date, study_start=study_start, study_end=study_end, by=[_ROW])
    got = run(engine, days).sort_values(_ROW)
    rows = got[_ROW].to_numpy(dtype=np.int64)
    out = pd.DataFrame({c: policies[c].to_numpy()[rows] for c in by}, index=policies.index[rows])
    out["duration"] = got["duration"].to_numpy(dtype=np.int64) / DAYS_PER_MONTH
    out["event"] = got["event"].to_numpy(dtype=bool)
    out["entry"] = got["entry"].to_numpy(dtype=np.int64) / DAYS_PER_MONTH
    return out


#: The column that carries each policy's position through the engine.
_ROW = "__lapselens_row"


def survival_counts(
    policies: pd.DataFrame | ir.Table,
    *,
    events: frozenset[str] = S.VOLUNTARY_EXITS,
    study_date: pd.Timestamp,
    study_start: pd.Timestamp | None = None,
    study_end: pd.Timestamp | None = None,
    by: str | None = None,
    backend: BaseBackend | None = None,
) -> pd.DataFrame:
    """The Kaplan–Meier aggregate of a book, computed in the engine: ``[cohort, month, removed, observed, entered]``.

    The durations of :func:`survival_data` (the same policies, the same event and censoring
    days) counted by cohort and whole day in the engine
    (:func:`analysis.engine.survival.km_counts_expr`); ``month`` is the day divided by
    :data:`DAYS_PER_MONTH`, so the times are the same floats as :func:`survival_data`'s.
    """
    if by is not None and by not in policies.columns:
        raise ExtractError("missing_column", reason="in_policies", column=by)
    if isinstance(policies, pd.DataFrame):
        policies = policies[[c for c in dict.fromkeys([*STAY_COLUMNS, *([by] if by else [])]) if c in policies.columns]]
    table, engine = bind(policies, backend)
    days = survival_days_expr(
        table, events=events, study_date=study_date, study_start=study_start, study_end=study_end, by=[by] if by else []
    )
    counts = tidy_counts(run(engine, km_counts_expr(days, by=by)), like=policies, by=by)
    counts["time"] = counts["time"].to_numpy(dtype=np.int64) / DAYS_PER_MONTH
    return counts.rename(columns={"time": "month"})


#: The name of the cohort of policies whose cohort column is missing (as pandas writes a missing text).
MISSING_COHORT = "<NA>"


def tidy_counts(counts: pd.DataFrame, *, like: pd.DataFrame | ir.Table, by: str | None) -> pd.DataFrame:
    """Engine counts sorted by cohort (in the cohort column's own order) and time, cohorts named as text (missing: ``<NA>``)."""
    if by and isinstance(like, pd.DataFrame):  # the cohorts keep the book's type and order (categories, booleans)
        counts["cohort"] = counts["cohort"].astype(like[by].dtype)
    counts = counts.sort_values(["cohort", "time"], kind="stable").reset_index(drop=True)
    counts["cohort"] = counts["cohort"].astype(str).where(counts["cohort"].notna(), MISSING_COHORT)
    for column in ("removed", "observed", "entered"):
        counts[column] = counts[column].astype(np.int64)
    return counts[COUNT_COLUMNS]


def km_curves(data: pd.DataFrame | ir.Table, *, by: str | None = None, z: float = Z95, backend: BaseBackend | None = None) -> pd.DataFrame:
    """Kaplan–Meier survival by cohort from per-policy durations, aggregated in the engine.

    Parameters
    ----------
    data : DataFrame or ibis Table
        From :func:`survival_data`: ``duration``, ``event``, ``entry`` and the cohort column.
    by : str, optional
        The cohort column; one curve for the whole book when omitted.
    backend : ibis backend, optional
        The engine that counts a pandas ``data`` (DuckDB by default).

    Returns
    -------
    DataFrame
        :func:`km_from_counts` of the counts ``cohort × duration``.
    """
    columns = ["duration", "entry", "event", *([by] if by else [])]
    table, engine = bind(data[columns] if isinstance(data, pd.DataFrame) else data, backend)
    counts = tidy_counts(run(engine, km_counts_expr(table, by=by)), like=data, by=by)
    return km_from_counts(counts.rename(columns={"time": "month"}), z=z)


def km_from_counts(counts: pd.DataFrame, *, z: float = Z95) -> pd.DataFrame:
    """Kaplan–Meier survival, its band and the numbers at risk from the ``cohort × time`` aggregate.

    Parameters
    ----------
    counts : DataFrame
        ``[cohort, month, removed, observed, entered]`` sorted by cohort and month
        (:func:`survival_counts`).
    z : float
        Quantile of the band.

    Returns
    -------
    DataFrame
        ``[cohort, month, at_risk, events, censored, entered, survival, lower, upper]``:
        one row per cohort and distinct time (event, censoring or entry, and 0), as lifelines'
        timeline; ``lower``/``upper`` are the 95 % exponential-Greenwood band.
    """
    frames = [_km_curve(str(name), cohort, z=z) for name, cohort in counts.groupby("cohort", sort=False)]
    columns = ["cohort", "month", "at_risk", "events", "censored", "entered", "survival", "lower", "upper"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _km_curve(name: str, counts: pd.DataFrame, *, z: float) -> pd.DataFrame:
    """One cohort's curve from its counts (sorted by time); time 0 is always on the timeline."""
    times = counts["month"].to_numpy(dtype=float)
    removed, observed, entrance = (counts[c].to_numpy(dtype=np.int64) for c in ("removed", "observed", "entered"))
    if not len(times) or times[0] != 0.0:
        times, removed, observed, entrance = (np.concatenate([[0], a]) for a in (times, removed, observed, entrance))
        times = times.astype(float)
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
    return pd.DataFrame(
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


#: The columns :func:`mark_past_cutoff` adds to a summary.
CUTOFF_COLUMNS = ("solid_until", "past_cutoff")


def mark_past_cutoff(
    summary: pd.DataFrame, curves: pd.DataFrame, *, min_at_risk: int = MIN_AT_RISK, horizon: float = RMST_HORIZON
) -> pd.DataFrame:
    """The summary with where each cohort's curve stops, and which of its figures are read past that point.

    A curve is drawn up to its last time with at least ``min_at_risk`` policies at risk
    (:func:`until_at_risk`); a figure read at a later time rests on fewer policies than that,
    and is named here so a table can mark it (its value is kept: numbers stay numbers).

    Parameters
    ----------
    summary : DataFrame
        :func:`survival_summary`: ``cohort``, ``survival_<m>`` (read at month m), ``median``
        (its own value is the month) and ``rmst`` (read up to ``horizon``).
    curves : DataFrame
        The curves the summary was made from (``cohort``, ``month``, ``at_risk``).
    min_at_risk : int
        The cutoff; 0 (or less) marks nothing, as it draws every time.
    horizon : float
        The restricted mean's horizon, in months.

    Returns
    -------
    DataFrame
        A copy of ``summary`` with ``solid_until`` (the cohort's last month with at least
        ``min_at_risk`` at risk; NaN when it never has that many) and ``past_cutoff`` (a tuple
        of the figures' column names read past it, in the summary's column order: a
        ``survival_<m>`` with m later than ``solid_until``, a median later than it, ``rmst``
        when the horizon is; a missing figure — a curve ending before m, a median not
        reached — is never named).
    """
    enough = curves[curves["at_risk"].to_numpy() >= min_at_risk]
    last = enough.groupby(enough["cohort"].astype(str), sort=False)["month"].max()
    solid = summary["cohort"].astype(str).map(last).astype(float)
    reads: dict[str, pd.Series] = {}
    for column in summary.columns:
        if str(column).startswith("survival_"):
            reads[column] = pd.Series(float(str(column).removeprefix("survival_")), index=summary.index)
        elif column == "median":
            reads[column] = summary["median"].astype(float)
        elif column == "rmst":
            reads[column] = pd.Series(float(horizon), index=summary.index)
    # A figure is past the stop unless it is read on or before it (so every figure present when there is no stop).
    past = pd.Series(
        [
            tuple(c for c, at in reads.items() if min_at_risk > 0 and pd.notna(summary.at[i, c]) and not at[i] <= solid[i])
            for i in summary.index
        ],
        index=summary.index,
        dtype=object,
    )
    return summary.assign(solid_until=solid.to_numpy(), past_cutoff=past)


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


def until_at_risk(curves: pd.DataFrame, *, min_at_risk: int = MIN_AT_RISK, by: str | None = "cohort") -> pd.DataFrame:
    """Each curve up to its last time with at least ``min_at_risk`` policies at risk.

    Parameters
    ----------
    curves : DataFrame
        A table with ``at_risk`` per time, sorted by time within each curve
        (:func:`km_from_counts`, :func:`~analysis.survival.incidence.cumulative_incidence`).
    min_at_risk : int
        The fewest policies at risk a drawn point may rest on; 0 keeps every row.
    by : str, optional
        The column naming each curve (``cohort``; ``cause`` for incidences); None for one curve.

    Returns
    -------
    DataFrame
        The rows up to (and with) each curve's last row with ``at_risk >= min_at_risk``; a
        curve with none at all is left out. Late entrants can raise the number at risk
        again, so a curve stops at its *last* well-populated time, not its first thin one.
    """
    enough = curves["at_risk"].to_numpy() >= min_at_risk
    flags = pd.Series(enough[::-1], index=curves.index[::-1])
    if by is None:
        keep = flags.cummax()
    else:
        keep = flags.groupby(curves[by].to_numpy()[::-1], sort=False).cummax()
    return curves[keep.reindex(curves.index).to_numpy(dtype=bool)]
