"""Cached management-overview figures for the Overview page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis.payments.table import PaymentHistory
from analysis.persistency.league import LEAGUE_COLUMNS, at_min_volume, league_tables
from analysis.persistency.overview import OverviewFigures
from analysis.persistency.overview import overview_figures as _overview_figures
from analysis.persistency.ratios import PersistencyOptions
from analysis.report.monthly import monthly_report
from ui.state import DataSetChoice
from ui.study import dataset_key


@st.cache_data(max_entries=16, show_spinner=False)
def _figures(
    key: str, options: PersistencyOptions, targets: tuple[tuple[int, float], ...], trend_cohort: str, _result: LoadResult
) -> OverviewFigures:
    return _overview_figures(
        _result.policies, study_date=_result.study_date, options=options, targets=dict(targets), trend_cohort=trend_cohort
    )


def overview_figures(
    choice: DataSetChoice, result: LoadResult, options: PersistencyOptions, targets: dict[int, float], trend_cohort: str
) -> OverviewFigures:
    """The overview's figures (cached by data-set version and options)."""
    return _figures(dataset_key(choice), options, tuple(sorted(targets.items())), trend_cohort, result)


@st.cache_data(max_entries=16, show_spinner=False)
def _leagues(
    key: str, history_key: str, month: int, options: PersistencyOptions, _result: LoadResult, _history: PaymentHistory | None
) -> dict[str, pd.DataFrame]:
    # Keyed by the (filtered) book's key and the history's key ('' without one), never by hashing the frames.
    return league_tables(
        _result.policies,
        LEAGUE_COLUMNS,
        study_date=_result.study_date,
        month=month,
        min_policies=0,
        options=options,
        payments=_history,
    )


def league(
    choice: DataSetChoice,
    result: LoadResult,
    column: str,
    month: int,
    min_policies: int,
    options: PersistencyOptions,
    paid: tuple[PaymentHistory, str] | None,
) -> pd.DataFrame:
    """The league table by one column, from one cached pass for every column: choosing another column or minimum is instant.

    ``paid``: the attached payment history and its key (``ui.payments.report_payments``): the
    table is then on premiums received, as the page's cards and the report's league tables.
    """
    history, history_key = paid if paid is not None else (None, "")
    return at_min_volume(_leagues(dataset_key(choice), history_key, month, options, result, history)[column], min_policies)


@st.cache_data(max_entries=8, show_spinner=False)
def _report(
    key: str,
    history_key: str,
    dataset: str,
    options: PersistencyOptions,
    targets: tuple[tuple[int, float], ...],
    lang: str,
    scope: tuple[str, ...],
    _result: LoadResult,
    _history: PaymentHistory | None,
    _figures: OverviewFigures | None,
) -> bytes:
    # Keyed by the data set and the history's key ('' without one), never by hashing the frames; the page's figures
    # follow from the same key (data set, history, options, targets), so they are not part of it.
    return monthly_report(
        _result, dataset=dataset, lang=lang, options=options, targets=dict(targets), scope=scope, payments=_history, figures=_figures
    )


def monthly_report_bytes(
    choice: DataSetChoice,
    result: LoadResult,
    paid: tuple[PaymentHistory, str] | None,
    options: PersistencyOptions,
    targets: dict[int, float],
    lang: str,
    scope: tuple[str, ...] = (),
    figures: OverviewFigures | None = None,
) -> bytes:
    """The monthly workbook for the session's data set (filtered: ``scope`` says how, on the cover) and language (cached).

    ``paid`` = ``(history, its key)`` measures it on premiums received, as the Overview does; None on status.
    ``figures``: the page's own overview figures for these options, targets and history, which the
    workbook reuses when they are by its issue cohort (:func:`analysis.report.monthly.report_blocks`).
    """
    history, history_key = paid if paid is not None else (None, "")
    args = (choice.name, options, tuple(sorted(targets.items())), lang, tuple(scope), result, history, figures)
    return _report(dataset_key(choice), history_key, *args)


def whole_book_curve(choice: DataSetChoice, result: LoadResult) -> pd.DataFrame:
    """The Survival page's default curve (the whole book, voluntary exits), from the same cache as that page."""
    from analysis.schema import VOLUNTARY_EXITS
    from analysis.survival.curves import RMST_HORIZON
    from ui.survival import survival_result

    return survival_result(choice, result, None, frozenset(VOLUNTARY_EXITS), (), float(RMST_HORIZON)).curves
