"""A source table's columns made canonical in the engine, with the door's own readers.

The headers are mapped as the door maps them (:func:`~analysis.ingest.intake.map_columns`:
the preset's ``[columns]``, then the automatic header matching), on the column NAMES only.
Typed columns (dates, numbers) are cast. Text columns that need reading (dates written in
any form, numbers with ``¥``/``万``, status words, code words) are read once per DISTINCT
value with the door's parsers (:func:`~analysis.ingest.parsing.parse_dates`,
:func:`~analysis.ingest.parsing.parse_numbers`, :func:`~analysis.ingest.parsing.code_lookup`):
the few thousand distinct values come to Python, and their readings go back to the engine
as a small lookup table joined on the value. So a word or a date means the same on every
route, and the rows themselves never leave the engine.

:func:`typed_columns` returns the table with one column per canonical column and, beside
them, boolean columns that say where the door would have recorded a problem; the checks
(:mod:`analysis.engine.checks`) turn those into the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import run, scalar
from analysis.ingest.columns import AMOUNT_COLUMNS, CODE_COLUMNS, MAX_AGE, TEXT_COLUMNS
from analysis.ingest.headers import ColumnMatch
from analysis.ingest.intake import map_columns, require_columns
from analysis.ingest.parsing import code_lookup, parse_dates, parse_numbers
from analysis.ingest.presets import MappingPreset
from analysis.ingest.text import normalise_key

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

#: Prefix of the engine's working columns (flags and lookups), dropped from the canonical table.
WORK: Final = "__ll_"
#: A text column with more distinct values than this is not read value by value (a premium column of a
#: huge book): its numbers are read in the engine as plain numbers only.
LOOKUP_LIMIT: Final = 2_000_000
#: Plain numbers, as the engine reads them when a column has too many distinct values to look up.
_PLAIN_NUMBER: Final = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


@dataclass
class Flag:
    """Where the door would record a problem: its kind, variant, action, the column's header, and the flag column."""

    kind: str
    variant: str
    action: str
    label: str
    column: str
    value: str | None = None
    params: dict[str, object] = field(default_factory=dict)


@dataclass
class Typed:
    """The canonical table in the making and what was found on the way."""

    table: ir.Table
    mapping: dict[str, ColumnMatch]
    headers: list[str]
    attributes: list[str]
    flags: list[Flag] = field(default_factory=list)
    status_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    order: str | None = None
    base: ir.Table | None = None

    def label(self, canonical: str) -> str:
        """The source header of a canonical column (its own name when unmapped)."""
        match = self.mapping.get(canonical)
        return match.source if match is not None else canonical


def status_words(preset: MappingPreset) -> dict[str, object]:
    """The status vocabulary of the door: the known words, and the preset's own (its words win)."""
    words: dict[str, object] = dict(S.STATUS_ALIASES)
    words.update({normalise_key(k): v for k, v in preset.status_values.items()})
    return words


def _is_text(column: ir.Value) -> bool:
    return bool(column.type().is_string())


def _blank(column: ir.Value) -> ir.BooleanValue:
    """True where a cell is empty: missing, or only spaces."""
    if _is_text(column):
        return column.isnull() | (column.cast("string").strip() == "")
    return column.isnull()


def _stripped(column: ir.Value) -> ir.Value:
    """Text without surrounding spaces, blank cells missing; other types as they are."""
    if not _is_text(column):
        return column
    text = column.strip()
    return (text == "").ifelse(ibis.null("string"), text)


def _distinct(backend: BaseBackend, typed: Typed, canonical: str) -> pd.Series | None:
    """The distinct non-missing values of a mapped column as stripped text, or None when there are too many to look up.

    Read off the source columns (before any lookup is joined), so that each column costs one scan.
    """
    base = typed.base if typed.base is not None else typed.table
    values = base.select(value=_stripped(base[src(canonical)].cast("string"))).filter(lambda t: t.value.notnull()).distinct()
    count = int(scalar(backend, values.count()))
    if count > LOOKUP_LIMIT:
        return None
    frame = run(backend, values)
    return frame["value"].astype(object).reset_index(drop=True)


def _lookup(typed: Typed, source: str, readings: pd.DataFrame) -> None:
    """Join a small table of readings (``key`` = the source value, then one column per reading) onto the table.

    The reading columns are added under their own names (which start with :data:`WORK`).
    """
    table = typed.table
    key = f"{WORK}key"
    readings = readings.rename(columns={"key": key})
    if len(readings) == 0:
        typed.table = table.mutate(**{name: ibis.null(_dtype(readings[name])) for name in readings.columns if name != key})
        return
    small = ibis.memtable(readings)
    joined = table.left_join(small, table[source] == small[key])
    typed.table = joined.select(*table.columns, *[name for name in readings.columns if name != key])


def _dtype(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "timestamp"
    if pd.api.types.is_numeric_dtype(values):
        return "float64"
    return "string"


def typed_columns(backend: BaseBackend, raw: ir.Table, preset: MappingPreset) -> Typed:
    """The source table with its canonical columns typed as the door types them, and the flags of its problems.

    Raises
    ------
    ExtractError
        ``preset_column_missing`` and ``missing_required``, as the door raises them.
    """
    headers = [str(c) for c in raw.columns]
    mapping = map_columns(headers, preset)
    require_columns(mapping, headers, policy_id_from_row=False)
    used = {m.source for m in mapping.values()}
    keep = [h for h in headers if h not in used and h not in (S.STATUS_RAW, S.SOURCE_ROW)]
    # Working copies of the mapped columns under fixed names, so that a header such as 保单状态 never meets SQL quoting twice.
    sources = {canonical: raw[m.source] for canonical, m in mapping.items()}
    extra = {S.STATUS_RAW: raw[S.STATUS_RAW]} if S.STATUS_RAW in headers else {}
    order = {S.SOURCE_ROW: raw[S.SOURCE_ROW]} if S.SOURCE_ROW in headers else {}
    base = raw.select(
        **{f"{WORK}src_{c}": v for c, v in sources.items()},
        **{f"{WORK}raw_status": v for v in extra.values()},
        **order,
        **{f"{WORK}attr_{i}": raw[h] for i, h in enumerate(keep)},
    )
    typed = Typed(base, mapping, headers, keep, order=S.SOURCE_ROW if order else None, base=base)
    _read_required(backend, typed, preset)
    _read_dates(backend, typed)
    _read_numbers(backend, typed)
    _read_codes(backend, typed)
    _read_texts(typed)
    return typed


def src(canonical: str) -> str:
    """The working column holding a canonical column's source values."""
    return f"{WORK}src_{canonical}"


def _read_required(backend: BaseBackend, typed: Typed, preset: MappingPreset) -> None:
    """Policy numbers as text, statuses through the vocabulary, and the blank ones of the three required columns."""
    t = typed.table
    ids = t[src(S.POLICY_ID)]
    if not _is_text(ids):
        ids = ids.cast("int64").cast("string") if ids.type().is_floating() else ids.cast("string")
    status = t[src(S.STATUS)].cast("string")
    raw_status = t[f"{WORK}raw_status"] if f"{WORK}raw_status" in t.columns else status
    typed.table = t.mutate(
        **{
            S.POLICY_ID: _stripped(ids),
            S.STATUS_RAW: _stripped(raw_status.cast("string")),
            f"{WORK}status_text": _stripped(status),
            f"{WORK}blank_{S.POLICY_ID}": _blank(t[src(S.POLICY_ID)]),
            f"{WORK}blank_{S.STATUS}": _blank(status),
        }
    )
    for canonical in (S.POLICY_ID, S.STATUS):
        typed.flags.append(Flag("missing_required", canonical, "rejected", typed.label(canonical), f"{WORK}blank_{canonical}"))
    distinct = _distinct(backend, typed, S.STATUS)
    words = pd.Series([] if distinct is None else distinct, dtype=object).astype(str)
    looked = code_lookup(pd.Series(words, dtype="string"), status_words(preset))
    mapped = np.where(looked.unknown_distinct[: len(words)], S.UNMAPPED, looked.mapped[: len(words)])
    _lookup(typed, f"{WORK}status_text", pd.DataFrame({"key": words.to_numpy(dtype=object), f"{WORK}status": mapped.astype(object)}))
    t = typed.table
    typed.table = t.mutate(**{S.STATUS: t[f"{WORK}status"].fill_null(ibis.null("string"))})


def _read_dates(backend: BaseBackend, typed: Typed) -> None:
    """The mapped date columns as dates: typed ones cast, text ones read per distinct value by the door's parser."""
    for canonical in S.DATE_COLUMNS:
        if canonical not in typed.mapping:
            continue
        column = typed.table[src(canonical)]
        invalid, outside = f"{WORK}invalid_{canonical}", f"{WORK}outside_{canonical}"
        if column.type().is_date() or column.type().is_timestamp():
            typed.table = typed.table.mutate(**{canonical: column.cast("date"), invalid: ibis.literal(False), outside: ibis.literal(False)})
        else:
            text = _stripped(column.cast("string"))
            typed.table = typed.table.mutate(**{f"{WORK}text_{canonical}": text})
            distinct = _distinct(backend, typed, canonical)
            values = pd.Series([] if distinct is None else distinct, dtype=object).astype(str)
            parsed = parse_dates(pd.Series(values, dtype="string"))
            out = parsed.outside if parsed.outside is not None else pd.Series(False, index=values.index)
            readings = pd.DataFrame(
                {
                    "key": values.to_numpy(dtype=object),
                    f"{WORK}date_{canonical}": parsed.values.astype("datetime64[ns]"),
                    invalid: (parsed.invalid & ~out).to_numpy(dtype=bool),
                    outside: out.to_numpy(dtype=bool),
                }
            )
            _lookup(typed, f"{WORK}text_{canonical}", readings)
            t = typed.table
            typed.table = t.mutate(
                **{
                    canonical: t[f"{WORK}date_{canonical}"].cast("date"),
                    invalid: t[invalid].fill_null(False),
                    outside: t[outside].fill_null(False),
                }
            )
        issue = canonical == S.ISSUE_DATE
        action, blanked = ("rejected", "") if issue else ("repaired", "_blanked")
        label = typed.label(canonical)
        if issue:
            typed.table = typed.table.mutate(**{f"{WORK}blank_{S.ISSUE_DATE}": _blank(typed.table[src(canonical)])})
            typed.flags.append(Flag("missing_required", S.ISSUE_DATE, "rejected", label, f"{WORK}blank_{S.ISSUE_DATE}"))
        typed.flags.append(Flag("invalid_date", "not_a_date" + blanked, action, label, invalid, src(canonical)))
        typed.flags.append(Flag("invalid_date", "outside_range" + blanked, action, label, outside, src(canonical)))


def _numbers(backend: BaseBackend, typed: Typed, canonical: str) -> tuple[ir.Value, ir.BooleanValue]:
    """A column's numbers (float64) and where a non-blank value was not a number."""
    column = typed.table[src(canonical)]
    if column.type().is_numeric():
        number = column.cast("float64")
        return number, ibis.literal(False)
    text = _stripped(column.cast("string"))
    typed.table = typed.table.mutate(**{f"{WORK}text_{canonical}": text})
    distinct = _distinct(backend, typed, canonical)
    if distinct is None:  # too many distinct values to read one by one: plain numbers only
        plain = text.re_search(_PLAIN_NUMBER)
        return plain.ifelse(text.cast("float64"), ibis.null("float64")), (text.notnull() & ~plain.fill_null(False))
    values = distinct.astype(str)
    parsed = parse_numbers(pd.Series(values, dtype="string"))
    readings = pd.DataFrame(
        {
            "key": values.to_numpy(dtype=object),
            f"{WORK}num_{canonical}": parsed.values.to_numpy(dtype="float64"),
            f"{WORK}nan_{canonical}": parsed.invalid.to_numpy(dtype=bool),
        }
    )
    _lookup(typed, f"{WORK}text_{canonical}", readings)
    t = typed.table
    return t[f"{WORK}num_{canonical}"], t[f"{WORK}nan_{canonical}"].fill_null(False)


def _read_numbers(backend: BaseBackend, typed: Typed) -> None:
    """Premiums, sums assured and ages as numbers: the door's invalid, negative and implausible values left blank."""
    for canonical in (*AMOUNT_COLUMNS, S.AGE):
        if canonical not in typed.mapping:
            continue
        number, invalid = _numbers(backend, typed, canonical)
        label = typed.label(canonical)
        bad = f"{WORK}invalid_{canonical}"
        odd = f"{WORK}odd_{canonical}"
        typed.table = typed.table.mutate(**{f"{WORK}n_{canonical}": number, bad: invalid})
        n = typed.table[f"{WORK}n_{canonical}"]
        if canonical == S.AGE:
            wrong = ((n < 0) | (n > MAX_AGE)).fill_null(False)
            typed.table = typed.table.mutate(**{odd: wrong}).mutate(
                **{canonical: wrong.ifelse(ibis.null("float64"), n.floor().cast("float64"))}
            )
            typed.flags.append(Flag("invalid_number", "age", "repaired", label, bad, src(canonical)))
            typed.flags.append(Flag("implausible_age", "", "repaired", label, odd, src(canonical)))
        else:
            wrong = (n < 0).fill_null(False)
            typed.table = typed.table.mutate(**{odd: wrong}).mutate(**{canonical: wrong.ifelse(ibis.null("float64"), n)})
            typed.flags.append(Flag("invalid_number", "amount", "repaired", label, bad, src(canonical)))
            typed.flags.append(Flag("negative_amount", "", "repaired", label, odd, src(canonical)))


def _read_codes(backend: BaseBackend, typed: Typed) -> None:
    """Payment frequency, auto-debit, waiver and sex through the door's vocabularies (an unknown word left blank)."""
    for canonical, code in CODE_COLUMNS.items():
        if canonical not in typed.mapping:
            continue
        text = _stripped(typed.table[src(canonical)].cast("string"))
        typed.table = typed.table.mutate(**{f"{WORK}text_{canonical}": text})
        distinct = _distinct(backend, typed, canonical)
        words = pd.Series([] if distinct is None else distinct, dtype=object).astype(str)
        looked = code_lookup(pd.Series(words, dtype="string"), code.words, clean=code.clean)
        values: Any = code.typed(looked.mapped[: len(words)])
        dtype = "boolean" if canonical in (S.AUTO_DEBIT, S.WAIVER) else ("int64" if canonical == S.PAYMENT_FREQUENCY else "string")
        readings = pd.DataFrame(
            {
                "key": words.to_numpy(dtype=object),
                f"{WORK}code_{canonical}": pd.Series(values, dtype=object).to_numpy(dtype=object),
                f"{WORK}unknown_{canonical}": looked.unknown_distinct[: len(words)].astype(bool),
            }
        )
        pandas_type: Any = {"boolean": "boolean", "int64": "Int64", "string": "string"}[dtype]
        readings[f"{WORK}code_{canonical}"] = readings[f"{WORK}code_{canonical}"].astype(pandas_type)
        _lookup(typed, f"{WORK}text_{canonical}", readings)
        t = typed.table
        typed.table = t.mutate(
            **{
                canonical: t[f"{WORK}code_{canonical}"].cast(dtype),
                f"{WORK}unknown_{canonical}": t[f"{WORK}unknown_{canonical}"].fill_null(False),
            }
        )
        typed.flags.append(
            Flag("unknown_code", canonical, "repaired", typed.label(canonical), f"{WORK}unknown_{canonical}", src(canonical))
        )


def _read_texts(typed: Typed) -> None:
    """Text columns stripped (blank cells missing); income as text bands or numbers as typed; attributes as they are."""
    t = typed.table
    columns: dict[str, ir.Value] = {}
    for canonical in (*TEXT_COLUMNS, S.INCOME, S.ID_NUMBER):
        if canonical in typed.mapping:
            columns[canonical] = _stripped(t[src(canonical)])
    for i, header in enumerate(typed.attributes):
        columns[header] = _stripped(t[f"{WORK}attr_{i}"])
    if columns:
        typed.table = t.mutate(**columns)
