"""Vectorised parsers for the values found in real policy extracts.

Each parser takes a Series of source text (``None`` or ``""`` for blank) and
returns a :class:`Parsed`: the parsed values, a mask of the non-blank values it
could not parse, and how many values needed more than the plain reading
(another date format, a currency sign, full-width digits...). No parser loops
over rows in Python except over the few distinct values of a code column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from analysis.ingest.text import TEXT, arrow_text, as_text, blank_mask, holds_byte, normalise_key

_EXCEL_1900 = pd.Timestamp("1899-12-30")
_EXCEL_1904 = pd.Timestamp("1904-01-01")
#: The dates read as dates: a policy extract holds none outside, and date arithmetic
#: (grace, reinstatement windows, durations) stays far inside what datetime64[ns] holds.
DATE_RANGE = (pd.Timestamp("1800-01-01"), pd.Timestamp("2200-12-31"))
# Excel serials we accept as dates: 1950-01-01 .. 2100-12-31 in the 1900 system.
_SERIAL_MIN, _SERIAL_MAX = 18264, 73415
#: Days from the 1900 system's origin to the 1904 system's (a Mac workbook's serials are this much smaller).
_DAYS_1900_TO_1904 = 1462
#: Columns from this many rows on are parsed once per distinct value …
_BY_DISTINCT_FROM = 20_000
#: … when at most one value in this many is distinct.
_ROWS_PER_DISTINCT = 4
#: Suffixes that scale a written number: 万 (ten thousand), 亿 (10⁸), % and 千 (thousand).
_NUMBER_SCALES = (("万", 1e4), ("亿", 1e8), ("%", 1e-2), ("千", 1e3))
#: Significant digits Excel keeps in a number cell: longer policy numbers lose their tail.
EXCEL_DIGITS = 15
#: The column-level rules for damaged IDs look at columns with at least this many long IDs …
_MIN_LONG_IDS = 3
#: … and fire when this share of them shows the damage (a genuine column: well under 10 %).
_DAMAGED_SHARE = 0.9
#: Long IDs of a workbook tested one by one for being a binary double.
_DOUBLE_PROBE = 2000
#: 2**53, the last integer from which on not every integer is a double, as 16 digits of text.
_TWO_TO_53 = str(2**53)


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
    outside : pandas.Series or None
        Dates only: the part of ``invalid`` that was a real date, but outside
        :data:`DATE_RANGE`.
    """

    values: pd.Series
    invalid: pd.Series
    reformatted: int
    outside: pd.Series | None = None


def _by_distinct(raw: pd.Series, parse: Callable[[pd.Series], tuple[pd.Series, ...]]) -> Parsed:
    """Parse each distinct value once and spread the results back over the rows.

    Extract columns repeat themselves (a million policies hold a few thousand
    issue dates), so parsing the distinct values is far cheaper than the rows.
    ``parse`` returns (values, invalid, reformatted[, outside]) for its input.
    """
    if len(raw) >= _BY_DISTINCT_FROM:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        if len(uniques) <= len(raw) // _ROWS_PER_DISTINCT:
            values, *masks = parse(pd.Series(uniques, dtype=raw.dtype))
            # One more slot at the end holds the result of a missing cell: code -1 points there.
            missing_value = pd.Series([None], dtype=values.dtype).to_numpy()
            spread = np.concatenate([values.to_numpy(), missing_value])[codes]
            out = pd.Series(spread, index=raw.index, dtype=values.dtype)
            bad, changed, *outside = (pd.Series(np.append(m.to_numpy(dtype=bool), False)[codes], index=raw.index) for m in masks)
            return Parsed(out, bad, int(changed.sum()), outside[0] if outside else None)
    values, invalid, reformatted, *outside = parse(raw)
    return Parsed(values, invalid, int(reformatted.sum()), outside[0] if outside else None)


PLAIN_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


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
        valid = pc.match_substring_regex(array, PLAIN_NUMBER)
        numbers = pc.cast(pc.if_else(valid, array, pa.scalar(None, pa.string())), pa.float64())
    return pd.Series(numbers.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")


def parse_dates(raw: pd.Series, *, date1904: bool = False) -> Parsed:
    """Parse a column of dates written in any of the forms seen in extracts.

    Accepts ISO dates (with or without a time), ``2023/5/6``, ``2023.5.6``,
    ``2023年5月6日``, ``20230506``, full-width digits, real datetime values and
    Excel serial numbers (1900 system, or the 1904 system of Mac workbooks when
    ``date1904`` is true). Impossible dates such as ``2023-02-30`` are invalid,
    and so are dates outside :data:`DATE_RANGE` (``outside`` marks those).

    Returns
    -------
    Parsed
        ``values`` is ``datetime64[ns]`` normalised to midnight.
    """
    first, last = DATE_RANGE
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = pd.to_datetime(raw).dt.tz_localize(None)
        # A datetime column (Parquet, a workbook) may even hold days datetime64[ns] cannot.
        outside = ((values < first) | (values > last + pd.Timedelta(days=1))).to_numpy(dtype=bool)
        values = values.where(~outside).astype("datetime64[ns]").dt.normalize()
        mask = pd.Series(outside, index=raw.index)
        return Parsed(values, mask, 0, mask)
    return _by_distinct(raw, lambda part: _parse_dates(part, date1904=date1904))


def _parse_dates(raw: pd.Series, *, date1904: bool) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    blank = blank_mask(raw)
    text = as_text(raw)
    values = _iso_dates(text)
    todo = values.isna() & ~blank
    if todo.any():
        # A time zone after the time (2023-05-06T08:00:00+08:00, …Z) is dropped: the date is the one written.
        local = text.where(todo).str.replace(_TIME_ZONE, r"\1", regex=True)
        written = pd.to_datetime(local, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
        values = values.where(~todo, written)
        todo = values.isna() & ~blank
    reformatted = pd.Series(False, index=raw.index)
    if todo.any():
        rest = text[todo]
        # 2023年5月6日 / 2023/5/6 / 2023.5.6 → 2023-5-6, dropping any time part.
        dashed = (
            rest.str.replace(r"[年月/.]", "-", regex=True).str.replace(r"日.*$", "", regex=True).str.replace(r"[T\s].*$", "", regex=True)
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
        serial = serial[(serial >= _SERIAL_MIN - (_DAYS_1900_TO_1904 if date1904 else 0)) & (serial <= _SERIAL_MAX)]
        if len(serial):
            origin = _EXCEL_1904 if date1904 else _EXCEL_1900
            values.loc[serial.index] = origin + pd.to_timedelta(np.floor(serial.to_numpy()), unit="D")
        reformatted = todo & values.notna()
    values = pd.to_datetime(values).astype("datetime64[ns]").dt.normalize()
    first, last = DATE_RANGE
    outside = ((values < first) | (values > last)).fillna(False).astype(bool)
    if outside.any():
        values = values.where(~outside)
        reformatted = reformatted & ~outside
    invalid = values.isna() & ~blank
    return values, invalid, reformatted, outside


_TIME_ZONE = r"^(.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"


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
        ``%`` divides by 100. Infinite values (``1e309``, ``inf``) are invalid.
    """
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
        infinite = pd.Series(np.isinf(values.to_numpy()), index=raw.index)
        return Parsed(values.where(~infinite), infinite, 0)
    return _by_distinct(raw, _parse_numbers)


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    blank = blank_mask(raw)
    values = to_float(raw)
    todo = values.isna() & ~blank
    reformatted = pd.Series(False, index=raw.index)
    if todo.any():
        rest = as_text(raw[todo]).str.replace(_NUMBER_JUNK, "", regex=True)
        negative = rest.str.match(r"^\(.*\)$", na=False)
        rest = rest.str.strip("()")
        scale = pd.Series(1.0, index=rest.index)
        for suffix, factor in _NUMBER_SCALES:
            has = rest.str.endswith(suffix, na=False)
            scale[has] = factor
            rest = rest.where(~has, rest.str.slice(stop=-1))
        with np.errstate(over="ignore"):  # 1e308万 overflows: caught just below
            parsed = to_float(rest) * scale
        parsed[negative] = -parsed[negative]
        values.loc[parsed.index] = parsed
        reformatted = values.notna() & todo
    # An infinite amount (1e309, "inf") is not a number any sum could use.
    values = values.where(~np.isinf(values))
    reformatted = reformatted & values.notna()
    invalid = values.isna() & ~blank
    return values, invalid, reformatted


@dataclass(frozen=True)
class CodeLookup:
    """Code words mapped once per distinct value.

    Attributes
    ----------
    codes : numpy.ndarray
        Per row, the position of its value among the distinct values, or
        ``len(distinct)`` where the cell is missing.
    distinct : pandas.Series
        The distinct values as written (Arrow text).
    mapped : numpy.ndarray
        Per distinct value, the mapped code (None when not in the vocabulary),
        followed by one None for the missing cells.
    unknown_distinct : numpy.ndarray
        Per distinct value (and False for missing cells): not blank and not in the vocabulary.
    """

    codes: np.ndarray
    distinct: pd.Series
    mapped: np.ndarray
    unknown_distinct: np.ndarray

    def unknown(self, index: pd.Index) -> pd.Series:
        """Row mask: a non-blank value that is not in the vocabulary."""
        return pd.Series(self.unknown_distinct[self.codes], index=index, dtype=bool)

    def spread(self, distinct: pd.Series, index: pd.Index) -> pd.Series:
        """Per-row values from ``distinct`` (one value per distinct value, then one for missing cells)."""
        return pd.Series(distinct.array.take(self.codes), index=index, dtype=distinct.dtype)


def code_lookup(raw: pd.Series, vocabulary: Mapping[str, object], *, clean: Callable[[pd.Series], pd.Series] | None = None) -> CodeLookup:
    """Map code words through ``vocabulary``, once per distinct value.

    ``clean`` rewrites the distinct values before they are looked up (and
    before they are judged blank).
    """
    codes, uniques = pd.factorize(raw.astype(TEXT), use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=TEXT)
    looked_up = clean(distinct) if clean is not None else distinct
    mapped = np.array([vocabulary.get(normalise_key(v)) for v in looked_up.tolist()] + [None], dtype=object)
    blank = np.append(blank_mask(looked_up).to_numpy(dtype=bool), True)
    unknown = pd.isna(mapped) & ~blank
    return CodeLookup(codes=np.where(codes < 0, len(distinct), codes), distinct=distinct, mapped=mapped, unknown_distinct=unknown)


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
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = as_text(raw)
    nothing = pd.Series(np.zeros(len(ids), dtype=bool), index=ids.index)
    # The patterns below are searched for only where the bytes they need occur at all.
    stripped = ids.str.fullmatch(r"\d+\.0+", na=False).astype(bool) if holds_byte(ids, b".") else nothing
    if stripped.any():
        ids = ids.where(~stripped, ids.str.replace(r"\.0+$", "", regex=True))
    mangled = ids.str.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", na=False).astype(bool) if holds_byte(ids, b"eE") else nothing.copy()
    # [1-9]\d{15,}: more ASCII digits than Excel keeps, the first not a zero.
    array = arrow_text(ids)
    lengths = pc.fill_null(pc.binary_length(array), 0)
    digits = pc.fill_null(pc.ascii_is_decimal(array), False)
    long_mask = pc.and_(
        pc.and_(digits, pc.greater_equal(lengths, EXCEL_DIGITS + 1)), pc.invert(pc.fill_null(pc.starts_with(array, "0"), False))
    )
    long_ids = pd.Series(long_mask.to_numpy(zero_copy_only=False), index=ids.index, dtype=bool)
    if long_ids.sum() >= _MIN_LONG_IDS:
        padded = np.zeros(len(ids), dtype=bool)
        ending_in_zero = np.flatnonzero(long_ids.to_numpy() & pc.fill_null(pc.ends_with(array, "0"), False).to_numpy(zero_copy_only=False))
        if len(ending_in_zero):
            padded[ending_in_zero] = ids.iloc[ending_in_zero].str.fullmatch(rf"\d{{{EXCEL_DIGITS}}}0+", na=False).to_numpy(dtype=bool)
        if padded.sum() >= _DAMAGED_SHARE * long_ids.sum():
            mangled = mangled | padded
        elif from_workbook:
            # Above 2**53 not every integer is a double: longer numbers always are above, as long ones compare as text.
            width = len(_TWO_TO_53)
            above = pc.or_(
                pc.greater(lengths, width),
                pc.and_(pc.equal(lengths, width), pc.fill_null(pc.greater(array, pa.scalar(_TWO_TO_53, array.type)), False)),
            )
            big = ids[long_ids & above.to_numpy(zero_copy_only=False)]
            probe = big.head(_DOUBLE_PROBE)
            if len(probe) >= _MIN_LONG_IDS and sum(_is_double(str(v)) for v in probe) >= _DAMAGED_SHARE * len(probe):
                exact = {v for v in big.unique() if _is_double(str(v))}
                mangled |= ids.isin(exact).fillna(False).astype(bool)
    return ids, stripped, mangled


def _is_double(digits: str) -> bool:
    """True when the integer ``digits`` is exactly a binary double."""
    return int(float(digits)) == int(digits)


def is_number(value: object, *, text: bool) -> bool:
    """True when ``float(value)`` reads ``value`` as a number.

    ``text`` says whether a string that reads as a number (``"3"``) counts: a value
    typed by a person (a cohort condition's ``30``) does; a category of the data (a
    branch code ``"0101"``, shown as written) does not. Booleans count as numbers,
    as ``float`` reads them.

    Examples
    --------
    >>> is_number(3, text=False), is_number("3", text=True), is_number("3", text=False)
    (True, True, False)
    """
    if isinstance(value, str) and not text:
        return False
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def id_number_facts(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Birth date and sex derived from 18-digit PRC resident ID numbers.

    Digits 7–14 are the birth date (YYYYMMDD); digit 17 is odd for men and even
    for women. Values that are not 18-character IDs give missing results.
    """
    text = as_text(raw).str.upper()
    valid = text.str.fullmatch(r"\d{17}[\dX]", na=False)
    birth = pd.to_datetime(text.where(valid).str.slice(6, 14), format="%Y%m%d", errors="coerce")
    digit = to_float(text.where(valid).str.slice(16, 17)).to_numpy()
    sex = pd.Series(np.where(digit % 2 == 1, "M", "F"), index=raw.index).where(~np.isnan(digit))
    return birth.astype("datetime64[ns]"), sex
