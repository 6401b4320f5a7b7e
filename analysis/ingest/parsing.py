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
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

#: Text columns are Arrow-backed: string methods run in Arrow's compute kernels.
TEXT = pd.StringDtype("pyarrow")


def _byte_table(values: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(values)] = True
    return table


# Bytes a stripped value cannot start or end with (the check of stripped_text; U+3000 apart).
_EDGE_SPACE = _byte_table(b" \t\r\n")
# Bytes that can start a character Arrow's utf8_trim_whitespace removes (ASCII controls and
# space, U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000): only such values can be all blank.
_SPACE_LEAD = _byte_table(bytes([*range(0x09, 0x0E), *range(0x1C, 0x21), 0xC2, 0xE1, 0xE2, 0xE3]))

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９．，－／：＋　（）％",
    "0123456789.,-/:+ ()%",
)
_EXCEL_1900 = pd.Timestamp("1899-12-30")
_EXCEL_1904 = pd.Timestamp("1904-01-01")
#: The dates read as dates: a policy extract holds none outside, and date arithmetic
#: (grace, reinstatement windows, durations) stays far inside what datetime64[ns] holds.
DATE_RANGE = (pd.Timestamp("1800-01-01"), pd.Timestamp("2200-12-31"))
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
    if len(raw) >= 20_000:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        if len(uniques) <= len(raw) // 4:
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


def arrow_text(values: pd.Series) -> Any:
    """The values as pyarrow strings, without a copy for Arrow-backed text.

    A column read in blocks stays a chunked array (Arrow's kernels take either), so
    no call copies the whole column to join its chunks.
    """
    import pyarrow as pa

    text = values.astype(TEXT)
    chunked = pa.chunked_array(text.array._pa_array) if hasattr(text.array, "_pa_array") else pa.chunked_array([pa.array(text.array)])
    return chunked.chunk(0) if chunked.num_chunks == 1 else chunked


def _string_chunks(values: pd.Series) -> list[Any]:
    """The Arrow string chunks of a column (``large_string`` or ``string``), without a copy."""
    import pyarrow as pa

    array = arrow_text(values)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    return [c if pa.types.is_large_string(c.type) or pa.types.is_string(c.type) else c.cast(pa.large_string()) for c in chunks]


def _layout(chunk: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The ``n + 1`` offsets and the bytes of a string chunk, and its validity (None: no nulls).

    Reading the buffers directly lets a check look at the first or last byte of
    every value without building any new string.
    """
    import pyarrow as pa

    n = len(chunk)
    _validity, offset_buffer, data_buffer = chunk.buffers()
    kind = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offset_buffer, dtype=kind)[chunk.offset : chunk.offset + n + 1].astype(np.int64, copy=False)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    valid = chunk.is_valid().to_numpy(zero_copy_only=False) if chunk.null_count else None
    return offsets, data, valid


def _first_bytes(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
    """The first byte of every value (0 where empty or missing) and the mask of non-empty values."""
    offsets, data, valid = _layout(chunk)
    starts, lengths = offsets[:-1], np.diff(offsets)
    live = lengths > 0
    if valid is not None:
        live &= valid
    first = np.zeros(len(chunk), dtype=np.uint8)
    first[live] = data[starts[live]]
    return first, live


def strip_needed(values: pd.Series) -> np.ndarray:
    """Per value: empty, or starting or ending with a space, tab, CR, LF or U+3000.

    A column in which no value needs it is kept as it is by :func:`stripped_text`.
    """
    parts = []
    for chunk in _string_chunks(values):
        offsets, data, valid = _layout(chunk)
        starts, ends = offsets[:-1], offsets[1:]
        live = ends > starts
        needed = ~live if valid is None else valid & ~live
        if valid is not None:
            live &= valid
        at = np.flatnonzero(live)
        if len(at):
            first, last, length = data[starts[at]], data[ends[at] - 1], ends[at] - starts[at]
            edge = _EDGE_SPACE[first] | _EDGE_SPACE[last]
            # U+3000 is E3 80 80 in UTF-8.
            wide = np.flatnonzero((first == 0xE3) & (length >= 3))
            edge[wide] |= (data[starts[at[wide]] + 1] == 0x80) & (data[starts[at[wide]] + 2] == 0x80)
            wide = np.flatnonzero((last == 0x80) & (length >= 3))
            edge[wide] |= (data[ends[at[wide]] - 3] == 0xE3) & (data[ends[at[wide]] - 2] == 0x80)
            needed[at] = edge
        parts.append(needed)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def starts_with_word(values: pd.Series, words: Sequence[str]) -> np.ndarray:
    """True where a value, without its leading whitespace and in lower case, starts with one of ``words``.

    Only values whose first byte could begin such a value (whitespace, or the
    first letter of a word in either case) are lower-cased and compared.
    """
    import pyarrow.compute as pc

    leads = _SPACE_LEAD.copy()
    for word in words:
        for letter in {word[:1], word[:1].upper(), word[:1].lower()} - {""}:
            leads[letter.encode("utf-8")[0]] = True
    parts = []
    for chunk in _string_chunks(values):
        first, live = _first_bytes(chunk)
        hit = np.zeros(len(chunk), dtype=bool)
        suspects = np.flatnonzero(live & leads[first])
        if len(suspects):
            text = pc.utf8_lower(pc.utf8_ltrim_whitespace(chunk.take(suspects)))
            found = np.zeros(len(suspects), dtype=bool)
            for word in words:
                found |= pc.fill_null(pc.starts_with(text, word), False).to_numpy(zero_copy_only=False)
            hit[suspects] = found
        parts.append(hit)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _holds_byte(values: pd.Series, wanted: bytes) -> bool:
    """False only when no value holds any of the ``wanted`` ASCII bytes (a cheap prefilter)."""
    for chunk in _string_chunks(values):
        _offsets, data, _valid = _layout(chunk)
        octets = data.tobytes()  # bytes.find is a memchr: far faster than a numpy lookup per byte
        if any(octets.find(bytes([byte])) >= 0 for byte in wanted):
            return True
    return False


def normalise_key(value: object) -> str:
    """Return the lookup key for a code word: half-width, lower case, no spaces."""
    text = str(value).translate(_FULLWIDTH).strip().lower()
    return re.sub(r"\s+", "", text)


def blank_mask(raw: pd.Series) -> pd.Series:
    """Return True where a source cell is empty (None, NaN or only spaces)."""
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        import pyarrow.compute as pc

        parts = []
        for chunk in _string_chunks(raw):
            first, live = _first_bytes(chunk)
            blank = ~live
            # Only a value that starts with a whitespace character can be all whitespace.
            suspects = np.flatnonzero(live & _SPACE_LEAD[first])
            if len(suspects):
                trimmed = pc.utf8_trim_whitespace(chunk.take(suspects))
                blank[suspects] = pc.equal(trimmed, "").to_numpy(zero_copy_only=False)
            parts.append(blank)
        mask = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
        return pd.Series(mask, index=raw.index, dtype=bool)
    return raw.isna()


def stripped_text(raw: pd.Series) -> pd.Series:
    """Values as Arrow text without surrounding spaces; blank cells become missing.

    Columns that need no change are returned without a copy.
    """
    text = raw.astype(TEXT)
    if not strip_needed(text).any():
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
    text = _as_text(raw)
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
        serial = serial[(serial >= _SERIAL_MIN - (1462 if date1904 else 0)) & (serial <= _SERIAL_MAX)]
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
        rest = _as_text(raw[todo]).str.replace(_NUMBER_JUNK, "", regex=True)
        negative = rest.str.match(r"^\(.*\)$", na=False)
        rest = rest.str.strip("()")
        scale = pd.Series(1.0, index=rest.index)
        for suffix, factor in (("万", 1e4), ("亿", 1e8), ("%", 1e-2), ("千", 1e3)):
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


def map_codes(raw: pd.Series, vocabulary: Mapping[str, object]) -> tuple[pd.Series, pd.Series]:
    """Map code words through ``vocabulary`` (keys as :func:`normalise_key` makes them).

    Loops only over the distinct values, so it is fast on long columns.

    Returns
    -------
    (values, unknown) : tuple of pandas.Series
        ``values`` holds the mapped codes (missing where blank or unknown);
        ``unknown`` is True where a non-blank value was not in the vocabulary.
    """
    lookup = code_lookup(raw, vocabulary)
    return pd.Series(lookup.mapped[lookup.codes], index=raw.index, dtype=object), lookup.unknown(raw.index)


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

    ids = _as_text(raw)
    nothing = pd.Series(np.zeros(len(ids), dtype=bool), index=ids.index)
    # The patterns below are searched for only where the bytes they need occur at all.
    stripped = ids.str.fullmatch(r"\d+\.0+", na=False).astype(bool) if _holds_byte(ids, b".") else nothing
    if stripped.any():
        ids = ids.where(~stripped, ids.str.replace(r"\.0+$", "", regex=True))
    mangled = ids.str.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", na=False).astype(bool) if _holds_byte(ids, b"eE") else nothing.copy()
    # [1-9]\d{15,}: sixteen or more ASCII digits, the first not a zero.
    array = arrow_text(ids)
    lengths = pc.fill_null(pc.binary_length(array), 0)
    digits = pc.fill_null(pc.ascii_is_decimal(array), False)
    long_mask = pc.and_(pc.and_(digits, pc.greater_equal(lengths, 16)), pc.invert(pc.fill_null(pc.starts_with(array, "0"), False)))
    long_ids = pd.Series(long_mask.to_numpy(zero_copy_only=False), index=ids.index, dtype=bool)
    if long_ids.sum() >= 3:
        padded = np.zeros(len(ids), dtype=bool)
        ending_in_zero = np.flatnonzero(long_ids.to_numpy() & pc.fill_null(pc.ends_with(array, "0"), False).to_numpy(zero_copy_only=False))
        if len(ending_in_zero):
            padded[ending_in_zero] = ids.iloc[ending_in_zero].str.fullmatch(r"\d{15}0+", na=False).to_numpy(dtype=bool)
        if padded.sum() >= 0.9 * long_ids.sum():
            mangled = mangled | padded
        elif from_workbook:
            # Above 2**53 not every integer is a double: 17+ digits always are above, 16 digits compare as text.
            above = pc.or_(
                pc.greater(lengths, 16),
                pc.and_(pc.equal(lengths, 16), pc.fill_null(pc.greater(array, pa.scalar("9007199254740992", array.type)), False)),
            )
            big = ids[long_ids & above.to_numpy(zero_copy_only=False)]
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
