"""Policy numbers Excel held in number cells are flagged row by row, and a workbook and its CSV give the same account.

The table: 202 policies with 20-digit policy numbers (8611 followed by 16 digits). Sixty of them
went through number cells: Excel kept 15 significant digits (8.61123456789012E+19). The rest of
the column is text, so no column-level rule can see the damage; only the cell type (workbook) or
the scientific notation Excel writes to a CSV (General format, 8.61123E+19) can.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis import load_extract
from analysis.ingest import workbook
from analysis.ingest.number_cells import binary_doubles
from analysis.ingest.text import TEXT

POLICIES = 202
#: The policies whose numbers went through a number cell: index i (0-based) with i % 10 in {0, 3, 6}, i < 200:
#: 20 tens × 3 = 60 policies.
DAMAGED = [i for i in range(200) if i % 10 in (0, 3, 6)]
HEADER = ["保单号", "生效日期", "保单状态", "年化保费（元）"]
STATUSES = ["有效", "有效", "宽限期", "有效", "有效"]


def _policy_number(i: int) -> str:
    return f"8611{(i * 7919 + 12345678) * 1000003:016d}"[:20]


def _number_cell(i: int) -> float:
    """What Excel stores for the number typed into a General cell: 15 significant digits, as a double."""
    return float(f"{int(_policy_number(i)):.14e}")


def _issue(i: int) -> dt.datetime:
    return dt.datetime(2020, 1, 1) + dt.timedelta(days=3 * i)


def damaged_workbook() -> bytes:
    """The table as a workbook: header on row 1, policy i on row i + 2; damaged numbers are number cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i in range(POLICIES):
        number: object = _number_cell(i) if i in DAMAGED else _policy_number(i)
        sheet.append([number, _issue(i), STATUSES[i % len(STATUSES)], 1000 + i])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def damaged_csv() -> bytes:
    """The same table as Excel saves it to CSV: a number cell in General format is written as shown (8.61123E+19)."""
    lines = [",".join(HEADER)]
    for i in range(POLICIES):
        number = f"{_number_cell(i):.5E}" if i in DAMAGED else _policy_number(i)
        lines.append(f"{number},{_issue(i):%Y/%m/%d},{STATUSES[i % len(STATUSES)]},{1000 + i}")
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def _account(result) -> list[tuple[int, str, str, str]]:
    problems = result.problems
    return sorted(zip(problems["row"].tolist(), problems["column"].tolist(), problems["kind"].tolist(), problems["action"].tolist()))


def test_the_number_cell_damage_signature() -> None:
    """Exactly a binary double: what a number cell holds. By hand:

    8.611234567890123e19 is the double 86112345678901231616; 86112345678901234567 is no double
    (doubles near 2**66 lie 2**14 = 16,384 apart); 2**53 + 1 = 9007199254740993 is the first
    integer that is no double, 2**53 + 2 is one; 15 digits or fewer, a leading zero or a
    letter is no candidate.
    """
    ids = pd.Series(
        [
            "86112345678901231616",
            "86112345678901234567",
            "9007199254740993",
            "9007199254740994",
            "861123456789012",
            "0861123456789012345",
            "P1",
            None,
        ],
        dtype=TEXT,
    )
    assert binary_doubles(ids).tolist() == [True, False, False, True, False, False, False, False]


def test_a_workbook_flags_every_number_cell_whatever_the_rest_of_the_column() -> None:
    result = load_extract(damaged_workbook(), filename="book.xlsx")
    flagged = result.problems[result.problems["kind"] == "id_precision_lost"]
    assert flagged["row"].tolist() == [i + 2 for i in DAMAGED]  # spreadsheet rows 2, 5, 8, 12, …
    assert len(flagged) == 60 and set(flagged["action"]) == {"flagged"}
    # The number as the reader writes it out: the double Excel kept, not the policy number.
    assert flagged["value"].iloc[0] == str(int(_number_cell(0)))
    assert (result.rows_read, result.accepted, result.repaired, result.rejected) == (202, 142, 60, 0)


def test_the_workbook_and_its_csv_give_the_same_account_row_by_row() -> None:
    book = load_extract(damaged_workbook(), filename="book.xlsx")
    csv = load_extract(damaged_csv(), filename="book.csv")
    assert _account(book) == _account(csv)
    assert (csv.rows_read, csv.accepted, csv.repaired, csv.rejected) == (book.rows_read, book.accepted, book.repaired, book.rejected)
    # In the CSV the 60 damaged numbers collapse to a few (8.61123E+19 …); they are not taken for duplicates:
    # a number cut to 15 digits no longer tells policies apart.
    damaged_numbers = csv.policies.loc[csv.policies["source_row"].isin([i + 2 for i in DAMAGED]), "policy_id"]
    assert damaged_numbers.nunique() < 60 and len(damaged_numbers) == 60
    assert not csv.problems["kind"].isin(["duplicate", "conflicting_duplicate"]).any()


def test_one_sixteen_digit_number_cell_among_text_numbers_is_flagged() -> None:
    """One number cell in a column of 100 text numbers, 3 of which are exactly doubles as typed: only the cell is flagged."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["保单号", "生效日期", "保单状态"])
    for i in range(100):
        sheet.append([f"8611{i:016d}", dt.datetime(2021, 1, 1), "有效"])  # 86110000000000000000 … are doubles, typed as text
    sheet.append([1234567890123456.0, dt.datetime(2021, 1, 1), "有效"])  # row 102: 16 digits in a number cell
    buffer = io.BytesIO()
    book.save(buffer)
    result = load_extract(buffer.getvalue(), filename="one.xlsx")
    assert result.problems.loc[result.problems["kind"] == "id_precision_lost", "row"].tolist() == [102]


def test_without_row_numbers_in_the_xml_the_column_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook whose XML rows cannot be found is asked through the reader: the same 60 rows."""
    monkeypatch.setattr(workbook, "_number_cells_in_xml", lambda *args: None)
    result = load_extract(damaged_workbook(), filename="book.xlsx")
    assert result.problems.loc[result.problems["kind"] == "id_precision_lost", "row"].tolist() == [i + 2 for i in DAMAGED]


def test_a_text_column_of_long_numbers_never_asks_for_cell_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """No candidate (no long number that is exactly a double), no second look at the workbook."""
    asked: list[int] = []
    real = workbook._XlsxNumberCells.__call__

    def spy(self, position, rows, texts):  # type: ignore[no-untyped-def]
        asked.append(len(rows))
        return real(self, position, rows, texts)

    monkeypatch.setattr(workbook._XlsxNumberCells, "__call__", spy)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["保单号", "生效日期", "保单状态"])
    for i in range(50):
        sheet.append([f"8611{i:015d}7", dt.datetime(2021, 1, 1), "有效"])  # odd 20-digit numbers: never doubles
    buffer = io.BytesIO()
    book.save(buffer)
    result = load_extract(buffer.getvalue(), filename="text.xlsx")
    assert asked == [] and result.problems.empty
    assert np.all(result.policies["policy_id"].str.len() == 20)


def test_an_xls_sheet_tells_number_cells_by_their_python_type() -> None:
    """calamine gives an .xls cell as a Python float or int (number), str (text) or bool: only numbers count.

    The sheet starts on row 3; column 1 holds, on rows 4–7, a float, a text, a bool and an int.
    """
    grid = pd.DataFrame([["h", "保单号"], ["a", 8.611234567890123e19], ["b", "86112345678901234567"], ["c", True], ["d", 10**16]])
    cells = workbook._XlsNumberCells(grid, start=3)
    rows = np.array([4, 5, 6, 7, 99])
    assert cells(1, rows, ["", "", "", "", ""]).tolist() == [True, False, False, True, False]
    cells.release()
    assert cells(1, rows, [""] * 5).tolist() == [False] * 5
