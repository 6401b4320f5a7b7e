"""Read the bytes of an extract into a grid of text cells with source row numbers.

This layer knows file formats (CSV in any common encoding, ``.xlsx``/``.xls``,
Parquet) and nothing about insurance: it finds the header row with the help of
:mod:`analysis.ingest.headers`, and hands back every row below it together with the
row number a user sees in the source (the spreadsheet row, or the CSV line).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.ingest.headers import find_header_row

_PREAMBLE_LINES = 60


def _arrow_text_types() -> dict[Any, Any]:
    import pyarrow as pa

    return {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


#: Arrow string columns become Arrow-backed pandas text, without a copy.
_ARROW_TEXT = _arrow_text_types()


def _prefer_jemalloc() -> None:
    """Make jemalloc Arrow's default memory pool, unless ``ARROW_DEFAULT_MEMORY_POOL`` chose one.

    The door allocates every column afresh in a fresh process. With the wheels'
    default pool (mimalloc) first-touch allocations made a 1M-row load about
    1.5× slower than with jemalloc (3.1–3.6 s against 2.1–2.4 s, measured here),
    at the same peak memory. Where the wheel lacks jemalloc, nothing changes.
    """
    import os

    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pass


_prefer_jemalloc()


@dataclass(frozen=True)
class RawTable:
    """The cells of one table in a source file, below its header row.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per source row below the header, columns named by the source
        headers (made unique), values as read (text, numbers or datetimes).
    rows : numpy.ndarray
        The source row number of each row of ``cells`` (1-based spreadsheet row,
        CSV line or Parquet record).
    preamble : list of (int, list of str)
        The rows above the header, with their row numbers (title rows, merged
        group headers): the study date is looked for here.
    header_row : int
        Source row number of the header.
    bad_rows : list of (int, str, str)
        Rows the reader could not split into the header's columns:
        ``(row, text, reason)``.
    renamed_headers : list of (str, str)
        Duplicate or blank headers and the unique names given to them.
    other_encoding_rows : tuple of int
        In a CSV mixing UTF-8 and GB18030 lines, the lines decoded as GB18030.
    """

    cells: pd.DataFrame
    rows: np.ndarray
    preamble: list[tuple[int, list[str]]]
    header_row: int
    kind: str
    encoding: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    date1904: bool = False
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    renamed_headers: list[tuple[str, str]] = field(default_factory=list)
    other_encoding_rows: tuple[int, ...] = ()


def sniff_kind(data: bytes, filename: str | None) -> str:
    """Tell the format of a file from its first bytes (its name is only a hint).

    Raises
    ------
    ExtractError
        For empty files, images, PDFs, encrypted workbooks and other things
        that are not a table.
    """
    name = (filename or "").lower()
    if not data[:65536].strip() and not data.strip():
        raise ExtractError("The file is empty: it has no rows. Export the extract again.", code="empty_file")
    head = data[:16]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in data[:1_000_000] or (
            b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data[:1_000_000]
        ):
            raise ExtractError(
                "The workbook is password-protected (encrypted). Open it in Excel, remove the password "
                "(File → Info → Protect Workbook) and save a copy, then upload that copy.",
                code="encrypted_workbook",
            )
        return "xls"
    for magic, what, kind in (
        (b"\x89PNG", "a PNG image", "png_image"),
        (b"\xff\xd8\xff", "a JPEG image", "jpeg_image"),
        (b"GIF8", "a GIF image", "gif_image"),
        (b"%PDF", "a PDF document", "pdf_document"),
        (b"BM", "a bitmap image", "bitmap_image"),
        (b"\x1f\x8b", "a gzip archive", "gzip_archive"),
        (b"Rar!", "a RAR archive", "rar_archive"),
        (b"7z\xbc\xaf", "a 7-Zip archive", "7z_archive"),
    ):
        if head.startswith(magic):
            raise ExtractError(
                f"The file{' ' + repr(filename) if filename else ''} is {what}, not a table. "
                "Upload the policy extract as CSV, Excel (.xlsx/.xls) or Parquet.",
                code="not_a_table",
                what=kind,  # the catalogue's error_detail.<kind> names it in the UI's language
            )
    if name.endswith((".xlsx", ".xlsm", ".xls", ".parquet")):
        raise ExtractError(
            f"The file {filename!r} is named like a workbook but its content is not one "
            "(it may be truncated or corrupt). Export it again from the source system.",
            code="corrupt_workbook",
        )
    if data.startswith(_WIDE_BOMS):
        return "csv"  # UTF-16 or UTF-32 text, as Excel's "Unicode text" export writes it
    if b"\x00" in data[:4096]:
        raise ExtractError(
            "The file is binary, not text: it is not a CSV. Upload the extract as CSV, Excel or Parquet.",
            code="not_a_table",
            what="binary",
        )
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
        return _read_csv(data)
    if kind == "parquet":
        return _read_parquet(data)
    return _read_workbook(data, kind=kind, sheet=sheet, filename=filename)


# --- CSV --------------------------------------------------------------------------


#: Byte-order marks of UTF-32 and UTF-16 text (UTF-32 first: its little-endian mark starts like UTF-16's).
_WIDE_ENCODINGS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_WIDE_BOMS = tuple(bom for bom, _ in _WIDE_ENCODINGS)
_BLOCK_SIZE = 1 << 24  # bytes Arrow's CSV reader parses at a time
_SCAN_STEP = 1 << 20  # bytes per step of a scan: small enough to stay in the CPU's cache


def _has_two_byte_leads(data: bytes) -> bool:
    """True when a byte 0xC4..0xDF occurs: in valid UTF-8, the lead of a character U+0100..U+07FF."""
    octets = np.frombuffer(data, dtype=np.uint8)
    shifted = np.empty(min(_SCAN_STEP, len(octets)), dtype=np.uint8)
    hits = np.empty(len(shifted), dtype=bool)
    for start in range(0, len(octets), _SCAN_STEP):
        part = octets[start : start + _SCAN_STEP]
        n = len(part)
        # 0xC4..0xDF + 0x3C wraps round to 0..27: one add and one compare per byte.
        np.add(part, np.uint8(0x3C), out=shifted[:n])
        np.less(shifted[:n], 28, out=hits[:n])
        if hits[:n].any():
            return True
    return False


def _count_newlines(data: bytes) -> int:
    """Number of LF bytes, counted in cache-sized steps (faster than ``bytes.count`` here)."""
    octets = np.frombuffer(data, dtype=np.uint8)
    hits = np.empty(min(_SCAN_STEP, len(octets)), dtype=bool)
    total = 0
    for start in range(0, len(octets), _SCAN_STEP):
        part = octets[start : start + _SCAN_STEP]
        np.equal(part, 10, out=hits[: len(part)])
        total += int(np.count_nonzero(hits[: len(part)]))
    return total


def to_utf8(data: bytes, *, validate: bool = True) -> tuple[bytes, str, list[int]]:
    """CSV bytes as UTF-8 without BOM, the source encoding, and the lines re-decoded.

    Plain UTF-8 (the common case) is validated and returned as is, without
    building one large string. With ``validate=False`` the UTF-8 check is left
    to the caller (Arrow's CSV reader checks string columns as it reads).
    """
    import pyarrow as pa

    label = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        label = "utf-8-sig"
    for bom, wide in _WIDE_ENCODINGS:
        if data.startswith(bom):
            return data.decode(wide, errors="replace").lstrip("\ufeff").encode("utf-8"), wide, []
    # Is it UTF-8? Arrow validates it at C speed (casting binary to utf8), in
    # line-aligned chunks so memory stays flat on big files.
    valid = True
    suspect = False
    start = 0
    if not validate:
        suspect = _has_two_byte_leads(data)
        start = len(data)  # no chunks to validate
    while start < len(data) and valid:
        end = data.find(b"\n", start + (1 << 24))
        end = len(data) if end < 0 else end + 1
        chunk = data[start:end]
        if validate:
            try:
                pa.array([chunk], type=pa.large_binary()).cast(pa.large_string())
            except pa.ArrowInvalid:
                valid = False
        suspect = suspect or _has_two_byte_leads(chunk)
        start = end
    if valid and not suspect:
        return data, label, []
    if valid:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # not UTF-8 after all (it was not validated): decode line by line below
        else:
            text, label, odd = _redecode_gbk_lines(text, label)
            return (text.encode("utf-8") if odd else data), label, odd
    lines = data.split(b"\n")
    utf8_lines = 0
    for line in lines:
        if max(line, default=0) < 0x80:
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
        except UnicodeDecodeError:
            pass
    if utf8_lines == 0:
        return data.decode("gb18030", errors="replace").encode("utf-8"), "gb18030", []
    decoded: list[str] = []
    odd_lines: list[int] = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(line.decode("gb18030", errors="replace"))
            odd_lines.append(number)
    return "\n".join(decoded).encode("utf-8"), "mixed utf-8/gb18030", odd_lines


# Short GBK byte runs can also be valid UTF-8, decoding to Latin, IPA or Cyrillic letters
# (失效 → ʧЧ) that a Chinese policy extract never holds.
_SUSPECT = re.compile("[\u0100-\u07ff]")
_CJK = re.compile("[\u4e00-\u9fff]")


def _redecode_gbk_lines(text: str, label: str) -> tuple[str, str, list[int]]:
    lines = text.split("\n")
    odd: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not _SUSPECT.search(line):
            continue
        try:
            other = line.encode("utf-8").decode("gb18030")
        except UnicodeDecodeError:
            continue
        if _CJK.search(other) and not _SUSPECT.search(other):
            lines[number - 1] = other
            odd.append(number)
    if not odd:
        return text, label, []
    return "\n".join(lines), "mixed utf-8/gb18030", odd


def _sniff_delimiter(lines: Sequence[str]) -> str:
    best, best_score = ",", -1.0
    for delim in (",", "\t", ";", "|"):
        counts = [line.count(delim) for line in lines if line.strip()]
        if not counts:
            continue
        top = max(counts)
        score = top * sum(1 for c in counts if c == top)
        if score > best_score:
            best, best_score = delim, score
    return best


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _physical_lines(text: str) -> list[str]:
    """The lines of a text as Arrow's CSV reader counts them: ends at LF, CR LF or CR only.

    (``str.splitlines`` would also end a line at a form feed, U+2028 and the like,
    and the header would then be looked for on the wrong line.)
    """
    return _LINE.findall(text)


def _head_records(text: str, delimiter: str) -> list[tuple[int, int, list[str]]]:
    """The first records of a CSV text: ``(first line, last line, cells)``, lines 1-based.

    A quoted field may hold line breaks, so a record can span lines.
    """
    lines = _physical_lines(text)
    records: list[tuple[int, int, list[str]]] = []
    done = 0  # lines read so far
    reader, base = csv.reader(iter(lines), delimiter=delimiter), 0
    while len(records) < _PREAMBLE_LINES and done < len(lines):
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A field longer than the csv module takes: split that line plainly (it only has to find the header).
            records.append((done + 1, done + 1, lines[done].rstrip("\r\n").split(delimiter)))
            done += 1
            reader, base = csv.reader(iter(lines[done:]), delimiter=delimiter), done
            continue
        end = base + reader.line_num
        records.append((done + 1, end, cells))
        done = end
    return records or [(1, 1, [])]


def _read_csv_validated(data: bytes) -> RawTable:
    return _read_csv(data, trust_head=False)


def _read_csv(data: bytes, *, trust_head: bool = True) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    original = data
    try:
        data[:200_000].decode("utf-8")
        head_ok = True
    except UnicodeDecodeError as exc:
        head_ok = exc.start > 199_990  # only a character cut at the boundary
    head_ok = head_ok and trust_head
    data, encoding, odd_lines = to_utf8(data, validate=not head_ok)
    if not data or data.isspace():  # (isspace stops at the first other byte; strip would copy the file)
        raise ExtractError("The file is empty: it has no rows. Export the extract again.", code="empty_file")
    head_text = data[:200_000].decode("utf-8", errors="ignore")
    delimiter = _sniff_delimiter(_physical_lines(head_text)[:_PREAMBLE_LINES])
    records = _head_records(head_text, delimiter)
    parsed_head = [cells for _, _, cells in records]
    header_index = find_header_row(parsed_head)
    header_line, header_end, header = records[header_index]
    if not any(str(cell).strip() for cell in header):
        raise ExtractError(
            "The file is empty: it has no rows, only separators or blank lines. Export the extract again.", code="empty_file"
        )
    names, renamed = _unique_headers(header)
    width = len(names)
    bad: list[tuple[int, str, str]] = []

    def on_invalid(row: object) -> str:
        number = getattr(row, "number", None) or 0
        text_ = getattr(row, "text", "")
        actual = getattr(row, "actual_columns", 0)
        bad.append((int(number), str(text_), f"has {actual} fields where the header has {width}"))
        return "skip"

    def read_options(threads: bool) -> pacsv.ReadOptions:
        return pacsv.ReadOptions(
            skip_rows=header_end,  # Arrow counts lines here, not records
            column_names=[f"c{i}" for i in range(width)],
            use_threads=threads,
            block_size=_BLOCK_SIZE,
        )

    parse_opts = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False)
    convert_opts = pacsv.ConvertOptions(
        column_types={f"c{i}": pa.large_string() for i in range(width)},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    try:
        # Threads are fast but leave bad rows unnumbered: read again on one thread if there are any.
        try:
            table = pacsv.read_csv(
                io.BytesIO(data), read_options=read_options(True), parse_options=parse_opts, convert_options=convert_opts
            )
        except pa.ArrowInvalid as exc:
            if "could not skip initial" in str(exc).lower() and len(data) < _BLOCK_SIZE:
                # Nothing below the header (its line has no line break): no rows.
                table = pa.table({f"c{i}": pa.array([], pa.large_string()) for i in range(width)})
            elif "utf8" not in str(exc).lower() or not head_ok:
                raise
            else:
                # Not UTF-8 after all (past the first 200 kB): decode it and read again.
                return _read_csv_validated(original)
        if bad:
            bad.clear()
            table = pacsv.read_csv(
                io.BytesIO(data), read_options=read_options(False), parse_options=parse_opts, convert_options=convert_opts
            )
    except pa.ArrowInvalid as exc:
        raise ExtractError(f"The CSV file could not be split into columns: {exc}", code="bad_csv", detail=str(exc)) from exc
    cells = table.to_pandas(types_mapper=_ARROW_TEXT.get)
    cells.columns = names
    first = header_end + 1  # 1-based line of the first row below the header
    bad_numbers = {b[0] for b in bad}
    if bad_numbers:
        taken: list[int] = []
        line = first
        while len(taken) < len(cells):
            if line not in bad_numbers:
                taken.append(line)
            line += 1
        rows = np.asarray(taken, dtype=np.int64)
    else:
        rows = np.arange(first, first + len(cells), dtype=np.int64)
        # A quoted field may hold line breaks: the next row then starts further down the file.
        lines = _count_newlines(data) + (0 if data.endswith(b"\n") else 1)
        if lines > header_end + len(cells) and len(cells):
            import pyarrow.compute as pc

            extra = np.zeros(len(cells), dtype=np.int64)
            for column in table.columns:
                counts = pc.count_substring(column, "\n")
                extra += np.asarray(pc.fill_null(counts, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            if extra.any():
                rows = first + np.concatenate([[0], np.cumsum(1 + extra)[:-1]]).astype(np.int64)
    preamble = [(start, cells_) for start, _, cells_ in records[:header_index]]
    return RawTable(
        cells=cells,
        rows=rows,
        preamble=preamble,
        header_row=header_line,
        kind="csv",
        encoding=encoding,
        bad_rows=bad,
        renamed_headers=renamed,
        other_encoding_rows=tuple(n for n in odd_lines if n > header_end),
    )


# --- Excel ------------------------------------------------------------------------


def _unique_headers(header: Sequence[object]) -> tuple[list[str], list[tuple[str, str]]]:
    names: list[str] = []
    renamed: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip()
        name = re.sub(r"\s+", " ", name)
        original = name
        if not name:
            name = f"column_{position + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        if name != original:
            renamed.append((original, name))
        names.append(name)
    return names, renamed


#: What reading a damaged zip archive raises: a bad header or CRC, a broken deflate stream, an
#: encrypted or unknown-compression member, a truncated member.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, UnicodeDecodeError)


def _corrupt_workbook() -> ExtractError:
    return ExtractError(
        "The workbook is corrupt or truncated and cannot be opened. Export it again from the source system.",
        code="corrupt_workbook",
    )


def _workbook_facts(data: bytes) -> tuple[bool, dict[str, int]]:
    """Read the 1904 flag and each sheet's first used row straight from the XML."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        workbook = archive.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (KeyError, *_ZIP_ERRORS) as exc:
        raise _corrupt_workbook() from exc
    date1904 = bool(re.search(r'date1904="(1|true)"', workbook))
    starts: dict[str, int] = {}
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    except KeyError:
        return date1904, starts
    except _ZIP_ERRORS as exc:
        raise _corrupt_workbook() from exc
    targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    for sheet_tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name_match = re.search(r'name="([^"]*)"', sheet_tag)
        rid_match = re.search(r'r:id="([^"]+)"', sheet_tag) or re.search(r'\bid="([^"]+)"', sheet_tag)
        if not name_match or not rid_match or rid_match.group(1) not in targets:
            continue
        target = targets[rid_match.group(1)].lstrip("/")
        path = target if target.startswith("xl/") else f"xl/{target}"
        try:
            with archive.open(path) as handle:
                chunk = handle.read(1 << 20).decode("utf-8", errors="replace")
        except KeyError:
            continue
        except _ZIP_ERRORS as exc:
            raise _corrupt_workbook() from exc
        first = re.search(r'<c r="[A-Z]+(\d+)"[^>]*?(?<!/)>\s*(?:<f[^>]*>[^<]*</f>\s*|<f[^>]*/>\s*)?<(?:v|is)\b', chunk)
        if first:
            import html

            starts[html.unescape(name_match.group(1))] = int(first.group(1))
    return date1904, starts


def _read_workbook(data: bytes, *, kind: str, sheet: str | int | None, filename: str | None) -> RawTable:
    date1904 = False
    starts: dict[str, int] = {}
    if kind == "xlsx":
        date1904, starts = _workbook_facts(data)
    try:
        if kind == "xlsx":
            import fastexcel

            reader = fastexcel.read_excel(data)
            sheets = tuple(reader.sheet_names)
            name = _pick_sheet(sheets, sheet)
            batch = reader.load_sheet(name, header_row=None, dtypes="string", eager=True)
            start = starts.get(name, 1)
            # The head as rows of text, straight from Arrow (a wide sheet is slow to turn round in pandas).
            head_rows = [list(row) for row in zip(*(column.to_pylist() for column in batch.slice(0, _PREAMBLE_LINES).columns))]
            empty = batch.num_rows == 0 or batch.num_columns == 0
        else:
            from python_calamine import CalamineWorkbook

            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheets = tuple(book.sheet_names)
            name = _pick_sheet(sheets, sheet)
            handle = book.get_sheet_by_name(name)
            values = handle.to_python(skip_empty_area=True)
            grid = pd.DataFrame(values, dtype=object)
            grid = grid.map(lambda v: None if v == "" else str(v))
            start = int(handle.start[0]) + 1 if handle.start else 1
            head_rows = grid.head(_PREAMBLE_LINES).to_numpy(dtype=object).tolist()
            empty = grid.empty
    except ExtractError:
        raise
    except Exception as exc:  # the readers raise their own exception types
        raise ExtractError(
            f"The workbook{' ' + repr(filename) if filename else ''} could not be read ({type(exc).__name__}). "
            "It may be corrupt, truncated or password-protected: open it in Excel and save a fresh copy.",
            code="corrupt_workbook",
        ) from exc
    if empty:
        raise ExtractError(f"The sheet {name!r} is empty: it has no rows.", code="empty_file")
    head_rows = [["" if v is None else str(v) for v in row] for row in head_rows]
    header_index = find_header_row(head_rows)
    names, renamed = _unique_headers(head_rows[header_index])
    if kind == "xlsx":
        cells = batch.slice(header_index + 1).to_pandas(types_mapper=_ARROW_TEXT.get)
    else:
        cells = grid.iloc[header_index + 1 :].reset_index(drop=True)
    cells.columns = names
    rows = np.arange(start + header_index + 1, start + header_index + 1 + len(cells), dtype=np.int64)
    preamble = [(start + i, head_rows[i]) for i in range(header_index)]
    return RawTable(
        cells=cells,
        rows=rows,
        preamble=preamble,
        header_row=start + header_index,
        kind=kind,
        sheet=name,
        sheets=sheets,
        date1904=date1904,
        renamed_headers=renamed,
    )


def _pick_sheet(sheets: tuple[str, ...], sheet: str | int | None) -> str:
    if not sheets:
        raise ExtractError("The workbook has no sheets.", code="empty_file")
    if sheet is None:
        return sheets[0]
    if isinstance(sheet, int):
        if 0 <= sheet < len(sheets):
            return sheets[sheet]
    elif sheet in sheets:
        return sheet
    raise ExtractError(
        f"The workbook has no sheet {sheet!r}; its sheets are {', '.join(sheets)}.",
        code="no_such_sheet",
        sheet=str(sheet),
        sheets=", ".join(sheets),
    )


def list_sheets(data: bytes, *, filename: str | None = None) -> tuple[str, ...]:
    """Sheet names of a workbook (empty for CSV and Parquet)."""
    kind = sniff_kind(data, filename)
    if kind == "xlsx":
        import fastexcel

        try:
            return tuple(fastexcel.read_excel(data).sheet_names)
        except Exception as exc:
            raise ExtractError(
                "The workbook is corrupt or truncated and cannot be opened. Export it again from the source system.",
                code="corrupt_workbook",
            ) from exc
    if kind == "xls":
        from python_calamine import CalamineWorkbook

        try:
            return tuple(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
        except Exception as exc:
            raise ExtractError(
                "The workbook is corrupt or truncated and cannot be opened. Export it again from the source system.",
                code="corrupt_workbook",
            ) from exc
    return ()


# --- Parquet ----------------------------------------------------------------------


def _read_parquet(data: bytes) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:
        raise ExtractError("The Parquet file is corrupt or truncated and cannot be read.", code="corrupt_workbook") from exc
    cells = table.to_pandas()
    names, renamed = _unique_headers(list(cells.columns))
    cells.columns = names
    rows = np.arange(1, len(cells) + 1, dtype=np.int64)
    return RawTable(cells=cells, rows=rows, preamble=[], header_row=0, kind="parquet", renamed_headers=renamed)
