"""The ledger of a load: every problem of a source row, and every note on a whole column.

Each step of the door (:mod:`analysis.ingest.pipeline`) writes what it did here:
a problem names the source row, the column (its source header), a ``kind`` code,
the ``action`` taken (rejected, repaired or flagged), the value as written and a
detail; a note says what happened to a whole column (values reformatted, a column
derived or left out). The row account (accepted, repaired, rejected) is read off
the problems at the end.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from analysis.ingest.text import TEXT
from analysis.report.catalogue import translate

PROBLEM_COLUMNS = ["row", "column", "kind", "action", "value", "detail"]
#: ``note`` is the catalogue key of the text (``note.<note>``) and ``params`` fills it, so the page can show it in 中文.
NOTE_COLUMNS = ["column", "kind", "count", "detail", "note", "params"]
#: What happened to a row with a problem: left out, kept with a value changed, or kept as it was with a warning.
REJECTED, REPAIRED, FLAGGED = "rejected", "repaired", "flagged"
#: A source value is quoted in a detail up to this many characters.
_SHOWN_CHARS = 60

#: One column note: (column, kind, count, English text, catalogue note, its parameters).
Note = tuple[str, str, int, str, str, dict[str, str]]


def column_note(column: str, kind: str, count: int, note: str, **params: object) -> Note:
    """One column note: its English text from the catalogue, and the key and values to show it in another language."""
    values = {name: str(value) for name, value in params.items()}
    return (column, kind, int(count), translate(f"note.{note}", "en", **values), note, values)


class Ledger:
    """Collects per-row problems as whole-column masks: no loop over rows.

    ``rows`` are the source row numbers of the policy rows; a problem is recorded
    at the position of its row among them.
    """

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []
        self.notes: list[Note] = []

    def add(
        self,
        mask: pd.Series | np.ndarray,
        *,
        column: str,
        kind: str,
        action: str,
        detail: str | Callable[[np.ndarray], pd.Series],
        value: pd.Series | None = None,
    ) -> None:
        """Record a problem for every row where ``mask`` is true.

        ``detail`` is a text in which ``{value}`` stands for the quoted source
        value, or a function of the row positions; either way it is only
        built for the flagged rows.
        """
        where = np.asarray(mask, dtype=bool)
        if not where.any():
            return
        positions = np.flatnonzero(where)
        n = len(positions)
        shown = shown_values(value.iloc[positions]) if value is not None else pd.Series([""] * n, dtype=TEXT)
        if callable(detail):
            texts = np.asarray(detail(positions).astype(TEXT).fillna(""), dtype=object)
        elif "{value}" in detail:
            before, after = detail.split("{value}", 1)
            texts = np.asarray(before + "'" + shown.str.slice(0, _SHOWN_CHARS) + "'" + after, dtype=object)
        else:
            texts = np.full(n, detail, dtype=object)
        self.parts.append(
            pd.DataFrame(
                {
                    "position": positions,
                    "row": self.rows[positions],
                    "column": column,
                    "kind": kind,
                    "action": action,
                    "value": np.asarray(shown, dtype=object),
                    "detail": texts,
                }
            )
        )

    def note(self, column: str, kind: str, count: int, note: str, **params: object) -> None:
        """A note on a whole column; its English text is the catalogue's ``note.<note>`` filled with ``params``."""
        if count:
            self.notes.append(column_note(column, kind, count, note, **params))

    def frame(self) -> pd.DataFrame:
        """The problems so far, ``[position, row, column, kind, action, value, detail]``, by source row."""
        if not self.parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c in ("position", "row") else "object") for c in ["position", *PROBLEM_COLUMNS]}
            )
        frame = pd.concat(self.parts, ignore_index=True)
        return frame.sort_values(["row", "column"], kind="stable").reset_index(drop=True)

    def rejected_positions(self) -> np.ndarray:
        """Positions of the rows rejected so far."""
        problems = self.frame()
        return problems.loc[problems["action"] == REJECTED, "position"].to_numpy(dtype=np.int64)


def shown_values(values: pd.Series) -> pd.Series:
    """Source values as the text a user would recognise (dates as YYYY-MM-DD)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return format_dates(values)
    return values.astype(TEXT).fillna("").reset_index(drop=True)


def format_dates(values: pd.Series) -> pd.Series:
    """Dates as ``YYYY-MM-DD`` text (missing ones as ""), indexed from 0."""
    return values.dt.strftime("%Y-%m-%d").astype(TEXT).fillna("").reset_index(drop=True)
