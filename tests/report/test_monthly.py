"""The monthly report as a finance team sends it: native charts, a coloured triangle, number formats, the cover's changes."""

from __future__ import annotations

import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import column_index_from_string

from analysis import load_extract
from analysis import schema as S
from analysis.payments.table import DUE_DATE, PAID_DATE
from analysis.persistency.overview import overview_figures
from analysis.report.catalogue import translate
from analysis.report.changes import MIN_CHANGE_POLICIES, largest_changes
from analysis.report.export import COUNT_FORMAT, MONEY_FORMAT, PERCENT_FORMAT, POINTS_FORMAT
from analysis.report.monthly import monthly_report


@pytest.fixture(scope="module")
def sample_book(artefacts):
    """The sample and its monthly workbook in Chinese (``monthly_report``; tests/artefacts.py: written once per test run)."""
    return artefacts.loaded(), openpyxl.load_workbook(io.BytesIO(artefacts.report("zh")))


def header_row(sheet, title: str) -> int:
    """The 1-based row of the header of the table titled ``title`` (the first row below it with two cells filled)."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == title)
    return next(i for i in range(start + 1, len(rows)) if sum(v is not None for v in rows[i]) > 1) + 1


def table(sheet, title: str) -> tuple[int, list[str], list[tuple]]:
    """(header row, headers, body rows) of the table titled ``title``."""
    top = header_row(sheet, title)
    headers = [c.value for c in sheet[top] if c.value is not None]
    body = []
    for row in sheet.iter_rows(min_row=top + 1, values_only=True):
        if all(v is None for v in row):
            break
        body.append(row[: len(headers)])
    return top, headers, body


def reference(sheet, top: int, headers: list[str], header: str, rows: int) -> str:
    """The range a chart series should read: a column of the table from its first to its last body row."""
    letter = openpyxl.utils.get_column_letter(headers.index(header) + 1)
    return f"{sheet.title}!${letter}${top + 1}:${letter}${top + rows}"


def series_refs(chart) -> list[tuple[str, str]]:
    return [(s.cat.strRef.f if s.cat.strRef is not None else s.cat.numRef.f, s.val.numRef.f) for s in chart.series]


def test_the_trend_is_a_line_chart_against_its_targets(sample_book) -> None:
    loaded, book = sample_book
    sheet = book["继续率"]
    top, headers, body = table(sheet, "继续率趋势")
    (chart,) = sheet._charts
    assert type(chart).__name__ == "LineChart"
    categories = reference(sheet, top, headers, "生效批次", len(body))
    wanted = [
        (categories, reference(sheet, top, headers, column, len(body)))
        for column in ("第 13 个月继续率（件数）", "第 13 个月目标", "第 25 个月继续率（件数）", "第 25 个月目标")
    ]
    assert series_refs(chart) == wanted
    assert [s.spPr.ln.prstDash for s in chart.series] == ["solid", "dash", "solid", "dash"]  # targets dashed
    # The cells the chart reads are the overview's trend, numbers formatted as percentages.
    trend = overview_figures(loaded.policies, study_date=loaded.study_date).trend
    p13 = trend[trend["month"] == 13].set_index("cohort")["persistency"]
    column = headers.index("第 13 个月继续率（件数）")
    shown = {row[0]: row[column] for row in body if row[column] is not None}
    assert shown == pytest.approx(p13.to_dict(), abs=1e-12)
    assert {row[headers.index("第 13 个月目标")] for row in body} == {0.85}
    # Each cohort says whether it is fully observed (figures.maturity), so a settling one is not read as a trend.
    maturity = overview_figures(loaded.policies, study_date=loaded.study_date).maturity
    at13 = maturity[maturity["month"] == 13]
    settled = {row[0]: row[headers.index("第 13 个月已完全观察")] for row in body if row[column] is not None}
    assert settled == {c: "是" if m == "observed" else "否" for c, m in zip(at13["cohort"], at13["maturity"])}
    assert sheet.cell(top + 1, column + 1).number_format == PERCENT_FORMAT


def test_league_tables_and_the_funnel_are_bar_charts_of_their_tables(sample_book) -> None:
    _, book = sample_book
    sheet = book["排行榜"]
    titles = ["排行-销售渠道", "排行-管理机构", "排行-险种名称", "排行-代理人"]
    assert len(sheet._charts) == len(titles)
    for chart, title in zip(sheet._charts, titles):
        top, headers, body = table(sheet, title)
        assert type(chart).__name__ == "BarChart" and chart.barDir == "bar"
        wanted = (reference(sheet, top, headers, headers[0], len(body)), reference(sheet, top, headers, "继续率（件数）", len(body)))
        assert series_refs(chart) == [wanted]
        rates = [row[headers.index("继续率（件数）")] for row in body]
        assert rates == sorted(rates)  # worst first
    agents = table(sheet, "排行-代理人")[2]
    assert "（空白）" in {row[0] for row in agents}  # policies without an agent: a word, not "<NA>"
    status = book["状态与收费"]
    top, headers, body = table(status, "收费漏斗")
    (funnel,) = status._charts
    assert funnel.barDir == "col"
    stages, counts = (reference(status, top, headers, header, len(body)) for header in ("环节", "保单数"))
    assert series_refs(funnel) == [(stages, counts)]
    assert [row[0] for row in body][:2] == ["本月应缴", "已缴"]


def test_the_triangle_has_a_three_colour_scale_and_percent_cells(sample_book) -> None:
    loaded, book = sample_book
    sheet = book["继续率三角形"]
    triangle = overview_figures(loaded.policies, study_date=loaded.study_date).triangle
    top = next(row[0].row for row in sheet.iter_rows() if row[0].value == "生效月份")
    (rule_range,) = list(sheet.conditional_formatting)
    start_col, start_row, end_col, end_row = re.fullmatch(r"([A-Z]+)(\d+):([A-Z]+)(\d+)", str(rule_range.sqref)).groups()
    assert (column_index_from_string(start_col), int(start_row)) == (2, top + 1)  # the body, not the issue months
    assert (column_index_from_string(end_col) - 1, int(end_row) - top) == triangle.shape[::-1]
    (rule,) = rule_range.rules
    assert rule.type == "colorScale" and len(rule.colorScale.color) == 3
    assert [v.type for v in rule.colorScale.cfvo] == ["min", "percentile", "max"]
    cell = sheet.cell(top + 1, 2)
    assert cell.value == pytest.approx(triangle.iloc[0, 0]) and cell.number_format == PERCENT_FORMAT
    assert sheet.freeze_panes == f"B{top + 1}"


def test_money_percentages_and_counts_are_numbers_with_formats(sample_book) -> None:
    _, book = sample_book
    status = book["状态与收费"]
    top, headers, body = table(status, "状态快照")
    premium = status.cell(top + 1, headers.index("年化保费") + 1)
    assert isinstance(premium.value, float) and premium.value > 1e6 and premium.number_format == MONEY_FORMAT
    assert status.cell(top + 1, headers.index("保单数") + 1).number_format == COUNT_FORMAT
    sheet = book["继续率"]
    top, headers, body = table(sheet, "关键指标")
    for header in ("继续率（件数）", "继续率（保费）", "去年同期（件数）", "目标"):
        cell = sheet.cell(top + 1, headers.index(header) + 1)
        assert isinstance(cell.value, float) and 0 < cell.value < 1 and cell.number_format == PERCENT_FORMAT
    assert sheet.cell(top + 1, headers.index("较目标（百分点）") + 1).number_format == POINTS_FORMAT
    assert sheet.cell(top + 1, headers.index("批次保单数") + 1).number_format == COUNT_FORMAT
    cohorts = book["分群失效率"]
    top, headers, body = table(cohorts, "分群失效率明细")
    assert cohorts.cell(top + 1, headers.index("失效率") + 1).number_format == PERCENT_FORMAT
    assert {row[headers.index("低可信度")] for row in body} <= {"是", "否"}  # yes/no in words
    cover = book["封面"]
    policies = next(row for row in cover.iter_rows() if row[0].value == "保单数")[1]
    assert policies.value == 49_992 and policies.number_format == COUNT_FORMAT


# --- the cover's three changes, by hand ------------------------------------------------------------
#
# Study date 2026-09-30, monthly payers, three issue months: 2022-12, 2024-03, 2025-03. Lapsed
# policies lapse six months after issue (before month 13). Per channel, policies / lapses:
#
#            2022-12     2024-03     2025-03
#   个险      300 / 30    300 / 30    300 / 90
#   银保      300 / 60    300 / 30    300 / 45
#   电销       50 / 0      50 / 0      50 / 40     (thin: 50 < 200 policies a window)
#
# P13: this window ends 2025-03 (the last issue month that reached month 13), so 2025-03 against
# 2024-03. 个险 210/300 = 70 % against 270/300 = 90 %: −20 pp. 银保 85 % against 90 %: −5 pp.
# 电销 20 % against 100 %: −80 pp, but thin, left out. Whole book 475/650 against 590/650: −17.69 pp.
# P25: 2024-03 against 2022-12. 个险 90 % against 90 %: 0. 银保 90 % against 80 %: +10 pp.
# Whole book 590/650 against 560/650: +4.62 pp.
# Ranked by size: 个险 P13 −20, whole P13 −17.69, 银保 P25 +10. One branch only: it repeats the book, left out.

COHORTS = {"2022-12-15": (30, 60, 0), "2024-03-15": (30, 30, 0), "2025-03-15": (90, 45, 40)}
CHANNELS = (("个险", 300), ("银保", 300), ("电销", 50))


def small_book(path) -> None:
    rows = []
    for issued, lapses in COHORTS.items():
        for (channel, size), lapsed in zip(CHANNELS, lapses):
            for k in range(size):
                lapse = (pd.Timestamp(issued) + pd.DateOffset(months=6)).date().isoformat() if k < lapsed else ""
                rows.append(
                    (f"{channel}{issued}{k:03d}", issued, "月交", 1200, channel, "北京分公司", "失效" if lapse else "有效", lapse, lapse)
                )
    columns = ["保单号", "生效日期", "缴费方式", "年化保费", "销售渠道", "管理机构", "保单状态", "状态日期", "失效日期"]
    frame = pd.DataFrame(rows, columns=columns)
    with open(path, "w", encoding="utf-8-sig") as handle:
        handle.write("保单明细,统计截止日：2026-09-30\n")
        frame.to_csv(handle, index=False)


def cover_changes(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))["封面"]
    return table(sheet, "变化最大的三项")[2]


def test_the_covers_three_changes_match_a_hand_computation(tmp_path) -> None:
    small_book(tmp_path / "book.csv")
    loaded = load_extract(tmp_path / "book.csv")
    changes = largest_changes(loaded.policies, study_date=loaded.study_date)
    assert changes[["column", "group", "month"]].values.tolist() == [["channel", "个险", 13], ["", "", 13], ["channel", "银保", 25]]
    assert changes["change"].tolist() == pytest.approx([-0.20, -115 / 650, 0.10], abs=1e-12)
    assert changes["current"].tolist() == pytest.approx([0.70, 475 / 650, 0.90], abs=1e-12)
    assert changes["policies"].tolist() == [300, 650, 300] and changes["beyond_noise"].all()
    assert (changes["window_start"] + "–" + changes["window_end"]).tolist() == ["2024-04–2025-03"] * 2 + ["2023-04–2024-03"]
    zh = cover_changes(monthly_report(loaded, dataset="book.csv", lang="zh"))
    assert [row[1] for row in zh] == [
        "销售渠道“个险”的 13 个月继续率较去年同期下降 20.0 个百分点（90.0% → 70.0%）",
        "整体 13 个月继续率较去年同期下降 17.7 个百分点（90.8% → 73.1%）",
        "销售渠道“银保”的 25 个月继续率较去年同期上升 10.0 个百分点（80.0% → 90.0%）",
    ]
    assert [row[5] for row in zh] == pytest.approx([-20.0, -17.69, 10.0])
    # The thin channel's −80 points would win without the size rule.
    assert largest_changes(loaded.policies, study_date=loaded.study_date, min_policies=50)["group"].iloc[0] == "电销"
    assert MIN_CHANGE_POLICIES > 50


def test_a_book_without_league_columns_compares_the_whole_book_only(tmp_path) -> None:
    small_book(tmp_path / "book.csv")
    loaded = load_extract(tmp_path / "book.csv")
    changes = largest_changes(loaded.policies.drop(columns=[S.CHANNEL, S.BRANCH]), study_date=loaded.study_date)
    assert changes[["column", "month"]].values.tolist() == [["", 13], ["", 25]]
    assert changes["change"].tolist() == pytest.approx([-115 / 650, 30 / 650], abs=1e-12)


def test_the_changes_are_the_same_on_every_engine(engine, tmp_path) -> None:
    from analysis.engine.backend import bind

    small_book(tmp_path / "book.csv")
    loaded = load_extract(tmp_path / "book.csv")
    table, _ = bind(loaded.policies, engine)
    changes = largest_changes(table, study_date=loaded.study_date)
    assert changes[["column", "group", "month"]].values.tolist() == [["channel", "个险", 13], ["", "", 13], ["channel", "银保", 25]]
    assert changes["change"].tolist() == pytest.approx([-0.20, -115 / 650, 0.10], abs=1e-12)


def test_with_payments_the_report_states_the_definition_and_measures_on_them(tmp_path) -> None:
    small_book(tmp_path / "book.csv")
    loaded = load_extract(tmp_path / "book.csv")
    policies = loaded.policies
    # Every policy in force pays its 2nd- and 3rd-year first premium on the day (those due by the study date):
    # premiums received then equal the in-force approximation, so the changes are the hand-computed ones.
    paying = policies[policies[S.STATUS] == "in_force"]
    dues = pd.concat([paying[S.ISSUE_DATE] + pd.DateOffset(months=m) for m in (12, 24)])
    payments = pd.DataFrame({S.POLICY_ID: policies.loc[dues.index, S.POLICY_ID].to_numpy(), DUE_DATE: dues.to_numpy()})
    payments = payments[payments[DUE_DATE] <= loaded.study_date].assign(**{PAID_DATE: lambda d: d[DUE_DATE]})
    data = monthly_report(loaded, dataset="book.csv", lang="en", payments=payments)
    book = openpyxl.load_workbook(io.BytesIO(data))
    received = translate("persistency.definition.premiums_received", "en")
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True)}
    assert cover["Persistency definition"] == received
    kpi_title = next(row[0].row for row in book["Persistency"].iter_rows() if row[0].value == "KPIs")
    assert book["Persistency"].cell(kpi_title + 1, 1).value == received
    changes = table(book["Cover"], "The three things that changed most")[2]
    assert [row[5] for row in changes] == pytest.approx([-20.0, -17.69, 10.0])
    approximated = openpyxl.load_workbook(io.BytesIO(monthly_report(loaded, dataset="book.csv", lang="en")))
    assert {row[0]: row[1] for row in approximated["Cover"].iter_rows(values_only=True)}["Persistency definition"] != received
    assert np.isfinite([row[3] for row in changes]).all()


def test_the_overview_pages_figures_make_the_same_workbook_without_computing_them_again(sample_book, artefacts, monkeypatch) -> None:
    """Given the figures the Overview page already has, the workbook is the one it computes for itself, cell for cell."""
    import analysis.report.monthly as monthly
    from analysis.persistency.ratios import PersistencyOptions

    loaded, computed = sample_book
    options = PersistencyOptions(grace_days=loaded.preset.grace_days)
    figures = overview_figures(loaded.policies, study_date=loaded.study_date, options=options)
    by_year = overview_figures(loaded.policies, study_date=loaded.study_date, options=options, trend_cohort="year")
    # The page's figures by another grain are not the report's: it computes its own, the same workbook.
    other = openpyxl.load_workbook(io.BytesIO(monthly_report(loaded, dataset="sample_policies.csv", lang="zh", figures=by_year)))
    for name in computed.sheetnames:
        assert list(other[name].iter_rows(values_only=True)) == list(computed[name].iter_rows(values_only=True)), name

    def again(*args, **kwargs):
        raise AssertionError("the overview's figures were computed again")

    monkeypatch.setattr(monthly, "overview_figures", again)
    reused = openpyxl.load_workbook(io.BytesIO(monthly_report(loaded, dataset="sample_policies.csv", lang="zh", figures=figures)))
    assert reused.sheetnames == computed.sheetnames
    for name in computed.sheetnames:
        assert list(reused[name].iter_rows(values_only=True)) == list(computed[name].iter_rows(values_only=True)), name
