"""Cohort columns and filters as engine expressions, for the study that runs in the engine.

The rules are :mod:`analysis.study.cohorts`'s, written for a table of any engine:

* ``age_band``: left-closed bands ``[a, b)`` of ``age`` at the given edges, the last open;
* ``premium_band``: the annual premium cut at its quantiles (exact, linear interpolation as
  numpy's), right-closed with the lowest included, labelled with the ranges;
* ``issue_year`` / ``issue_quarter`` / ``issue_month``: ``2023``, ``2023Q2``, ``2023-05``;
* a named cohort: ``in`` for the policies meeting all its conditions, ``rest`` for the others;
* a condition compares numbers as numbers when the column is numeric and the value reads
  as one, otherwise as text; missing values never match a comparison.

:func:`derive` also returns the order of each derived column's labels, so the caller can
give the small result table the same ordered categories as the pandas cohorts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np

from analysis import schema as S
from analysis.engine.backend import run
from analysis.errors import ExtractError
from analysis.ingest.parsing import is_number
from analysis.study.cohorts import (
    DERIVED_SOURCES,
    IN_COHORT,
    ISSUE_PERIODS,
    MAX_LISTED_COLUMNS,
    REST,
    Condition,
    NamedCohort,
    band_labels,
    quantile_labels,
)

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


def _text(column: ir.Value) -> ir.StringValue:
    """A column as text the way pandas writes it: ``True``/``False`` for booleans, ``YYYY-MM-DD`` for dates; null stays null."""
    kind = column.type()
    if kind.is_boolean():
        return ibis.cases((column.isnull(), ibis.null().cast("string")), (column, "True"), else_="False")
    if kind.is_timestamp() or kind.is_date():
        return column.cast("date").cast("string")
    return column.cast("string")


def condition(table: ir.Table, item: Condition) -> ir.BooleanValue:
    """True for the rows meeting one condition (never null)."""
    if item.column not in table.columns:
        raise ExtractError(
            "missing_column",
            reason="condition",
            column=item.column,
            condition=item.text(),
            columns=", ".join(map(str, list(table.columns)[:MAX_LISTED_COLUMNS])),
        )
    values = table[item.column]
    op, target = item.op, item.value
    if op == "is blank":
        return values.isnull()
    if op == "not blank":
        return values.notnull()
    if op in ("in", "not in"):
        hit = _text(values).isin([str(v) for v in (target or [])]).fill_null(False)
        return hit if op == "in" else ~hit & values.notnull()
    numeric = values.type().is_numeric() and not values.type().is_boolean()
    left: Any
    right: Any
    if op == "between":
        low, high = target
        if numeric and is_number(low, text=True) and is_number(high, text=True):
            return values.cast("float64").between(float(low), float(high)).fill_null(False)
        text = _text(values)
        return ((text >= str(low)) & (text <= str(high))).fill_null(False)
    if numeric and is_number(target, text=True):
        left, right = values.cast("float64"), float(target)
    else:
        left, right = _text(values), str(target)
    compared = {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return compared[op].fill_null(False)


def predicate(table: ir.Table, conditions: Sequence[Condition]) -> ir.BooleanValue:
    """True for the rows meeting every condition."""
    out: ir.BooleanValue = ibis.literal(True)
    for item in conditions:
        out = out & condition(table, item)
    return out


def _band(values: ir.NumericValue, edges: Sequence[float]) -> tuple[ir.StringValue, list[str]]:
    """Left-closed bands of a number (the last open), and their labels in order."""
    ordered = sorted(float(e) for e in edges)
    labels = band_labels(ordered)
    number = values.cast("float64")
    cases = [(number < high, label) for high, label in zip(ordered[1:], labels[:-1])]
    expression = ibis.cases(*cases, else_=labels[-1]) if cases else ibis.literal(labels[-1])
    return (number.isnull() | (number < ordered[0])).ifelse(ibis.null().cast("string"), expression), labels


def _quantile_band(table: ir.Table, backend: BaseBackend, column: str, quantiles: int) -> tuple[ir.StringValue, list[str]]:
    """The column cut at its quantiles (right-closed, lowest included), and the labels in order."""
    number = table[column].cast("float64")
    shares = np.linspace(0, 1, quantiles + 1)
    row = run(backend, table.aggregate(**{f"q{i}": number.quantile(float(q)) for i, q in enumerate(shares)}))
    found = row.iloc[0].to_numpy(dtype=float) if len(row) else np.array([])
    cuts = np.unique(found[~np.isnan(found)])
    if len(cuts) < 2:
        label = quantile_labels(cuts)[0]
        return number.isnull().ifelse(ibis.null().cast("string"), label), [label]
    labels = quantile_labels(cuts)
    cases = [(number <= float(high), label) for high, label in zip(cuts[1:], labels)]
    inside = number.notnull() & (number >= float(cuts[0])) & (number <= float(cuts[-1]))
    return inside.ifelse(ibis.cases(*cases), ibis.null().cast("string")), labels


def _issue_period(dates: ir.Value, kind: str) -> ir.StringValue:
    day = dates.cast("date")
    year = day.year().cast("string")
    if kind == "issue_year":
        return year
    if kind == "issue_quarter":
        return year + "Q" + day.quarter().cast("string")
    return year + "-" + day.month().cast("string").lpad(2, "0")


def derive(
    table: ir.Table,
    backend: BaseBackend,
    names: Sequence[str],
    *,
    named: Sequence[NamedCohort] = (),
    age_edges: Sequence[float],
    premium_quantiles: int = 4,
) -> tuple[ir.Table, dict[str, list[str]]]:
    """``table`` plus the derived cohort columns named in ``names`` that it can make, and each one's label order.

    Issue periods are ordered by their text (which is their time order); a named cohort
    as ``in``, ``rest``.
    """
    columns: dict[str, ir.Value] = {}
    orders: dict[str, list[str]] = {}
    cohorts = {c.key: c for c in named}
    present = set(table.columns)
    for name in dict.fromkeys(names):
        source = DERIVED_SOURCES.get(name)
        if name == "age_band" and S.AGE in present:
            columns[name], orders[name] = _band(table[S.AGE], age_edges)
        elif name == "premium_band" and S.ANNUAL_PREMIUM in present:
            columns[name], orders[name] = _quantile_band(table, backend, S.ANNUAL_PREMIUM, premium_quantiles)
        elif name in ISSUE_PERIODS and source in present:
            columns[name] = _issue_period(table[S.ISSUE_DATE], name)
            orders[name] = []
        elif name in cohorts and all(c.column in present for c in cohorts[name].conditions):
            columns[name] = predicate(table, cohorts[name].conditions).ifelse(IN_COHORT, REST)
            orders[name] = [IN_COHORT, REST]
    return (table.mutate(**columns) if columns else table), orders
