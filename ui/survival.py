"""Cached survival results for the Survival page."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.cohorts import NamedCohort
from analysis.study import StudyRequest, study_frame
from analysis.survival import km_curves, logrank_tests, survival_data, survival_summary
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
def _survival(key: str, by: str | None, events: frozenset[str], named: tuple[NamedCohort, ...], horizon: float, _result: LoadResult) -> SurvivalResult:
    frame = study_frame(_result.policies, StudyRequest(by=(by,) if by else (), named=named))
    data = survival_data(frame, events=events, study_date=_result.study_date, by=[by] if by else [])
    curves = km_curves(data, by=by)
    summary = survival_summary(curves, horizon=horizon)
    overall = pairwise = None
    if by and data[by].nunique() > 1:
        overall, pairwise = logrank_tests(data, by=by)
    return SurvivalResult(curves, summary, overall, pairwise)


def survival_result(choice: DataSetChoice, result: LoadResult, by: str | None, events: frozenset[str], named: tuple[NamedCohort, ...], horizon: float) -> SurvivalResult:
    """Kaplan–Meier curves, summary and log-rank tests (cached by data set and options)."""
    return _survival(dataset_key(choice), by, events, named, horizon, result)
