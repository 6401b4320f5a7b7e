"""Arrow-backed text: the byte-level checks every column of an extract goes through.

Source cells arrive as Arrow strings. These functions look at the bytes of every
value (the first byte, the last byte) to decide what needs work at all, so a column
of plain values is checked without building a single new string.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from typing import Any, Final, Sequence, cast

import numpy as np
import pandas as pd

from analysis import schema as S

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


def holds_byte(values: pd.Series, wanted: bytes) -> bool:
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


def as_text(raw: pd.Series) -> pd.Series:
    """Source values as stripped text with full-width characters made half-width."""
    import pyarrow.compute as pc

    text = stripped_text(raw)
    # Only text with non-ASCII characters can hold full-width digits: skip the search otherwise.
    if not pc.all(pc.string_is_ascii(arrow_text(text))).as_py():
        if text.str.contains(r"[０-９．，－／：＋　（）％]", regex=True, na=False).any():
            text = text.str.translate(_FULLWIDTH)
    return text


#: A text column becomes categories when it repeats itself: at most one distinct value in
#: :data:`ROWS_PER_CATEGORY` rows (a column of names or numbers stays text, which is smaller).
ROWS_PER_CATEGORY: Final = 2


def compact_text(policies: pd.DataFrame, pool: Executor | None = None) -> pd.DataFrame:
    """The book's repetitive text columns (never the policy number) as categories, sorted so groups come out in the same order.

    A text column of a book repeats a few values (a channel, a branch, a yes/no attribute):
    as categories each row holds a small code instead of its text, which takes a
    5,000,000-policy book from 1.6 GB to about 0.6 GB. The categories are plain Python
    text (as a round trip through Arrow, the door's worker or a kept book, gives them back),
    in code-point order (Python's, and Arrow's order of UTF-8 bytes). Columns are encoded on
    ``pool``'s threads when given (Arrow's hashing runs without the GIL).
    """
    names = [name for name in policies.columns if name != S.POLICY_ID and isinstance(policies[name].dtype, pd.StringDtype)]
    columns = [policies[name] for name in names]
    encoded = list(pool.map(_categories, columns) if pool is not None else map(_categories, columns))
    for name, categorical in zip(names, encoded):
        if categorical is not None:
            policies[name] = categorical
    return policies


def _categories(values: pd.Series) -> pd.Categorical | None:
    """``values`` as sorted categories, or None when the column has more than one distinct value in :data:`ROWS_PER_CATEGORY` rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces = _string_chunks(values)
    if len({piece.type for piece in pieces}) > 1:  # string and large_string chunks: one type
        pieces = [piece.cast(pa.large_string()) for piece in pieces]
    encoded = pc.dictionary_encode(pa.chunked_array(pieces, type=pieces[0].type if pieces else pa.large_string())).unify_dictionaries()
    chunks = [chunk for chunk in encoded.chunks if len(chunk)] or [pa.array([], pa.dictionary(pa.int32(), pa.large_string()))]
    dictionary = chunks[0].dictionary
    if len(dictionary) * ROWS_PER_CATEGORY > len(values):
        return None
    order = np.asarray(pc.array_sort_indices(dictionary))
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # a missing cell (index -1 below) stays missing
    indices = np.concatenate([np.asarray(chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64) for chunk in chunks])
    categories = pd.Index(np.asarray(dictionary.take(pa.array(order)).to_pylist(), dtype=object), dtype=object)
    return pd.Categorical.from_codes(cast(Sequence[int], rank[indices]), categories=categories)
