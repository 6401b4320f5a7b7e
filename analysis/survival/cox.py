"""The Cox proportional-hazards model on survival data (lifelines), with its PH check, as tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.survival.concordance import cox_concordance
from analysis.survival.logrank import SIGNIFICANCE_LEVEL
from analysis.survival.schoenfeld import scaled_schoenfeld


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
#: The small ridge penalty of every fit: keeps a nearly separated level from diverging.
PENALIZER = 1e-5
#: Books larger than this are fitted on a random sample of this many policies.
COX_SAMPLE = 200_000
#: The seed of the fit's sample (and of the proportional-hazards test's).
COX_SEED = 0
#: Durations are floored here (lifelines refuses a zero duration; a policy can leave on its issue day).
MIN_DURATION = 1e-6


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
    sample: int = COX_SAMPLE,
    ph_sample: int = 20_000,
    random_state: int = COX_SEED,
    total: int | None = None,
) -> CoxResult:
    """Cox proportional hazards on the chosen covariates (lifelines), with the PH check.

    Parameters
    ----------
    data : DataFrame
        From :func:`~analysis.survival.curves.survival_data` with the covariate (and strata) columns.
    covariates : sequence of str
        Numeric columns enter as they are; others are encoded against their most
        frequent level.
    strata : sequence of str
        Covariates that fail the PH check can be stratified on instead.
    sample : int
        Books larger than this are fitted on a random sample of this size.
    ph_sample : int
        The proportional-hazards test runs on a refit to a sample of at most this size.
    random_state : int
        Seed of both samples.
    total : int, optional
        The policies of the whole book when ``data`` is already a sample of it (reported as
        ``policies_total``); by default ``len(data)``.

    Returns
    -------
    CoxResult
    """
    from lifelines import CoxPHFitter

    if not covariates:
        raise ExtractError("bad_option", reason="cox_no_covariates")
    total = len(data) if total is None else total
    frame = data.sample(n=sample, random_state=random_state) if len(data) > sample else data
    late_entry = bool((frame["entry"] > 0).any())
    model_data, references, levels = _model_data(frame, covariates, strata, late_entry=late_entry)
    fitter = CoxPHFitter(penalizer=PENALIZER)
    try:
        fitter.fit(
            model_data,
            duration_col="duration",
            event_col="event",
            entry_col="entry" if late_entry else None,
            strata=[f"stratum_{c}" for c in strata] or None,
        )
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # lifelines' ConvergenceError is a ValueError
        raise ExtractError("bad_option", reason="cox_failed", error=type(exc).__name__) from exc
    hr = _hazard_ratios(fitter.summary, references, levels)
    if late_entry:  # lifelines has no residuals with delayed entry: no PH test then
        empty = pd.DataFrame(columns=["covariate", "level", "test_statistic", "p_value", "violated"])
        return CoxResult(hr, empty, len(frame), total, cox_concordance(fitter), tuple(strata))
    ph_table, ph_policies = _ph_test(fitter, model_data, strata, levels, ph_sample=ph_sample, random_state=random_state)
    return CoxResult(hr, ph_table, len(frame), total, cox_concordance(fitter), tuple(strata), ph_policies)


def _model_data(
    frame: pd.DataFrame, covariates: Sequence[str], strata: Sequence[str], *, late_entry: bool
) -> tuple[pd.DataFrame, dict[str, str], dict[str, tuple[str, str]]]:
    """The fit's frame: encoded covariates, ``duration``, ``event``, ``entry`` (late entrants only) and ``stratum_*``.

    Refuses covariates that do not vary, more than :data:`MAX_STRATA` strata, and data without an event.
    """
    matrix, references, levels = design_matrix(frame, [c for c in covariates if c not in strata])
    matrix = matrix.loc[:, matrix.std() > 0]
    if matrix.empty:
        raise ExtractError("bad_option", reason="cox_constant")
    model_data = matrix.assign(duration=frame["duration"].clip(lower=MIN_DURATION), event=frame["event"].astype(int))
    if late_entry:
        model_data["entry"] = frame["entry"]
    for column in strata:
        model_data[f"stratum_{column}"] = frame[column].astype("string").fillna("(blank)").astype(str)
    if strata and model_data.groupby([f"stratum_{c}" for c in strata], observed=True).ngroups > MAX_STRATA:
        raise ExtractError("bad_option", reason="cox_strata", most=MAX_STRATA)
    if not model_data["event"].any():
        raise ExtractError("bad_option", reason="cox_no_events")
    return model_data, references, levels


def _hazard_ratios(summary: pd.DataFrame, references: dict[str, str], levels: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The fitter's summary as ``[covariate, level, reference, hazard_ratio, lower, upper, p_value]``."""
    return pd.DataFrame(
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


def _ph_test(
    fitter: Any,
    model_data: pd.DataFrame,
    strata: Sequence[str],
    levels: dict[str, tuple[str, str]],
    *,
    ph_sample: int,
    random_state: int,
) -> tuple[pd.DataFrame, int]:
    """The Schoenfeld-residual test of proportional hazards and the number of policies it ran on.

    It runs on a refit to a seeded sample of at most ``ph_sample`` policies. (lifelines' own
    residuals took 45 s at 200,000 policies; :mod:`analysis.survival.schoenfeld` computes the same
    in milliseconds, and the sample keeps the test's figures what they were.)
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    ph_data = model_data.sample(n=ph_sample, random_state=random_state) if len(model_data) > ph_sample else model_data
    ph_fitter = (
        fitter
        if ph_data is model_data
        else CoxPHFitter(penalizer=PENALIZER).fit(
            ph_data, duration_col="duration", event_col="event", strata=[f"stratum_{c}" for c in strata] or None
        )
    )
    residuals = scaled_schoenfeld(ph_fitter, ph_data)  # lifelines' own definition, without its row-by-row loop
    ph = proportional_hazard_test(ph_fitter, ph_data, time_transform="rank", precomputed_residuals=residuals).summary
    ph_table = pd.DataFrame(
        {
            "covariate": [levels[str(name)][0] if str(name) in levels else str(name) for name in ph.index],
            "level": [levels[str(name)][1] if str(name) in levels else "" for name in ph.index],
            "test_statistic": ph["test_statistic"].to_numpy(),
            "p_value": ph["p"].to_numpy(),
        }
    )
    ph_table["violated"] = ph_table["p_value"] < SIGNIFICANCE_LEVEL
    return ph_table, len(ph_data)


def few_valued_columns(policies: pd.DataFrame, *, most: int = MAX_COX_LEVELS) -> frozenset[str]:
    """The columns with at most ``most`` distinct values (blank counts as one): candidates to stratify a Cox model on."""
    return frozenset(str(c) for c in policies.columns if policies[c].nunique(dropna=False) <= most)
