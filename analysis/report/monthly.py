"""The monthly report: one workbook as a finance team sends it, with the overview and the cohort study's default view.

Produced by the Overview page's download button and headless by
``python -m analysis report FILE [--mapping PRESET] [--payments HISTORY] -o report.xlsx [--lang zh|en]``;
both call :func:`monthly_report`, so they give the same workbook. Six sheets, each for one
question, every figure of the overview kept (:mod:`analysis.report.layout` writes them):

1. **Cover** — data set, study date, policies, the filter's scope, the persistency definition
   and exclusions, then the three things that changed most (:mod:`analysis.report.changes`).
2. **Persistency** — the KPIs against target and last year, the trend by issue cohort with a
   line chart against the targets, the projection of cohorts still maturing.
3. **Triangle** — persistency by issue month and policy month, on a red–yellow–green scale.
4. **League tables** — by channel, branch, product, agent, each with a bar chart.
5. **Status and collections** — the status snapshot and the collections funnel with its chart.
6. **Cohort lapse rates** — the cohort study's default view, totals and detail.

Numbers stay numbers: money as ``¥#,##0``, percentages with one decimal, policies whole, in
Excel number formats (:mod:`analysis.report.export`).
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from analysis.ingest.pipeline import LoadResult
from analysis.payments.persistency import DEFINITION_KEYS, persistency_definition
from analysis.persistency.league import LEAGUE_COLUMNS, MIN_LEAGUE_POLICIES, league_tables
from analysis.persistency.maturity import OBSERVED
from analysis.persistency.overview import TREND_COHORT, Kpi, OverviewFigures, overview_figures
from analysis.persistency.projection import REFERENCE_MONTHS
from analysis.persistency.ratios import EXCLUSIONS, HEADLINE_MONTHS, Payments, PersistencyOptions
from analysis.report.catalogue import column_label, translate, value_word
from analysis.report.changes import MIN_CHANGE_POLICIES, largest_changes
from analysis.report.export import COUNT_FORMAT, EXPOSURE_FORMAT, FACTOR_FORMAT, MONEY_FORMAT, PERCENT_FORMAT, POINTS_FORMAT
from analysis.report.layout import Block, Chart, Series, write_blocks
from analysis.study.cohorts import IN_COHORT, REST, YOUNG_NEW_EARNERS
from analysis.study.run import StudyRequest, run_study

#: Excel number formats of the canonical columns the report writes.
FORMATS = {
    **dict.fromkeys(("persistency", "premium_persistency", "rate", "lower", "upper", "observed_persistency", "projected"), PERCENT_FORMAT),
    **dict.fromkeys(("cohort_policies", "persisting", "policies", "events"), COUNT_FORMAT),
    **dict.fromkeys(("month", "observed_month", "period"), "0"),
    "exposure": EXPOSURE_FORMAT,
    "premium": MONEY_FORMAT,
    "credibility": FACTOR_FORMAT,
}
#: The month the league tables rank by.
LEAGUE_MONTH = 13


def _block(frame: pd.DataFrame, lang: str, *, headers: dict[str, str] | None = None, **options: object) -> Block:
    """A block of a frame with canonical columns: headers in ``lang`` (or ``headers``), number formats, yes/no in words."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = [value_word(str(column), v, lang) for v in out[column]]
    names = {c: (headers or {}).get(str(c)) or column_label(c, lang) for c in out.columns}
    formats = {names[c]: FORMATS[str(c)] for c in out.columns if str(c) in FORMATS}
    return Block(out.rename(columns=names), formats=formats, **options)  # type: ignore[arg-type]


def report_blocks(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
    min_policies: int = MIN_LEAGUE_POLICIES,
    scope: Sequence[str] = (),
    payments: Payments | None = None,
    figures: OverviewFigures | None = None,
) -> dict[str, list[Block]]:
    """The report's sheets (name → blocks, top to bottom), words in ``lang``.

    ``scope`` is the app's filter in words (:meth:`analysis.study.filters.BookFilter.lines`),
    stated on the cover; ``result`` is then the filtered book. Empty: the whole book.
    ``payments``: a payment history; every persistency figure, the league tables, the changes
    and the funnel are then on premiums received, and the cover and the KPIs say so.

    The overview's figures come from :func:`~analysis.persistency.overview.overview_figures`
    (the figures the Overview page shows), then the league tables and the cohort study's
    default view (:func:`~analysis.study.run.run_study`). ``figures``: that call's result when
    the caller already has it for this book, study date, ``options``, ``targets`` and
    ``payments`` (the Overview page's), so it is not computed twice. Figures by another issue
    cohort than the report's (:data:`~analysis.persistency.overview.TREND_COHORT`) or of another
    definition are not the report's: it computes its own, as it does without ``figures``.
    """
    options = options or PersistencyOptions(grace_days=result.preset.grace_days)
    policies, study = result.policies, result.study_date

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    if figures is None or (figures.trend_cohort, figures.definition) != (TREND_COHORT, persistency_definition(payments)):
        figures = overview_figures(policies, study_date=study, options=options, targets=targets, payments=payments)
    # The definition the figures were measured on: premiums received with a payment history, else the approximation.
    definition = tr("overview.approximation") if payments is None else tr(DEFINITION_KEYS[figures.definition])
    changes = largest_changes(policies, study_date=study, options=options, payments=payments)
    leagues = league_tables(
        policies, LEAGUE_COLUMNS, study_date=study, month=LEAGUE_MONTH, min_policies=min_policies, options=options, payments=payments
    ).items()
    return {
        tr("report.sheet.cover"): [
            _cover(result, dataset=dataset, options=options, lang=lang, scope=scope, definition=definition),
            _changes_block(changes, lang),
        ],
        tr("report.sheet.persistency"): _persistency_blocks(
            figures, lang, definition=definition, targets=targets, grace_days=options.grace_days
        ),
        tr("report.sheet.triangle"): [_triangle_block(figures, lang)],
        tr("report.sheet.leagues"): [_league_block(column, table, lang) for column, table in leagues],
        tr("report.sheet.status"): _status_blocks(figures, lang),
        tr("report.sheet.cohorts"): _cohort_blocks(policies, study_date=study, lang=lang),
    }


def _cover(
    result: LoadResult, *, dataset: str, options: PersistencyOptions, lang: str, scope: Sequence[str] = (), definition: str
) -> Block:
    """What the report is of: data set, study date, policies, the filter, the definitions used."""

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    items: dict[str, object] = {
        "report.dataset": dataset,
        "data.study_date": result.study_date.date().isoformat(),
        "report.policies": len(result.policies),
        "filter.cover": "; ".join(scope) or tr("filter.all_policies"),
        "report.definition": definition,
        "report.exclusions": ", ".join(tr(f"report.exclusion.{e}") for e in EXCLUSIONS if e in options.exclude),
        "report.measured_at": tr("overview.at_n1") if options.include_grace else tr("overview.at_n"),
        "report.grace": options.grace_days,
        "report.cohort_default": tr("report.cohort_default_text"),
    }
    frame = pd.DataFrame({tr("report.item"): [tr(key) for key in items], tr("report.value"): pd.Series(list(items.values()), dtype=object)})
    return Block(frame, formats={tr("report.value"): COUNT_FORMAT})


def _changes_block(changes: pd.DataFrame, lang: str) -> Block:
    """The three things that changed most, each in a sentence and in numbers (:func:`~analysis.report.changes.largest_changes`)."""

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    def what(row: pd.Series) -> str:
        measure = tr("overview.p", month=int(row["month"]))
        if not row["column"]:
            return tr("report.change_whole", measure=measure)
        group = value_word(str(row["column"]), row["group"], lang) or str(row["group"])
        return tr("report.change_group", column=column_label(row["column"], lang), group=group, measure=measure)

    notes: tuple[str, ...] = (tr("report.changes_note", min_policies=MIN_CHANGE_POLICIES),)
    if changes.empty:
        notes += (tr("report.changes_none"),)
    sentences = [
        tr(
            "report.change_sentence",
            what=what(row),
            direction=tr("report.change_up" if row["change"] > 0 else "report.change_down"),
            points=abs(row["change"]) * 100,
            previous=row["previous"],
            current=row["current"],
        )
        for _, row in changes.iterrows()
    ]
    keys = {
        "rank": "report.change_rank",
        "what": "report.change_what",
        "window": "report.change_window",
        "current": "report.change_current",
        "previous": "report.change_previous",
        "points": "report.change_points",
        "policies": "report.change_policies",
        "previous_policies": "report.change_previous_policies",
        "beyond_noise": "report.change_beyond_noise",
    }
    headers = {name: tr(key) for name, key in keys.items()}
    frame = pd.DataFrame(
        {
            headers["rank"]: range(1, len(changes) + 1),
            headers["what"]: sentences,
            headers["window"]: [f"{a} – {b}" for a, b in zip(changes["window_start"], changes["window_end"])],
            headers["current"]: changes["current"].astype(float),
            headers["previous"]: changes["previous"].astype(float),
            headers["points"]: (changes["change"].astype(float) * 100).round(2),
            headers["policies"]: changes["policies"].astype(float),
            headers["previous_policies"]: changes["previous_policies"].astype(float),
            headers["beyond_noise"]: [value_word("", bool(v), lang) for v in changes["beyond_noise"]],
        }
    )
    formats = {
        headers["rank"]: "0",
        headers["current"]: PERCENT_FORMAT,
        headers["previous"]: PERCENT_FORMAT,
        headers["points"]: POINTS_FORMAT,
    }
    formats |= {headers["policies"]: COUNT_FORMAT, headers["previous_policies"]: COUNT_FORMAT}
    return Block(frame, title=tr("report.changes_title"), notes=notes, formats=formats)


def _kpi_block(kpis: tuple[Kpi, ...], lang: str, *, definition: str, grace_days: int) -> Block:
    """One row per KPI: window, policies, both bases, last year, target and the gap in points.

    Noted under it: each window is the latest 12 fully observed issue months, and which settling months it leaves out.
    """

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    frame = pd.DataFrame(
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
    shares = ("col.persistency", "col.premium_persistency", "report.last_year_count", "report.last_year_premium", "report.target")
    formats = {tr(key): PERCENT_FORMAT for key in shares} | {tr("col.cohort_policies"): COUNT_FORMAT, tr("report.gap_pp"): POINTS_FORMAT}
    listed = "、" if lang == "zh" else ", "
    windows = tuple(
        tr(
            "persistency.kpi_window_settling",
            months=listed.join(k.settling),
            grace=grace_days,
            month=k.month,
            start=k.window[0],
            end=k.window[1],
        )
        if k.settling
        else tr("persistency.kpi_window", month=k.month, start=k.window[0], end=k.window[1])
        for k in kpis
    )
    return Block(frame, title=tr("report.sheet.kpi"), notes=(definition, *windows), formats=formats)


def _trend_block(trend: pd.DataFrame, lang: str, *, targets: dict[int, float], maturity: pd.DataFrame) -> Block:
    """The trend by issue cohort, one column group per headline month (fully observed or not), and a line chart against the targets."""

    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    months = [m for m in HEADLINE_MONTHS if (trend["month"] == m).any()]
    frame = pd.DataFrame({column_label("cohort", lang): sorted(trend["cohort"].astype(str).unique())})
    formats: dict[str, str] = {}
    series = []
    for n, month in enumerate(months):
        at = trend[trend["month"] == month].assign(cohort=lambda d: d["cohort"].astype(str)).set_index("cohort")
        for column in ("cohort_policies", "persistency", "premium_persistency"):
            header = tr("report.at_month", month=month, measure=column_label(column, lang))
            frame[header] = frame.iloc[:, 0].map(at[column]).to_numpy()
            formats[header] = FORMATS[column]
        settled = maturity[maturity["month"] == month].assign(cohort=lambda d: d["cohort"].astype(str)).set_index("cohort")["maturity"]
        observed = frame.iloc[:, 0].map(settled)
        frame[tr("report.at_month", month=month, measure=tr("report.fully_observed"))] = [
            None if pd.isna(v) else value_word("", v == OBSERVED, lang) for v in observed
        ]
        target = tr("report.target_at", month=month)
        frame[target] = targets.get(month, float("nan"))
        formats[target] = PERCENT_FORMAT
        measure = tr("report.at_month", month=month, measure=column_label("persistency", lang))
        series += [Series(measure, tr("overview.p", month=month), colour=n), Series(target, target, dashed=True, colour=n)]
    chart = Chart("line", tr("report.trend_chart"), column_label("cohort", lang), tuple(series), PERCENT_FORMAT.replace(".0", ""))
    notes = (tr("report.trend_note"),)
    return Block(frame, title=tr("report.sheet.trend"), notes=notes, formats=formats, charts=(chart,) if months else ())


def _persistency_blocks(
    figures: OverviewFigures, lang: str, *, definition: str, targets: dict[int, float] | None, grace_days: int
) -> list[Block]:
    """KPIs, the trend with its chart, and the projection when a cohort is still maturing."""
    goals = {k.month: k.target for k in figures.kpis} | dict(targets or {})
    blocks = [
        _kpi_block(figures.kpis, lang, definition=definition, grace_days=grace_days),
        _trend_block(figures.trend, lang, targets=goals, maturity=figures.maturity),
    ]
    if len(figures.projection):
        projection = figures.projection.rename(columns={"observed": "observed_persistency"})
        notes = (translate("overview.projection_help", lang, months=REFERENCE_MONTHS),)
        blocks.append(_block(projection, lang, title=translate("report.sheet.projection", lang), notes=notes))
    return blocks


def _triangle_block(figures: OverviewFigures, lang: str) -> Block:
    """Persistency by issue month (rows) and policy month (columns) on a red–yellow–green scale."""
    triangle = figures.triangle.reset_index().rename(columns={"issue_month": column_label("issue_month", lang)})
    triangle.columns = [str(c) for c in triangle.columns]
    formats = dict.fromkeys(triangle.columns[1:], PERCENT_FORMAT)
    return Block(triangle, notes=(translate("overview.triangle_help", lang),), formats=formats, colour_scale=True)


def _league_block(column: str, table: pd.DataFrame, lang: str) -> Block:
    """One league table, worst first, with a bar chart of its count-basis persistency."""
    name = column_label(column, lang)
    title = translate("report.sheet.league", lang, name=name)
    shown = table.assign(**{column: [value_word(column, v, lang) or str(v) for v in table[column]]})
    measure = column_label("persistency", lang)
    chart = Chart("bar", translate("report.league_chart", lang, name=name, month=LEAGUE_MONTH), name, (Series(measure, measure),), "0%")
    return _block(shown, lang, title=title, charts=(chart,))


def _status_blocks(figures: OverviewFigures, lang: str) -> list[Block]:
    """The status snapshot and, with paid-to dates or payments, the collections funnel and its chart, codes in words."""
    snapshot = figures.snapshot.assign(item=figures.snapshot["item"].map(lambda k: translate(f"overview.item.{k}", lang)))
    blocks = [_block(snapshot, lang, title=translate("report.sheet.snapshot", lang))]
    if figures.funnel is not None:
        funnel = figures.funnel.assign(stage=figures.funnel["stage"].map(lambda k: translate(f"overview.stage.{k}", lang)))
        stage, policies = translate("report.stage", lang), column_label("policies", lang)
        chart = Chart("column", translate("report.funnel_chart", lang), stage, (Series(policies, policies),), COUNT_FORMAT)
        blocks.append(_block(funnel, lang, headers={"stage": stage}, title=translate("report.sheet.funnel", lang), charts=(chart,)))
    return blocks


def _cohort_blocks(policies: pd.DataFrame, *, study_date: pd.Timestamp, lang: str) -> list[Block]:
    """The cohort study's default view: young new earners against the rest when the data set has their columns."""
    has_named = all(c.column in policies.columns for c in YOUNG_NEW_EARNERS.conditions)
    study_result = run_study(policies, StudyRequest(by=(YOUNG_NEW_EARNERS.key,) if has_named else ()), study_date=study_date)
    labels = {IN_COHORT: translate("col.young_new_earners", lang), REST: translate("cohort.rest", lang)}
    blocks = []
    for key, frame, notes in (
        ("report.sheet.cohort_totals", study_result.totals.drop(columns="period", errors="ignore"), ()),
        ("report.sheet.cohort_detail", study_result.rates, (translate("cohort.meaning.policy_year", lang),)),
    ):
        if YOUNG_NEW_EARNERS.key in frame:
            frame = frame.assign(**{YOUNG_NEW_EARNERS.key: frame[YOUNG_NEW_EARNERS.key].map(lambda v: labels.get(str(v), v))})
        blocks.append(_block(frame, lang, title=translate(key, lang), notes=notes))
    return blocks


def monthly_report(
    result: LoadResult,
    *,
    dataset: str,
    lang: str = "zh",
    options: PersistencyOptions | None = None,
    targets: dict[int, float] | None = None,
    scope: Sequence[str] = (),
    payments: Payments | None = None,
    figures: OverviewFigures | None = None,
) -> bytes:
    """The monthly report as ``.xlsx`` bytes (formula injection neutralised); the arguments as in :func:`report_blocks`."""
    sheets = report_blocks(
        result, dataset=dataset, lang=lang, options=options, targets=targets, scope=scope, payments=payments, figures=figures
    )
    return write_blocks(sheets)
