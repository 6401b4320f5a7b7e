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
from typing import Final, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.ingest.guard import guarded_table
from analysis.ingest.headers import header_key
from analysis.ingest.ledger import REJECTED, REPAIRED

ACCEPTED: Final = "accepted"
__all__ = ["ACCEPTED", "REJECTED", "REPAIRED", "WORKBOOK_SUFFIXES", "read_side_cells", "row_outcomes", "side_columns", "side_text"]
#: Files whose cells may be number cells (a long policy number in one has lost its last digits).
WORKBOOK_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls")
#: Headers shown when a required column is missing.
HEADERS_SHOWN: Final = 20


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
    return headers, {c: cells[headers[c]].astype("string").str.strip().replace("", pd.NA) for c in headers}, refusal


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
