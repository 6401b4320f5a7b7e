"""The side tables' cells as text: the worker's column-wise text and the trim equal the cell-by-cell rules they replace."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.ingest import guard
from analysis.ingest.side_tables import WHITESPACE, cell_text, column_text, stripped_text

# Every character str.strip removes, around, inside and alone; text that only looks blank; the words pandas writes for blanks.
HOSTILE = [
    " a ",
    "\x1c保单\x1f",
    "\u3000\u00a0A1\u2028",
    "\x85",
    "\u200b=1",
    "a\tb",
    "",
    "   ",
    None,
    "NaT",
    "<NA>",
    "nan",
    "ＡＢ　",
    "\x00x\x00",
]


def test_the_whitespace_list_is_what_str_strip_removes() -> None:
    assert WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


@pytest.mark.parametrize("dtype", ["object", "string", "string[pyarrow]"])
def test_the_trim_equals_str_strip_with_blanks_as_missing(dtype: str) -> None:
    values = pd.Series(HOSTILE, dtype=dtype, index=pd.RangeIndex(10, 10 + len(HOSTILE)), name="保单号")
    expected = pd.Series(
        [None if v is None or not v.strip() else v.strip() for v in HOSTILE], dtype="string", index=values.index, name="保单号"
    )
    pd.testing.assert_series_equal(stripped_text(values), expected)


@pytest.mark.parametrize(
    "cells",
    [
        pd.Series(HOSTILE, dtype="object"),
        pd.Series(HOSTILE, dtype="string[pyarrow]"),
        pd.Series([None, None, None], dtype="object"),
        pd.Series([], dtype="object"),
        pd.Series([1.0, np.nan, 2.5, 1e15, 3e20], dtype="float64"),
        pd.Series(
            ["A1", 12345678.0, None, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 9, 30), dt.date(2023, 5, 6), True], dtype="object"
        ),
        pd.Series(["x", pd.NaT, b"bytes", np.nan], dtype="object"),
        pd.Series(pd.to_datetime(["2024-01-31", None]), dtype="datetime64[ns]"),
        pd.Series([1, None], dtype="Int64"),
    ],
)
def test_a_column_as_text_equals_each_cell_as_text(cells: pd.Series) -> None:
    assert column_text(cells).to_pylist() == [cell_text(v) for v in cells.astype(object)]


def test_the_cells_cross_from_the_worker_as_they_were_written(tmp_path) -> None:
    cells = pd.DataFrame(
        {"保单号": pd.arrays.ArrowStringArray(column_text(pd.Series(HOSTILE, dtype="object"))), "空": [None] * len(HOSTILE)}
    )
    cells["空"] = pd.arrays.ArrowStringArray(column_text(cells["空"]))
    rows = np.arange(2, 2 + len(HOSTILE))
    guard._write_cells(cells, rows, tmp_path / "cells.arrow")
    back, back_rows = guard._read_cells(tmp_path / "cells.arrow")
    assert list(back.columns) == ["保单号", "空"] and back_rows.tolist() == rows.tolist()
    assert back["保单号"].tolist() == [cell_text(v) if cell_text(v) is not None else pd.NA for v in HOSTILE]
    assert back["空"].isna().all()
