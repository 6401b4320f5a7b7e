"""Side tables read beside the extract — a campaign list, a payment history — through the same door.

What every side table shares: its cells are read as text in the guard's worker
(:func:`analysis.ingest.guard.guarded_table`), its columns are found by header synonyms
compared as :func:`~analysis.ingest.headers.header_key` does, a required column missing is a
refusal naming what was found, and every row ends in the account as ``accepted``,
``repaired`` (the first repair rule that fits) or ``rejected`` (the first rejection rule that
fits, which overrides a repair), with its source row number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.ingest.guard import guarded_table
from analysis.ingest.headers import header_key
from analysis.ingest.ledger import REJECTED, REPAIRED

ACCEPTED: Final = "accepted"
__all__ = [
    "ACCEPTED",
    "REJECTED",
    "REPAIRED",
    "WORKBOOK_SUFFIXES",
    "read_side_cells",
    "row_outcomes",
    "side_columns",
    "side_text",
    "stripped_text",
]
#: Files whose cells may be number cells (a long policy number in one has lost its last digits).
WORKBOOK_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls")
#: Headers shown when a required column is missing.
HEADERS_SHOWN: Final = 20
#: Every character Python's ``str.strip`` removes (those of ``str.isspace``; a test holds the list to it), for the trim in Arrow.
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


#: A cell whose text is one of these is blank (pandas' words for a missing date and a missing value).
BLANK_WORDS: Final = ("NaT", "<NA>")


def cell_text(value: Any) -> str | None:
    """A raw cell as text: blank as None, a date as ``YYYY-MM-DD`` (with its time when it has one), a whole float without ``.0``."""
    import datetime as dt
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in BLANK_WORDS:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def column_text(values: Any) -> Any:
    """A raw column as :func:`cell_text` gives each cell, as Arrow text.

    A column of text (a CSV's, or a workbook's text cells) is taken as it is, in Arrow, with only
    the rule of :func:`cell_text` that applies to text (``NaT`` and ``<NA>`` are blanks); any
    other column goes cell by cell.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return pa.chunked_array([pa.array([cell_text(v) for v in values.astype(object)], type=pa.string())])
    text = pa.array(values.array, type=pa.string(), from_pandas=True)
    text = text if isinstance(text, pa.ChunkedArray) else pa.chunked_array([text])
    return pc.if_else(pc.is_in(text, value_set=pa.array(BLANK_WORDS)), pa.scalar(None, pa.string()), text)


def side_columns(headers: Sequence[str], synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Column → the header that holds it, by ``synonyms`` (first matching header; each header used once)."""
    keys = {h: header_key(h) for h in headers}
    found: dict[str, str] = {}
    for column, words in synonyms.items():
        wanted = {header_key(w) for w in words}
        match = next((h for h in headers if keys[h] in wanted and h not in found.values()), None)
        if match is not None:
            found[column] = match
    return found


def read_side_cells(
    source: bytes | str | Path, *, filename: str | None = None, sheet: str | int | None = None
) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """A side table's cells as text, their source row numbers, and whether they came from a workbook's cells."""
    cells, rows = guarded_table(source, filename=filename, sheet=sheet)
    name = str(filename or (source if isinstance(source, (str, Path)) else "")).lower()
    return cells, np.asarray(rows, dtype=np.int64), name.endswith(WORKBOOK_SUFFIXES)


def side_text(
    cells: pd.DataFrame, synonyms: Mapping[str, Sequence[str]], required: Sequence[str]
) -> tuple[dict[str, str], dict[str, pd.Series], dict[str, str]]:
    """The headers found, each found column's stripped text (blank as missing), and the particulars of a refusal.

    The last item is empty when every ``required`` column was found; otherwise it names the
    missing columns (``columns``) and the headers found (``found``), for the caller's
    ``missing_columns`` refusal.
    """
    headers = side_columns([str(c) for c in cells.columns], synonyms)
    missing = [c for c in required if c not in headers]
    refusal = {}
    if missing:
        refusal = {"columns": ", ".join(missing), "found": ", ".join(str(c) for c in cells.columns[:HEADERS_SHOWN]) or "-"}
    return headers, {c: stripped_text(cells[headers[c]]) for c in headers}, refusal


def stripped_text(values: pd.Series) -> pd.Series:
    """Each cell without the whitespace around it (exactly what ``str.strip`` removes), a blank as missing, as ``string``.

    Trimmed in Arrow over the cells' whole column rather than cell by cell in Python: the same
    characters (:data:`WHITESPACE`, which also holds the separators U+001C–U+001F that Arrow's
    own ``utf8_trim_whitespace`` keeps) at a fraction of the time on a million-row history.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
    text = pa.array(values.array if arrow else values.astype("string").array)
    text = pc.utf8_trim(text, characters=WHITESPACE)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype="string", name=values.name)


def row_outcomes(
    index: pd.Index, repairs: Sequence[tuple[str, np.ndarray]], rejections: Sequence[tuple[str, np.ndarray]]
) -> tuple[pd.Series, pd.Series]:
    """Each row's ``(outcome, reason)``: the first repair that fits, overridden by the first rejection that fits."""
    outcome = pd.Series(ACCEPTED, index=index, dtype="object")
    reason = pd.Series(pd.NA, index=index, dtype="object")
    for code, hit in repairs:
        new = hit & reason.isna().to_numpy()
        reason[new], outcome[new] = code, REPAIRED
    for code, hit in rejections:
        new = hit & (outcome != REJECTED).to_numpy()
        reason[new], outcome[new] = code, REJECTED
    return outcome, reason
