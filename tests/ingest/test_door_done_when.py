"""Issue [2/7], done when: an extract with Excel-damaged policy numbers, no title row, per-instalment premiums,
future dates and no status dates gives the figures a hand computation gives."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from analysis import load_extract
from analysis.ingest.loud import loud_reasons

HEADER = ["保单号", "生效日期", "保单状态", "交至日期", "复效日期", "期交保费（元）", "缴费方式"]


def _issue(n: int) -> dt.datetime:
    return dt.datetime(2021 + (n // 12), n % 12 + 1, 5)  # policy n issued on the 5th, one a month from 2021-01-05


def _row(n: int) -> list[object]:
    """Policy n (0–39): 20-digit number, a number cell when n % 4 == 0 (Excel kept 15 digits); surrendered when
    n % 8 == 3 (paid to issue + 3 months, no status date); policy 21 reinstated on a mistyped 2025-02-15;
    the others in force, paid to their next due date after the extract; 200 per instalment, monthly when n is even."""
    number = f"86{n:02d}12345678901234567"[:20]
    issue = _issue(n)
    if n % 8 == 3:
        status, paid_to, reinstated = "退保", issue + pd.DateOffset(months=3), None
    elif n == 21:
        status, paid_to, reinstated = "复效", issue + pd.DateOffset(months=6), dt.datetime(2025, 2, 15)
    else:
        status, paid_to, reinstated = "有效", dt.datetime(2024, 5, 5) + dt.timedelta(days=n), None
    cell: object = float(f"{int(number):.14e}") if n % 4 == 0 else number
    return [cell, issue, status, pd.Timestamp(paid_to).to_pydatetime(), reinstated, 200, "月交" if n % 2 == 0 else "年交"]


@pytest.fixture(scope="module")
def loaded():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)  # no title row: the study date must be inferred
    for n in range(40):
        sheet.append(_row(n))
    buffer = io.BytesIO()
    book.save(buffer)
    return load_extract(buffer.getvalue(), filename="extract.xlsx")


def test_every_damaged_number_is_flagged(loaded) -> None:
    """n % 4 == 0: n = 0, 4, …, 36 → 10 policies, on spreadsheet rows n + 2."""
    flagged = loaded.problems.loc[loaded.problems["kind"] == "id_precision_lost", "row"].tolist()
    assert flagged == [n + 2 for n in range(0, 40, 4)]


def test_the_study_date_is_inferred_and_its_source_shown(loaded) -> None:
    """Dates as written: 40 issue dates (the last 2024-04-05) and one reinstatement date, 2025-02-15: one date after
    316 days without any (more than 92), so isolated. Paid-to dates (up to 2024-06-13) are not used.
    The study date is 2024-04-05, inferred from 生效日期."""
    assert (loaded.study_date, loaded.study_date_source, loaded.study_date_column) == (
        pd.Timestamp("2024-04-05"),
        "latest date",
        "生效日期",
    )
    assert loaded.study_date_inferred


def test_every_future_date_is_flagged(loaded) -> None:
    """The reinstatement date 2025-02-15 (policy 21, row 23) is after the study date: flagged, not used as an event."""
    after = loaded.problems[loaded.problems["kind"] == "date_after_study"]
    assert after[["row", "column", "action"]].values.tolist() == [[23, "复效日期", "flagged"]]


def test_every_surrender_is_counted(loaded) -> None:
    """n % 8 == 3: n = 3, 11, 19, 27, 35 → 5 surrenders, none rejected; each dated at its paid-to date (issue + 3 months)."""
    assert loaded.rejected == 0
    assert loaded.status_counts["surrendered"] == 5
    surrendered = loaded.policies[loaded.policies["status"] == "surrendered"]
    expected = [pd.Timestamp(_issue(n)) + pd.DateOffset(months=3) for n in (3, 11, 19, 27, 35)]
    assert surrendered["status_date"].tolist() == expected


def test_the_premium_is_annualised(loaded) -> None:
    """200 per instalment: monthly (even n) → 200 × 12 = 2,400; yearly (odd n) → 200 × 12/12 = 200.
    20 × 2,400 + 20 × 200 = 52,000."""
    premiums = loaded.policies.set_index("source_row")["annual_premium"]
    assert premiums[2] == 2400.0 and premiums[3] == 200.0
    assert premiums.sum() == 52_000.0
    note = loaded.column_notes[loaded.column_notes["kind"] == "premium_basis"].iloc[0]
    assert (note["note"], note["params"]["annualised"], note["params"]["single"]) == ("premium_instalment_header", "40", "0")


def test_the_loud_account_names_the_damaged_numbers(loaded) -> None:
    """10 of 40 rows (25 %) flagged for damaged numbers; 6 of 40 (15 %) repaired by a dating rule: the 5 surrenders,
    and policy 21's lapse behind its reinstatement (paid to 2023-04-05 + 60 days' grace + 1 day). Both above 5 %."""
    reasons = {(r.kind, r.action): r.rows for r in loud_reasons(loaded.problems, loaded.rows_read)}
    assert reasons[("id_precision_lost", "flagged")] == 10
    assert reasons[("exit_dated", "repaired")] == 6
