"""Safe spreadsheet exports: formula injection neutralised, identifiers masked.

Every export in LapseLens goes through :func:`neutralise` and, where a frame
holds personal identifiers, :func:`mask_identifiers` (unless the user opts out).
"""

from __future__ import annotations

import io
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.schema import PERSONAL_COLUMNS

#: A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as formulas with an apostrophe.

    Numbers stay numbers (a negative premium is not a formula); only text
    cells beginning with ``= + - @``, a tab or a carriage return change.
    Returns a new frame; the input is not modified.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype("string")
            risky = text.str.startswith(FORMULA_TRIGGERS, na=False)
            risky &= series.map(lambda v: isinstance(v, str)).astype(bool)
            if risky.any():
                out[column] = series.astype(object).where(~risky, "'" + text)
    renamed = {c: "'" + c for c in out.columns if isinstance(c, str) and c.startswith(FORMULA_TRIGGERS)}
    return out.rename(columns=renamed)


def mask_value(text: str) -> str:
    """Mask a personal identifier, keeping its first and last characters (张** / 138****5678)."""
    if len(text) <= 1:
        return "*"
    if len(text) <= 3:
        return text[0] + "*" * (len(text) - 1)
    keep = 3 if len(text) >= 7 else 1
    tail = 4 if len(text) >= 11 else 1
    return text[:keep] + "*" * (len(text) - keep - tail) + text[-tail:]


def mask_identifiers(frame: pd.DataFrame, columns: Sequence[str] = PERSONAL_COLUMNS) -> pd.DataFrame:
    """Mask the personal-identifier columns of a frame (names, phones, ID numbers)."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            values = out[column]
            out[column] = values.map(lambda v: mask_value(str(v)) if isinstance(v, str) and v else v)
    return out


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    *,
    notes: Mapping[str, Sequence[str]] | None = None,
    percent: Sequence[str] = (),
) -> bytes:
    """Write frames to one formatted ``.xlsx`` (bold frozen header, sized columns).

    Every frame is neutralised first. ``notes`` adds lines of text above a
    sheet's table (for example what the numbers mean); columns whose header is
    in ``percent`` are shown as percentages.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    ) as writer:
        book = writer.book
        header_format = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "valign": "top"})
        percent_format = book.add_format({"num_format": "0.0%"})
        for name, frame in sheets.items():
            safe = neutralise(frame)
            sheet_name = name[:31]
            lines = list((notes or {}).get(name, ()))
            start = len(lines) + (1 if lines else 0)
            safe.to_excel(writer, sheet_name=sheet_name, index=False, startrow=start)
            sheet = writer.sheets[sheet_name]
            for i, line in enumerate(lines):
                sheet.write_string(i, 0, line)
            for j, column in enumerate(safe.columns):
                sheet.write(start, j, str(column), header_format)
                values = safe[column].astype("string").fillna("")
                width = max([len(str(column))] + values.head(500).str.len().tolist()) if len(values) else len(str(column))
                sheet.set_column(j, j, float(np.clip(width * 1.3 + 2, 8, 60)), percent_format if column in percent else None)
            sheet.freeze_panes(start + 1, 0)
    return buffer.getvalue()


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (so Excel shows Chinese intact), neutralised."""
    return neutralise(frame).to_csv(index=False).encode("utf-8-sig")
