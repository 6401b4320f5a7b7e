"""Cached cohort studies for the pages: keyed by the data set's version and the request."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.study.cohorts import AGE_EDGES, CANONICAL_DIMENSIONS, DERIVED_SOURCES, NamedCohort, dimension_values
from analysis.study.cohorts import cohort_dimensions as dimension_keys
from analysis.study.expected import read_expected
from analysis.study.run import StudyRequest, StudyResult, run_study
from ui.i18n import language, t
from ui.state import DataSetChoice


def dataset_key(choice: DataSetChoice) -> str:
    """A small string naming a data set as loaded: file content, mapping, sheet and study date."""
    return "|".join([choice.version, str(hash(choice.preset_toml)), str(choice.sheet), str(choice.study_date)])


@st.cache_data(max_entries=64, show_spinner=False)
def _study(key: str, request: StudyRequest, expected_csv: str | None, _result: LoadResult) -> StudyResult:
    expected = read_expected(expected_csv) if expected_csv else None
    return run_study(_result.policies, request, study_date=_result.study_date, expected=expected)


def cohort_study(choice: DataSetChoice, result: LoadResult, request: StudyRequest, expected_csv: str | None = None) -> StudyResult:
    """The study's rates, computed once per data set and request (shared by reruns)."""
    return _study(dataset_key(choice), request, expected_csv, result)


def cohort_dimensions(policies: pd.DataFrame, named: NamedCohort | tuple[NamedCohort, ...] | None) -> dict[str, str]:
    """Columns a study can be grouped by (:func:`analysis.study.cohorts.cohort_dimensions`), each with its label."""
    cohorts = {c.key: c for c in ((named,) if isinstance(named, NamedCohort) else named or ())}

    def label(key: str) -> str:
        if key in cohorts:
            return cohorts[key].label(language())
        if key in DERIVED_SOURCES:
            return t(f"col.{key}")
        if key in CANONICAL_DIMENSIONS:
            return t(f"canon.{key}")
        if key == "policy_year":
            return t("period.policy_year")
        return key

    return {key: label(key) for key in dimension_keys(policies, named=named)}


@st.cache_data(max_entries=32, show_spinner=False)
def _values(key: str, named: tuple[NamedCohort, ...], column: str, age_edges: tuple[float, ...], _result: LoadResult) -> list[str]:
    return dimension_values(_result.policies, column, named=named, age_edges=age_edges)


def filter_values(
    choice: DataSetChoice,
    result: LoadResult,
    named: tuple[NamedCohort, ...],
    column: str,
    age_edges: tuple[float, ...] = AGE_EDGES,
) -> list[str]:
    """The distinct values of a (possibly derived) cohort column, most frequent first (cached)."""
    return _values(dataset_key(choice), named, column, tuple(age_edges), result)


#: Session key of the Cohort explorer's editable named-cohort definition (JSON).
NAMED_COHORT = "cohort_named_definition"
#: The last valid edit, kept when the Cohort explorer's text box is gone (Streamlit drops a widget's
#: state on pages that do not draw it), so every page and the filter bar use the same definition.
NAMED_COHORT_KEPT = "cohort_named_kept"


def named_cohort(text: str | None = None) -> tuple[NamedCohort, str | None]:
    """The session's named cohort (the preset until edited), and the error if the edit is invalid."""
    import json

    from analysis import ExtractError
    from analysis.study.cohorts import YOUNG_NEW_EARNERS, cohort_from_dict
    from ui.datasets import error_text

    definition = text if text is not None else st.session_state.get(NAMED_COHORT) or st.session_state.get(NAMED_COHORT_KEPT)
    if not definition:
        return YOUNG_NEW_EARNERS, None
    try:
        cohort = cohort_from_dict(json.loads(definition))
        st.session_state[NAMED_COHORT_KEPT] = definition
        return cohort, None
    except ExtractError as exc:
        return YOUNG_NEW_EARNERS, error_text(exc)
    except json.JSONDecodeError as exc:
        return YOUNG_NEW_EARNERS, t("cohort.not_json", line=exc.lineno, column=exc.colno)
    except (ValueError, TypeError, AttributeError):
        return YOUNG_NEW_EARNERS, error_text(ExtractError("bad_cohort", reason="cohort_keys"))
