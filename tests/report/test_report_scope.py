"""Exports state the app's filter on their cover: the monthly report and the action lists."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import openpyxl
import pandas as pd
from artefacts import sample_extract

from analysis.report.monthly import monthly_report
from analysis.study.filters import BookFilter, filter_policies


def cells(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {name: [tuple(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}


def test_a_filtered_monthly_report_says_its_scope_and_counts_only_it(root, artefacts) -> None:
    loaded = sample_extract()
    asked = BookFilter(values=(("channel", ("银保",)),), issued_from=dt.date(2020, 1, 1))
    filtered = dataclasses.replace(loaded, policies=filter_policies(loaded.policies, asked))
    zh = cells(monthly_report(filtered, dataset="sample_policies.csv", lang="zh", scope=asked.lines("zh")))
    cover = dict(row[:2] for row in zh["封面"][1:])
    assert cover["筛选范围"] == "销售渠道：银保; 生效日期：2020-01-01 至 …"
    assert cover["保单数"] == len(filtered.policies)  # a number, shown with thousands separators
    assert len(filtered.policies) < len(loaded.policies)
    leagues = zh["排行榜"]
    title = next(i for i, row in enumerate(leagues) if row[0] == "排行-销售渠道")
    assert leagues[title + 1][0] == "销售渠道" and leagues[title + 2][0] == "银保" and leagues[title + 3][0] is None
    # the league table is of the filtered book too
    whole = cells(artefacts.report("en"))  # monthly_report(the whole sample, dataset="sample_policies.csv", lang="en")
    assert dict(row[:2] for row in whole["Cover"][1:])["Scope"] == "Scope: all policies"


def test_the_action_lists_workbook_is_headed_by_the_scope(sample_risk) -> None:
    from analysis.risk.actions import action_lists
    from analysis.risk.words import worklist_workbook

    loaded, _, risk = sample_risk
    asked = BookFilter(values=(("branch", ("广东分公司",)),))
    due, back = action_lists(filter_policies(loaded.policies, asked), risk)
    assert len(due) and set(due["branch"]) == {"广东分公司"} and set(back["branch"]) == {"广东分公司"}
    book = cells(worklist_workbook(due, back, study_date=risk.study_date, language="en", scope=asked.lines("en")))
    for rows in book.values():
        assert rows[0][0] == "Branch: 广东分公司"


def test_the_action_lists_workbook_keeps_numbers_with_formats() -> None:
    from analysis.risk.words import worklist_workbook

    due = pd.DataFrame(
        {
            "policy_id": ["P1", "P2"],
            "state": ["in_grace", "due_soon"],
            "days_to_due": [-2.0, 3.0],
            "annual_premium": [1234.5, 20000.0],
            "premium_at_risk": [100.0, 2000.0],
            "probability": [0.1, 0.1],
            "lever": ["reminder", "reminder"],
        }
    )
    back = pd.DataFrame({"policy_id": ["P9"], "annual_premium": [5000.0], "lapse_date": pd.to_datetime(["2025-01-01"])})
    data = worklist_workbook(due, back, study_date=pd.Timestamp("2026-09-30"), language="zh", mask=False)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = next(row for row in sheet.iter_rows() if row[0].value == "保单号")
    column = {cell.value: cell.column for cell in header}
    first = header[0].row + 1
    days = sheet.cell(first, column["距到期天数"])
    assert days.value == -2 and days.number_format == '0" 天后到期";"逾期 "0" 天";"今天到期"'  # a number, read as 逾期 2 天
    premium = sheet.cell(first, column["年化保费"])
    assert premium.value == 1234.5 and premium.number_format == '"¥"#,##0;-"¥"#,##0'
