"""Hostile inputs, one generator per class of issue [7/7]: files, presets, scenario JSON and share links.

Each :class:`Case` makes its bytes for a size: ``big=False`` keeps it small enough for CI
(a few MB at most); ``big=True`` gives the size the issue reported (hundreds of MB, set
``LAPSELENS_HOSTILE_BIG=1`` to run those). ``expect`` says what a sound door does with it:
``"load"`` (every row accounted for), ``"refuse"`` (a catalogued refusal) or ``"either"``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "保单号,生效日期,保单状态,状态日期"
ROWS = ("P0001,2020-01-15,有效,", "P0002,2020-03-01,退保,2022-05-06", "P0003,2021-07-09,失效,2023-01-02")
STUDY = "统计截止日：2024-06-30"


@dataclass(frozen=True)
class Case:
    """One hostile input: its class, what it is for, how to make it, and what a sound door does with it."""

    name: str
    target: str  # "extract", "preset", "scenario" or "link"
    make: Callable[[bool], bytes]
    filename: str = "hostile.csv"
    expect: str = "either"


def _csv(header: str, rows: tuple[str, ...] = ROWS) -> bytes:
    return "\n".join([STUDY, header, *rows, ""]).encode("utf-8")


def duplicate_headers(big: bool) -> bytes:
    """The same header three times, and a header spelled like a made-up unique name."""
    return _csv(HEADER + ",备注,备注,备注.1,备注", tuple(r + ",a,b,c,d" for r in ROWS))


def canonical_beside_mapped(big: bool) -> bytes:
    """``policy_id`` and ``status`` as headers beside the Chinese columns mapped to them."""
    return _csv(HEADER + ",policy_id,status,issue_date", tuple(r + ",X9,lapsed,1999-01-01" for r in ROWS))


def internal_collision(big: bool) -> bytes:
    """Attribute columns named like the door's own columns."""
    names = ",observed_to,source_row,status_source,exit_date,attr"
    return _csv(HEADER + names, tuple(r + ",2030-01-01,x,y,z,w" for r in ROWS))


def _parquet(table: pa.Table, *, metadata: dict[bytes, bytes] | None = None, **options: object) -> bytes:
    if metadata is not None:
        table = table.replace_schema_metadata(metadata)
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)  # type: ignore[arg-type]
    return sink.getvalue()


def _policy_table(n: int = 3) -> pa.Table:
    return pa.table(
        {
            "保单号": [f"P{i:06d}" for i in range(n)],
            "生效日期": ["2020-01-15"] * n,
            "保单状态": ["有效"] * n,
        }
    )


def parquet_bad_pandas_metadata(big: bool) -> bytes:
    """``pandas`` metadata that is not JSON."""
    return _parquet(_policy_table(), metadata={b"pandas": b"{not json"})


def parquet_stale_pandas_metadata(big: bool) -> bytes:
    """``pandas`` metadata naming columns and an index the file no longer has."""
    stale = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [],
        "columns": [{"name": "gone", "field_name": "gone", "pandas_type": "categorical", "numpy_type": "int8", "metadata": None}],
        "pandas_version": "2.2.0",
    }
    return _parquet(_policy_table(), metadata={b"pandas": json.dumps(stale).encode()})


def parquet_binary_column(big: bool) -> bytes:
    """A column of raw bytes beside the policy columns."""
    table = _policy_table().append_column("blob", pa.array([b"\x00\xff", b"\x01", None], pa.binary()))
    return _parquet(table)


def parquet_nested_column(big: bool) -> bytes:
    """A column of lists of structs."""
    nested = pa.array([[{"a": 1}], [], None], pa.list_(pa.struct([("a", pa.int64())])))
    return _parquet(_policy_table().append_column("nested", nested))


def parquet_repeated_rows(big: bool) -> bytes:
    """Millions of identical rows in a tiny, run-length encoded file (200 million when big)."""
    n = 200_000_000 if big else 3_000_000
    chunk = 1_000_000
    table = pa.table(
        {"保单号": pa.array(["P1"] * chunk), "生效日期": pa.array(["2020-01-15"] * chunk), "保单状态": pa.array(["有效"] * chunk)}
    )
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, table.schema, compression="zstd") as writer:
        for _ in range(n // chunk):
            writer.write_table(table)
    return sink.getvalue()


def csv_huge_field(big: bool) -> bytes:
    """One quoted field of 200 MB (4 MB small)."""
    size = 200_000_000 if big else 4_000_000
    return _csv(HEADER + ",备注", ('P1,2020-01-15,有效,,"' + "x" * size + '"',))


def csv_many_short_rows(big: bool) -> bytes:
    """A policy header over ten million empty rows (1.2 million small): 20 MB of nothing."""
    n = 10_000_000 if big else 1_200_000
    return "\n".join([STUDY, HEADER, ""]).encode("utf-8") + b",,,\n" * n


def _xlsx(sheet_xml: str) -> bytes:
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return sink.getvalue()


def _sheet(dimension: str, rows: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )


def _inline_row(number: int, values: tuple[str, ...]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


_SHEET_ROWS = _inline_row(1, ("保单号", "生效日期", "保单状态")) + _inline_row(2, ("P1", "2020-01-15", "有效"))


def workbook_huge_dimension(big: bool) -> bytes:
    """A two-row sheet whose ``<dimension>`` claims every cell of a sheet."""
    return _xlsx(_sheet("A1:XFD1048576", _SHEET_ROWS))


def workbook_cell_at_row_limit(big: bool) -> bytes:
    """A policy table and one more cell at row 1,048,576 (the sheet's last row)."""
    return _xlsx(_sheet("A1:C1048576", _SHEET_ROWS + _inline_row(1_048_576, ("x",))))


def workbook_cell_beyond_limit(big: bool) -> bytes:
    """One cell at row 2,000,000, beyond any sheet."""
    return _xlsx(_sheet("A1:A2000000", _inline_row(2_000_000, ("x",))))


def workbook_bomb(big: bool) -> bytes:
    """A sheet of blank-cell rows that deflates a thousandfold (a 1 GB sheet when big)."""
    rows = 4_000_000 if big else 100_000
    body = _SHEET_ROWS + "".join(f'<row r="{r}"><c r="A{r}"/></row>' for r in range(3, rows))
    return _xlsx(_sheet("A1:C3", body))


def preset_dotted_keys(big: bool) -> bytes:
    """A preset of one dotted key of thousands of parts (80 KB when big)."""
    parts = 40_000 if big else 4_000
    return ("[settings]\n" + ".".join(["a"] * parts) + ' = "x"\n').encode()


def preset_deep_arrays(big: bool) -> bytes:
    """A preset value of arrays nested thousands deep."""
    depth = 100_000 if big else 5_000
    return ("[settings]\nsheet = " + "[" * depth + "]" * depth + "\n").encode()


def preset_deep_inline_tables(big: bool) -> bytes:
    """A preset value of inline tables nested thousands deep."""
    depth = 50_000 if big else 3_000
    return ("[settings]\nsheet = " + "{a=" * depth + "1" + "}" * depth + "\n").encode()


def preset_zoned_study_date(big: bool) -> bytes:
    """A study date with a time and a time zone."""
    return b"[settings]\nstudy_date = 2024-06-30T00:00:00+08:00\n"


def preset_huge(big: bool) -> bytes:
    """A preset of many status words (20 MB when big)."""
    n = 1_000_000 if big else 50_000
    return ("[status_values]\n" + "".join(f'"w{i}" = "lapsed"\n' for i in range(n))).encode()


def scenario_deep(big: bool) -> bytes:
    """Scenario JSON of arrays nested a hundred thousand deep."""
    depth = 1_000_000 if big else 100_000
    return b"[" * depth + b"]" * depth


def scenario_huge_integer(big: bool) -> bytes:
    """A take-up of ten thousand digits."""
    return ('{"name": "a", "take_up": 1' + "0" * 10_000 + "}").encode()


def scenario_not_utf8(big: bool) -> bytes:
    """Scenario JSON in GB18030."""
    return '{"name": "续期提醒"}'.encode("gb18030")


def scenario_many_entries(big: bool) -> bytes:
    """An array of two million scenarios (20,000 small)."""
    n = 2_000_000 if big else 20_000
    return ("[" + ",".join(['{"name": "a"}'] * n) + "]").encode()


def scenario_absurd_numbers(big: bool) -> bytes:
    """NaN, infinity and a negative take-up."""
    return b'[{"name": "a", "take_up": NaN}, {"name": "b", "cost_per_policy": 1e308}, {"name": "c", "take_up": -0.5}]'


EXTRACTS = (
    Case("duplicate_headers", "extract", duplicate_headers, expect="load"),
    Case("canonical_beside_mapped", "extract", canonical_beside_mapped, expect="load"),
    Case("internal_collision", "extract", internal_collision, expect="load"),
    Case("parquet_bad_pandas_metadata", "extract", parquet_bad_pandas_metadata, "x.parquet", expect="load"),
    Case("parquet_stale_pandas_metadata", "extract", parquet_stale_pandas_metadata, "x.parquet", expect="load"),
    Case("parquet_binary_column", "extract", parquet_binary_column, "x.parquet", expect="refuse"),
    Case("parquet_nested_column", "extract", parquet_nested_column, "x.parquet", expect="refuse"),
    Case("parquet_repeated_rows", "extract", parquet_repeated_rows, "x.parquet", expect="refuse"),
    Case("csv_huge_field", "extract", csv_huge_field, expect="either"),
    Case("csv_many_short_rows", "extract", csv_many_short_rows, expect="refuse"),
    Case("workbook_huge_dimension", "extract", workbook_huge_dimension, "x.xlsx", expect="either"),
    Case("workbook_cell_at_row_limit", "extract", workbook_cell_at_row_limit, "x.xlsx", expect="either"),
    Case("workbook_cell_beyond_limit", "extract", workbook_cell_beyond_limit, "x.xlsx", expect="refuse"),
    Case("workbook_bomb", "extract", workbook_bomb, "x.xlsx", expect="either"),
)
PRESETS = (
    Case("preset_dotted_keys", "preset", preset_dotted_keys, "p.toml", expect="refuse"),
    Case("preset_deep_arrays", "preset", preset_deep_arrays, "p.toml", expect="refuse"),
    Case("preset_deep_inline_tables", "preset", preset_deep_inline_tables, "p.toml", expect="refuse"),
    Case("preset_zoned_study_date", "preset", preset_zoned_study_date, "p.toml", expect="either"),
    Case("preset_huge", "preset", preset_huge, "p.toml", expect="refuse"),
)
SCENARIOS = (
    Case("scenario_deep", "scenario", scenario_deep, "s.json", expect="refuse"),
    Case("scenario_huge_integer", "scenario", scenario_huge_integer, "s.json", expect="refuse"),
    Case("scenario_not_utf8", "scenario", scenario_not_utf8, "s.json", expect="refuse"),
    Case("scenario_many_entries", "scenario", scenario_many_entries, "s.json", expect="refuse"),
    Case("scenario_absurd_numbers", "scenario", scenario_absurd_numbers, "s.json", expect="refuse"),
)
CASES = EXTRACTS + PRESETS + SCENARIOS
