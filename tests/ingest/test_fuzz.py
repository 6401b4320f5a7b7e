"""Fuzzing the door (issue [7/7] §2): generated and corrupted extracts never crash the load.

Hypothesis generates extracts (CSV in several encodings and delimiters, ``.xlsx`` written
by openpyxl, Parquet) with random Chinese and English headers from the alias tables, title
and group-header rows, dates in every form, numbers as text, status and code words, blanks,
footer rows, duplicates, absurd dates, huge numbers, formula strings and random mapping
presets; and it corrupts files: truncated and bit-flipped workbooks, broken XML in a sound
zip, random bytes, wrong encodings, random TOML presets, a 10,000-column file. For every case:

* the load either succeeds or raises :class:`ExtractError` with a catalogued code whose
  message names the problem (nothing else may escape);
* a load accounts for every row: ``rows_read = accepted + repaired + rejected``, and the
  skipped, rejected and kept rows are disjoint and together are every row of the file; where
  the case knows its header line, the header was taken from it.

``LAPSELENS_FUZZ_EXAMPLES`` sets the examples per property (default 40, about 30 s in
all); ``LAPSELENS_FUZZ_RANDOM=1`` draws new cases on every run instead of the fixed,
reproducible ones. The number of cases tried is printed in pytest's summary.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import zipfile
from collections import Counter
from typing import Any, Iterator

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import FUZZ_SUMMARY_DIR

from analysis import ExtractError, MappingPreset, load_extract
from analysis import schema as S
from analysis.ingest.account import account_table, worded_account
from analysis.ingest.headers import _alias_hits, find_header_row
from analysis.ingest.ledger import problem_details
from analysis.ingest.text import TEXT
from analysis.report.catalogue import CATALOGUE, translate

EXAMPLES = int(os.environ.get("LAPSELENS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("LAPSELENS_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

#: Cases tried, by outcome; printed at the end of the run (see the plugin below).
TRIED: Counter[str] = Counter()
COLUMNS_COMPARED = [0]  # columns in the cases of the batched-attribute comparison

#: What each refusal must say (in English; the catalogue gives the translations).
ERROR_WORDS = {
    "empty_file": ("empty",),
    "header_only": ("no policy rows",),
    "not_a_table": ("not a table", "not a CSV"),
    "corrupt_workbook": ("corrupt", "not one"),
    "encrypted_workbook": ("password",),
    "missing_required": ("No column looks like",),
    "no_valid_dates": ("none of them is a date",),
    "bad_csv": ("could not be split into columns",),
    "no_such_sheet": ("no sheet",),
    "bad_study_date": ("study date",),
    "preset_column_missing": ("has no such column",),
    "missing_column": ("is not a column of this file",),
    "bad_preset": ("preset",),
    "too_large": ("limit", "empty", "copies", "damaged"),
    "unsupported_column": ("Parquet column",),
}


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Iterator[None]:
    """Leave the counts of this process's cases for the run's summary (tests/conftest.py prints them).

    A file per process, because under pytest-xdist each worker tries its own share of the cases.
    """
    yield
    if TRIED:
        FUZZ_SUMMARY_DIR.mkdir(parents=True, exist_ok=True)
        summary = {"examples": EXAMPLES, "tried": dict(TRIED), "columns_compared": COLUMNS_COMPARED[0]}
        (FUZZ_SUMMARY_DIR / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json").write_text(json.dumps(summary))


# --- checking one case ------------------------------------------------------------------


def check_error(error: ExtractError) -> None:
    """A refusal must carry a catalogued code, say the problem, and translate into both languages."""
    assert error.code in ERROR_WORDS, f"unexpected error code {error.code!r}: {error}"
    message = str(error)
    assert any(word in message for word in ERROR_WORDS[error.code]), (error.code, message)
    assert error.key in CATALOGUE  # error.<code>.<reason>: the sentence of this very rule
    for language in ("zh", "en"):
        text = translate(error.key, language, **error.params)
        assert text and not text.startswith("error.")


def check_account(result: Any, expected_rows: set[int] | None) -> None:
    """Every row of the file is skipped, rejected or kept, exactly once."""
    assert result.rows_read == result.accepted + result.repaired + result.rejected
    assert min(result.accepted, result.repaired, result.rejected) >= 0
    policies = result.policies
    assert len(policies) == result.accepted + result.repaired
    kept = policies[S.SOURCE_ROW].tolist()
    assert len(set(kept)) == len(kept), "a source row is kept twice"
    problems = result.problems
    rejected = set(problems.loc[problems["action"] == "rejected", "row"].tolist())
    skipped_list = result.skipped_rows["row"].tolist()
    skipped = set(skipped_list)
    assert len(skipped) == len(skipped_list), "a row is skipped twice"
    assert not (skipped & set(kept)) and not (skipped & rejected) and not (set(kept) & rejected)
    assert len(rejected) == result.rejected
    for language in ("en", "zh"):
        assert (problem_details(problems, language).astype(str).str.len() > 0).all(), "a problem without a reason"
    if expected_rows is not None:
        assert skipped | rejected | set(kept) == expected_rows
    # The canonical columns have their types, and the account can be shown and printed.
    assert policies[S.POLICY_ID].dtype == TEXT
    assert str(policies[S.ISSUE_DATE].dtype) == "datetime64[ns]"
    assert set(policies[S.STATUS].dropna()) <= set(S.STATUSES)
    assert policies[S.ISSUE_DATE].notna().all() and policies[S.STATUS].notna().all()
    assert isinstance(result.study_date, pd.Timestamp) and not pd.isna(result.study_date)
    json.dumps(result.summary(), ensure_ascii=False)
    worded_account(account_table(result), "zh")


def try_load(
    data: bytes, filename: str | None, expected_rows: set[int] | None = None, *, header_row: int | None = None, **options: Any
) -> Any:
    """Load one case; only ExtractError may escape the door, and it is checked.

    ``header_row``, where the case knows it, is the line the header must be found on.
    """
    try:
        result = load_extract(data, filename=filename, **options)
    except ExtractError as error:
        check_error(error)
        TRIED[f"refused ({error.code})"] += 1
        return None
    check_account(result, expected_rows)
    if header_row is not None:
        assert result.header_row == header_row, "the header was taken from the wrong line"
    TRIED["loaded"] += 1
    return result


def header_line(rows: list[list[object]]) -> int | None:
    """The line the door must take as the header: the row with the most known headers, if it has two."""
    texts = [["" if v is None else str(v) for v in row] for row in rows[:60]]
    hits = [_alias_hits(row) for row in texts]
    return find_header_row(texts) + 1 if hits and max(hits) >= 2 else None


# --- generated extracts -----------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "=1+1", "+1", "-1", "@SUM(A1:A2)", '=HYPERLINK("http://x","y")', "\t=1", "=", "+", "-", "@"]
ABSURD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "1000000000",
    "1e9",
    "-1",
    "0",
    "99999999",
    "2023-02-30",
    "2023-13-45",
    "0000-00-00",
    "1900-02-29",
    "10000-01-01",
    "２０２３年１３月１日",
    "2023年2月29日",
    "20230230",
    "2262-04-12",
    "1677-09-21",
    "1e308",
    "nan",
    "2262-04-01",
    "2262-04-11",
    "1677-09-22",
    "1677-09-23",
    "2200-12-31",
    "2201-01-01",
    "1800-01-01",
    "1799-12-31",
    "2958465",
    "-693593",
]
HUGE_NUMBERS = [
    "1e308",
    "-1e308",
    "1e309",
    "9" * 40,
    "-" + "9" * 40,
    "1" + "0" * 400,
    "inf",
    "-inf",
    "nan",
    "1,2,3",
    "¥-0",
    "(1e308)",
    "0.5万亿",
    "9" * 40 + "万",
    "1e-400",
    "--1",
    "1.2.3",
]
LINE_BREAKS_ARROW_IGNORES = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
TEXT_ALPHABET = st.characters(codec="utf-8", exclude_characters="\n\r\x00", exclude_categories=("Cs",))
FOOTERS = ["合计", "总计：1234", "小计", "注：本表由系统生成", "说明", "制表人：张三", "Total", "note: generated", "  合计  "]


def _date_forms(day: dt.date) -> list[str]:
    serial = (day - dt.date(1899, 12, 30)).days
    iso = day.isoformat()
    return [
        iso,
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        str(serial),
        f"{serial}.0",
        iso.translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
        f"{iso} 12:34:56",
        f"{iso}T00:00:00Z",
        f" {iso} ",
    ]


@st.composite
def date_cells(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["form"] * 6 + ["absurd", "blank", "text", "datetime"]))
    if kind == "form":
        day = draw(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2030, 12, 31)))
        return draw(st.sampled_from(_date_forms(day)))
    if kind == "absurd":
        return draw(st.sampled_from(ABSURD_DATES))
    if kind == "blank":
        return draw(st.sampled_from([None, "", " ", "\u3000"]))
    if kind == "datetime":
        return draw(st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)))
    return draw(st.text(TEXT_ALPHABET, max_size=12))


@st.composite
def number_cells(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["plain"] * 4 + ["written", "huge", "blank", "text", "formula", "real"]))
    value = draw(st.floats(min_value=-1e6, max_value=1e7, allow_nan=False))
    if kind == "plain":
        return f"{value:.2f}"
    if kind == "written":
        return draw(
            st.sampled_from(
                [
                    f"{value:,.2f}",
                    f"¥{value:.0f}",
                    f"{value:.0f}元",
                    f"{value / 1e4:.2f}万",
                    f"({abs(value):.0f})",
                    f"{value:.1f}%",
                    "１，０００",
                ]
            )
        )
    if kind == "huge":
        return draw(st.sampled_from(HUGE_NUMBERS))
    if kind == "blank":
        return draw(st.sampled_from([None, "", "  "]))
    if kind == "formula":
        return draw(st.sampled_from(FORMULAS))
    if kind == "real":
        return draw(st.sampled_from([value, int(value), 10**40, 1e308, -1e308, 0]))
    return draw(st.text(TEXT_ALPHABET, max_size=10))


@st.composite
def id_cells(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["digits"] * 5 + ["long", "sci", "float", "fullwidth", "text", "blank", "formula"]))
    if kind == "digits":
        return draw(st.from_regex(r"[0-9]{1,18}", fullmatch=True))
    if kind == "long":
        return draw(st.from_regex(r"[1-9][0-9]{15,24}", fullmatch=True))
    if kind == "sci":
        return draw(st.sampled_from(["8.611E+19", "8.61123456789012E+19", "1e5", "1E+400"]))
    if kind == "float":
        return draw(st.from_regex(r"[0-9]{1,12}\.0{1,3}", fullmatch=True))
    if kind == "fullwidth":
        return draw(st.from_regex(r"[０-９]{3,18}", fullmatch=True))
    if kind == "blank":
        return draw(st.sampled_from([None, "", " "]))
    if kind == "formula":
        return draw(st.sampled_from(FORMULAS))
    return draw(st.text(TEXT_ALPHABET, min_size=1, max_size=20))


def _word_cells(words: list[str]) -> st.SearchStrategy[object]:
    decorated = st.builds(lambda w, pad: pad + w + pad, st.sampled_from(words), st.sampled_from(["", " ", "\u3000"]))
    return st.one_of(
        st.sampled_from(words),
        decorated,
        st.sampled_from(words).map(str.upper),
        st.sampled_from([None, "", "  ", "A9", "unknown", "未知状态"]),
        st.sampled_from(FORMULAS),
        st.text(TEXT_ALPHABET, max_size=8),
    )


STATUS_WORDS = sorted(S.STATUS_ALIASES)
TEXT_CELLS = st.one_of(
    st.text(TEXT_ALPHABET, max_size=15),
    st.sampled_from(FORMULAS + LINE_BREAKS_ARROW_IGNORES + ['"quoted"', "a,b", "a\tb", "a;b|c", "'", '"', "合计", "注"]),
    st.none(),
)

#: How each canonical column's cells are drawn (columns not listed take free text).
CELLS: dict[str, st.SearchStrategy[object]] = {
    S.POLICY_ID: id_cells(),
    S.STATUS: _word_cells(STATUS_WORDS),
    S.PAYMENT_FREQUENCY: _word_cells(sorted(S.FREQUENCY_ALIASES) + ["12.0", "1.0"]),
    S.GENDER: _word_cells(sorted(S.GENDER_ALIASES)),
    S.AUTO_DEBIT: _word_cells(sorted(S.AUTO_DEBIT_ALIASES)),
    S.WAIVER: _word_cells(sorted(S.YES_NO_ALIASES)),
    S.ANNUAL_PREMIUM: number_cells(),
    S.SUM_ASSURED: number_cells(),
    S.AGE: number_cells(),
    S.INCOME: st.one_of(number_cells(), st.sampled_from(["5-10万", "5万以下", "20-50万"])),
    S.ID_NUMBER: st.one_of(
        st.from_regex(r"[1-6][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]", fullmatch=True), TEXT_CELLS
    ),
    **{c: date_cells() for c in S.DATE_COLUMNS},
}
OPTIONAL = [c for c in S.HEADER_ALIASES if c not in S.REQUIRED_COLUMNS]


@st.composite
def headers(draw: st.DrawFn) -> tuple[list[str], list[str | None]]:
    """Source headers and the canonical column each stands for (None: a free attribute)."""
    canonicals: list[str | None] = list(S.REQUIRED_COLUMNS)
    if draw(st.integers(0, 9)) == 0:  # now and then a required column is missing
        canonicals.remove(draw(st.sampled_from(S.REQUIRED_COLUMNS)))
    canonicals += draw(st.lists(st.sampled_from(OPTIONAL), max_size=6, unique=True))
    canonicals += [None] * draw(st.integers(0, 3))
    canonicals = draw(st.permutations(canonicals))
    names: list[str] = []
    for canonical in canonicals:
        if canonical is None:
            names.append(draw(st.one_of(st.text(TEXT_ALPHABET, max_size=10), st.sampled_from(["备注", "备注", "", "教育活动", "score"]))))
        else:
            alias = draw(st.sampled_from(S.HEADER_ALIASES[canonical]))
            names.append(draw(st.sampled_from([alias, alias, alias + "（元）", alias.upper(), f" {alias} "])))
    return names, canonicals


@st.composite
def extracts(draw: st.DrawFn) -> tuple[list[list[object]], list[str | None], int]:
    """The rows of a sheet (title and group rows, header, data, blank and footer rows), the canonical
    column of each header, and the header's position among the rows."""
    names, canonicals = draw(headers())
    width = len(names)
    rows: list[list[object]] = []
    for _ in range(draw(st.integers(0, 2))):
        title = draw(
            st.sampled_from(
                [
                    "某某人寿 个人保单明细",
                    "统计截止日：2024年6月30日",
                    "统计截止日:2024-06-30",
                    "as of 2023/12/31",
                    "截至 20240101",
                    "统计截止日：2024-02-30",
                    "报表",
                ]
            )
        )
        rows.append([title] + [None] * draw(st.integers(0, width)))
    if draw(st.booleans()):
        rows.append([draw(st.sampled_from(["基本信息", "状态信息", None])) for _ in range(width)])
    header_at = len(rows)
    rows.append(list(names))
    previous_ids: list[object] = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["policy"] * 8 + ["blank", "footer", "copy", "short", "long"]))
        if kind == "blank":
            rows.append([draw(st.sampled_from([None, "", " "])) for _ in range(width)])
        elif kind == "footer":
            rows.append([draw(st.sampled_from(FOOTERS))] + [draw(st.sampled_from([None, "", "123"])) for _ in range(width - 1)])
        elif kind == "copy" and len(rows) > 1:
            rows.append(list(rows[-1]))
        else:
            row = [draw(CELLS.get(c, TEXT_CELLS)) if c is not None else draw(TEXT_CELLS) for c in canonicals]
            if canonicals and S.POLICY_ID in canonicals and previous_ids and draw(st.integers(0, 5)) == 0:
                row[canonicals.index(S.POLICY_ID)] = draw(st.sampled_from(previous_ids))  # a repeated policy number
            if kind == "short":
                row = row[: draw(st.integers(0, width))]
            elif kind == "long":
                row = row + draw(st.lists(TEXT_CELLS, min_size=1, max_size=3))
            if S.POLICY_ID in canonicals:
                previous_ids.append(row[canonicals.index(S.POLICY_ID)] if canonicals.index(S.POLICY_ID) < len(row) else None)
            rows.append(row)
    for _ in range(draw(st.integers(0, 2))):
        rows.append([draw(st.sampled_from(FOOTERS))])
    return rows, canonicals, header_at


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _names(rows: list[list[object]]) -> list[str]:
    """The texts of the first rows, among which the header is: what a preset may name."""
    return sorted({str(v).strip() for row in rows[:4] for v in row if isinstance(v, str) and v.strip()})


def csv_bytes(rows: list[list[object]], *, delimiter: str, encoding: str, newline: str, quoting: int) -> tuple[bytes, int]:
    """The rows as a CSV file and its number of lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    text = buffer.getvalue()
    if encoding == "mixed":  # a UTF-8 file with some lines in GB18030
        lines = text.split("\n")
        data = b"\n".join(line.encode("gb18030") if i % 3 == 2 else line.encode("utf-8") for i, line in enumerate(lines))
    else:
        data = text.encode(encoding)
    return data, text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def xlsx_bytes(rows: list[list[object]], *, date1904: bool, sheet_title: str = "保单明细") -> tuple[bytes, set[int]]:
    """The rows as a workbook written by openpyxl, and the spreadsheet rows that hold a value."""
    book = openpyxl.Workbook()
    if date1904:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904

        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet.title = sheet_title
    filled: set[int] = set()
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                # openpyxl refuses control characters in cells; a real export cannot hold them either.
                value = "".join(ch for ch in value if ch >= " " or ch == "\t")
                if not value:
                    continue
            cell = sheet.cell(row=number, column=column)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # a formula-looking text, not a formula
            filled.add(number)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), filled


def _presets(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """Now and then a mapping preset (columns, status words, settings) or a study date."""
    options: dict[str, Any] = {}
    settings_: dict[str, Any] = {}
    columns: dict[str, str] = {}
    statuses: dict[str, str] = {}
    if draw(st.integers(0, 4)) == 0:
        settings_["grain"] = "policy+coverage"
    if draw(st.integers(0, 5)) == 0:
        settings_["policy_id_from_row"] = True
    if draw(st.integers(0, 7)) == 0:
        settings_["auto_map"] = False
    if draw(st.integers(0, 5)) == 0:
        settings_["grace_days"] = draw(st.one_of(st.integers(0, 400), st.integers(-10, 10**15)))
    if draw(st.integers(0, 7)) == 0:
        settings_["reinstatement_years"] = draw(st.one_of(st.integers(0, 5), st.integers(-10, 10**6)))
    if draw(st.integers(0, 6)) == 0:
        settings_["duration_column"] = draw(st.sampled_from([*names, "duration"])) if names else "duration"
        settings_["duration_unit"] = draw(st.sampled_from(["days", "months", "quarters", "years"]))
    if names and draw(st.integers(0, 4)) == 0:  # a column mapped by hand, rightly or wrongly
        columns[draw(st.sampled_from(list(S.HEADER_ALIASES)))] = draw(st.sampled_from([*names, "", "没有这一列"]))
    if draw(st.integers(0, 4)) == 0:
        statuses[draw(st.sampled_from(["A9", "unknown", "有效", "未知状态"]))] = draw(
            st.sampled_from(sorted(set(S.STATUSES) - {S.UNMAPPED}))
        )
    if draw(st.integers(0, 5)) == 0:
        options["study_date"] = draw(st.sampled_from(["2024-06-30", "2099-01-01", "1990-01-01", "not a date", "2023-02-30"]))
    if settings_ or columns or statuses:
        options["preset"] = MappingPreset(columns=columns, status_values=statuses, settings=settings_)
    return options


@FUZZ
@given(st.data())
def test_generated_csv_extracts_are_accounted_for(data: st.DataObject) -> None:
    rows, _, _ = data.draw(extracts())
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "mixed", "utf-16"]))
    delimiter = data.draw(st.sampled_from([",", ",", ",", "\t", ";", "|"]))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    quoting = data.draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    body, lines = csv_bytes(rows, delimiter=delimiter, encoding=encoding, newline=newline, quoting=quoting)
    header = header_line(rows) if delimiter == "," else None  # another delimiter may split the header differently
    try_load(
        body,
        data.draw(st.sampled_from(["extract.csv", "extract.txt", None])),
        set(range(1, lines + 1)),
        header_row=header,
        **_presets(data.draw, _names(rows)),
    )


@FUZZ
@given(st.data())
def test_generated_workbooks_are_accounted_for(data: st.DataObject) -> None:
    rows, _, _ = data.draw(extracts())
    body, filled = xlsx_bytes(rows, date1904=data.draw(st.booleans()))
    expected = set(range(min(filled), max(filled) + 1)) if filled else None
    try_load(body, "extract.xlsx", expected, header_row=header_line(rows), **_presets(data.draw, _names(rows)))


@FUZZ
@given(st.data())
def test_csv_with_line_breaks_in_quoted_fields_keeps_its_account(data: st.DataObject) -> None:
    rows, _, _ = data.draw(extracts())
    cells = st.text(st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
    for row in rows[1:]:
        if row and data.draw(st.booleans()):
            row[data.draw(st.integers(0, len(row) - 1))] = data.draw(cells) + "\n" + data.draw(cells)
    body, _ = csv_bytes(rows, delimiter=",", encoding="utf-8", newline="\n", quoting=csv.QUOTE_MINIMAL)
    try_load(body, "extract.csv")


@FUZZ
@given(st.data())
def test_generated_parquet_extracts_are_accounted_for(data: st.DataObject) -> None:
    rows, _, header_at = data.draw(extracts())
    names: list[str] = []
    for position, name in enumerate(_text(v) for v in rows[header_at]):
        names.append(name if name and name not in names else f"{name}#{position}")
    width = len(names)
    body = [[None if v is None else _text(v) for v in (list(row) + [None] * width)[:width]] for row in rows[header_at + 1 :]]
    frame = pd.DataFrame({name: pd.Series([row[i] for row in body], dtype=object) for i, name in enumerate(names)})
    if width and data.draw(st.booleans()):  # a real timestamp column, far dates included
        days = data.draw(
            st.lists(
                st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31))),
                min_size=len(frame),
                max_size=len(frame),
            )
        )
        frame[names[data.draw(st.integers(0, width - 1))]] = pd.Series(days, dtype=object)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    try_load(buffer.getvalue(), data.draw(st.sampled_from(["extract.parquet", None])), set(range(1, len(frame) + 1)))


@FUZZ
@given(
    st.lists(
        st.lists(
            st.one_of(TEXT_CELLS, st.sampled_from(["1", " 2 ", "3.5", "inf", "-Infinity", "nan", "1e999", "(3)", "", "\xa01\xa0"])),
            min_size=3,
            max_size=3,
        ),
        min_size=1,
        max_size=12,
    )
)
def test_wide_attributes_read_together_equal_one_by_one(columns: list[list[object]]) -> None:
    from analysis.ingest.attributes import attribute as _attribute
    from analysis.ingest.attributes import attributes as _attributes

    cells = pd.DataFrame({f"c{i}": pd.Series(values, dtype=object).astype(TEXT) for i, values in enumerate(columns)})
    together = _attributes(cells, list(cells.columns))
    for name, column in together.items():
        pd.testing.assert_series_equal(column, _attribute(cells[name]), check_names=False)
    TRIED["wide attributes compared"] += 1
    COLUMNS_COMPARED[0] += len(together)


TOML_KEYS = st.one_of(
    st.sampled_from(
        [
            *S.CANONICAL_COLUMNS,
            "grace_days",
            "reinstatement_years",
            "study_date",
            "duration_column",
            "duration_unit",
            "grain",
            "sheet",
            "auto_map",
            "policy_id_from_row",
            "有效",
            "A9",
        ]
    ),
    st.text(max_size=8),
)
TOML_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.sampled_from(["lapsed", "in_force", "保单号", "生效日期", "years", "quarters", "policy+coverage", "2024-06-30", "9999-12-31"]),
    st.lists(st.integers(), max_size=3),
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["columns", "status_values", "settings", "other"]),
        st.one_of(st.dictionaries(TOML_KEYS, TOML_VALUES, max_size=5), TOML_VALUES),
        max_size=3,
    ),
    st.one_of(st.none(), st.text(max_size=200)),
)
def test_presets_from_anywhere_are_refused_or_load_the_messy_file(document: dict[str, Any], garbage: str | None) -> None:
    import tomli_w

    from analysis import parse_preset

    try:
        text = garbage if garbage is not None else tomli_w.dumps(document)
    except (TypeError, ValueError):  # tomli_w cannot write every value hypothesis draws (e.g. NaN keys)
        text = str(document)
    try:
        preset = parse_preset(text, source="fuzz.toml")
    except ExtractError as error:
        assert error.code == "bad_preset", error
        check_error(error)
        TRIED["refused (bad_preset)"] += 1
        return
    from messy import messy_csv, messy_workbook

    try_load(messy_csv(), "messy.csv", set(range(1, 22)), preset=preset)
    try_load(messy_workbook(), "messy.xlsx", set(range(1, 22)), preset=preset)


# --- corrupted files ----------------------------------------------------------------------


def _sample_rows(seed: int, n: int = 12) -> list[list[object]]:
    rnd = random.Random(seed)
    rows: list[list[object]] = [
        ["某某人寿 保单明细", "统计截止日：2024-06-30"],
        ["保单号", "生效日期", "保单状态", "状态日期", "年化保费（元）", "备注"],
    ]
    for i in range(n):
        rows.append(
            [
                f"88610000000{i:04d}",
                f"2020-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
                rnd.choice(["有效", "失效", "退保"]),
                "2022-01-01",
                "3,231.46",
                rnd.choice(FORMULAS),
            ]
        )
    rows.append(["合计", None, None, None, "38777.52"])
    return rows


WORKBOOK = xlsx_bytes(_sample_rows(1), date1904=False)[0]


@FUZZ
@given(st.integers(0, len(WORKBOOK) - 1), st.sampled_from(["extract.xlsx", "extract.xls", None]))
def test_truncated_workbooks_are_refused_or_accounted_for(cut: int, name: str | None) -> None:
    try_load(WORKBOOK[:cut], name)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_workbooks_are_refused_or_accounted_for(flips: list[tuple[int, int]]) -> None:
    damaged = bytearray(WORKBOOK)
    for position, value in flips:
        damaged[position] = value
    try_load(bytes(damaged), "extract.xlsx")


@FUZZ
@given(st.integers(0, 2000), st.sampled_from(["</row>", "</sheetData>", "<c ", "<v>", "</si>"]))
def test_workbooks_with_broken_xml_inside_a_sound_zip_are_refused_or_accounted_for(cut: int, where: str) -> None:
    source = zipfile.ZipFile(io.BytesIO(WORKBOOK))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml") and where.encode() in body:
                at = body.find(where.encode())
                body = body[: max(0, at - cut)]
            target.writestr(item.filename, body)
    try_load(buffer.getvalue(), "extract.xlsx")


@FUZZ
@given(st.binary(max_size=4000), st.sampled_from(["random.csv", "random.xlsx", "random.xls", "random.parquet", "random.txt", None]))
def test_random_bytes_are_refused_or_accounted_for(body: bytes, name: str | None) -> None:
    try_load(body, name)


@FUZZ
@given(
    st.binary(min_size=1, max_size=600),
    st.sampled_from([b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PAR1", b"\xef\xbb\xbf", b"\xff\xfe"]),
)
def test_random_bytes_behind_a_known_signature_are_refused_or_accounted_for(body: bytes, magic: bytes) -> None:
    try_load(magic + body, "extract.bin")


@FUZZ
@given(st.data())
def test_extracts_in_the_wrong_encoding_are_refused_or_accounted_for(data: st.DataObject) -> None:
    rows, _, _ = data.draw(extracts())
    text = "\n".join(",".join(_text(v).replace(",", " ").replace('"', " ") for v in row) for row in rows)
    encoding = data.draw(
        st.sampled_from(["big5", "shift_jis", "cp1252", "latin-1", "utf-16-le", "utf-16-be", "utf-32", "euc-kr", "cp437", "koi8-r"])
    )
    body = text.encode(encoding, errors="replace")
    try_load(body, "extract.csv")


def test_every_absurd_date_and_huge_number_in_one_file() -> None:
    header = ["保单号", "生效日期", "保单状态", "状态日期", "交至日期", "年化保费（元）", "基本保额", "投保年龄", "出生日期"]
    rows: list[list[object]] = [header]
    for i, (day, number) in enumerate(zip(ABSURD_DATES * 2, HUGE_NUMBERS * 2)):
        rows.append([f"P{i}", day, "失效", day, day, number, number, number, day])
    rows.append(["P-ok", "2020-01-01", "有效", "", "", "100", "1000", "30", "1990-01-01"])
    body, lines = csv_bytes(rows, delimiter=",", encoding="utf-8", newline="\n", quoting=csv.QUOTE_MINIMAL)
    result = try_load(body, "absurd.csv", set(range(1, lines + 1)))
    assert result is not None and result.accepted + result.repaired >= 1
    workbook, filled = xlsx_bytes(
        [header] + [[f"Q{i}", 10**9, "有效", -1, 2958466, 1e308, 10**40, -5, 1e9] for i in range(3)] + rows[1:], date1904=False
    )
    try_load(workbook, "absurd.xlsx", set(range(min(filled), max(filled) + 1)))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_ten_thousand_columns(kind: str) -> None:
    extra = [f"字段{i}" for i in range(9_997)]
    header = ["保单号", "生效日期", "保单状态", *extra]
    rows: list[list[object]] = [header] + [[f"P{r}", "2020-01-01", "有效", *[f"{r}.{c}" for c in range(9_997)]] for r in range(3)]
    if kind == "csv":
        body, lines = csv_bytes(rows, delimiter=",", encoding="utf-8", newline="\n", quoting=csv.QUOTE_MINIMAL)
        result = try_load(body, "wide.csv", set(range(1, lines + 1)))
    else:
        body, filled = xlsx_bytes(rows, date1904=False)
        result = try_load(body, "wide.xlsx", set(range(1, max(filled) + 1)))
    assert result is not None and result.accepted == 3
    assert len(result.attributes) == 9_997
    # Without a policy-number column the refusal lists a readable slice of what it found.
    body, _ = csv_bytes(
        [[f"列{i}" for i in range(10_000)], ["x"] * 10_000], delimiter=",", encoding="utf-8", newline="\n", quoting=csv.QUOTE_MINIMAL
    )
    with pytest.raises(ExtractError) as refused:
        load_extract(body, filename="wide.csv")
    check_error(refused.value)
    assert len(str(refused.value)) < 2000
    TRIED["refused (missing_required)"] += 1


# --- issue [7/7]: duplicate and colliding headers, nested presets, scenario JSON ----------------

#: Header names that collide: copies, made-up copies (备注.1), our own columns and the door's internal ones.
COLLIDING = ["备注", "备注", "备注.1", "column_5", "", "policy_id", "status", "issue_date", "observed_to", "source_row", "status_source"]


@FUZZ
@given(extra=st.lists(st.sampled_from(COLLIDING), min_size=1, max_size=8), rows=st.integers(1, 6))
def test_duplicate_and_colliding_headers_load_with_distinct_columns(extra: list[str], rows: int) -> None:
    header = ["保单号", "生效日期", "保单状态", *extra]
    lines = [",".join(header)] + [",".join([f"P{i}", "2020-01-15", "有效", *[f"v{i}{j}" for j in range(len(extra))]]) for i in range(rows)]
    data = ("统计截止日：2024-06-30\n" + "\n".join(lines) + "\n").encode("utf-8")
    result = try_load(data, "x.csv", set(range(1, 3 + rows)), header_row=2)
    if result is not None:
        assert result.policies.columns.is_unique
        assert result.policies[S.POLICY_ID].tolist() == [f"P{i}" for i in range(rows)]
        TRIED["colliding headers"] += 1


_TOML_PIECES = st.sampled_from(["[", "]", "{", "}", "a", ".", "=", '"', "'", "1", " ", "\n", "[settings]\n", "x = ", ",", "#"])


@FUZZ
@given(pieces=st.lists(_TOML_PIECES, max_size=400), depth=st.integers(0, 3000), dots=st.integers(0, 3000))
def test_nested_and_dotted_presets_are_read_or_refused_at_once(pieces: list[str], depth: int, dots: int) -> None:
    text = "".join(pieces) + "\n[settings]\nsheet = " + "[" * depth + "]" * depth + "\n" + ".".join(["k"] * (dots + 1)) + " = 1\n"
    try:
        from analysis import parse_preset

        parse_preset(text)
    except ExtractError as error:
        check_error(error)
        TRIED[f"refused preset ({error.reason})"] += 1
    else:
        TRIED["nested preset read"] += 1


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["name", "lever", "effect", "economics", "take_up", "x"]), children, max_size=4)
    ),
    max_leaves=30,
)


@FUZZ
@given(value=_JSON_VALUES, depth=st.integers(0, 2000), digits=st.integers(1, 5000))
def test_scenario_json_is_read_or_refused_with_a_reason(value: object, depth: int, digits: int) -> None:
    from analysis.interventions.scenario import scenarios_from_json

    for text in (json.dumps(value), "[" * depth + json.dumps(value) + "]" * depth, '{"name": "a", "new_policies": ' + "9" * digits + "}"):
        try:
            scenarios_from_json(text.encode("utf-8"))
        except ExtractError as error:
            assert error.code == "bad_scenario" and error.key in CATALOGUE
            TRIED[f"refused scenario ({error.reason})"] += 1
        else:
            TRIED["scenario read"] += 1
