"""Cohort presets: several named cohorts saved as one TOML file, read through the presets' guard.

The Cohort explorer's condition builder saves the session's named cohorts here and loads
them back; the shipped ones are in ``data/presets/cohorts/``. The format::

    [[cohort]]
    key = "bank_2024"
    [cohort.name]
    zh = "2024年银保"
    en = "Bancassurance 2024"
    [[cohort.all]]
    column = "channel"
    op = "in"
    value = ["银保"]

Each ``[[cohort]]`` is one :class:`~analysis.study.cohorts.NamedCohort` (conditions combined
with AND, the operators of :data:`~analysis.study.cohorts.OPERATORS`).
"""

from __future__ import annotations

import re
from typing import Sequence

import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.study.cohorts import RESERVED_KEYS, NamedCohort, cohort_from_dict

#: Named cohorts a cohort preset (or a session) holds at most.
MAX_COHORTS = 20
#: The table a cohort preset lists its cohorts in (``[[cohort]]``).
PRESET_TABLE = "cohort"


def cohorts_to_toml(cohorts: Sequence[NamedCohort]) -> str:
    """Named cohorts as a cohort preset: TOML, one ``[[cohort]]`` table each (read back by :func:`cohorts_from_toml`).

    A condition without a value (``is blank``, ``not blank``) is written without one.
    """
    import tomli_w

    tables = []
    for cohort in cohorts:
        conditions = [
            {
                "column": c.column,
                "op": c.op,
                **({} if c.value is None else {"value": list(c.value) if isinstance(c.value, tuple) else c.value}),
            }
            for c in cohort.conditions
        ]
        tables.append({"key": cohort.key, "name": dict(cohort.name), "all": conditions})
    return str(tomli_w.dumps({PRESET_TABLE: tables}))


def cohorts_from_toml(text: str, *, source: str = "(text)") -> tuple[NamedCohort, ...]:
    """Read a cohort preset (:func:`cohorts_to_toml`), through the mapping presets' guard first.

    The text is measured before it is parsed (:func:`analysis.ingest.presets.check_preset_text`:
    size, nesting, dotted names), so a hostile file is refused in linear time; every cohort
    is then checked as :func:`cohort_from_dict` checks one.

    Raises
    ------
    ExtractError
        ``bad_cohort``: too long or too deep, not TOML, not a list of ``[[cohort]]`` tables,
        more than :data:`MAX_COHORTS`, a key used twice, or a cohort :func:`cohort_from_dict` refuses.
    """
    import tomllib

    from analysis.ingest.presets import MAX_KEY_PARTS, MAX_PRESET_BYTES, MAX_PRESET_NESTING, check_preset_text

    try:
        check_preset_text(text, source=source)
    except ExtractError as exc:
        if exc.reason == "too_long":
            raise ExtractError("bad_cohort", reason="preset_too_long", source=source, limit=f"{MAX_PRESET_BYTES:,}") from exc
        raise ExtractError("bad_cohort", reason="preset_too_deep", source=source, depth=MAX_PRESET_NESTING, parts=MAX_KEY_PARTS) from exc
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ExtractError("bad_cohort", reason="preset_toml", source=source, detail=str(exc)) from exc
    tables = raw.get(PRESET_TABLE)
    if set(raw) - {PRESET_TABLE} or not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ExtractError("bad_cohort", reason="preset_shape", source=source, table=PRESET_TABLE)
    if len(tables) > MAX_COHORTS:
        raise ExtractError("bad_cohort", reason="too_many", source=source, count=len(tables), most=MAX_COHORTS)
    cohorts = tuple(cohort_from_dict(table) for table in tables)
    keys = [c.key for c in cohorts]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ExtractError("bad_cohort", reason="duplicate_key", source=source, cohort=twice[0])
    return cohorts


def cohorts_job(data: bytes, args: dict[str, object]) -> str:
    """The guard's worker job (:data:`analysis.ingest.guard.TEXT_JOBS`): a cohort preset read, written back as TOML."""
    return cohorts_to_toml(cohorts_from_toml(data.decode("utf-8", errors="replace"), source=str(args.get("source", "(text)"))))


def guarded_cohorts(text: str, *, source: str = "(text)") -> tuple[NamedCohort, ...]:
    """:func:`cohorts_from_toml` in the guard's worker process (a cohort preset is anyone's text), as mapping presets are read.

    Raises
    ------
    ExtractError
        The preset's refusal (``bad_cohort``), or ``guard`` when the worker failed.
    """
    from analysis.ingest.guard import guarded_parse

    rendered = guarded_parse("cohorts", text.encode("utf-8", errors="surrogatepass"), {"filename": source, "source": source})
    return cohorts_from_toml(str(rendered), source=source)  # the worker's own rendering: checked and small


def cohort_key(name: str, taken: Sequence[str] = ()) -> str:
    """A key for a cohort named ``name``: its letters and digits in lower case joined by ``_`` (``named`` when none), made unique.

    Examples
    --------
    >>> cohort_key("Bank 2024")
    'bank_2024'
    >>> cohort_key("银保新客户", taken=["named"])
    'named_2'
    """
    base = "_".join(re.findall(r"[a-z0-9]+", name.lower())) or "named"
    if base in RESERVED_KEYS or base in S.CANONICAL_COLUMNS:
        base = f"cohort_{base}"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}_{number}"
    return key


#: Columns a condition can name beside the cohort columns (numbers and dates compared with < … between).
MEASURE_COLUMNS = (S.AGE, S.ANNUAL_PREMIUM, S.SUM_ASSURED, S.ISSUE_DATE)


def condition_columns(policies: pd.DataFrame) -> list[str]:
    """The book's own columns a condition builder offers: the cohort columns the book has, then ages, amounts and the issue date.

    Derived cohorts (bands, issue periods) are left out: a condition names a column of the book
    (an age band is ``age between 30 and 39``).
    """
    from analysis.study.cohorts import cohort_dimensions

    offered = [c for c in cohort_dimensions(policies) if c in policies.columns]
    return list(dict.fromkeys([*offered, *(c for c in MEASURE_COLUMNS if c in policies.columns)]))


def typed_value(text: str, *, numeric: bool) -> object:
    """A value typed into the builder: a number on a numeric column when it reads as one, else the text (trimmed).

    Examples
    --------
    >>> typed_value(" 30 ", numeric=True), typed_value("2.5", numeric=True), typed_value("银保", numeric=False)
    (30, 2.5, '银保')
    """
    text = str(text).strip()
    if numeric:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text
