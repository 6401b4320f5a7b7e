"""Read a workbook extract: ``.xlsx`` with fastexcel (Arrow columns), ``.xls`` with calamine.

A sheet's first used row, and whether the workbook counts dates from 1904 (Mac Excel),
are read straight from the ``.xlsx`` XML, so row numbers match what the user sees.

Every cell is read as text, so a number cell and a text cell that read alike look the same.
Which cells of a column were number cells is asked afterwards, for the few rows that need
it (:class:`~analysis.ingest.raw.NumberCells`): a policy number of more than 15 digits in a
number cell lost its tail to Excel, whatever the rest of its column holds.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.ingest.headers import find_header_row
from analysis.ingest.raw import ARROW_TEXT, PREAMBLE_LINES, NumberCells, RawTable, unique_headers

#: What reading a damaged zip archive raises: a bad header or CRC, a broken deflate stream, an
#: encrypted or unknown-compression member, a truncated member.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, UnicodeDecodeError)
#: Bytes of a sheet's XML read to find its first used row.
_SHEET_HEAD_BYTES = 1 << 20
_FIRST_CELL = re.compile(r'<c r="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*(?:<f[^>]*>[^<]*</f>\s*|<f[^>]*/>\s*)?<(?:v|is)\b')
#: Bytes of a sheet's XML decompressed at a time while looking for the rows of number cells.
_XML_CHUNK = 1 << 22
#: A cell of a row's XML: its attributes, and its content unless it is empty (``<c r="B2"/>``).
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_CELL_TYPE = re.compile(rb'\bt="([^"]*)"')
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")
#: A shared string that is a number of more than 15 digits (as a text cell holds a long policy number).
_SHARED_NUMBER = re.compile(rb"<t(?:\s[^>]*)?>\s*([1-9]\d{15,})\s*</t>")


def corrupt_workbook() -> ExtractError:
    """The error for a workbook that cannot be opened at all."""
    return ExtractError("corrupt_workbook", reason="damaged")


def _workbook_facts(data: bytes) -> tuple[bool, dict[str, int], dict[str, str]]:
    """Read the 1904 flag, and each sheet's first used row and XML part, straight from the XML."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook = archive.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (KeyError, *_ZIP_ERRORS) as exc:
        raise corrupt_workbook() from exc
    date1904 = bool(re.search(r'date1904="(1|true)"', workbook))
    starts: dict[str, int] = {}
    parts: dict[str, str] = {}
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    except KeyError:
        return date1904, starts, parts
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
        part = target if target.startswith("xl/") else f"xl/{target}"
        first = _first_used_row(archive, part)
        import html

        name = html.unescape(name_match.group(1))
        parts[name] = part
        if first is not None:
            starts[name] = first
    return date1904, starts, parts


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


def _row_holds_number(row: bytes, value: float) -> bool:
    """True when the XML of a row holds a number cell (no type, or type ``n``) whose value is ``value``."""
    for attributes, content in _CELL.findall(row):
        kind = _CELL_TYPE.search(attributes)
        if kind is not None and kind.group(1) != b"n":
            continue
        number = _CELL_VALUE.search(content or b"")
        if number is not None:
            try:
                if float(number.group(1)) == value:
                    return True
            except ValueError:
                continue
    return False


def _number_cells_in_xml(data: bytes, part: str, rows: np.ndarray, texts: Sequence[str]) -> np.ndarray | None:
    """Per source row: does its XML hold a number cell of the value its text reads as? None when a row is not found.

    The sheet's XML is decompressed a chunk at a time and looked through once, the rows
    in order (``<row r="…">``): no cell is parsed but those of the rows asked about.
    """
    found = np.zeros(len(rows), dtype=bool)
    order = np.argsort(rows, kind="stable")
    buffer, at, ended = b"", 0, False
    with zipfile.ZipFile(io.BytesIO(data)).open(part) as handle:
        for index in order.tolist():
            needle = b'<row r="%d"' % int(rows[index])
            while True:
                start = buffer.find(needle, at)
                end = buffer.find(b"</row>", start) if start >= 0 else -1
                if end >= 0:
                    break
                if ended:
                    return None
                chunk = handle.read(_XML_CHUNK)
                ended = not chunk
                keep = start if start >= 0 else max(at, len(buffer) - len(needle))
                buffer, at = buffer[keep:] + chunk, 0
            try:
                value = float(texts[index])
            except ValueError:
                value = float("nan")
            found[index] = _row_holds_number(buffer[start:end], value)
            at = end
    return found


def _shared_numbers(data: bytes) -> set[str]:
    """The texts of the workbook's shared-strings table that are long numbers (more than 15 digits).

    A text cell of an ``.xlsx`` written by Excel (and by openpyxl or xlsxwriter) holds its
    text there: a long number found in it was typed as text. The table is a fraction of the
    sheet's size, so this is the cheap first look.
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = [name for name in archive.namelist() if name.lower().endswith("sharedstrings.xml")]
    if not names:
        return set()
    return {match.decode() for match in _SHARED_NUMBER.findall(archive.read(names[0]))}


class _XlsxNumberCells:
    """The number cells of an ``.xlsx`` sheet: a long number not in the shared strings is looked up in the sheet's XML.

    Rows the XML does not number are asked of fastexcel instead. Keeps the workbook's bytes until :meth:`release`.
    """

    def __init__(self, data: bytes, sheet: str, part: str | None, start: int) -> None:
        self._data: bytes | None = data
        self._sheet, self._part, self._start = sheet, part, start

    def __call__(self, position: int, rows: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        data = self._data
        found = np.zeros(len(rows), dtype=bool)
        if data is None or not len(rows):
            return found
        try:
            shared = _shared_numbers(data)
        except (KeyError, *_ZIP_ERRORS):
            shared = set()
        asked = np.array([text not in shared for text in texts], dtype=bool)
        if not asked.any():
            return found  # every one was typed as text
        rows, texts = np.asarray(rows)[asked], [text for text, ask in zip(texts, asked) if ask]
        typed = None
        if self._part is not None:
            try:
                typed = _number_cells_in_xml(data, self._part, rows, texts)
            except (KeyError, *_ZIP_ERRORS):
                typed = None
        found[asked] = typed if typed is not None else self._read(data, position, rows)
        return found

    def _read(self, data: bytes, position: int, rows: np.ndarray) -> np.ndarray:
        """The column read again as yes/no values: only a number (or yes/no) cell gives one, text gives none."""
        import fastexcel

        batch = fastexcel.read_excel(data).load_sheet(
            self._sheet, header_row=None, use_columns=[position], dtypes={position: "boolean"}, eager=True
        )
        typed = np.asarray(batch.column(0).is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        index = np.asarray(rows, dtype=np.int64) - self._start
        inside = (index >= 0) & (index < len(typed))
        found = np.zeros(len(rows), dtype=bool)
        found[inside] = typed[index[inside]]
        return found

    def release(self) -> None:
        self._data = None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _XlsNumberCells:
    """The number cells of an ``.xls`` sheet: calamine gives each cell as a Python number or text."""

    def __init__(self, grid: pd.DataFrame, start: int) -> None:
        self._grid: pd.DataFrame | None = grid
        self._start = start

    def __call__(self, position: int, rows: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        grid = self._grid
        if grid is None or position >= grid.shape[1]:
            return np.zeros(len(rows), dtype=bool)
        column = grid.iloc[:, position].tolist()
        index = (np.asarray(rows, dtype=np.int64) - self._start).tolist()
        return np.array([0 <= i < len(column) and _is_number(column[i]) for i in index], dtype=bool)

    def release(self) -> None:
        self._grid = None


@dataclass(frozen=True)
class _Sheet:
    """One sheet as a reader gives it: the top rows as text, and the cells below any row on demand."""

    sheets: tuple[str, ...]
    name: str
    start: int  # the spreadsheet row of the sheet's first row
    head_rows: list[list[object]]
    empty: bool
    below: Callable[[int], pd.DataFrame]  # the cells below the row at this index
    number_cells: NumberCells


def _xlsx_sheet(data: bytes, sheet: str | int | None, starts: dict[str, int], parts: dict[str, str]) -> _Sheet:
    import fastexcel

    reader = fastexcel.read_excel(data)
    sheets = tuple(reader.sheet_names)
    name = _pick_sheet(sheets, sheet)
    batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
    # The head as rows of text, straight from Arrow (a wide sheet is slow to turn round in pandas).
    head_rows = [list(row) for row in zip(*(column.to_pylist() for column in batch.slice(0, PREAMBLE_LINES).columns))]
    start = starts.get(name, 1)
    return _Sheet(
        sheets=sheets,
        name=name,
        start=start,
        head_rows=head_rows,
        empty=batch.num_rows == 0 or batch.num_columns == 0,
        below=lambda index: batch.slice(index + 1).to_pandas(types_mapper=ARROW_TEXT.get),
        number_cells=_XlsxNumberCells(data, name, parts.get(name), start),
    )


def _xls_sheet(data: bytes, sheet: str | int | None) -> _Sheet:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheets = tuple(book.sheet_names)
    name = _pick_sheet(sheets, sheet)
    handle = book.get_sheet_by_name(name)
    values = pd.DataFrame(handle.to_python(skip_empty_area=True), dtype=object)
    grid = values.map(lambda v: None if v == "" else str(v))
    start = int(handle.start[0]) + 1 if handle.start else 1
    return _Sheet(
        sheets=sheets,
        name=name,
        start=start,
        head_rows=grid.head(PREAMBLE_LINES).to_numpy(dtype=object).tolist(),
        empty=grid.empty,
        below=lambda index: grid.iloc[index + 1 :].reset_index(drop=True),
        number_cells=_XlsNumberCells(values, start),
    )


def read_workbook(data: bytes, *, kind: str, sheet: str | int | None) -> RawTable:
    """Read one sheet of an ``.xlsx`` or ``.xls`` workbook into a :class:`RawTable`.

    Raises
    ------
    ExtractError
        ``corrupt_workbook`` when the workbook cannot be read, ``no_such_sheet`` for a
        sheet it lacks, ``empty_file`` for an empty sheet.
    """
    date1904, starts, parts = _workbook_facts(data) if kind == "xlsx" else (False, {}, {})
    try:
        found = _xlsx_sheet(data, sheet, starts, parts) if kind == "xlsx" else _xls_sheet(data, sheet)
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
        number_cells=found.number_cells,
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
