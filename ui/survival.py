"""Cached survival results for the Survival page."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.study.cohorts import NamedCohort
from analysis.study.run import StudyRequest, study_frame
from analysis.survival.curves import CoxResult, cumulative_incidence, fit_cox, km_curves, logrank_tests, survival_data, survival_summary
from ui.state import DataSetChoice
from ui.study import dataset_key


@dataclass(frozen=True)
class SurvivalResult:
    """Curves, summary and tests for one cohort split."""

    curves: pd.DataFrame
    summary: pd.DataFrame
    overall: pd.DataFrame | None
    pairwise: pd.DataFrame | None


@st.cache_data(max_entries=32, show_spinner=False)
def _survival(
    key: str, by: str | None, events: frozenset[str], named: tuple[NamedCohort, ...], horizon: float, start: str | None, _result: LoadResult
) -> SurvivalResult:
    frame = study_frame(_result.policies, StudyRequest(by=(by,) if by else (), named=named))
    data = survival_data(
        frame, events=events, study_date=_result.study_date, study_start=pd.Timestamp(start) if start else None, by=[by] if by else []
    )
    curves = km_curves(data, by=by)
    summary = survival_summary(curves, horizon=horizon)
    overall = pairwise = None
    if by and data[by].nunique() > 1:
        overall, pairwise = logrank_tests(data, by=by)
    return SurvivalResult(curves, summary, overall, pairwise)


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
    columns = tuple(dict.fromkeys([*covariates, *strata]))
    frame = study_frame(_result.policies, StudyRequest(by=columns, named=named))
    data = survival_data(frame, events=events, study_date=_result.study_date, by=list(columns))
    return fit_cox(data, covariates, strata=strata)


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
def _few_valued(key: str, most: int, _result: LoadResult) -> frozenset[str]:
    policies = _result.policies
    return frozenset(str(c) for c in policies.columns if policies[c].nunique(dropna=False) <= most)


def few_valued_columns(choice: DataSetChoice, result: LoadResult, most: int) -> frozenset[str]:
    """The data set's columns with at most ``most`` distinct values (blank counts as one), worked out once per data set."""
    return _few_valued(dataset_key(choice), most, result)
