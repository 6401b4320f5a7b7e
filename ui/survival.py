"""Cached survival results for the Survival page (assembled by :mod:`analysis.survival.result`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.study.cohorts import NamedCohort
from analysis.survival.cox import CoxResult
from analysis.survival.cox import few_valued_columns as _few_valued_columns
from analysis.survival.curves import mark_past_cutoff
from analysis.survival.incidence import cumulative_incidence
from analysis.survival.result import SurvivalResult, cox_study, survival_study
from ui.i18n import language, t
from ui.state import DataSetChoice
from ui.study import dataset_key


@st.cache_data(max_entries=32, show_spinner=False)
def _survival(
    key: str, by: str | None, events: frozenset[str], named: tuple[NamedCohort, ...], horizon: float, start: str | None, _result: LoadResult
) -> SurvivalResult:
    return survival_study(
        _result.policies, study_date=_result.study_date, by=by, events=events, named=named, horizon=horizon, study_start=start
    )


def survival_result(
    choice: DataSetChoice,
    result: LoadResult,
    by: str | None,
    events: frozenset[str],
    named: tuple[NamedCohort, ...],
    horizon: float,
    start: str | None = None,
) -> SurvivalResult:
    """Kaplan–Meier curves, summary and log-rank tests (cached by data set and options)."""
    return _survival(dataset_key(choice), by, events, named, horizon, start, result)


@st.cache_data(max_entries=16, show_spinner=False)
def _cox(
    key: str,
    covariates: tuple[str, ...],
    strata: tuple[str, ...],
    events: frozenset[str],
    named: tuple[NamedCohort, ...],
    _result: LoadResult,
) -> CoxResult:
    return cox_study(_result.policies, study_date=_result.study_date, covariates=covariates, strata=strata, events=events, named=named)


def cox_result(
    choice: DataSetChoice,
    result: LoadResult,
    covariates: tuple[str, ...],
    strata: tuple[str, ...],
    events: frozenset[str],
    named: tuple[NamedCohort, ...],
) -> CoxResult:
    """A Cox model on the chosen covariates (cached)."""
    return _cox(dataset_key(choice), covariates, strata, events, named, result)


@st.cache_data(max_entries=8, show_spinner=False)
def _incidence(key: str, _result: LoadResult) -> pd.DataFrame:
    return cumulative_incidence(_result.policies, study_date=_result.study_date)


def incidence(choice: DataSetChoice, result: LoadResult) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of lapse, surrender and death (cached)."""
    return _incidence(dataset_key(choice), result)


@st.cache_data(max_entries=8, show_spinner=False)
def _few_valued(key: str, _result: LoadResult) -> frozenset[str]:
    return _few_valued_columns(_result.policies)


def few_valued_columns(choice: DataSetChoice, result: LoadResult) -> frozenset[str]:
    """The data set's columns a Cox model can stratify on (few distinct values), worked out once per data set."""
    return _few_valued(dataset_key(choice), result)


def summary_table(outcome: SurvivalResult, labels: dict[str, str], *, min_at_risk: int, horizon: float) -> pd.DataFrame:
    """The summary as the page and its download show it: groups by name, where each curve stops, the figures read past it.

    ``solid_until`` and ``past_cutoff`` (:func:`~analysis.survival.curves.mark_past_cutoff`) come
    right after the counts; ``past_cutoff`` names the figures by their headers in the session's
    language ("" when none), so a CSV or Excel copy carries the mark beside numbers that stay numbers.
    """
    marked = mark_past_cutoff(outcome.summary, outcome.curves, min_at_risk=min_at_risk, horizon=horizon)
    joiner = "、" if language() == "zh" else ", "
    marked["past_cutoff"] = [joiner.join(t(f"col.{c}") for c in names) for names in marked["past_cutoff"]]
    marked["cohort"] = marked["cohort"].map(lambda c: labels[str(c)])
    counts = [c for c in ("cohort", "policies", "events") if c in marked.columns]
    figures = [c for c in marked.columns if c not in (*counts, "solid_until", "past_cutoff")]
    return marked[[*counts, "solid_until", "past_cutoff", *figures]].rename(columns={"cohort": "group"})
