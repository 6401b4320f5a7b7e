"""Safe spreadsheet exports: formula injection neutralised, identifiers masked.

Every export in LapseLens goes through :func:`neutralise` and :func:`mask_identifiers`
(from :mod:`analysis.personal`; unless the user opts out).
"""

from __future__ import annotations

import io
import re
from typing import Any, Final, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.personal import map_text, mask_identifiers, mask_value

__all__ = [
    "COUNT_FORMAT",
    "EXPOSURE_FORMAT",
    "FACTOR_FORMAT",
    "FORMULA_TRIGGERS",
    "MONEY_FORMAT",
    "PERCENT_FORMAT",
    "POINTS_FORMAT",
    "inert_json",
    "inert_text",
    "is_formula",
    "mask_identifiers",
    "mask_value",
    "neutralise",
    "to_csv_bytes",
    "write_workbook",
]

#: A text cell starting with one of these is read as a formula by spreadsheet programs:
#: ``= + - @``, their full-width (＝ ＋ － ＠) and small (﹦ ﹢ ﹣ ﹫) forms, the minus sign,
#: a tab or a carriage return.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", "﹦", "﹢", "﹣", "﹫", "−")
#: What a spreadsheet may skip before a formula: spaces, line breaks, zero-width and
#: direction marks, the byte-order mark (so ``\u200b=cmd|…`` is a formula too). The
#: characters themselves, not escapes, so Arrow's regular expressions read them as well.
_INVISIBLE: Final = "\\s\u00a0\u00ad\u180e\u200b-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff"
_INVISIBLE_LEAD: Final = re.compile(f"^[{_INVISIBLE}]*")
#: Cells worth a closer look (:func:`is_formula` decides), found in one vectorised pass.
_MAYBE_FORMULA: Final = f"^[{_INVISIBLE}]*[=+\\-@＝＋－＠﹦﹢﹣﹫−]|^[\\t\\r]"
#: A number written as text, plain or formatted for reading (``-12.5``, ``+3``, ``1e-3``,
#: ``-¥1,234``, ``-12.2%``): a value, not a formula, so it is shown as it is.
_PLAIN_NUMBER: Final = re.compile("[+\\-\u2212]?\\s*[¥$€£]?\\s*(?:[0-9][0-9,]*(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?\\s*[%‰]?")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula (a plain number, negative or not, is a value)."""
    if text.startswith(("\t", "\r")):
        return True
    lead = _INVISIBLE_LEAD.match(text)
    rest = text[lead.end() :] if lead else text
    return rest.startswith(FORMULA_TRIGGERS) and _PLAIN_NUMBER.fullmatch(rest.rstrip()) is None


def inert_text(text: str) -> str:
    """One text as a spreadsheet may read it: an apostrophe before a formula (:func:`is_formula`)."""
    return "'" + text if is_formula(text) else text


def inert_json(value: Any) -> Any:
    """Every text value of a JSON-like object (dicts, lists) through :func:`inert_text`; keys are codes and stay."""
    if isinstance(value, str):
        return inert_text(value)
    if isinstance(value, dict):
        return {key: inert_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [inert_json(item) for item in value]
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as formulas with an apostrophe.

    Numbers stay numbers, and so does a plain number written as text (``-12.5``: a
    negative premium is not a formula); text cells beginning with ``= + - @`` (also in
    their full-width forms, and after spaces or zero-width characters), a tab or a
    carriage return change, in categorical columns and headers too. Returns a new frame;
    the input is not modified.
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        out.isetitem(position, map_text(frame.iloc[:, position], inert_text, where=_MAYBE_FORMULA).array)
    renamed = {c: inert_text(c) for c in out.columns if isinstance(c, str) and is_formula(c)}
    return out.rename(columns=renamed)


#: Excel's number format for money: whole yuan with thousands separators (the cell stays a number).
MONEY_FORMAT: Final = '"¥"#,##0;-"¥"#,##0'
#: Percentages with one decimal everywhere (``ui.formats.PERCENT_DECIMALS``: 12.2 %, never 12.2 % beside 10.13 %).
PERCENT_FORMAT: Final = "0.0%"
#: Whole policies (or events) with thousands separators.
COUNT_FORMAT: Final = "#,##0"
#: Exposure in policy-years: one decimal, thousands separators.
EXPOSURE_FORMAT: Final = "#,##0.0"
#: A change in percentage points, signed, with the percentages' one decimal.
POINTS_FORMAT: Final = "+0.0;-0.0;0.0"
#: A factor between 0 and 1 that is not a share (credibility): two decimals.
FACTOR_FORMAT: Final = "0.00"


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    *,
    notes: Mapping[str, Sequence[str]] | None = None,
    percent: Sequence[str] = (),
    money: Sequence[str] = (),
    number_formats: Mapping[str, str] | None = None,
) -> bytes:
    """Write frames to one formatted ``.xlsx`` (bold frozen header, sized columns).

    Every frame is neutralised first. ``notes`` adds lines of text above a
    sheet's table (for example what the numbers mean); columns whose header is
    in ``percent`` are shown as percentages, those in ``money`` as whole yuan
    (:data:`MONEY_FORMAT`), and a header in ``number_formats`` takes its own Excel number
    format (``0" 天后到期";"逾期 "0" 天"``: days in words); the cells stay numbers.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    ) as writer:
        book = writer.book
        header_format = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "valign": "top"})
        percent_format = book.add_format({"num_format": PERCENT_FORMAT})
        money_format = book.add_format({"num_format": MONEY_FORMAT})
        own_formats = {column: book.add_format({"num_format": text}) for column, text in (number_formats or {}).items()}
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
                number_format = percent_format if column in percent else money_format if column in money else own_formats.get(column)
                sheet.set_column(j, j, float(np.clip(width * 1.3 + 2, 8, 60)), number_format)
            sheet.freeze_panes(start + 1, 0)
    return buffer.getvalue()


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (so Excel shows Chinese intact), neutralised."""
    return neutralise(frame).to_csv(index=False).encode("utf-8-sig")
