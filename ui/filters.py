"""The app-wide filter bar: drawn in the sidebar by app.py, read by every page through :func:`filtered_book`.

The filter lives in ``st.session_state`` (the sidebar's widgets are drawn on every page, so
their values persist across pages) and in the page address (``?f_branch=…&f_from=…``), so a
link or a refresh brings it back. The definition and its application are
:mod:`analysis.study.filters`; here are only the widgets, the address and the cache.

A filtered book is a data set of its own for the caches: :func:`filtered_book` returns a
choice whose version carries the filter's key, so every cached result of a page is keyed by
the filter without any page knowing about it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import streamlit as st

from analysis import LoadResult
from analysis.report.catalogue import column_label
from analysis.schema import ISSUE_DATE
from analysis.study.cohorts import NamedCohort, dimension_values
from analysis.study.filters import (
    FILTER_COLUMNS,
    PARAM_PREFIX,
    BookFilter,
    filter_from_params,
    filter_params,
    filter_policies,
)
from ui import datasets as ds
from ui import widgets
from ui.i18n import language, t, tm
from ui.state import DataSetChoice
from ui.study import dataset_key

#: Session keys of the filter bar's widgets.
FROM_KEY, TO_KEY, COHORTS_KEY = "filter_issued_from", "filter_issued_to", "filter_cohorts"
#: Set once the session has read the filter from the page address (its first run).
URL_READ = "filter_url_read"
#: Values a column's filter offers at most, most frequent first (an agent code list can be long).
MAX_FILTER_OPTIONS = 5000
#: Dates the issue-date inputs accept.
EARLIEST_ISSUE, LATEST_ISSUE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def value_key(column: str) -> str:
    """The session key of one column's multiselect."""
    return f"filter_{column}"


def named_cohorts() -> tuple[NamedCohort, ...]:
    """The named cohorts the filter can keep: the session's editable one (the preset until edited) and every one built or loaded."""
    from ui.cohort_builder import all_cohorts

    return all_cohorts()


@st.cache_data(max_entries=32, show_spinner=False)
def _options(key: str, column: str, _result: LoadResult) -> list[str]:
    return dimension_values(_result.policies, column, limit=MAX_FILTER_OPTIONS)


def options(choice: DataSetChoice, result: LoadResult, column: str) -> list[str]:
    """The values of one filter column in the (unfiltered) book, most frequent first (cached per data set)."""
    return _options(dataset_key(choice), column, result)


def columns_of(result: LoadResult) -> list[str]:
    """The filter columns this book has values in."""
    policies = result.policies
    return [c for c in FILTER_COLUMNS if c in policies.columns and policies[c].notna().any()]


def current_filter() -> BookFilter:
    """The session's filter as the widgets hold it (parts the book cannot apply are dropped by :func:`filtered_book`)."""
    state = st.session_state
    values = tuple((c, tuple(state.get(value_key(c)) or ())) for c in FILTER_COLUMNS if state.get(value_key(c)))
    cohorts = {c.key: c for c in named_cohorts()}
    chosen = tuple(cohorts[k] for k in state.get(COHORTS_KEY) or () if k in cohorts)
    issued_from, issued_to = state.get(FROM_KEY), state.get(TO_KEY)
    return BookFilter(
        values=values,
        issued_from=issued_from if isinstance(issued_from, dt.date) else None,
        issued_to=issued_to if isinstance(issued_to, dt.date) else None,
        cohorts=chosen,
    )


def _read_address() -> None:
    """On a session's first run, seed the widgets from the address's ``f_`` parameters."""
    if st.session_state.get(URL_READ):
        return
    st.session_state[URL_READ] = True
    params = {k: st.query_params.get_all(k) for k in st.query_params if k.startswith(PARAM_PREFIX)}
    if not params:
        return
    found = filter_from_params(params, cohorts=named_cohorts())
    for column, chosen in found.values:
        st.session_state[value_key(column)] = list(chosen)
    st.session_state[FROM_KEY], st.session_state[TO_KEY] = found.issued_from, found.issued_to
    st.session_state[COHORTS_KEY] = [c.key for c in found.cohorts]


def _write_address(book_filter: BookFilter) -> None:
    """Put the filter in the address (switching pages clears the address's parameters), and only it."""
    wanted = filter_params(book_filter)
    for key in [k for k in st.query_params if k.startswith(PARAM_PREFIX) and k not in wanted]:
        del st.query_params[key]
    for key, values in wanted.items():
        if st.query_params.get_all(key) != values:
            st.query_params[key] = values


def _clear() -> None:
    for column in FILTER_COLUMNS:
        st.session_state[value_key(column)] = []
    st.session_state[FROM_KEY] = st.session_state[TO_KEY] = None
    st.session_state[COHORTS_KEY] = []


def sidebar(choice: DataSetChoice, result: LoadResult) -> None:
    """Draw the filter bar (app.py calls it in the sidebar, before the page) and keep the address in step."""
    _read_address()
    state = st.session_state
    for column in FILTER_COLUMNS:
        state.setdefault(value_key(column), [])
    state.setdefault(FROM_KEY, None)
    state.setdefault(TO_KEY, None)
    state.setdefault(COHORTS_KEY, [])
    lang = language()
    cohorts = {c.key: c for c in named_cohorts() if all(item.column in result.policies.columns for item in c.conditions)}
    with st.expander(t("filter.title"), expanded=not current_filter().is_empty):
        for column in columns_of(result):
            offered = options(choice, result, column)
            # Values of another book (or a hand-edited address) are not offered: keep only those this book has.
            state[value_key(column)] = [v for v in state[value_key(column)] if v in offered]
            st.multiselect(
                column_label(column, lang), offered, key=value_key(column), placeholder=t("widget.choose"), select_all=widgets.select_all()
            )
        if ISSUE_DATE in result.policies.columns:
            left, right = st.columns(2)
            left.date_input(t("filter.issued_from"), min_value=EARLIEST_ISSUE, max_value=LATEST_ISSUE, key=FROM_KEY)
            right.date_input(t("filter.issued_to"), min_value=EARLIEST_ISSUE, max_value=LATEST_ISSUE, key=TO_KEY)
        if cohorts:
            state[COHORTS_KEY] = [k for k in state[COHORTS_KEY] if k in cohorts]
            st.multiselect(
                t("filter.cohorts"),
                list(cohorts),
                format_func=lambda k: cohorts[k].label(lang),
                key=COHORTS_KEY,
                placeholder=t("widget.choose"),
                select_all=widgets.select_all(),
            )
        st.button(t("filter.clear"), on_click=_clear, key="filter_clear", disabled=current_filter().is_empty)
    _write_address(current_filter())


@st.cache_resource(max_entries=8, ttl=ds.book_idle_seconds(), show_spinner=False)
def _filtered(key: str, filter_key: str, _result: LoadResult, _filter: BookFilter) -> LoadResult:
    # Keyed by the data set and the filter's text; shared by every session, read-only.
    return replace(_result, policies=filter_policies(_result.policies, _filter))


def _joined(lines: list[str]) -> str:
    return ("；" if language() == "zh" else "; ").join(lines)


def filtered_book() -> tuple[DataSetChoice, LoadResult]:
    """The session's data set under its filter, as a choice and result every cached call keys by.

    Without a filter, the data set itself. With one, the choice's version carries the
    filter's key. When no policy meets the filter the page says so and stops.
    """
    choice, result = ds.active_result()
    book_filter = current_filter().fitted_to(result.policies.columns)
    if book_filter.is_empty:
        return choice, result
    digest = hashlib.sha256(book_filter.key().encode("utf-8")).hexdigest()[:16]
    filtered = _filtered(dataset_key(choice), book_filter.key(), result, book_filter)
    if filtered.policies.empty:
        issued_from, issued_to = book_filter.issued_from, book_filter.issued_to
        if issued_from is not None and issued_to is not None and issued_from > issued_to:
            st.info(tm("filter.dates_reversed"))
        else:
            st.info(tm("filter.empty", parts=_joined(book_filter.lines(language()))))
        st.stop()
    st.caption(
        tm(
            "filter.scope",
            kept=len(filtered.policies),
            total=len(result.policies),
            share=len(filtered.policies) / max(len(result.policies), 1),
            parts=_joined(book_filter.lines(language())),
        )
    )
    return replace(choice, version=f"{choice.version}~{digest}"), filtered


def whole_book() -> tuple[DataSetChoice, LoadResult]:
    """The session's data set without its filter (the model that scores action lists learns from the whole book)."""
    return ds.active_result()


def scope_lines() -> list[str]:
    """The session's filter in words, for an export's cover (``Scope: all policies`` without one)."""
    _, result = ds.active_result()
    return current_filter().fitted_to(result.policies.columns).lines(language())
