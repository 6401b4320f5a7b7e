"""Vectorised parsers for the values found in real policy extracts.

Each parser takes a Series of source text (``None`` or ``""`` for blank) and
returns a :class:`Parsed`: the parsed values, a mask of the non-blank values it
could not parse, and how many values needed more than the plain reading
(another date format, a currency sign, full-width digits...). No parser loops
over rows in Python except over the few distinct values of a code column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

#: Text columns are Arrow-backed: string methods run in Arrow's compute kernels.
TEXT = pd.StringDtype("pyarrow")

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９．，－／：＋　（）％",
    "0123456789.,-/:+ ()%",
)
_EXCEL_1900 = pd.Timestamp("1899-12-30")
_EXCEL_1904 = pd.Timestamp("1904-01-01")
# Excel serials we accept as dates: 1950-01-01 .. 2100-12-31 in the 1900 system.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415


@dataclass(frozen=True)
class Parsed:
    """Result of parsing one column.

    Attributes
    ----------
    values : pandas.Series
        Parsed values, same index as the input; missing where blank or invalid.
    invalid : pandas.Series
        Boolean mask: the source was not blank but could not be parsed.
    reformatted : int
        Number of values that were parsed only after normalising their form.
    """

    values: pd.Series
    invalid: pd.Series
    reformatted: int


def _by_distinct(raw: pd.Series, parse: Callable[[pd.Series], tuple[pd.Series, pd.Series, pd.Series]]) -> Parsed:
    """Parse each distinct value once and spread the results back over the rows.

    Extract columns repeat themselves (a million policies hold a few thousand
    issue dates), so parsing the distinct values is far cheaper than the rows.
    ``parse`` returns (values, invalid, reformatted) masks for its input.
    """
    if len(raw) >= 20_000:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        if len(uniques) <= len(raw) // 4:
            values, invalid, reformatted = parse(pd.Series(uniques, dtype=raw.dtype))
            missing = codes < 0
            safe = np.where(missing, 0, codes)
            spread = values.to_numpy()[safe] if len(values) else np.full(len(raw), np.nan)
            out = pd.Series(spread, index=raw.index, dtype=values.dtype)
            out[missing] = None
            bad = np.where(missing, False, invalid.to_numpy(dtype=bool)[safe] if len(values) else False)
            changed = np.where(missing, False, reformatted.to_numpy(dtype=bool)[safe] if len(values) else False)
            return Parsed(out, pd.Series(bad, index=raw.index), int(changed.sum()))
    values, invalid, reformatted = parse(raw)
    return Parsed(values, invalid, int(reformatted.sum()))


_PLAIN_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def to_float(values: pd.Series) -> pd.Series:
    """Values as float64; anything that is not a plain number becomes NaN.

    Runs in Arrow's compute kernels for Arrow-backed text (a validity regex,
    then a cast), which is several times faster than ``pd.to_numeric``.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.utf8_trim_whitespace(arrow_text(values))
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    try:
        numbers = pc.cast(array, pa.float64())  # the common case: every value is a plain number
    except pa.ArrowInvalid:
        valid = pc.match_substring_regex(array, _PLAIN_NUMBER)
        numbers = pc.cast(pc.if_else(valid, array, pa.scalar(None, pa.string())), pa.float64())
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")


def arrow_text(values: pd.Series) -> Any:
    """The values as one pyarrow string array (no copy for Arrow-backed text)."""
    import pyarrow as pa

    text = values.astype(TEXT)
    chunked = pa.chunked_array(text.array._pa_array) if hasattr(text.array, "_pa_array") else pa.chunked_array([pa.array(text.array)])
    return chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)


def normalise_key(value: object) -> str:
    """Return the lookup key for a code word: half-width, lower case, no spaces."""
    text = str(value).translate(_FULLWIDTH).strip().lower()
    return re.sub(r"\s+", "", text)


def blank_mask(raw: pd.Series) -> pd.Series:
    """Return True where a source cell is empty (None, NaN or only spaces)."""
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        import pyarrow.compute as pc

        array = arrow_text(raw)
        blank = pc.or_kleene(pc.is_null(array), pc.equal(pc.utf8_trim_whitespace(array), ""))
        return pd.Series(blank.to_numpy(zero_copy_only=False), index=raw.index, dtype=bool)
    return raw.isna()


def stripped_text(raw: pd.Series) -> pd.Series:
    """Values as Arrow text without surrounding spaces; blank cells become missing.

    Columns that need no change are returned without a copy.
    """
    import pyarrow.compute as pc

    text = raw.astype(TEXT)
    array = arrow_text(text)
    needs = pc.any(pc.equal(array, "")).as_py()
    for space in (" ", "\t", "\u3000", "\r", "\n"):
        if needs:
            break
        needs = pc.any(pc.starts_with(array, space)).as_py() or pc.any(pc.ends_with(array, space)).as_py()
    if not needs:
        return text
    text = text.str.strip()
    return text.where(text != "")


def _as_text(raw: pd.Series) -> pd.Series:
    """Source values as stripped text with full-width characters made half-width."""
    import pyarrow.compute as pc

    text = stripped_text(raw)
    # Only text with non-ASCII characters can hold full-width digits: skip the search otherwise.
    if not pc.all(pc.string_is_ascii(arrow_text(text))).as_py():
        if text.str.contains(r"[０-９．，－／：＋　（）％]", regex=True, na=False).any():
            text = text.str.translate(_FULLWIDTH)
    return text


def parse_dates(raw: pd.Series, *, date1904: bool = False) -> Parsed:
    """Parse a column of dates written in any of the forms seen in extracts.

    Accepts ISO dates (with or without a time), ``2023/5/6``, ``2023.5.6``,
    ``2023年5月6日``, ``20230506``, full-width digits, real datetime values and
    Excel serial numbers (1900 system, or the 1904 system of Mac workbooks when
    ``date1904`` is true). Impossible dates such as ``2023-02-30`` are invalid.

    Returns
    -------
    Parsed
        ``values`` is ``datetime64[ns]`` normalised to midnight.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.to_datetime(raw).dt.tz_localize(None).dt.normalize()
        return Parsed(values.astype("datetime64[ns]"), pd.Series(False, index=raw.index), 0)
    return _by_distinct(raw, lambda part: _parse_dates(part, date1904=date1904))


def _parse_dates(raw: pd.Series, *, date1904: bool) -> tuple[pd.Series, pd.Series, pd.Series]:
    blank = blank_mask(raw)
    text = _as_text(raw)
    values = _iso_dates(text)
    todo = values.isna() & ~blank
    if todo.any():
        values = values.where(~todo, pd.to_datetime(text.where(todo), format="ISO8601", errors="coerce"))
        todo = values.isna() & ~blank
    reformatted = pd.Series(False, index=raw.index)
    if todo.any():
        rest = text[todo]
        # 2023年5月6日 / 2023/5/6 / 2023.5.6 → 2023-5-6, dropping any time part.
        dashed = (
            rest.str.replace(r"[年月/.]", "-", regex=True)
            .str.replace(r"日.*$", "", regex=True)
            .str.replace(r"[T\s].*$", "", regex=True)
        )
        parts = dashed.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
        compact = rest.str.extract(r"^(\d{4})(\d{2})(\d{2})$")
        parts = parts.fillna(compact)
        ymd = parts.dropna()
        if len(ymd):
            built = pd.to_datetime(
                {"year": ymd[0].astype(int), "month": ymd[1].astype(int), "day": ymd[2].astype(int)},
                errors="coerce",
            )
            values.loc[built.index] = built
        serial = to_float(rest)
        serial = serial[serial.notna() & values[rest.index].isna()]
        serial = serial[(serial >= _SERIAL_MIN - (1462 if date1904 else 0)) & (serial <= _SERIAL_MAX)]
        if len(serial):
            origin = _EXCEL_1904 if date1904 else _EXCEL_1900
            values.loc[serial.index] = origin + pd.to_timedelta(np.floor(serial.to_numpy()), unit="D")
        reformatted = todo & values.notna()
    values = pd.to_datetime(values).astype("datetime64[ns]").dt.normalize()
    invalid = values.isna() & ~blank
    return values, invalid, reformatted


def _iso_dates(text: pd.Series) -> pd.Series:
    """Fast path: exact ``YYYY-MM-DD`` (pandas' C parser; impossible days stay missing)."""
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


_NUMBER_JUNK = r"[,\s¥￥$元円€£]|RMB|CNY|rmb|cny"


def parse_numbers(raw: pd.Series) -> Parsed:
    """Parse numbers stored as text: ``3,231.46``, ``¥3231``, ``0.5万``, ``1.2亿``, ``12%``.

    Returns
    -------
    Parsed
        ``values`` is float64; ``万`` multiplies by 10,000, ``亿`` by 10⁸ and
        ``%`` divides by 100.
    """
    if pd.api.types.is_numeric_dtype(raw):
        return Parsed(raw.astype("float64"), pd.Series(False, index=raw.index), 0)
    return _by_distinct(raw, _parse_numbers)


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    blank = blank_mask(raw)
    values = to_float(raw)
    todo = values.isna() & ~blank
    reformatted = pd.Series(False, index=raw.index)
    if todo.any():
        rest = _as_text(raw[todo]).str.replace(_NUMBER_JUNK, "", regex=True)
        negative = rest.str.match(r"^\(.*\)$", na=False)
        rest = rest.str.strip("()")
        scale = pd.Series(1.0, index=rest.index)
        for suffix, factor in (("万", 1e4), ("亿", 1e8), ("%", 1e-2), ("千", 1e3)):
            has = rest.str.endswith(suffix, na=False)
            scale[has] = factor
            rest = rest.where(~has, rest.str.slice(stop=-1))
        parsed = to_float(rest) * scale
        parsed[negative] = -parsed[negative]
        values.loc[parsed.index] = parsed
        reformatted = values.notna() & todo
    invalid = values.isna() & ~blank
    return values, invalid, reformatted


def map_codes(raw: pd.Series, vocabulary: Mapping[str, object]) -> tuple[pd.Series, pd.Series]:
    """Map code words through ``vocabulary`` (keys as :func:`normalise_key` makes them).

    Loops only over the distinct values, so it is fast on long columns.

    Returns
    -------
    (values, unknown) : tuple of pandas.Series
        ``values`` holds the mapped codes (missing where blank or unknown);
        ``unknown`` is True where a non-blank value was not in the vocabulary.
    """
    blank = blank_mask(raw)
    codes, uniques = pd.factorize(raw.astype(TEXT), use_na_sentinel=True)
    mapped = np.array([vocabulary.get(normalise_key(v)) for v in uniques] + [None], dtype=object)
    values = pd.Series(mapped[codes], index=raw.index, dtype=object)
    unknown = values.isna() & ~blank
    return values, unknown


_DOUBLE_EXACT_FROM = 2**53  # above this, not every integer is a double


def parse_ids(raw: pd.Series, *, from_workbook: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Normalise policy numbers to text and find the ones Excel damaged.

    Excel keeps 15 significant digits, so a 16–20 digit policy number that
    went through a number cell has lost its tail. That shows per cell as
    scientific notation (``8.611E+19``), and per column as long numbers that
    all end in zeros after the 15th digit (what Excel writes to CSV) or, in a
    workbook, that are all exactly a binary double (what a number cell holds).
    A genuine text column shows either pattern in well under 10 % of its
    values, so the column-level rules only fire when 90 % of long IDs match.

    Returns
    -------
    (ids, stripped, mangled) : tuple of pandas.Series
        ``ids`` as stripped text; ``stripped`` is True where a trailing ``.0``
        (a number read back from a float cell) was removed; ``mangled`` is True
        where the number lost digits.
    """
    ids = _as_text(raw)
    stripped = ids.str.fullmatch(r"\d+\.0+", na=False)
    if stripped.any():
        ids = ids.where(~stripped, ids.str.replace(r"\.0+$", "", regex=True))
    mangled = ids.str.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", na=False).astype(bool)
    long_ids = ids.str.fullmatch(r"[1-9]\d{15,}", na=False).astype(bool)
    if long_ids.sum() >= 3:
        padded = ids.str.fullmatch(r"\d{15}0+", na=False).astype(bool) & long_ids
        if padded.sum() >= 0.9 * long_ids.sum():
            mangled |= padded
        elif from_workbook:
            big = ids[long_ids & (pd.to_numeric(ids.where(long_ids), errors="coerce") > _DOUBLE_EXACT_FROM)]
            probe = big.head(2000)
            if len(probe) >= 3 and sum(_is_double(str(v)) for v in probe) >= 0.9 * len(probe):
                exact = {v for v in big.unique() if _is_double(str(v))}
                mangled |= ids.isin(exact).fillna(False).astype(bool)
    return ids, stripped, mangled


def _is_double(digits: str) -> bool:
    """True when the integer ``digits`` is exactly a binary double."""
    return int(float(digits)) == int(digits)


def id_number_facts(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Birth date and sex derived from 18-digit PRC resident ID numbers.

    Digits 7–14 are the birth date (YYYYMMDD); digit 17 is odd for men and even
    for women. Values that are not 18-character IDs give missing results.
    """
    text = _as_text(raw).str.upper()
    valid = text.str.fullmatch(r"\d{17}[\dX]", na=False)
    birth = pd.to_datetime(text.where(valid).str.slice(6, 14), format="%Y%m%d", errors="coerce")
    digit = to_float(text.where(valid).str.slice(16, 17)).to_numpy()
    sex = pd.Series(np.where(digit % 2 == 1, "M", "F"), index=raw.index).where(~np.isnan(digit))
    return birth.astype("datetime64[ns]"), sex
