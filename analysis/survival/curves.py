"""Survival view: durations, Kaplan–Meier by cohort from an aggregated table, log-rank tests.

Durations are months (days ÷ 365.25/12) from issue to the first studied event (the event
sets of the cohort study). Competing exits (death, maturity, free-look) and the study end
censor; a policy issued before the study window starts enters late (left truncation).

The fast path aggregates policies into ``cohort × duration → entrance, removed, observed``
and derives the Kaplan–Meier curve, its exponential-Greenwood band and the numbers at
risk from that small table. It follows lifelines' ``KaplanMeierFitter`` exactly (a
subject entering at t is at risk at t; the band is the log(−log) Greenwood interval), and
the tests hold the two equal to 1e-10.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

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
        raise ExtractError(f"No column {missing[0]!r} in the policies.", code="missing_column", column=missing[0])
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


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan–Meier curves by cohort and what they were computed from."""

    curves: pd.DataFrame
    cohort_column: str | None


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


def survival_at(curves: pd.DataFrame, months: Sequence[float]) -> pd.DataFrame:
    """Survival (and band) of each cohort at given months: the step function read at each month."""
    rows = []
    for cohort, curve in curves.groupby("cohort", sort=False):
        times = curve["month"].to_numpy()
        for month in months:
            i = np.searchsorted(times, month, side="right") - 1
            reached = times.max() >= month
            rows.append(
                {
                    "cohort": cohort,
                    "month": month,
                    "survival": float(curve["survival"].iloc[i]) if reached else np.nan,
                    "lower": float(curve["lower"].iloc[i]) if reached else np.nan,
                    "upper": float(curve["upper"].iloc[i]) if reached else np.nan,
                }
            )
    return pd.DataFrame(rows)


def survival_summary(curves: pd.DataFrame, *, horizon: float = 60.0, months: Sequence[float] = SUMMARY_MONTHS) -> pd.DataFrame:
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


#: Pairwise log-rank tests are run up to this many cohorts (66 pairs); beyond it only the overall test.
MAX_PAIRWISE_COHORTS = 12


def logrank_tests(data: pd.DataFrame, *, by: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The multivariate log-rank test across cohorts, and pairwise tests with a Holm correction.

    Pairwise tests need one test per pair: they are run for up to :data:`MAX_PAIRWISE_COHORTS`
    cohorts (an agent column with 1,500 agents would need over a million); with more,
    ``pairwise`` is empty.

    Uses lifelines (``multivariate_logrank_test``, ``pairwise_logrank_test``); left
    truncation is ignored by these tests (lifelines does not support it), so run them on
    a study window that opens before the first issue for an exact test.

    Returns
    -------
    (overall, pairwise) : DataFrames
        ``overall``: ``[test_statistic, p_value, degrees_of_freedom]``;
        ``pairwise``: ``[cohort_a, cohort_b, test_statistic, p_value, p_holm]``.
    """
    from lifelines.statistics import pairwise_logrank_test

    groups = data[by].astype(str)
    statistic, p_value, dof = multivariate_logrank(
        data["duration"].to_numpy(dtype=float), data["event"].to_numpy(dtype=float), groups.to_numpy()
    )
    table = pd.DataFrame({"test_statistic": [statistic], "p_value": [p_value], "degrees_of_freedom": [dof]})
    if groups.nunique() > MAX_PAIRWISE_COHORTS:
        return table, pd.DataFrame(columns=["cohort_a", "cohort_b", "test_statistic", "p_value", "p_holm"])
    pairs = pairwise_logrank_test(data["duration"], groups, data["event"]).summary.reset_index()
    pairs.columns = ["cohort_a", "cohort_b", "test_statistic", "p_value", "minus_log2_p"]
    pairs = pairs.drop(columns="minus_log2_p")
    pairs["p_holm"] = holm(pairs["p_value"].to_numpy())
    return table, pairs


def multivariate_logrank(duration: np.ndarray, event: np.ndarray, groups: np.ndarray) -> tuple[float, float, int]:
    """The k-sample log-rank test from counts: ``(statistic, p_value, degrees_of_freedom)``.

    The same statistic as lifelines' ``multivariate_logrank_test`` (tests pin it), built from
    a matrix of events and numbers at risk by event time × group instead of one survival
    table per group, so 1,500 agents take a second, not a minute. At each event time ``t``:
    ``O_j − E_j = d_tj − n_tj d_t / n_t`` and the covariance
    ``V_jl = f_t (n_t n_tj δ_jl − n_tj n_tl)`` with ``f_t = d_t (n_t − d_t) / ((n_t − 1) n_t²)``
    (``(n_t − d_t)/(n_t − 1)`` read as 1 when ``n_t = 1``); the statistic is
    ``Zᵀ V⁻¹ Z`` over the first k−1 groups, chi-squared with k−1 degrees of freedom.
    Groups never at risk at an event time carry no information and drop out (as the
    pseudo-inverse does).
    """
    from scipy.stats import chi2

    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    k = len(uniques)
    times = np.unique(duration[event > 0])
    if k < 2 or len(times) == 0:
        return 0.0, 1.0, max(k - 1, 0)
    reach = np.searchsorted(times, duration, side="right")  # at risk at event times 0..reach-1
    counts = np.bincount(reach * k + codes, minlength=(len(times) + 1) * k).reshape(len(times) + 1, k)
    at_risk = np.cumsum(counts[::-1], axis=0)[::-1][1:].astype(float)  # [time, group]: duration >= time
    hit = event > 0
    slot = np.searchsorted(times, duration[hit], side="left")
    deaths = np.bincount(slot * k + codes[hit], minlength=len(times) * k).reshape(len(times), k).astype(float)
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    z = (deaths - at_risk * (d / n)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(n > 1, (n - d) / (n - 1), 1.0)
    factor = ratio * d / n**2
    weighted = at_risk * np.sqrt(factor)[:, None]
    covariance = np.diag((factor * n) @ at_risk) - weighted.T @ weighted
    informative = np.flatnonzero(np.diag(covariance)[:-1] > 1e-12)
    v, zz = covariance[np.ix_(informative, informative)], z[informative]
    try:
        statistic = float(zz @ np.linalg.solve(v, zz))
    except np.linalg.LinAlgError:
        statistic = float(zz @ np.linalg.pinv(v) @ zz)
    return statistic, float(chi2.sf(statistic, k - 1)), k - 1


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values for multiple comparisons."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


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


def format_p(p: float) -> str:
    """A p-value as people write it: ``< 0.001`` or ``= 0.023``."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


@dataclass(frozen=True)
class CoxResult:
    """A fitted proportional-hazards model, as tables.

    Attributes
    ----------
    hazard_ratios : DataFrame
        ``[covariate, level, reference, hazard_ratio, lower, upper, p_value]``; a
        categorical covariate has one row per non-reference level.
    ph_test : DataFrame
        ``[covariate, test_statistic, p_value, violated]``: the Schoenfeld-residual
        test of proportional hazards (rank time transform).
    policies_used, policies_total : int
        The fit uses a random sample of at most ``sample`` policies on large books.
    ph_policies : int
        Policies in the proportional-hazards test (a sample of at most ``ph_sample``).
    concordance : float
    """

    hazard_ratios: pd.DataFrame
    ph_test: pd.DataFrame
    policies_used: int
    policies_total: int
    concordance: float
    strata: tuple[str, ...]
    ph_policies: int = 0


#: Levels of one categorical covariate in the Cox model at most (the rest are grouped as OTHER).
MAX_COX_LEVELS = 20
#: Strata (combinations of the stratifying columns' values) at most: each is its own baseline hazard.
MAX_STRATA = 200
OTHER = "(other)"


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str], dict[str, tuple[str, str]]]:
    """Covariates encoded for a Cox fit: numbers as they are, categories as indicators.

    The reference level of a categorical covariate is its most frequent value; missing
    values are a level of their own. A covariate with more than :data:`MAX_COX_LEVELS`
    levels (agents, branches) keeps its most frequent ones and groups the rest as
    ``(other)``: 1,500 agent indicators would take the fit many minutes and say little.
    Returns the matrix, each covariate's reference, and each indicator column's
    (covariate, level).
    """
    columns: dict[str, pd.Series] = {}
    references: dict[str, str] = {}
    levels: dict[str, tuple[str, str]] = {}
    for covariate in covariates:
        values = data[covariate]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > 2:
            columns[covariate] = values.astype(float).fillna(values.astype(float).median())
            levels[covariate] = (covariate, "")
            continue
        text = values.astype("string").fillna("(blank)").astype(str)
        counts = text.value_counts()
        if len(counts) > MAX_COX_LEVELS:
            text = text.where(text.isin(counts.index[: MAX_COX_LEVELS - 1]), OTHER)
            counts = text.value_counts()
        references[covariate] = str(counts.index[0])
        for level in counts.index[1:]:
            name = f"{covariate}={level}"
            columns[name] = (text == level).astype(float)
            levels[name] = (covariate, str(level))
    return pd.DataFrame(columns, index=data.index), references, levels


def fit_cox(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    strata: Sequence[str] = (),
    sample: int = 200_000,
    ph_sample: int = 20_000,
    random_state: int = 0,
) -> CoxResult:
    """Cox proportional hazards on the chosen covariates (lifelines), with the PH check.

    Parameters
    ----------
    data : DataFrame
        From :func:`survival_data` with the covariate (and strata) columns.
    covariates : sequence of str
        Numeric columns enter as they are; others are encoded against their most
        frequent level.
    strata : sequence of str
        Covariates that fail the PH check can be stratified on instead.
    sample : int
        Books larger than this are fitted on a random sample of this size.
    ph_sample : int
        The proportional-hazards test runs on a refit to a sample of at most this size.
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    if not covariates:
        raise ExtractError("Choose at least one covariate for the Cox model.", code="bad_option", detail="covariates")
    total = len(data)
    frame = data.sample(n=sample, random_state=random_state) if total > sample else data
    matrix, references, levels = design_matrix(frame, [c for c in covariates if c not in strata])
    matrix = matrix.loc[:, matrix.std() > 0]
    if matrix.empty:
        raise ExtractError("The chosen covariates do not vary in this data set.", code="bad_option", detail="covariates")
    model_data = matrix.assign(duration=frame["duration"].clip(lower=1e-6), event=frame["event"].astype(int))
    late_entry = bool((frame["entry"] > 0).any())
    if late_entry:
        model_data["entry"] = frame["entry"]
    for column in strata:
        model_data[f"stratum_{column}"] = frame[column].astype("string").fillna("(blank)").astype(str)
    if strata and model_data.groupby([f"stratum_{c}" for c in strata], observed=True).ngroups > MAX_STRATA:
        raise ExtractError(
            f"The strata make more than {MAX_STRATA} groups; stratify on columns with few values.",
            code="bad_option",
            detail="too_many_strata",
        )
    if not model_data["event"].any():
        raise ExtractError("No policy in the Cox model's data has the chosen event.", code="bad_option", detail="no_cox_events")
    fitter = CoxPHFitter(penalizer=1e-5)
    try:
        fitter.fit(
            model_data,
            duration_col="duration",
            event_col="event",
            entry_col="entry" if late_entry else None,
            strata=[f"stratum_{c}" for c in strata] or None,
        )
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # lifelines' ConvergenceError is a ValueError
        raise ExtractError(
            f"The Cox model could not be fitted on these covariates ({type(exc).__name__}).", code="bad_option", detail="cox_failed"
        ) from exc
    summary = fitter.summary
    hr = pd.DataFrame(
        {
            "covariate": [levels[name][0] for name in summary.index],
            "level": [levels[name][1] for name in summary.index],
            "reference": [references.get(levels[name][0], "") for name in summary.index],
            "hazard_ratio": summary["exp(coef)"].to_numpy(),
            "lower": summary["exp(coef) lower 95%"].to_numpy(),
            "upper": summary["exp(coef) upper 95%"].to_numpy(),
            "p_value": summary["p"].to_numpy(),
        }
    )
    if late_entry:  # lifelines has no residuals with delayed entry: no PH test then
        empty = pd.DataFrame(columns=["covariate", "level", "test_statistic", "p_value", "violated"])
        return CoxResult(hr, empty, len(frame), total, _concordance(fitter), tuple(strata))
    # The Schoenfeld test costs far more than the fit (45 s at 200,000 policies), so it runs on
    # a refit to a seeded sample of at most ``ph_sample`` policies.
    ph_data = model_data.sample(n=ph_sample, random_state=random_state) if len(model_data) > ph_sample else model_data
    ph_fitter = (
        fitter
        if ph_data is model_data
        else CoxPHFitter(penalizer=1e-5).fit(
            ph_data, duration_col="duration", event_col="event", strata=[f"stratum_{c}" for c in strata] or None
        )
    )
    ph = proportional_hazard_test(ph_fitter, ph_data, time_transform="rank").summary
    ph_table = pd.DataFrame(
        {
            "covariate": [levels[str(name)][0] if str(name) in levels else str(name) for name in ph.index],
            "level": [levels[str(name)][1] if str(name) in levels else "" for name in ph.index],
            "test_statistic": ph["test_statistic"].to_numpy(),
            "p_value": ph["p"].to_numpy(),
        }
    )
    ph_table["violated"] = ph_table["p_value"] < 0.05
    return CoxResult(hr, ph_table, len(frame), total, _concordance(fitter), tuple(strata), len(ph_data))


def _concordance(fitter: Any) -> float:
    """Harrell's C of a fitted model; NaN when no pair of policies can be compared (lifelines raises then)."""
    try:
        return float(fitter.concordance_index_)
    except ZeroDivisionError:
        return float("nan")


#: Causes for the competing-risks view.
CAUSES = {"lapse": (S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED), "surrender": (S.SURRENDERED,), "death": (S.DEATH_CLAIM,)}


def cumulative_incidence(policies: pd.DataFrame, *, study_date: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of lapse, surrender and death (lifelines).

    Each policy's first exit is its cause; maturities, free-look cancellations and the
    study end censor. Tied times are broken by lifelines' small seeded jitter.

    Returns
    -------
    DataFrame
        ``[cause, month, incidence, lower, upper]``.
    """
    from lifelines import AalenJohansenFitter

    all_events = frozenset(s for statuses in CAUSES.values() for s in statuses)
    data = survival_data(policies, events=all_events, study_date=study_date)
    kept_status = policies[S.STATUS].loc[data.index].to_numpy()
    cause_of = np.zeros(len(data), dtype=int)
    event = data["event"].to_numpy(dtype=bool)
    for code, (_, statuses) in enumerate(CAUSES.items(), start=1):
        cause_of[np.isin(kept_status, list(statuses)) & event] = code
    frames = []
    for code, cause in enumerate(CAUSES, start=1):
        if not (cause_of == code).any():
            continue
        fitter = AalenJohansenFitter(calculate_variance=True, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tie-breaking jitter is documented above
            fitter.fit(data["duration"], cause_of, event_of_interest=code)
        table = pd.concat([fitter.cumulative_density_, fitter.confidence_interval_], axis=1)
        table.columns = ["incidence", "lower", "upper"]
        table = table.reset_index().rename(columns={table.index.name or "index": "month"})
        table.columns = ["month", "incidence", "lower", "upper"]
        table.insert(0, "cause", cause)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["cause", "month", "incidence", "lower", "upper"])
