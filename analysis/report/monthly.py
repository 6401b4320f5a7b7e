"""The monthly report: one formatted workbook with the overview and the cohort study's default view.

Produced by the Overview page's download button and headless by
``python -m analysis report FILE [--mapping PRESET] -o report.xlsx [--lang zh|en]``; both
call :func:`monthly_report`, so they give the same workbook.
"""

from __future__ import annotations

import pandas as pd

from analysis.ingest.pipeline import LoadResult
from analysis.persistency.overview import (
    collections_funnel,
    league_table,
    persistency_kpis,
    persistency_trend,
    persistency_triangle,
    projected_persistency,
    status_snapshot,
)
from analysis.persistency.ratios import EXCLUSIONS, PersistencyOptions
from analysis.report.catalogue import column_label, translate
from analysis.report.export import write_workbook
from analysis.study.cohorts import YOUNG_NEW_EARNERS
from analysis.study.run import StudyRequest, run_study

LEAGUE_COLUMNS = ("channel", "branch", "product", "agent")


def _headers(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns={c: column_label(c, lang) for c in frame.columns})


def report_sheets(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
    min_policies: int = 50,
) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The report's sheets (name → table, headers in ``lang``) and the notes above them."""
    options = options or PersistencyOptions(grace_days=result.preset.grace_days)
    policies, study = result.policies, result.study_date

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    kpis = persistency_kpis(policies, study_date=study, options=options, targets=targets)
    kpi_table = pd.DataFrame(
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
    cover = pd.DataFrame(
        {
            tr("report.item"): [
                tr("report.dataset"),
                tr("data.study_date"),
                tr("report.policies"),
                tr("report.definition"),
                tr("report.exclusions"),
                tr("report.measured_at"),
                tr("report.grace"),
                tr("report.cohort_default"),
            ],
            tr("report.value"): [
                dataset,
                study.date().isoformat(),
                f"{len(policies):,}",
                tr("overview.approximation"),
                ", ".join(tr(f"report.exclusion.{e}") for e in EXCLUSIONS if e in options.exclude),
                tr("overview.at_n1") if options.include_grace else tr("overview.at_n"),
                str(options.grace_days),
                tr("report.cohort_default_text"),
            ],
        }
    )
    sheets: dict[str, pd.DataFrame] = {tr("report.sheet.cover"): cover, tr("report.sheet.kpi"): kpi_table}
    trend = persistency_trend(policies, study_date=study, options=options)
    sheets[tr("report.sheet.trend")] = _headers(trend, lang)
    projection = projected_persistency(policies, study_date=study, options=options)
    if len(projection):
        sheets[tr("report.sheet.projection")] = _headers(projection.rename(columns={"observed": "observed_persistency"}), lang)
    triangle = persistency_triangle(policies, study_date=study, options=options)
    sheets[tr("report.sheet.triangle")] = triangle.reset_index().rename(columns={"issue_month": column_label("issue_month", lang)})
    for column in LEAGUE_COLUMNS:
        if column in policies.columns:
            table = league_table(policies, column, study_date=study, min_policies=min_policies, options=options)
            sheets[tr("report.sheet.league", name=column_label(column, lang))] = _headers(table, lang)
    snapshot = status_snapshot(policies, study_date=study)
    snapshot["item"] = snapshot["item"].map(lambda k: tr(f"overview.item.{k}"))
    sheets[tr("report.sheet.snapshot")] = _headers(snapshot, lang)
    funnel = collections_funnel(policies, study_date=study, grace_days=options.grace_days)
    if funnel is not None:
        funnel["stage"] = funnel["stage"].map(lambda k: tr(f"overview.stage.{k}"))
        sheets[tr("report.sheet.funnel")] = funnel.rename(columns={"stage": tr("report.stage"), "policies": column_label("policies", lang)})
    has_named = all(c.column in policies.columns for c in YOUNG_NEW_EARNERS.conditions)
    study_result = run_study(policies, StudyRequest(by=("young_new_earners",) if has_named else ()), study_date=study)
    labels = {"in": tr("col.young_new_earners"), "rest": tr("cohort.rest")}
    for name, frame in (
        (tr("report.sheet.cohort_totals"), study_result.totals.drop(columns="period", errors="ignore")),
        (tr("report.sheet.cohort_detail"), study_result.rates),
    ):
        if "young_new_earners" in frame:
            frame = frame.assign(young_new_earners=frame["young_new_earners"].map(lambda v: labels.get(str(v), v)))
        sheets[name] = _headers(frame, lang)
    notes = {
        tr("report.sheet.kpi"): [tr("overview.approximation")],
        tr("report.sheet.triangle"): [tr("overview.triangle_help")],
        tr("report.sheet.projection"): [tr("overview.projection_help", months=12)],
        tr("report.sheet.cohort_detail"): [tr("cohort.meaning.policy_year")],
    }
    return sheets, notes


def monthly_report(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
) -> bytes:
    """The monthly report as ``.xlsx`` bytes (formula injection neutralised)."""
    sheets, notes = report_sheets(result, dataset=dataset, lang=lang, options=options, targets=targets)
    percent = [
        column_label(c, lang) for c in ("persistency", "premium_persistency", "rate", "lower", "upper", "observed_persistency", "projected")
    ]
    percent += [translate(k, lang) for k in ("report.last_year_count", "report.last_year_premium", "report.target")]
    return write_workbook(sheets, notes=notes, percent=percent)
