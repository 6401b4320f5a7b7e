"""Read a workbook extract: ``.xlsx`` with fastexcel (Arrow columns), ``.xls`` with calamine.

A sheet's first used row, and whether the workbook counts dates from 1904 (Mac Excel),
are read straight from the ``.xlsx`` XML, so row numbers match what the user sees.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.ingest.headers import find_header_row
from analysis.ingest.raw import ARROW_TEXT, PREAMBLE_LINES, RawTable, unique_headers

#: What reading a damaged zip archive raises: a bad header or CRC, a broken deflate stream, an
#: encrypted or unknown-compression member, a truncated member.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, UnicodeDecodeError)
#: Bytes of a sheet's XML read to find its first used row.
_SHEET_HEAD_BYTES = 1 << 20
_FIRST_CELL = re.compile(r'<c r="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*(?:<f[^>]*>[^<]*</f>\s*|<f[^>]*/>\s*)?<(?:v|is)\b')


def corrupt_workbook() -> ExtractError:
    """The error for a workbook that cannot be opened at all."""
    return ExtractError("corrupt_workbook", reason="damaged")


def _workbook_facts(data: bytes) -> tuple[bool, dict[str, int]]:
    """Read the 1904 flag and each sheet's first used row straight from the XML."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook = archive.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (KeyError, *_ZIP_ERRORS) as exc:
        raise corrupt_workbook() from exc
    date1904 = bool(re.search(r'date1904="(1|true)"', workbook))
    starts: dict[str, int] = {}
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    except KeyError:
        return date1904, starts
    except _ZIP_ERRORS as exc:
        raise corrupt_workbook() from exc
    targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    for sheet_tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name_match = re.search(r'name="([^"]*)"', sheet_tag)
        rid_match = re.search(r'r:id="([^"]+)"', sheet_tag) or re.search(r'\bid="([^"]+)"', sheet_tag)
        if not name_match or not rid_match or rid_match.group(1) not in targets:
            continue
        target = targets[rid_match.group(1)].lstrip("/")
        first = _first_used_row(archive, target if target.startswith("xl/") else f"xl/{target}")
        if first is not None:
            import html

            starts[html.unescape(name_match.group(1))] = first
    return date1904, starts


def _first_used_row(archive: zipfile.ZipFile, path: str) -> int | None:
    """The row number of the first cell holding a value in the sheet at ``path`` (None: not found)."""
    try:
        with archive.open(path) as handle:
            chunk = handle.read(_SHEET_HEAD_BYTES).decode("utf-8", errors="replace")
    except KeyError:
        return None
    except _ZIP_ERRORS as exc:
        raise corrupt_workbook() from exc
    first = _FIRST_CELL.search(chunk)
    return int(first.group(1)) if first else None


@dataclass(frozen=True)
class _Sheet:
    """One sheet as a reader gives it: the top rows as text, and the cells below any row on demand."""

    sheets: tuple[str, ...]
    name: str
    start: int  # the spreadsheet row of the sheet's first row
    head_rows: list[list[object]]
    empty: bool
    below: Callable[[int], pd.DataFrame]  # the cells below the row at this index


def _xlsx_sheet(data: bytes, sheet: str | int | None, starts: dict[str, int]) -> _Sheet:
    import fastexcel

    reader = fastexcel.read_excel(data)
    sheets = tuple(reader.sheet_names)
    name = _pick_sheet(sheets, sheet)
    batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
    # The head as rows of text, straight from Arrow (a wide sheet is slow to turn round in pandas).
    head_rows = [list(row) for row in zip(*(column.to_pylist() for column in batch.slice(0, PREAMBLE_LINES).columns))]
    return _Sheet(
        sheets=sheets,
        name=name,
        start=starts.get(name, 1),
        head_rows=head_rows,
        empty=batch.num_rows == 0 or batch.num_columns == 0,
        below=lambda index: batch.slice(index + 1).to_pandas(types_mapper=ARROW_TEXT.get),
    )


def _xls_sheet(data: bytes, sheet: str | int | None) -> _Sheet:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = tuple(book.sheet_names)
    name = _pick_sheet(sheets, sheet)
    handle = book.get_sheet_by_name(name)
    grid = pd.DataFrame(handle.to_python(skip_empty_area=True), dtype=object)
    grid = grid.map(lambda v: None if v == "" else str(v))
    return _Sheet(
        sheets=sheets,
        name=name,
        start=int(handle.start[0]) + 1 if handle.start else 1,
        head_rows=grid.head(PREAMBLE_LINES).to_numpy(dtype=object).tolist(),
        empty=grid.empty,
        below=lambda index: grid.iloc[index + 1 :].reset_index(drop=True),
    )


def read_workbook(data: bytes, *, kind: str, sheet: str | int | None) -> RawTable:
    """Read one sheet of an ``.xlsx`` or ``.xls`` workbook into a :class:`RawTable`.

    Raises
    ------
    ExtractError
        ``corrupt_workbook`` when the workbook cannot be read, ``no_such_sheet`` for a
        sheet it lacks, ``empty_file`` for an empty sheet.
    """
    date1904, starts = _workbook_facts(data) if kind == "xlsx" else (False, {})
    try:
        found = _xlsx_sheet(data, sheet, starts) if kind == "xlsx" else _xls_sheet(data, sheet)
    except ExtractError:
        raise
    except Exception as exc:  # the readers raise their own exception types
        raise ExtractError("corrupt_workbook", reason="unreadable", error=type(exc).__name__) from exc
    if found.empty:
        raise ExtractError("empty_file", reason="empty_sheet", sheet=repr(found.name))
    head_rows = [["" if v is None else str(v) for v in row] for row in found.head_rows]
    header_index = find_header_row(head_rows)
    names, renamed = unique_headers(head_rows[header_index])
    cells = found.below(header_index)
    cells.columns = names
    first = found.start + header_index + 1
    return RawTable(
        cells=cells,
        rows=np.arange(first, first + len(cells), dtype=np.int64),
        preamble=[(found.start + i, head_rows[i]) for i in range(header_index)],
        header_row=found.start + header_index,
        kind=kind,
        sheet=found.name,
        sheets=found.sheets,
        date1904=date1904,
        renamed_headers=renamed,
    )


def _pick_sheet(sheets: tuple[str, ...], sheet: str | int | None) -> str:
    if not sheets:
        raise ExtractError("empty_file", reason="no_sheets")
    if sheet is None:
        return sheets[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(sheets):
            return sheets[sheet]
    elif sheet in sheets:
        return sheet
    raise ExtractError("no_such_sheet", reason="not_in_workbook", sheet=repr(sheet), sheets=", ".join(sheets))


def workbook_sheets(data: bytes, *, kind: str) -> tuple[str, ...]:
    """Sheet names of an ``.xlsx`` or ``.xls`` workbook."""
    if kind == "xlsx":
        import fastexcel

        try:
            return tuple(fastexcel.read_excel(data).sheet_names)
        except Exception as exc:
            raise corrupt_workbook() from exc
    from python_calamine import CalamineWorkbook

    try:
        return tuple(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception as exc:
        raise corrupt_workbook() from exc
