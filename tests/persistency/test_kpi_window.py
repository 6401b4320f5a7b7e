"""The KPI cards' window ends at the last fully observed issue month, not the last one that reached N (issue [4/7] item 5).

A hand-made book, study date 2026-09-30, monthly payers, 100 policies in each of three issue
months; lapsed policies lapse six months after issue:

    issued      lapsed   reached month 13 on     + 60 days of grace
    2024-06     10       2025-07-31              observed
    2025-06     20       2026-07-31              2026-09-29: observed
    2025-08      0       2026-09-30 (= study)    2026-11-29: settling

2025-08 has reached month 13, but without a payment history a premium it missed is recorded as
a lapse only after grace, so its 100 % is not yet known to be one: the P13 window (12 issue months)
ends at 2025-06 — 80/100 = 80 % against 2024-06's 90/100 a year earlier. Had it ended at the last
reached month (2025-08, as before), the window 2024-09 – 2025-08 would have read (80 + 100)/200 = 90 %,
no change against last year. With a payment history a premium received is known at once: nothing
is settling and the window ends at 2025-08.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import load_extract
from analysis import schema as S
from analysis.payments.table import DUE_DATE, PAID_DATE
from analysis.persistency.maturity import persistency_contrast
from analysis.persistency.overview import overview_figures, persistency_kpis
from analysis.report.changes import largest_changes

ISSUED = {"2024-06-15": 10, "2025-06-15": 20, "2025-08-15": 0}
SIZE = 100


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    rows = []
    for issued, lapsed in ISSUED.items():
        for k in range(SIZE):
            lapse = (pd.Timestamp(issued) + pd.DateOffset(months=6)).date().isoformat() if k < lapsed else ""
            rows.append((f"P{issued}{k:03d}", issued, "月交", 1200, "个险", "失效" if lapse else "有效", lapse, lapse))
    frame = pd.DataFrame(rows, columns=["保单号", "生效日期", "缴费方式", "年化保费", "销售渠道", "保单状态", "状态日期", "失效日期"])
    path = tmp_path_factory.mktemp("kpi_window") / "book.csv"
    with open(path, "w", encoding="utf-8-sig") as handle:
        handle.write("保单明细,统计截止日：2026-09-30\n")
        frame.to_csv(handle, index=False)
    return load_extract(path)


def _key(kpi) -> tuple:
    """What a KPI says, comparable (a missing last year is NaN, never equal to itself)."""
    return kpi.month, kpi.window, kpi.policies, kpi.count, kpi.premium, kpi.settling


def paid_on_time(book) -> pd.DataFrame:
    """Every policy in force pays its second-year premium on the day it falls due (the lapsed ones have no due row)."""
    paying = book.policies[book.policies[S.STATUS] == "in_force"]
    due = paying[S.ISSUE_DATE] + pd.DateOffset(months=12)
    return pd.DataFrame({S.POLICY_ID: paying[S.POLICY_ID].to_numpy(), DUE_DATE: due.to_numpy(), PAID_DATE: due.to_numpy()})


def test_a_settling_last_month_is_left_out_of_the_window_without_payments(book) -> None:
    assert book.study_date == pd.Timestamp("2026-09-30")
    kpi = {k.month: k for k in persistency_kpis(book.policies, study_date=book.study_date)}[13]
    assert kpi.window == ("2024-07", "2025-06") and kpi.settling == ("2025-08",)
    assert kpi.policies == SIZE
    assert kpi.count == pytest.approx(0.80) and kpi.count_last_year == pytest.approx(0.90)
    assert kpi.count_vs_last_year == pytest.approx(-0.10)
    # The page's and the report's figures are the same KPIs.
    figures = overview_figures(book.policies, study_date=book.study_date)
    assert [_key(k) for k in figures.kpis] == [_key(k) for k in persistency_kpis(book.policies, study_date=book.study_date)]


def test_with_payments_the_last_reached_month_is_fully_observed_and_kept(book) -> None:
    payments = paid_on_time(book)
    kpi = {k.month: k for k in persistency_kpis(book.policies, study_date=book.study_date, payments=payments)}[13]
    assert kpi.window == ("2024-09", "2025-08") and kpi.settling == ()
    assert kpi.policies == 2 * SIZE and kpi.count == pytest.approx(0.90) and kpi.count_last_year == pytest.approx(0.90)
    figures = overview_figures(book.policies, study_date=book.study_date, payments=payments)
    assert _key(figures.kpis[0]) == _key(kpi)


def test_at_n_plus_1_the_grace_counts_from_the_later_evaluation_date(book) -> None:
    from analysis.persistency.ratios import PersistencyOptions

    # At N + 1 2025-06 reaches month 14 on 2026-08-31; + 60 days = 2026-10-30, after the study date: settling too.
    kpis = persistency_kpis(book.policies, study_date=book.study_date, options=PersistencyOptions(include_grace=True))
    kpi = {k.month: k for k in kpis}[13]
    assert kpi.window == ("2023-07", "2024-06") and kpi.settling == ("2025-06",)  # 2025-08 has not reached month 14
    assert kpi.count == pytest.approx(0.90)


def test_the_report_s_changes_and_the_p13_sentence_use_the_same_window(book) -> None:
    changes = largest_changes(book.policies, study_date=book.study_date, min_policies=50)
    p13 = changes[(changes["column"] == "") & (changes["month"] == 13)].iloc[0]
    assert (p13["window_start"], p13["window_end"]) == ("2024-07", "2025-06")
    assert (p13["current"], p13["previous"], p13["policies"]) == (pytest.approx(0.80), pytest.approx(0.90), SIZE)
    paid = largest_changes(book.policies, study_date=book.study_date, min_policies=50, payments=paid_on_time(book))
    p13 = paid[(paid["column"] == "") & (paid["month"] == 13)].iloc[0]
    assert (p13["window_start"], p13["window_end"], p13["policies"]) == ("2024-09", "2025-08", 2 * SIZE)
    # P13 beside S(13) names the KPI's window and policies.
    figures = overview_figures(book.policies, study_date=book.study_date)
    curve = pd.DataFrame(
        {"month": [0.0, 13.0], "entered": [3 * SIZE, 0], "survival": [1.0, 0.9], "lower": [1.0, 0.85], "upper": [1.0, 0.95]}
    )
    contrast = persistency_contrast(figures.kpis, curve)
    assert contrast is not None and contrast.window == ("2024-07", "2025-06") and contrast.policies == SIZE
    assert contrast.persistency == pytest.approx(0.80)


def test_the_monthly_workbook_s_kpis_name_the_window_and_the_settling_month(book) -> None:
    import io

    import openpyxl

    from analysis.report.monthly import monthly_report

    sheet = openpyxl.load_workbook(io.BytesIO(monthly_report(book, dataset="book.csv", lang="en")))["Persistency"]
    rows = [[v for v in row if v is not None] for row in sheet.iter_rows(values_only=True)]
    kpi = next(row for row in rows if row and row[0] == "13-month persistency")
    assert kpi[1:4] == ["2024-07 – 2025-06", SIZE, pytest.approx(0.80)]
    note = next(row[0] for row in rows if row and str(row[0]).startswith("13-month persistency: "))
    assert "issued 2024-07–2025-06" in note and "2025-08 reached month 13 too but are left out" in note
