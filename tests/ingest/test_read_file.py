"""A CSV on disk is read a block at a time (never whole in memory) and gives the same load as its bytes."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import FUZZ, csv_bytes, extracts

import analysis.ingest.csv_reader as csv_reader
import analysis.ingest.limits as limits
from analysis import load_extract
from analysis.errors import ExtractError
from analysis.ingest.limits import LineScan, check_csv

HEADER = ["保单号", "投保日期", "保单状态", "年缴保费", "渠道"]


def extract(rows: int = 40, *, channel: str = "个险", newline: str = "\n", title: bool = False, last_break: bool = True) -> str:
    """A small extract as text: a title line when asked, a header, ``rows`` policies (every seventh lapsed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    if title:
        writer.writerow(["保单明细 统计日期 2026-09-30"])
    writer.writerow(HEADER)
    for i in range(rows):
        writer.writerow([f"P{i:05d}", f"2020-{i % 12 + 1:02d}-15", "失效" if i % 7 == 0 else "有效", 1200 + i, channel])
    text = buffer.getvalue()
    return text if last_break else text.rstrip("\r\n")


def same_load(path: Path, data: bytes) -> None:
    """The file read from ``path`` and from its bytes: the same policies and the same account, or the same refusal."""
    try:
        from_bytes = load_extract(data, filename=path.name)
    except ExtractError as refused:
        with pytest.raises(ExtractError) as again:
            load_extract(path)
        assert (again.value.code, again.value.key, again.value.params) == (refused.code, refused.key, refused.params)
        return
    from_file = load_extract(path)
    pd.testing.assert_frame_equal(from_file.policies, from_bytes.policies)
    pd.testing.assert_frame_equal(from_file.problems, from_bytes.problems)
    pd.testing.assert_frame_equal(from_file.skipped_rows, from_bytes.skipped_rows)
    pd.testing.assert_frame_equal(from_file.column_notes, from_bytes.column_notes)
    for field in ("rows_read", "accepted", "repaired", "rejected", "header_row", "encoding", "study_date", "kind", "headers"):
        assert getattr(from_file, field) == getattr(from_bytes, field), field


def count_whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths whose bytes are read whole (``Path.read_bytes``) from now on."""
    reads: list[Path] = []
    whole = Path.read_bytes

    def spy(self: Path) -> bytes:
        reads.append(self)
        return whole(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    return reads


@pytest.mark.parametrize(
    "text",
    [
        extract(),
        extract().encode("utf-8-sig").decode("utf-8"),  # the mark Excel's "CSV UTF-8" starts with
        extract(newline="\r\n"),
        extract(title=True),
        extract(last_break=False),
        extract().replace("P00003,", '"P00003\n续",', 1),  # a quoted line break moves the rows below down a line
        extract() + "P99999,2020-01-01\n",  # a row that does not split into the header's fields
        extract(rows=0),
    ],
    ids=["plain", "bom", "crlf", "title", "no-last-break", "quoted-break", "ragged", "header-only"],
)
def test_a_utf8_csv_is_read_from_disk_without_its_bytes_and_loads_as_its_bytes(tmp_path, monkeypatch, text) -> None:
    path = tmp_path / "保单明细.csv"
    path.write_bytes(text.encode("utf-8"))
    reads = count_whole_reads(monkeypatch)
    same_load(path, text.encode("utf-8"))
    assert path not in reads


@pytest.mark.parametrize(
    "data",
    [
        extract().encode("gb18030"),
        extract().encode("utf-16"),
        # UTF-8 in the head, a GB18030 line further down (past the 200,000 bytes the head holds)
        extract(rows=6000).encode("utf-8") + "P77777,2020-01-15,失效,1300,银保\n".encode("gb18030"),
        # a run that is valid UTF-8 but reads as Chinese in GB18030 (失效 written in GBK then read as UTF-8)
        extract().encode("utf-8") + b"P77777,2020-01-15," + "失效".encode("gbk").decode("utf-8", "replace").encode() + b",1300,x\n",
        b"\n" * 70_000 + extract().encode("utf-8"),  # a head of blank lines
    ],
    ids=["gb18030", "utf-16", "gb18030-line-past-head", "suspect-run", "blank-head"],
)
def test_any_other_csv_is_read_from_its_bytes_and_loads_as_them(tmp_path, monkeypatch, data) -> None:
    path = tmp_path / "extract.csv"
    path.write_bytes(data)
    reads = count_whole_reads(monkeypatch)
    same_load(path, data)
    assert path in reads


def test_the_bundled_sample_loads_the_same_from_disk_and_from_its_bytes(root, monkeypatch) -> None:
    path = root / "data" / "sample_policies.csv"
    data = path.read_bytes()
    reads = count_whole_reads(monkeypatch)
    same_load(path, data)
    assert path not in reads


def test_the_line_checks_refuse_at_the_same_line_block_by_block(tmp_path, monkeypatch) -> None:
    """A long line across the blocks, or too many empty rows, is refused as it is in the whole file."""
    monkeypatch.setattr(limits, "SCAN_BYTES", 64)
    monkeypatch.setattr(csv_reader, "SCAN_BYTES", 64)
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 300)
    long_line = extract(rows=30).replace("P00020,", "P00020" + "x" * 400 + ",", 1).encode("utf-8")
    with pytest.raises(ExtractError) as whole:
        check_csv(long_line)
    assert whole.value.params["line"] == "22"  # the header, then P00000 … P00020
    for size in (64, 100, 1000):  # blocks fed as a file is read: the same refusal whatever their size
        scan = LineScan()
        with pytest.raises(ExtractError) as by_blocks:
            for start in range(0, len(long_line), size):
                scan.feed(long_line[start : start + size])
        assert by_blocks.value.params == whole.value.params
    path = tmp_path / "long.csv"
    path.write_bytes(long_line)
    same_load(path, long_line)
    monkeypatch.setattr(limits, "ROWS_JUDGED_FROM", 10)
    monkeypatch.setattr(limits, "MIN_ROW_BYTES", 30)
    empty = (extract(rows=3) + "\n" * 40).encode("utf-8")
    path.write_bytes(empty)
    with pytest.raises(ExtractError) as refused:
        load_extract(path)
    assert refused.value.params["rows"] == "44"
    same_load(path, empty)


@FUZZ
@given(st.data())
def test_generated_csv_extracts_load_the_same_from_disk(data: st.DataObject) -> None:
    """Any generated extract, in any encoding, delimiter and line end, loads from a file as from its bytes."""
    rows, _, _ = data.draw(extracts())
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "mixed", "utf-16"]))
    delimiter = data.draw(st.sampled_from([",", ",", "\t", ";"]))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    body, _ = csv_bytes(rows, delimiter=delimiter, encoding=encoding, newline=newline, quoting=csv.QUOTE_MINIMAL)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extract.csv"
        path.write_bytes(body)
        same_load(path, body)


def test_a_marked_head_is_looked_at_as_its_bytes_are(tmp_path) -> None:
    """The mark is left out of the head, not counted in it: a line across the head's end splits as in the bytes."""
    mark = b"\xef\xbb\xbf"
    header = "保单号,投保日期,保单状态,年缴保费,备注,渠道\n".encode()
    start = "P00001,2020-01-15,有效,1200,a;b;c;d;e;f;g;h ".encode()
    first = start + b"x" * (200_001 - len(mark) - len(header) - len(start)) + ",个险\n".encode()
    rest = b"".join(f"P{i:05d},2020-01-15,有效,{1200 + i},n,个险\n".encode() for i in range(2, 50))
    data = mark + header + first + rest
    path = tmp_path / "marked.csv"
    path.write_bytes(data)
    assert load_extract(path).accepted == 49
    same_load(path, data)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n", b"\xef\xbb\xbf   \r\n \t", b"\xef\xbb\xbf" + b"\n" * 300_000])
def test_a_mark_and_nothing_else_is_refused_as_its_bytes_are(tmp_path, data) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(data)
    with pytest.raises(ExtractError) as refused:
        load_extract(path)
    assert refused.value.key == "error.empty_file.no_rows"
    same_load(path, data)


def test_a_pipe_is_read_as_it_comes(tmp_path) -> None:
    """A path that is not a regular file (a pipe: the shell's <(…)) is read once, whole, as before."""
    data = extract(rows=1500).encode("utf-8")
    fifo = tmp_path / "extract.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    from_pipe = load_extract(fifo)
    writer.join()
    from_bytes = load_extract(data, filename=fifo.name)
    pd.testing.assert_frame_equal(from_pipe.policies, from_bytes.policies)
    assert from_pipe.rows_read == from_bytes.rows_read == 1500


def test_a_missing_file_is_refused_with_the_systems_reason(tmp_path) -> None:
    with pytest.raises(ExtractError) as refused:
        load_extract(tmp_path / "nowhere.csv")
    assert refused.value.code == "unreadable" and refused.value.params["detail"] == "No such file or directory"
