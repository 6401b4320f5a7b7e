"""Read a CSV extract: find its delimiter and header line, then read the rows below with Arrow.

Arrow's CSV reader does the work (on all cores, in blocks); this module finds where the
table starts (title lines above the header are kept as the preamble), keeps the rows
Arrow cannot split (they are rejected with their line number) and works out each row's
line in the file, also when a quoted field holds line breaks.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from analysis.errors import ExtractError
from analysis.ingest.encoding import WIDE_BOMS, count_newlines, has_two_byte_leads, to_utf8
from analysis.ingest.headers import find_header_row
from analysis.ingest.limits import SCAN_BYTES, LineScan
from analysis.ingest.raw import ARROW_TEXT, PREAMBLE_LINES, RawTable, unique_headers

#: Bytes at the top of the file in which the delimiter and the header are looked for.
_HEAD_BYTES = 200_000
#: A decoding error this close to the end of the head is a character cut by the head's end.
_CUT_CHARACTER_BYTES = 10
_BLOCK_SIZE = 1 << 24  # bytes Arrow's CSV reader parses at a time
_UTF8_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", "\t", ";", "|")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _sniff_delimiter(lines: Sequence[str]) -> str:
    """The delimiter that splits the most lines into the same, largest number of fields (a comma by default)."""
    best, best_score = ",", -1.0
    for delim in _DELIMITERS:
        counts = [line.count(delim) for line in lines if line.strip()]
        if not counts:
            continue
        top = max(counts)
        score = top * sum(1 for c in counts if c == top)
        if score > best_score:
            best, best_score = delim, score
    return best


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
    while len(records) < PREAMBLE_LINES and done < len(lines):
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


def _empty_file(reason: str) -> ExtractError:
    return ExtractError("empty_file", reason=reason)


def _head_is_utf8(data: bytes) -> bool:
    """True when the head of the file is UTF-8 (but for a character cut at its end)."""
    try:
        data[:_HEAD_BYTES].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > _HEAD_BYTES - _CUT_CHARACTER_BYTES
    return True


def read_csv(data: bytes, *, trust_head: bool = True) -> RawTable:
    """Read CSV bytes into a :class:`RawTable` (see the module's description).

    With ``trust_head`` a file whose head is UTF-8 is read as UTF-8 and checked by Arrow
    as it reads; should a line further down not be UTF-8, the file is decoded and read again.

    Raises
    ------
    ExtractError
        ``empty_file`` when the file holds no cells, ``bad_csv`` when Arrow cannot split it.
    """
    head_ok = _head_is_utf8(data) and trust_head
    text, encoding, odd_lines = to_utf8(data, validate=not head_ok)
    if not text or text.isspace():  # (isspace stops at the first other byte; strip would copy the file)
        raise _empty_file("no_rows")

    def lines() -> int:
        return count_newlines(text) + (0 if text.endswith(b"\n") else 1)

    raw = _below_header(text[:_HEAD_BYTES], text, size=len(text), lines=lines, head_ok=head_ok, encoding=encoding, odd_lines=odd_lines)
    if raw is None:  # not UTF-8 after all (past the head): decode it and read again
        return read_csv(data, trust_head=False)
    return raw


def read_csv_file(path: Path, head: bytes) -> RawTable | None:
    """A CSV file read from disk a block at a time, never whole in memory; None when it needs its bytes (:func:`read_csv`).

    The common case of a large extract: UTF-8 (with or without its byte-order mark) without a
    run of bytes that could be GB18030 read as UTF-8. The file is scanned once (the line checks of
    :class:`~analysis.ingest.limits.LineScan`, its line breaks, such runs) and then read by
    Arrow from disk, which checks the UTF-8 as it reads; ``head`` is the file's first bytes
    (at least :data:`_HEAD_BYTES` past the mark, or the whole file). Otherwise (not a regular
    file, UTF-16 or UTF-32, another encoding, such a run, a line that is not UTF-8, a blank
    head) None: the caller reads the bytes, and the table is the same either way.

    Raises
    ------
    ExtractError
        As :func:`analysis.ingest.limits.check_csv` and :func:`read_csv`.
    """
    marked = head.startswith(_UTF8_BOM)  # as Excel writes "CSV UTF-8": the mark is on the header's line, which Arrow skips
    start = len(_UTF8_BOM) if marked else 0
    text_head = head[start : start + _HEAD_BYTES]  # the head read_csv looks in: the same bytes, the mark left out
    if not path.is_file() or not _head_is_utf8(head) or head.startswith(WIDE_BOMS) or not text_head.strip():
        return None  # (a pipe cannot be read twice; a blank head is judged on the whole file)
    scan, suspect, ends_with_break = LineScan(), False, True
    with path.open("rb") as file:
        while block := file.read(SCAN_BYTES):
            scan.feed(block)
            suspect = suspect or has_two_byte_leads(block)
            ends_with_break = block.endswith(b"\n")
    scan.finish()
    if suspect:
        return None
    lines = scan.lines + (0 if ends_with_break else 1)
    encoding = "utf-8-sig" if marked else "utf-8"
    return _below_header(text_head, path, size=scan.size, lines=lambda: lines, head_ok=True, encoding=encoding, odd_lines=[])


def _below_header(
    head: bytes,
    source: bytes | Path,
    *,
    size: int,
    lines: Callable[[], int],
    head_ok: bool,
    encoding: str,
    odd_lines: list[int],
) -> RawTable | None:
    """The table of UTF-8 ``source`` (bytes, or a file) below the header found in its ``head``; None when Arrow finds it is not UTF-8.

    ``lines``: the file's number of lines (asked only when no row was left out).
    """
    head_text = head.decode("utf-8", errors="ignore")
    delimiter = _sniff_delimiter(_physical_lines(head_text)[:PREAMBLE_LINES])
    records = _head_records(head_text, delimiter)
    header_index = find_header_row([cells for _, _, cells in records])
    header_line, header_end, header = records[header_index]
    if not any(str(cell).strip() for cell in header):
        raise _empty_file("only_separators")
    names, renamed = unique_headers(header)
    bad: list[tuple[int, str, int]] = []
    table = _arrow_table(source, size=size, delimiter=delimiter, width=len(names), skip=header_end, bad=bad, head_ok=head_ok)
    if table is None:
        return None
    cells = table.to_pandas(types_mapper=ARROW_TEXT.get)
    cells.columns = names
    return RawTable(
        cells=cells,
        rows=_row_numbers(table, first=header_end + 1, bad_lines={b[0] for b in bad}, lines=lines),
        preamble=[(start, cells_) for start, _, cells_ in records[:header_index]],
        header_row=header_line,
        kind="csv",
        encoding=encoding,
        bad_rows=bad,
        renamed_headers=renamed,
        other_encoding_rows=tuple(n for n in odd_lines if n > header_end),
    )


def _arrow_table(
    source: bytes | Path, *, size: int, delimiter: str, width: int, skip: int, bad: list[tuple[int, str, int]], head_ok: bool
) -> Any:
    """The rows below the header line ``skip`` as an Arrow table of ``width`` text columns.

    Rows that do not split into ``width`` fields are left out and listed in ``bad``
    (line, text, number of fields). None when the file turns out not to be UTF-8 although its
    head was (``head_ok``).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def on_invalid(row: object) -> str:
        number = getattr(row, "number", None) or 0
        text_ = getattr(row, "text", "")
        actual = getattr(row, "actual_columns", 0)
        bad.append((int(number), str(text_), int(actual)))
        return "skip"

    def read(threads: bool) -> Any:
        return pacsv.read_csv(
            pa.OSFile(str(source)) if isinstance(source, Path) else io.BytesIO(source),  # a file: no decompression by its name
            read_options=pacsv.ReadOptions(
                skip_rows=skip,  # Arrow counts lines here, not records
                column_names=[f"c{i}" for i in range(width)],
                use_threads=threads,
                block_size=_BLOCK_SIZE,
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.large_string() for i in range(width)},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    try:
        # Threads are fast but leave bad rows unnumbered: read again on one thread if there are any.
        try:
            table = read(True)
        except pa.ArrowInvalid as exc:
            if "could not skip initial" in str(exc).lower() and size < _BLOCK_SIZE:
                # Nothing below the header (its line has no line break): no rows.
                table = pa.table({f"c{i}": pa.array([], pa.large_string()) for i in range(width)})
            elif "utf8" not in str(exc).lower() or not head_ok:
                raise
            else:
                return None
        if bad:
            bad.clear()
            table = read(False)
    except pa.ArrowInvalid as exc:
        raise ExtractError("bad_csv", reason="unsplittable", detail=str(exc)) from exc
    return table


def _row_numbers(table: Any, *, first: int, bad_lines: set[int], lines: Callable[[], int]) -> np.ndarray:
    """The line of the file each row of ``table`` starts on; ``first`` is the line below the header.

    Lines of rows Arrow could not split (``bad_lines``) are skipped; a quoted field holding
    line breaks moves the next row down by as many lines (``lines``: the file's number of lines).
    """
    n = table.num_rows
    if bad_lines:
        taken: list[int] = []
        line = first
        while len(taken) < n:
            if line not in bad_lines:
                taken.append(line)
            line += 1
        return np.asarray(taken, dtype=np.int64)
    rows = np.arange(first, first + n, dtype=np.int64)
    if n and lines() > first - 1 + n:
        import pyarrow.compute as pc

        extra = np.zeros(n, dtype=np.int64)
        for column in table.columns:
            counts = pc.count_substring(column, "\n")
            extra += np.asarray(pc.fill_null(counts, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        if extra.any():
            rows = first + np.concatenate([[0], np.cumsum(1 + extra)[:-1]]).astype(np.int64)
    return rows
