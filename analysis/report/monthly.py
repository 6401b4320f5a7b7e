"""The monthly report: one formatted workbook with the overview and the cohort study's default view.

Produced by the Overview page's download button and headless by
``python -m analysis report FILE [--mapping PRESET] -o report.xlsx [--lang zh|en]``; both
call :func:`monthly_report`, so they give the same workbook.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from analysis.ingest.pipeline import LoadResult
from analysis.payments.persistency import DEFINITION_KEYS
from analysis.persistency.overview import LEAGUE_COLUMNS, MIN_LEAGUE_POLICIES, Kpi, OverviewFigures, league_table, overview_figures
from analysis.persistency.projection import REFERENCE_MONTHS
from analysis.persistency.ratios import EXCLUSIONS, Payments, PersistencyOptions
from analysis.report.catalogue import column_label, translate
from analysis.report.export import write_workbook
from analysis.study.cohorts import IN_COHORT, REST, YOUNG_NEW_EARNERS
from analysis.study.run import StudyRequest, run_study


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns={c: column_label(c, lang) for c in frame.columns})


def report_sheets(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
    min_policies: int = MIN_LEAGUE_POLICIES,
    scope: Sequence[str] = (),
    payments: Payments | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The report's sheets (name → table, headers in ``lang``) and the notes above them.

    ``scope`` is the app's filter in words (:meth:`analysis.study.filters.BookFilter.lines`),
    stated on the cover; ``result`` is then the filtered book. Empty: the whole book.
    ``payments``: a payment history; the persistency figures, league tables and funnel are then
    on premiums received, and the cover and the KPI sheet say so.

    The overview's sheets come from :func:`~analysis.persistency.overview.overview_figures`
    (the figures the Overview page shows), then the league tables and the cohort study's
    default view (:func:`~analysis.study.run.run_study`).
    """
    options = options or PersistencyOptions(grace_days=result.preset.grace_days)
    policies, study = result.policies, result.study_date

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    figures = overview_figures(policies, study_date=study, options=options, targets=targets, payments=payments)
    # The definition the figures were measured on: premiums received with a payment history, else the approximation.
    definition = tr("overview.approximation") if payments is None else tr(DEFINITION_KEYS[figures.definition])
    sheets = {
        tr("report.sheet.cover"): _cover(result, dataset=dataset, options=options, lang=lang, scope=scope, definition=definition),
        tr("report.sheet.kpi"): _kpi_table(figures.kpis, lang),
    }
    sheets.update(_overview_sheets(figures, lang))
    for column in LEAGUE_COLUMNS:
        if column in policies.columns:
            table = league_table(policies, column, study_date=study, min_policies=min_policies, options=options, payments=payments)
            sheets[tr("report.sheet.league", name=column_label(column, lang))] = _headers(table, lang)
    sheets.update(_status_sheets(figures, lang))
    sheets.update(_cohort_sheets(policies, study_date=study, lang=lang))
    notes = {
        tr("report.sheet.kpi"): [definition],
        tr("report.sheet.triangle"): [tr("overview.triangle_help")],
        tr("report.sheet.projection"): [tr("overview.projection_help", months=REFERENCE_MONTHS)],
        tr("report.sheet.cohort_detail"): [tr("cohort.meaning.policy_year")],
    }
    return sheets, notes


def _kpi_table(kpis: tuple[Kpi, ...], lang: str) -> pd.DataFrame:
    """One row per KPI: window, policies, both bases, last year, target and the gap in points."""

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    return pd.DataFrame(
        {
            tr("report.measure"): [tr("overview.p", month=k.month) for k in kpis],
            tr("report.window"): [f"{k.window[0]} – {k.window[1]}" for k in kpis],
            tr("col.cohort_policies"): [k.policies for k in kpis],
            tr("col.persistency"): [k.count for k in kpis],
            tr("col.premium_persistency"): [k.premium for k in kpis],
            tr("report.last_year_count"): [k.count_last_year for k in kpis],
            tr("report.last_year_premium"): [k.premium_last_year for k in kpis],
            tr("report.target"): [k.target for k in kpis],
            tr("report.gap_pp"): [round((k.count - k.target) * 100, 2) for k in kpis],
        }
    )


def _cover(
    result: LoadResult, *, dataset: str, options: PersistencyOptions, lang: str, scope: Sequence[str] = (), definition: str
) -> pd.DataFrame:
    """What the report is of: data set, the filter, study date, policies and the definitions used."""

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    items = {
        "report.dataset": dataset,
        "data.study_date": result.study_date.date().isoformat(),
        "report.policies": f"{len(result.policies):,}",
        "filter.cover": "; ".join(scope) or tr("filter.all_policies"),
        "report.definition": definition,
        "report.exclusions": ", ".join(tr(f"report.exclusion.{e}") for e in EXCLUSIONS if e in options.exclude),
        "report.measured_at": tr("overview.at_n1") if options.include_grace else tr("overview.at_n"),
        "report.grace": str(options.grace_days),
        "report.cohort_default": tr("report.cohort_default_text"),
    }
    return pd.DataFrame({tr("report.item"): [tr(key) for key in items], tr("report.value"): list(items.values())})


def _overview_sheets(figures: OverviewFigures, lang: str) -> dict[str, pd.DataFrame]:
    """Trend, projection (when a cohort is waiting) and triangle."""
    sheets = {translate("report.sheet.trend", lang): _headers(figures.trend, lang)}
    if len(figures.projection):
        projection = figures.projection.rename(columns={"observed": "observed_persistency"})
        sheets[translate("report.sheet.projection", lang)] = _headers(projection, lang)
    triangle = figures.triangle.reset_index().rename(columns={"issue_month": column_label("issue_month", lang)})
    sheets[translate("report.sheet.triangle", lang)] = triangle
    return sheets


def _status_sheets(figures: OverviewFigures, lang: str) -> dict[str, pd.DataFrame]:
    """The status snapshot and, with paid-to dates, the collections funnel, their codes in words."""
    snapshot = figures.snapshot.assign(item=figures.snapshot["item"].map(lambda k: translate(f"overview.item.{k}", lang)))
    sheets = {translate("report.sheet.snapshot", lang): _headers(snapshot, lang)}
    if figures.funnel is not None:
        funnel = figures.funnel.assign(stage=figures.funnel["stage"].map(lambda k: translate(f"overview.stage.{k}", lang)))
        sheets[translate("report.sheet.funnel", lang)] = funnel.rename(
            columns={"stage": translate("report.stage", lang), "policies": column_label("policies", lang)}
        )
    return sheets


def _cohort_sheets(policies: pd.DataFrame, *, study_date: pd.Timestamp, lang: str) -> dict[str, pd.DataFrame]:
    """The cohort study's default view: young new earners against the rest when the data set has their columns."""
    has_named = all(c.column in policies.columns for c in YOUNG_NEW_EARNERS.conditions)
    study_result = run_study(policies, StudyRequest(by=(YOUNG_NEW_EARNERS.key,) if has_named else ()), study_date=study_date)
    labels = {IN_COHORT: translate("col.young_new_earners", lang), REST: translate("cohort.rest", lang)}
    sheets = {}
    for name, frame in (
        (translate("report.sheet.cohort_totals", lang), study_result.totals.drop(columns="period", errors="ignore")),
        (translate("report.sheet.cohort_detail", lang), study_result.rates),
    ):
        if YOUNG_NEW_EARNERS.key in frame:
            frame = frame.assign(**{YOUNG_NEW_EARNERS.key: frame[YOUNG_NEW_EARNERS.key].map(lambda v: labels.get(str(v), v))})
        sheets[name] = _headers(frame, lang)
    return sheets


def monthly_report(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
    scope: Sequence[str] = (),
    payments: Payments | None = None,
) -> bytes:
    """The monthly report as ``.xlsx`` bytes (formula injection neutralised); ``scope`` and ``payments`` as in :func:`report_sheets`."""
    sheets, notes = report_sheets(result, dataset=dataset, lang=lang, options=options, targets=targets, scope=scope, payments=payments)
    percent = [
        column_label(c, lang) for c in ("persistency", "premium_persistency", "rate", "lower", "upper", "observed_persistency", "projected")
    ]
    percent += [translate(k, lang) for k in ("report.last_year_count", "report.last_year_premium", "report.target")]
    return write_workbook(sheets, notes=notes, percent=percent)
