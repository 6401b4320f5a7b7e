"""The raw table every reader hands over: cells below the header, with their source row numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np
import pandas as pd

#: The header is looked for among this many rows (or CSV records) at the top of a sheet.
PREAMBLE_LINES = 60


def _arrow_text_types() -> dict[Any, Any]:
    import pyarrow as pa

    return {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


#: Arrow string columns become Arrow-backed pandas text, without a copy.
ARROW_TEXT = _arrow_text_types()


class NumberCells(Protocol):
    """Which cells of a workbook column were number cells (text read back from a number, not text as typed)."""

    def __call__(self, position: int, rows: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """For the cells of the column at ``position`` in the source ``rows`` (read as ``texts``): True where a number cell."""
        ...

    def release(self) -> None:
        """Let go of the workbook kept to answer (once the door no longer asks)."""
        ...


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
    bad_rows : list of (int, str, int)
        Rows the reader could not split into the header's columns:
        ``(row, text, fields)``, ``fields`` being the number of fields found.
    renamed_headers : list of (str, str)
        Duplicate or blank headers and the unique names given to them.
    other_encoding_rows : tuple of int
        In a CSV mixing UTF-8 and GB18030 lines, the lines decoded as GB18030.
    number_cells : NumberCells or None
        A workbook's: which cells of a column were number cells (None for CSV and Parquet,
        whose cells carry no type).
    ignored_metadata : bool
        A Parquet file's pandas metadata was malformed or named columns it lacks, and was ignored.
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
    bad_rows: list[tuple[int, str, int]] = field(default_factory=list)
    renamed_headers: list[tuple[str, str]] = field(default_factory=list)
    other_encoding_rows: tuple[int, ...] = ()
    number_cells: NumberCells | None = None
    #: A Parquet file's pandas metadata was damaged or stale and was ignored (the account says so).
    ignored_metadata: bool = False


def unique_headers(header: Sequence[object]) -> tuple[list[str], list[tuple[str, str]]]:
    """The header cells as unique names (``备注``, ``备注.1``; ``column_3`` for a blank one), and the renamings."""
    names: list[str] = []
    renamed: list[tuple[str, str]] = []
    cleaned = [re.sub(r"\s+", " ", "" if cell is None else str(cell).strip()) for cell in header]
    # A header keeps its name the first time; a copy or a blank gets a made-up name that no
    # header of the file has (备注, 备注, 备注.1 → 备注, 备注.2, 备注.1).
    reserved, used, counters = set(cleaned), set(), dict[str, int]()
    for position, original in enumerate(cleaned):
        name = original or f"column_{position + 1}"
        if name in used or (not original and name in reserved):
            base = name
            while name in used or name in reserved:
                counters[base] = counters.get(base, 0) + 1
                name = f"{base}.{counters[base]}"
        used.add(name)
        names.append(name)
        if name != original:
            renamed.append((original, name))
    return names, renamed
