"""Cheap checks before expensive work: what a file claims about itself, read before it is parsed.

A reader trusts nothing in a file until these checks pass. Each looks only at sizes and
counts the file states or that a byte scan finds — a workbook's zip directory and each sheet's
``<dimension>``, a Parquet file's footer, the lengths of a CSV's lines — and refuses, naming
the limit, what would cost the server far more than the file's size suggests: a one-cell
sheet that claims a million rows, a 2 MB Parquet file of 200 million repeated rows, a
200 MB line, ten million empty rows. Every limit is a named constant here (and in the
README). The worker process of :mod:`analysis.ingest.guard` catches what slips past them.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any, Final

import numpy as np

from analysis.errors import ExtractError

#: Bytes in a megabyte, as the limits count them.
_MB: Final = 1_000_000
#: The longest line a CSV may have (a 10,000-column row of long texts stays far below it).
MAX_LINE_BYTES: Final = 8 * _MB
#: The most rows (CSV lines, sheet rows, Parquet records) an extract may have.
MAX_ROWS: Final = 20_000_000
#: From this many rows on, rows must carry content: at least :data:`MIN_ROW_BYTES` bytes each on
#: average (a policy row holds a number, a date and a status: 20 bytes and more).
ROWS_JUDGED_FROM: Final = 1_000_000
MIN_ROW_BYTES: Final = 8
#: A sheet's ``<dimension>`` may claim at most this many cells (1,048,576 rows × 286 columns).
MAX_SHEET_CELLS: Final = 300_000_000
#: The most rows a sheet has (Excel's limit); a row number beyond it is not a sheet's.
SHEET_ROW_LIMIT: Final = 1_048_576
#: A workbook's parts, decompressed, may take at most this many bytes in all …
MAX_WORKBOOK_XML_BYTES: Final = 4_000 * _MB
#: … and a part larger than :data:`RATIO_JUDGED_FROM` may be at most this many times its compressed size
#: (sheet XML compresses 5–20 times; a zip bomb a thousand times).
MAX_ZIP_RATIO: Final = 200
RATIO_JUDGED_FROM: Final = 10 * _MB
#: A Parquet file may hold at most this many bytes of column data, uncompressed …
MAX_PARQUET_BYTES: Final = 8_000 * _MB
#: … and from :data:`ROWS_JUDGED_FROM` rows on, at least this many bytes of file per row
#: (the 5-million-policy book takes 17; a run-length encoded copy of one row takes 0.01).
MIN_PARQUET_FILE_BYTES_PER_ROW: Final = 0.5
#: Bytes of a sheet's XML read to find its ``<dimension>`` (it comes before the cells).
_DIMENSION_PROBE: Final = 1 << 16
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')
#: Bytes of a CSV scanned at a time for its line breaks.
SCAN_BYTES: Final = 1 << 24


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def too_large(reason: str, **params: object) -> ExtractError:
    """The refusal of an input that passes a stated limit (``too_large``, its reason naming the limit)."""
    return ExtractError("too_large", reason=reason, **params)


def check_rows(rows: int, size: int) -> None:
    """Refuse more than :data:`MAX_ROWS` rows, or many rows without content (fewer than :data:`MIN_ROW_BYTES` bytes each).

    Raises
    ------
    ExtractError
        ``too_large`` (``rows`` or ``empty_rows``).
    """
    if rows > MAX_ROWS:
        raise too_large("rows", rows=f"{rows:,}", limit=f"{MAX_ROWS:,}")
    if rows > ROWS_JUDGED_FROM and size < rows * MIN_ROW_BYTES:
        raise too_large("empty_rows", rows=f"{rows:,}", size=f"{size / _MB:.1f}", least=MIN_ROW_BYTES)


def check_csv(data: bytes) -> None:
    """Refuse a text file with a line over :data:`MAX_LINE_BYTES` or rows without content, in one pass over its bytes.

    Line breaks are found a block at a time (numpy over the bytes), so the check costs a
    fraction of the parse and never holds more than one block's positions.

    Raises
    ------
    ExtractError
        ``too_large`` (``line``, ``rows`` or ``empty_rows``).
    """
    scan = LineScan()
    scan.feed(data)
    scan.finish()


class LineScan:
    """:func:`check_csv` over a file handed over a block at a time (blocks of :data:`SCAN_BYTES` refuse where the whole file does).

    Counts the line breaks (``lines``) and bytes (``size``) fed so far.
    """

    def __init__(self) -> None:
        self.longest, self.lines, self.last, self.size = 0, 0, -1, 0

    def feed(self, block: bytes) -> None:
        """The next bytes of the file; a line over the limit is refused as soon as it is seen."""
        view = np.frombuffer(block, dtype=np.uint8)
        for start in range(0, len(view), SCAN_BYTES):
            end = min(len(view), start + SCAN_BYTES)
            breaks = np.flatnonzero(view[start:end] == 0x0A) + (self.size + start)
            if len(breaks):
                self.longest = max(self.longest, int(np.diff(breaks, prepend=self.last).max()))
                self.last = int(breaks[-1])
                self.lines += len(breaks)
            if max(self.longest, self.size + end - 1 - self.last) > MAX_LINE_BYTES:
                raise too_large("line", line=self.lines + 1, limit=f"{MAX_LINE_BYTES / _MB:.0f}")
        self.size += len(view)

    def finish(self) -> None:
        """The whole file was fed: refuse too many rows, or rows without content."""
        check_rows(self.lines, self.size)


def check_workbook(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts decompress beyond the limits, or whose sheets claim more than a sheet holds.

    Reads the zip directory (sizes as stated) and the first bytes of each worksheet (its
    ``<dimension>``): nothing is parsed.

    Raises
    ------
    ExtractError
        ``too_large`` (``workbook_xml``, ``zip_ratio``, ``sheet_cells``, ``sheet_rows``, ``empty_rows``).
    """
    members = archive.infolist()
    total = sum(member.file_size for member in members)
    if total > MAX_WORKBOOK_XML_BYTES:
        raise too_large("workbook_xml", size=f"{total / _MB:,.0f}", limit=f"{MAX_WORKBOOK_XML_BYTES / _MB:,.0f}")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_JUDGED_FROM and ratio > MAX_ZIP_RATIO:
            raise too_large("zip_ratio", part=member.filename, ratio=f"{ratio:,.0f}", limit=MAX_ZIP_RATIO)
        if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
            _check_dimension(archive, member)


def _check_dimension(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    with archive.open(member) as handle:
        head = handle.read(_DIMENSION_PROBE)
    found = _DIMENSION.search(head)
    if found is None:
        return
    first_column, first_row = _column_number(found.group(1)), int(found.group(2))
    last_column = _column_number(found.group(3)) if found.group(3) else first_column
    last_row = int(found.group(4)) if found.group(4) else first_row
    if max(first_row, last_row) > SHEET_ROW_LIMIT:
        raise too_large("sheet_rows", part=member.filename, row=f"{max(first_row, last_row):,}", limit=f"{SHEET_ROW_LIMIT:,}")
    cells = (abs(last_row - first_row) + 1) * (abs(last_column - first_column) + 1)
    if cells > MAX_SHEET_CELLS:
        raise too_large("sheet_cells", part=member.filename, cells=f"{cells:,}", limit=f"{MAX_SHEET_CELLS:,}")
    check_rows(last_row, member.file_size)


def _readable(kind: Any) -> bool:
    """Whether a Parquet column's Arrow type is one a table of policies has: text, numbers, yes/no, dates and times."""
    import pyarrow.types as pt

    if pt.is_dictionary(kind):
        return _readable(kind.value_type)
    checks = (pt.is_string, pt.is_large_string, pt.is_integer, pt.is_floating, pt.is_boolean, pt.is_decimal, pt.is_temporal, pt.is_null)
    return any(check(kind) for check in checks)


def check_parquet(metadata: Any, schema: Any, size: int) -> None:
    """Refuse a Parquet file by its footer: too many rows, rows that take no room, too much data, or columns of no table type.

    Parameters
    ----------
    metadata : pyarrow.parquet.FileMetaData
        The file's footer.
    schema : pyarrow.Schema
        Its columns as Arrow reads them.
    size : int
        The file's size in bytes.

    Raises
    ------
    ExtractError
        ``too_large`` (``rows``, ``repeated_rows``, ``parquet_bytes``) or ``unsupported_column`` naming the column and its type.
    """
    for field in schema:
        if not _readable(field.type):
            raise ExtractError("unsupported_column", reason="parquet_type", column=repr(field.name), type=str(field.type))
    rows = int(metadata.num_rows)
    if rows > MAX_ROWS:
        raise too_large("rows", rows=f"{rows:,}", limit=f"{MAX_ROWS:,}")
    if rows > ROWS_JUDGED_FROM and size < rows * MIN_PARQUET_FILE_BYTES_PER_ROW:
        raise too_large("repeated_rows", rows=f"{rows:,}", size=f"{size / _MB:.1f}")
    data_bytes = sum(int(metadata.row_group(i).total_byte_size) for i in range(metadata.num_row_groups))
    if data_bytes > MAX_PARQUET_BYTES:
        raise too_large("parquet_bytes", size=f"{data_bytes / _MB:,.0f}", limit=f"{MAX_PARQUET_BYTES / _MB:,.0f}")
