"""Cached cohort studies for the pages: keyed by the data set's version and the request."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.study.cohorts import NamedCohort, derived_columns
from analysis.study.run import StudyRequest, StudyResult, run_study
from ui.state import DataSetChoice


def dataset_key(choice: DataSetChoice) -> str:
    """A small string naming a data set as loaded: file content, mapping, sheet and study date."""
    return "|".join([choice.version, str(hash(choice.preset_toml)), str(choice.sheet), str(choice.study_date)])


@st.cache_data(max_entries=64, show_spinner=False)
def _study(key: str, request: StudyRequest, expected_csv: str | None, _result: LoadResult) -> StudyResult:
    expected = read_expected(expected_csv) if expected_csv else None
    return run_study(_result.policies, request, study_date=_result.study_date, expected=expected)


def read_expected(text: str) -> pd.DataFrame:
    """An uploaded expected basis (``period, expected_rate[, grouping column]``), checked."""
    import io

    from analysis import ExtractError

    try:
        table = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise ExtractError(f"The expected basis is not a readable CSV: {exc}.", code="bad_expected", detail=str(exc)) from exc
    if not {"period", "expected_rate"} <= set(table.columns) or table.empty:
        raise ExtractError(
            "The expected basis needs the columns period and expected_rate.", code="bad_expected", detail="period, expected_rate"
        )
    table["period"] = pd.to_numeric(table["period"], errors="coerce")
    table["expected_rate"] = pd.to_numeric(table["expected_rate"], errors="coerce")
    if table[["period", "expected_rate"]].isna().any().any():
        raise ExtractError(
            "period and expected_rate must be numbers (a rate as 0.05, not 5%).", code="bad_expected", detail="period, expected_rate"
        )
    table["period"] = table["period"].astype(int)
    return table


def cohort_study(choice: DataSetChoice, result: LoadResult, request: StudyRequest, expected_csv: str | None = None) -> StudyResult:
    """The study's rates, computed once per data set and request (shared by reruns)."""
    return _study(dataset_key(choice), request, expected_csv, result)


@st.cache_data(max_entries=32, show_spinner=False)
def _values(
    key: str, named: tuple[NamedCohort, ...], column: str, age_edges: tuple[float, ...], limit: int, _result: LoadResult
) -> list[str]:
    policies = _result.policies
    if column in policies.columns:
        values = policies[column]
    else:
        values = derived_columns(policies, [column], named=named, age_edges=age_edges).get(column, pd.Series(dtype="string"))
    counts = values.astype("string").value_counts(dropna=True)
    return [str(v) for v in counts.index[:limit]]


def filter_values(
    choice: DataSetChoice,
    result: LoadResult,
    named: tuple[NamedCohort, ...],
    column: str,
    age_edges: tuple[float, ...] = (0, 25, 30, 35, 40, 45, 50, 55, 60),
    limit: int = 500,
) -> list[str]:
    """The distinct values of a (possibly derived) cohort column, most frequent first."""
    return _values(dataset_key(choice), named, column, tuple(age_edges), limit, result)


#: Session key of the Cohort explorer's editable named-cohort definition (JSON).
NAMED_COHORT = "cohort_named_definition"


def named_cohort(text: str | None = None) -> tuple[NamedCohort, str | None]:
    """The session's named cohort (the preset until edited), and the error if the edit is invalid."""
    import json

    from analysis import ExtractError
    from analysis.study.cohorts import YOUNG_NEW_EARNERS, cohort_from_dict
    from ui.datasets import error_text
    from ui.i18n import t

    definition = text if text is not None else st.session_state.get(NAMED_COHORT)
    if not definition:
        return YOUNG_NEW_EARNERS, None
    try:
        return cohort_from_dict(json.loads(definition)), None
    except ExtractError as exc:
        return YOUNG_NEW_EARNERS, error_text(exc)
    except json.JSONDecodeError as exc:
        return YOUNG_NEW_EARNERS, t("cohort.not_json", line=exc.lineno, column=exc.colno)
    except (ValueError, TypeError, AttributeError):
        return YOUNG_NEW_EARNERS, t("error.bad_cohort", detail=t("error_detail.cohort_keys"))


DEFAULT_AGE_EDGES: tuple[float, ...] = (0, 25, 30, 35, 40, 45, 50, 55, 60)


def age_edges_from(text: str) -> tuple[float, ...]:
    """Age-band edges typed as ``0, 25, 30`` (full-width commas too); the defaults when not numbers."""
    try:
        edges = tuple(sorted({float(e) for e in str(text).replace("，", ",").split(",") if e.strip()}))
    except ValueError:
        return DEFAULT_AGE_EDGES
    if not all(math.isfinite(e) for e in edges):  # "nan" and "inf" read as floats but are no edges
        return DEFAULT_AGE_EDGES
    return edges or DEFAULT_AGE_EDGES


def edges_are_numbers(text: str) -> bool:
    """True when every comma-separated part of ``text`` is a number (and there is at least one)."""
    parts = [p.strip() for p in str(text).replace("，", ",").split(",") if p.strip()]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return False
    return bool(parts) and all(math.isfinite(n) for n in numbers)
