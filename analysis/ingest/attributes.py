"""Unmapped source columns, kept under their own headers as cohort attributes (numbers where all are numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest.intake import Intake
from analysis.ingest.parsing import PLAIN_NUMBER, to_float
from analysis.ingest.text import TEXT, arrow_text, strip_needed, stripped_text
from analysis.personal import holds_identifiers, identifier_text, looks_like_identifier, personal_kind

#: A column is read as numbers only if its first values (this many) all are.
_NUMBER_PROBE = 1000


def _stays_text(header: object, text: pd.Series) -> bool:
    """Whether a column of digits holds identifiers, so must stay text (an ID number as a float loses digits)."""
    return personal_kind(header) is not None or holds_identifiers(text)


def attribute(column: pd.Series) -> pd.Series:
    """An unmapped source column as a cohort attribute: numbers where all are numbers.

    A column of names, phone or ID numbers (by its header, the Series' name, or its values)
    stays text; read as numbers (a Parquet ``int64``), it becomes text of whole numbers.
    """
    if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
        return identifier_text(column) if personal_kind(column.name) is not None else column
    text = stripped_text(column)
    probe = text.dropna().head(_NUMBER_PROBE)
    if len(probe) == 0 or to_float(probe).isna().any() or _stays_text(column.name, probe):
        return text
    numbers = to_float(text)
    if text.notna().any() and numbers.notna().sum() == text.notna().sum():
        return numbers.astype("float64")
    return text


#: From this many unmapped columns on (in an extract of at most so many rows), they are
#: read as attributes in one pass.
WIDE_COLUMNS, WIDE_ROWS = 64, 20_000


def attributes(cells: pd.DataFrame, headers: list[str]) -> dict[str, pd.Series]:
    """:func:`attribute` of many text columns at once, on one Arrow array of all their cells.

    Gives what :func:`attribute` gives column by column (a column that only
    Arrow's lenient cast could read, with ``inf`` or ``nan`` words, is handed to it).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {h: cells[h] for h in headers}
    texts = {h: c for h, c in columns.items() if c.dtype == object or pd.api.types.is_string_dtype(c)}
    if not texts or len(cells) == 0:
        return {}
    n, names = len(cells), list(texts)
    chunks = []
    for h in names:
        array = texts[h].array._pa_array if texts[h].dtype == TEXT else arrow_text(texts[h])
        chunks += [c.cast(pa.large_string()) for c in (array.chunks if isinstance(array, pa.ChunkedArray) else [array])]
    stacked = pa.chunked_array(chunks, type=pa.large_string()).combine_chunks()
    # Per column, as stripped_text decides: strip every value if one needs it, else none.
    needed = strip_needed(pd.Series(pd.arrays.ArrowStringArray(stacked))).reshape(len(names), n).any(axis=1)
    if needed.any():
        trimmed = pc.utf8_trim_whitespace(stacked)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)
        stacked = pc.if_else(pa.array(np.repeat(needed, n)), trimmed, stacked)
    # to_float, value by value: a plain number (its regular expression), cast.
    plain = pc.utf8_trim_whitespace(stacked)
    valid = pc.fill_null(pc.match_substring_regex(plain, PLAIN_NUMBER), False)
    numbers = np.asarray(pc.cast(pc.if_else(valid, plain, pa.scalar(None, pa.large_string())), pa.float64()).to_numpy(zero_copy_only=False))
    present = np.asarray(pc.is_valid(stacked).to_numpy(zero_copy_only=False)).reshape(len(names), n)
    valid_matrix = np.asarray(valid.to_numpy(zero_copy_only=False)).reshape(len(names), n)
    numeric = present.any(axis=1) & (valid_matrix == present).all(axis=1)
    lenient = pc.fill_null(pc.match_substring_regex(plain, r"^[0-9+\-.eEiInNfFtTyYaA()]*$"), True)
    unsure = ~numeric & np.asarray(lenient.to_numpy(zero_copy_only=False)).reshape(len(names), n).all(axis=1)
    maybe_identifiers = numeric & _first_looks_like_identifier(stacked, present)

    def text(position: int) -> pd.Series:
        return pd.Series(pd.arrays.ArrowStringArray(stacked[position * n : (position + 1) * n]), index=cells.index, dtype=TEXT)

    result: dict[str, pd.Series] = {}
    for position, header in enumerate(names):
        if unsure[position]:
            continue  # left to attribute
        # numbers unless attribute's _stays_text says otherwise (its first look at the values taken for all columns at once)
        column = text(position) if maybe_identifiers[position] else None  # built once, looked at, and kept if it stays text
        identifiers = column is not None and holds_identifiers(column.dropna().head(_NUMBER_PROBE))
        if numeric[position] and personal_kind(header) is None and not identifiers:
            result[header] = pd.Series(numbers[position * n : (position + 1) * n], index=cells.index, dtype="float64")
        else:
            result[header] = column if column is not None else text(position)
    return result


def _first_looks_like_identifier(stacked: Any, present: np.ndarray) -> np.ndarray:
    """Per column (a row of ``present``, its cells a run of ``stacked``), whether its first value present is a phone or ID number.

    The first look :func:`~analysis.personal.holds_identifiers` takes at :func:`attribute`'s
    probe, for every column in one pass: a file of 10,000 columns is not asked 10,000 times.
    """
    import pyarrow as pa

    n = present.shape[1]
    has = np.flatnonzero(present.any(axis=1))
    firsts = stacked.take(pa.array(has * n + present[has].argmax(axis=1))).to_pylist()
    out = np.zeros(present.shape[0], dtype=bool)
    out[has] = [looks_like_identifier(value) for value in firsts]
    return out


def keep_attributes(intake: Intake) -> None:
    """Keep every unmapped source column under its own header, as a cohort attribute.

    Reads the source columns no canonical column was read from (a date column found
    without dates included). Writes each to ``intake.out`` (as ``<header> (source)``
    when the header is a canonical column's name) and lists them in ``intake.attributes``.
    """
    for header in intake.unmapped():
        name = header if header not in intake.out else f"{header} (source)"
        if header in intake.wide_attributes:
            intake.out[name] = intake.wide_attributes[header]
        else:
            intake.out[name] = intake.ahead.result(("attribute", header), attribute, intake.cells[header])
        intake.attributes.append(name)
