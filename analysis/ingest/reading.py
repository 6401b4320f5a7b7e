"""Read the bytes of an extract into a grid of text cells with source row numbers.

This layer knows file formats (CSV in any common encoding, ``.xlsx``/``.xls``,
Parquet) and nothing about insurance: it tells the format from the first bytes,
finds the header row with the help of :mod:`analysis.ingest.headers`, and hands
back every row below it together with the row number a user sees in the source
(the spreadsheet row, or the CSV line). The readers themselves are
:mod:`analysis.ingest.csv_reader` and :mod:`analysis.ingest.workbook`.
"""

from __future__ import annotations

import functools
import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from analysis.errors import ExtractError
from analysis.ingest.csv_reader import read_csv, read_csv_file
from analysis.ingest.encoding import WIDE_BOMS
from analysis.ingest.limits import check_csv, check_parquet, check_workbook
from analysis.ingest.raw import RawTable, unique_headers
from analysis.ingest.workbook import corrupt_workbook, read_workbook, workbook_sheets

__all__ = ["RawTable", "list_sheets", "prefer_jemalloc", "read_file", "read_table", "sniff_kind"]

#: Bytes looked at first to tell an empty file (the whole file only when they are all blank).
_EMPTY_PROBE = 1 << 16
#: An encrypted workbook names its encryption stream within this many bytes.
_ENCRYPTION_PROBE = 1_000_000
#: A text file has no NUL byte among its first bytes (UTF-16 and UTF-32 apart, told by their mark).
_BINARY_PROBE = 4096
#: The first bytes of the formats read, and of files that are not tables (reason codes of ``not_a_table``).
_XLSX, _PARQUET, _OLE2 = b"PK\x03\x04", b"PAR1", b"\xd0\xcf\x11\xe0"
_NOT_TABLES = (
    (b"\x89PNG", "png_image"),
    (b"\xff\xd8\xff", "jpeg_image"),
    (b"GIF8", "gif_image"),
    (b"%PDF", "pdf_document"),
    (b"BM", "bitmap_image"),
    (b"\x1f\x8b", "gzip_archive"),
    (b"Rar!", "rar_archive"),
    (b"7z\xbc\xaf", "7z_archive"),
)
#: The names of the streams of an encrypted workbook, in UTF-16 (without the last character's high byte).
_ENCRYPTION_STREAMS = tuple(name.encode("utf-16-le")[:-1] for name in ("EncryptedPackage", "EncryptionInfo"))
_WORKBOOK_NAMES = (".xlsx", ".xlsm", ".xls", ".parquet")


@functools.cache  # once per process (the app's script runs again on every interaction)
def prefer_jemalloc() -> None:
    """Make jemalloc Arrow's default memory pool, unless ``ARROW_DEFAULT_MEMORY_POOL`` chose one; freed memory goes back at once.

    The door allocates every column afresh in a fresh process. With the wheels'
    default pool (mimalloc) first-touch allocations made a 1M-row load about
    1.5× slower than with jemalloc (3.1–3.6 s against 2.1–2.4 s, measured here),
    at the same peak memory. Where the wheel lacks jemalloc, nothing changes.

    jemalloc's pages freed by Arrow go back to the system at once (decay 0) instead of
    after a second: the door lets go of each column's text as it reads it, and without
    that the freed text stayed resident while the parsed columns were allocated (a
    5,000,000-policy load peaked at 2.8 GB against 2.35 GB, and kept 2 GB resident after
    it, not 0.8 GB). Measured at the same speed.

    This is a setting of the whole process: the entry points (the app, the command
    line, the ingestion benchmark) call it once at start-up; importing
    :mod:`analysis` changes nothing.
    """
    import os

    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pass


def sniff_kind(data: bytes, filename: str | None) -> str:
    """Tell the format of a file from its first bytes (its name is only a hint).

    Raises
    ------
    ExtractError
        For empty files, images, PDFs, encrypted workbooks and other things
        that are not a table.
    """
    name = (filename or "").lower()
    if not data[:_EMPTY_PROBE].strip() and not data.strip():
        raise ExtractError("empty_file", reason="no_rows")
    head = data[:16]
    if head.startswith(_XLSX):
        return "xlsx"
    if head.startswith(_PARQUET):
        return "parquet"
    if head.startswith(_OLE2):
        if any(stream in data[:_ENCRYPTION_PROBE] for stream in _ENCRYPTION_STREAMS):
            raise ExtractError("encrypted_workbook", reason="password")
        return "xls"
    for magic, kind in _NOT_TABLES:
        if head.startswith(magic):
            raise ExtractError("not_a_table", reason=kind)
    if name.endswith(_WORKBOOK_NAMES):
        raise ExtractError("corrupt_workbook", reason="not_a_workbook", file=repr(filename))
    if data.startswith(WIDE_BOMS):
        return "csv"  # UTF-16 or UTF-32 text, as Excel's "Unicode text" export writes it
    if b"\x00" in data[:_BINARY_PROBE]:
        raise ExtractError("not_a_table", reason="binary")
    return "csv"


def read_table(data: bytes, *, filename: str | None = None, sheet: str | int | None = None) -> RawTable:
    """Read a CSV, Excel or Parquet file into a :class:`RawTable`.

    Raises
    ------
    ExtractError
        When the file cannot be read as a table, with what to do about it.
    """
    kind = sniff_kind(data, filename)
    if kind == "csv":
        check_csv(data)
        return read_csv(data)
    if kind == "parquet":
        return _read_parquet(data)
    if kind == "xlsx":
        _check_xlsx(data)
    return read_workbook(data, kind=kind, sheet=sheet)


def read_file(path: Path, *, filename: str | None = None, sheet: str | int | None = None) -> RawTable:
    """A regular file on disk as :func:`read_table` reads its bytes: a CSV a block at a time when it can be, never whole in memory.

    The first bytes tell the format (:func:`sniff_kind`); a UTF-8 CSV is read from disk
    (:func:`~analysis.ingest.csv_reader.read_csv_file`, the same table), anything else from
    its bytes.

    Raises
    ------
    ExtractError
        ``unreadable`` when the file cannot be read; otherwise as :func:`read_table`.
    """
    try:
        with path.open("rb") as file:
            head = file.read(_ENCRYPTION_PROBE)
        if head[:_EMPTY_PROBE].strip() and sniff_kind(head, filename) == "csv":
            raw = read_csv_file(path, head)
            if raw is not None:
                return raw
        data = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    return read_table(data, filename=filename, sheet=sheet)


def unreadable(path: Path, exc: OSError) -> ExtractError:
    """The refusal of a file the system cannot read, with the system's reason."""
    return ExtractError("unreadable", reason="os_error", file=str(path), detail=str(exc.strerror or exc))


def _check_xlsx(data: bytes) -> None:
    """The cheap checks of a ``.xlsx`` (:func:`~analysis.ingest.limits.check_workbook`); a zip that cannot be opened is damaged."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        check_workbook(archive)
    except ExtractError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise corrupt_workbook() from exc


def list_sheets(data: bytes, *, filename: str | None = None) -> tuple[str, ...]:
    """Sheet names of a workbook (empty for CSV and Parquet)."""
    kind = sniff_kind(data, filename)
    if kind == "xlsx":
        _check_xlsx(data)
    return workbook_sheets(data, kind=kind) if kind in ("xlsx", "xls") else ()


def _read_parquet(data: bytes) -> RawTable:
    """A Parquet file's table, after the checks of its footer; pandas metadata that cannot be used is ignored (and noted)."""
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(io.BytesIO(data))
        check_parquet(source.metadata, source.schema_arrow, len(data))
        table = source.read()
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError("corrupt_workbook", reason="parquet") from exc
    ignored = False
    try:
        cells = table.to_pandas()
    except Exception:  # pandas metadata that is not JSON, or names columns and an index the file lacks
        cells = table.replace_schema_metadata(None).to_pandas()
        ignored = True
    names, renamed = unique_headers(list(cells.columns))
    cells.columns = names
    rows = np.arange(1, len(cells) + 1, dtype=np.int64)
    return RawTable(cells=cells, rows=rows, preamble=[], header_row=0, kind="parquet", renamed_headers=renamed, ignored_metadata=ignored)
