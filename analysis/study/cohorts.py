"""Cohorts: bands of numeric columns, issue periods, and named, readable filters.

A *named cohort* is a saved filter with a name in both languages, for example
"young new earners / 刚入职场的年轻客户"::

    {"key": "young_new_earners",
     "name": {"zh": "刚入职场的年轻客户", "en": "Young new earners"},
     "all": [{"column": "age", "op": "between", "value": [22, 30]},
             {"column": "income", "op": "in", "value": ["5万以下", "5-10万"]},
             {"column": "首单客户", "op": "==", "value": "是"}]}

Conditions are combined with AND. Operators: ``==``, ``!=``, ``in``, ``not in``,
``between`` (both ends included), ``<``, ``<=``, ``>``, ``>=``, ``is blank``,
``not blank``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence, cast

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.personal import mentions_identifiers, personal_columns
from analysis.report.catalogue import column_label, translate

#: Names a named cohort's key may not take: the columns of study and survival tables, and the derived cohorts.
RESERVED_KEYS = frozenset(
    {
        "period",
        "events",
        "exposure",
        "rate",
        "lower",
        "upper",
        "credibility",
        "low_credibility",
        "cohort",
        "month",
        "duration",
        "event",
        "entry",
        "weight",
        "all",
        "in",
        "rest",
        "age_band",
        "premium_band",
        "issue_year",
        "issue_quarter",
        "issue_month",
        "policy_year",
        "policy_month",
        "calendar_year",
    }
)
OPERATORS = ("==", "!=", "in", "not in", "between", "<", "<=", ">", ">=", "is blank", "not blank")
#: Default editable age-band edges (age at issue, years); the last band is open-ended.
AGE_EDGES: tuple[float, ...] = (0, 25, 30, 35, 40, 45, 50, 55, 60)
#: Canonical attributes offered as cohorts whenever the data set has values in them.
CANONICAL_DIMENSIONS = ("channel", "product", "branch", "gender", "payment_frequency", "auto_debit", "income", "occupation", "agent")
#: A column of the user's own is offered as a cohort when it has at most this many distinct values
#: (more would be an identifier or a free-text field, not a grouping).
MAX_COHORT_LEVELS = 60
#: Distinct values a cohort filter offers at most, most frequent first.
MAX_FILTER_VALUES = 500
#: Columns named at most in a message that lists a data set's columns.
MAX_LISTED_COLUMNS = 40
#: Columns of the canonical frame that are bookkeeping, never cohorts.
BOOKKEEPING_COLUMNS = ("status_source", "source_row", "observed_to", "status")
ISSUE_PERIODS = {"issue_year": "Y", "issue_quarter": "Q", "issue_month": "M"}
IN_COHORT, REST = "in", "rest"


@dataclass(frozen=True)
class Condition:
    """One readable condition on one column."""

    column: str
    op: str
    value: Any = None

    def text(self, language: str = "en") -> str:
        """The condition as a person would write it, in ``language`` ("en" keeps the column's own name)."""
        if language == "en":
            if self.op in ("is blank", "not blank"):
                return f"{self.column} {self.op}"
            if self.op == "between":
                low, high = self.value
                return f"{self.column} between {low} and {high}"
            if self.op in ("in", "not in"):
                return f"{self.column} {self.op} {{{', '.join(map(str, self.value))}}}"
            return f"{self.column} {self.op} {self.value}"
        column = column_label(self.column, language)
        if self.op == "between":
            low, high = self.value
            return translate("cohort.op_between", language, column=column, low=low, high=high)
        if self.op in ("in", "not in"):
            values = "{" + ", ".join(map(str, self.value)) + "}"
            return translate(f"cohort.op_{self.op.replace(' ', '_')}", language, column=column, values=values)
        if self.op in ("is blank", "not blank"):
            return translate(f"cohort.op_{self.op.replace(' ', '_')}", language, column=column)
        shown = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥"}.get(self.op, self.op)
        return f"{column} {shown} {self.value}"


@dataclass(frozen=True)
class NamedCohort:
    """A saved, readable filter with a name in 中文 and English."""

    key: str
    name: dict[str, str]
    conditions: tuple[Condition, ...] = field(default_factory=tuple)

    def text(self, language: str = "en") -> str:
        """All conditions joined with AND, in ``language``."""
        joiner = " AND " if language == "en" else translate("cohort.and", language)
        return joiner.join(c.text(language) for c in self.conditions) or translate("cohort.all_policies", language)

    def label(self, language: str) -> str:
        """The cohort's name in ``language`` (English when missing)."""
        return self.name.get(language) or self.name.get("en") or self.key

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (see the module docstring)."""
        return {
            "key": self.key,
            "name": dict(self.name),
            "all": [{"column": c.column, "op": c.op, "value": c.value} for c in self.conditions],
        }


def cohort_from_dict(data: dict[str, Any]) -> NamedCohort:
    """Build a named cohort from its JSON-ready form, checking every operator."""
    try:
        # One value for in / not in is a list of one.
        conditions = tuple(
            Condition(
                str(c["column"]),
                str(c["op"]),
                [c.get("value")] if str(c["op"]) in ("in", "not in") and not isinstance(c.get("value"), (list, tuple)) else c.get("value"),
            )
            for c in data.get("all", [])
        )
        cohort = NamedCohort(key=str(data["key"]), name={str(k): str(v) for k, v in data.get("name", {}).items()}, conditions=conditions)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ExtractError("bad_cohort", reason="cohort_keys", problem=exc) from exc
    if cohort.key in RESERVED_KEYS or cohort.key in S.CANONICAL_COLUMNS or not cohort.key.strip():
        raise ExtractError("bad_cohort", reason="reserved_key", cohort=cohort.key)
    for c in conditions:
        if c.op not in OPERATORS:
            raise ExtractError("bad_cohort", reason="operator", op=c.op, cohort=cohort.key, operators=", ".join(OPERATORS))
        if c.op == "between" and (not isinstance(c.value, (list, tuple)) or len(c.value) != 2 or any(v is None for v in c.value)):
            raise ExtractError("bad_cohort", reason="between", cohort=cohort.key, value=repr(c.value))
    return cohort


YOUNG_NEW_EARNERS = cohort_from_dict(
    {
        "key": "young_new_earners",
        "name": {"zh": "刚入职场的年轻客户", "en": "Young new earners"},
        "all": [
            {"column": S.AGE, "op": "between", "value": [22, 30]},
            {"column": S.INCOME, "op": "in", "value": ["5万以下", "5-10万"]},
            {"column": "首单客户", "op": "==", "value": "是"},
        ],
    }
)


def filter_mask(policies: pd.DataFrame, conditions: Sequence[Condition]) -> pd.Series:
    """True for the policies meeting every condition (all policies when there are none).

    One implementation for every engine and every page: the conditions are the engine's
    (:func:`analysis.engine.cohorts.predicate`; missing values never match a comparison, a
    typed "30" compares as a number on a numeric column, dates compare as ``YYYY-MM-DD``),
    run on the columns they name, and the matching rows come back as a mask.
    """
    from analysis.engine.backend import bind, run
    from analysis.engine.cohorts import predicate

    if not conditions:
        return pd.Series(True, index=policies.index)
    named = [c for c in dict.fromkeys(condition.column for condition in conditions) if c in policies.columns]
    frame = policies[named].reset_index(drop=True)
    frame.columns = [f"c{k}" for k in range(len(named))]  # the engine sees plain names, whatever the headers
    renamed = {column: f"c{k}" for k, column in enumerate(named)}
    frame[_ROW] = np.arange(len(policies), dtype=np.int64)
    table, engine = bind(frame)
    try:
        local = [replace(c, column=renamed[c.column]) if c.column in renamed else c for c in conditions]
        rows = run(engine, table.filter(predicate(table, local)).select(_ROW))[_ROW].to_numpy(dtype=np.int64)
    except ExtractError as error:  # a condition on a column the book lacks: named with the book's own columns
        missing = next(c for c in conditions if c.column not in policies.columns)
        raise ExtractError(
            "missing_column",
            reason="condition",
            column=missing.column,
            condition=missing.text(),
            columns=", ".join(map(str, policies.columns[:MAX_LISTED_COLUMNS])),
        ) from error
    mask = np.zeros(len(policies), dtype=bool)
    mask[rows] = True
    return pd.Series(mask, index=policies.index)


#: The row-number column :func:`filter_mask` hands to the engine.
_ROW = "__row"


def band(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Numeric values cut into left-closed bands ``[a, b)``, the last one open (``60+``).

    Returns an ordered categorical; missing values stay missing.
    """
    edges = sorted(float(e) for e in edges)
    return pd.cut(pd.to_numeric(values, errors="coerce"), bins=[*edges, np.inf], right=False, labels=band_labels(edges))


def band_labels(edges: Sequence[float]) -> list[str]:
    """The labels of :func:`band` for sorted ``edges``: ``18–24`` … ``60+``."""
    bins = [*edges, np.inf]
    labels = [
        f"{_num(a)}–{_num(b - 1)}" if np.isfinite(b) and float(a).is_integer() and float(b).is_integer() else f"{_num(a)}–{_num(b)}"
        for a, b in zip(bins[:-2], bins[1:-1])
    ]
    return [*labels, f"{_num(edges[-1])}+"]


def quantile_labels(cuts: np.ndarray) -> list[str]:
    """The labels of :func:`quantile_band` for its distinct cut points (one label for one point, ``—`` for none)."""
    if len(cuts) < 2:
        return [_num(float(cuts[0])) if len(cuts) else "—"]
    return [f"{_num(a)}–{_num(b)}" for a, b in zip(cuts[:-1], cuts[1:])]


def quantile_band(values: pd.Series, quantiles: int = 4) -> pd.Series:
    """Numeric values cut at their quantiles (quartiles by default), labelled with the ranges."""
    numbers = pd.to_numeric(values, errors="coerce")
    cuts = (
        np.unique(np.nanquantile(numbers.to_numpy(dtype=float), np.linspace(0, 1, quantiles + 1)))
        if numbers.notna().any()
        else np.array([])
    )
    labels = quantile_labels(cuts)
    if len(cuts) < 2:  # one distinct value (or none): one band, not an empty categorical
        return pd.Series(labels[0], index=values.index, dtype="string").where(numbers.notna())
    return pd.cut(numbers, bins=list(cuts), labels=labels, include_lowest=True, duplicates="drop")


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def issue_period(issue_dates: pd.Series, kind: str) -> pd.Series:
    """Issue year (``2023``), quarter (``2023Q2``) or month (``2023-05``) as categorical text labels.

    Periods are counted in months since 1970-01 and coded with one pass (no sort, no string
    per policy); labels are built once per distinct period. Missing dates have no period.
    """
    if kind not in ISSUE_PERIODS:
        raise ExtractError("bad_option", reason="issue_period", kind=kind, allowed=", ".join(ISSUE_PERIODS))
    months = pd.to_datetime(issue_dates).to_numpy(dtype="datetime64[M]")
    known = ~np.isnat(months)
    codes = np.full(len(months), -1, dtype=np.int64)
    labels: list[str] = []
    if known.any():
        step = {"issue_year": 12, "issue_quarter": 3, "issue_month": 1}[kind]
        key = months[known].astype(np.int64) // step  # floor division: dates before 1970 count right
        low = int(key.min())
        present = np.bincount(key - low) > 0
        codes[known] = (np.cumsum(present) - 1)[key - low]
        values = (np.flatnonzero(present) + low).tolist()
        if kind == "issue_year":
            labels = [f"{1970 + v}" for v in values]
        elif kind == "issue_quarter":
            labels = [f"{1970 + v // 4}Q{v % 4 + 1}" for v in values]
        else:
            labels = [f"{1970 + v // 12}-{v % 12 + 1:02d}" for v in values]
    return pd.Series(pd.Categorical.from_codes(cast(Sequence[int], codes), categories=pd.Index(labels)), index=issue_dates.index)


#: Derived cohort columns and the source column each needs.
DERIVED_SOURCES = {
    "age_band": S.AGE,
    "premium_band": S.ANNUAL_PREMIUM,
    "issue_year": S.ISSUE_DATE,
    "issue_quarter": S.ISSUE_DATE,
    "issue_month": S.ISSUE_DATE,
}


def derived_columns(
    policies: pd.DataFrame,
    names: Sequence[str],
    *,
    named: Sequence[NamedCohort] = (),
    age_edges: Sequence[float] = AGE_EDGES,
    premium_quantiles: int = 4,
) -> dict[str, pd.Series]:
    """Just the derived cohort columns named in ``names`` that can be made from ``policies``."""
    out: dict[str, pd.Series] = {}
    cohorts = {c.key: c for c in named}
    for name in dict.fromkeys(names):
        source = DERIVED_SOURCES.get(name)
        if name == "age_band" and S.AGE in policies:
            out[name] = band(policies[S.AGE], age_edges)
        elif name == "premium_band" and S.ANNUAL_PREMIUM in policies:
            out[name] = quantile_band(policies[S.ANNUAL_PREMIUM], premium_quantiles)
        elif name in ISSUE_PERIODS and source in policies:
            out[name] = issue_period(policies[S.ISSUE_DATE], name)
        elif name in cohorts and all(c.column in policies.columns for c in cohorts[name].conditions):
            out[name] = pd.Series(np.where(filter_mask(policies, cohorts[name].conditions), IN_COHORT, REST), index=policies.index)
    return out


def cohort_dimensions(policies: pd.DataFrame, *, named: NamedCohort | Sequence[NamedCohort] | None = None) -> list[str]:
    """The columns a study can be grouped by, in the order a page offers them.

    The named cohorts' keys, the derived cohorts whose source column exists (bands, issue
    periods), the canonical attributes with any value, ``policy_year``, then every column of
    the user's own with at most :data:`MAX_COHORT_LEVELS` distinct values (blanks not counted)
    that holds no personal identifiers (:func:`analysis.personal.personal_columns`), nor a
    phone or ID number in its text (:func:`analysis.personal.mentions_identifiers`).
    """
    options: dict[str, None] = {}
    for cohort in (named,) if isinstance(named, NamedCohort) else named or ():
        options[cohort.key] = None
    for key, source in DERIVED_SOURCES.items():
        if source in policies.columns:
            options[key] = None
    for key in CANONICAL_DIMENSIONS:
        if key in policies.columns and policies[key].notna().any():
            options[key] = None
    options["policy_year"] = None
    personal = set(personal_columns(policies))  # names, phone and ID numbers are never cohorts
    for column in policies.columns:
        if column in options or column in S.CANONICAL_COLUMNS or column in BOOKKEEPING_COLUMNS or column in personal:
            continue
        levels = policies[column].dropna().unique()
        if len(levels) <= MAX_COHORT_LEVELS and not mentions_identifiers(levels):
            options[str(column)] = None
    return list(options)


def dimension_values(
    policies: pd.DataFrame,
    column: str,
    *,
    named: Sequence[NamedCohort] = (),
    age_edges: Sequence[float] = AGE_EDGES,
    limit: int = MAX_FILTER_VALUES,
) -> list[str]:
    """The distinct values of a (possibly derived) cohort column as text, most frequent first, blanks left out."""
    if column in policies.columns:
        values = policies[column]
    else:
        values = derived_columns(policies, [column], named=named, age_edges=age_edges).get(column, pd.Series(dtype="string"))
    counts = values.astype("string").value_counts(dropna=True)
    return [str(v) for v in counts.index[:limit]]


def _edge_texts(text: str) -> list[str]:
    """The comma-separated parts of typed age edges (full-width commas too)."""
    return [part for part in str(text).replace("，", ",").split(",") if part.strip()]


def age_edges_from(text: str) -> tuple[float, ...]:
    """Age-band edges typed as ``0, 25, 30`` (full-width commas too), sorted; :data:`AGE_EDGES` when not numbers."""
    try:
        edges = tuple(sorted({float(e) for e in _edge_texts(text)}))
    except ValueError:
        return AGE_EDGES
    if not all(math.isfinite(e) for e in edges):  # "nan" and "inf" read as floats but are no edges
        return AGE_EDGES
    return edges or AGE_EDGES


def edges_are_numbers(text: str) -> bool:
    """True when every comma-separated part of ``text`` is a finite number (and there is at least one)."""
    parts = [p.strip() for p in _edge_texts(text)]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return False
    return bool(parts) and all(math.isfinite(n) for n in numbers)
