"""The app-wide filter of the book: attributes, an issue-date range and named cohorts.

A :class:`BookFilter` says which policies every page, list and export looks at: chosen values
of the book's attribute columns (channel, branch, product, agent), policies issued in a date
range (both ends included), and policies in any of the chosen named cohorts. Values chosen in
one column are alternatives (OR); the parts are combined with AND.

The filter is written as :class:`~analysis.study.cohorts.Condition` s, so it is applied by the
same code as every other condition: :func:`~analysis.study.cohorts.filter_mask` on a pandas
book (:func:`filter_policies`) and :func:`~analysis.engine.cohorts.predicate` on an engine table
(:func:`filter_table`). The issue-date range is two conditions on the date as text
(``issue_date >= from`` and ``issue_date < the day after to``), which reads the same whether an
engine writes a date as ``2024-12-31`` or ``2024-12-31 00:00:00``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import pandas as pd

from analysis import schema as S
from analysis.report.catalogue import column_label, translate
from analysis.study.cohorts import Condition, NamedCohort, filter_mask

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: The attribute columns the filter bar offers, when the book has them.
FILTER_COLUMNS = (S.CHANNEL, S.BRANCH, S.PRODUCT, S.AGENT)
#: The address parameters of the filter (``?f_channel=银保&f_from=2024-01-01``).
PARAM_PREFIX = "f_"
FROM_PARAM, TO_PARAM, COHORT_PARAM = "f_from", "f_to", "f_cohort"


@dataclass(frozen=True)
class BookFilter:
    """Which policies the app looks at (empty: the whole book).

    ``values`` pairs a column with the values kept (as text); ``issued_from`` and
    ``issued_to`` bound the issue date (both included, either may be open); ``cohorts`` keeps
    the policies in any of these named cohorts.
    """

    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    cohorts: tuple[NamedCohort, ...] = field(default_factory=tuple)

    @property
    def is_empty(self) -> bool:
        """True when the filter keeps every policy."""
        return not self.conditions() and not self.cohorts

    def conditions(self) -> tuple[Condition, ...]:
        """The attribute and issue-date parts as conditions (all must hold)."""
        out = [Condition(column, "in", list(chosen)) for column, chosen in self.values if chosen]
        if self.issued_from is not None:
            out.append(Condition(S.ISSUE_DATE, ">=", self.issued_from.isoformat()))
        if self.issued_to is not None:
            out.append(Condition(S.ISSUE_DATE, "<", (self.issued_to + dt.timedelta(days=1)).isoformat()))
        return tuple(out)

    def key(self) -> str:
        """A short stable text naming the filter, for cache keys (equal filters, equal keys)."""
        data = {
            "values": [[c, sorted(v)] for c, v in sorted(self.values) if v],
            "from": self.issued_from.isoformat() if self.issued_from else None,
            "to": self.issued_to.isoformat() if self.issued_to else None,
            "cohorts": sorted(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True, default=str) for c in self.cohorts),
        }
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    def fitted_to(self, columns: Iterable[str]) -> BookFilter:
        """The parts this book can apply: attribute columns it has, the dates when it has issue dates, cohorts whose columns it has."""
        present = set(columns)
        dated = S.ISSUE_DATE in present
        return replace(
            self,
            values=tuple((c, v) for c, v in self.values if c in present and v),
            issued_from=self.issued_from if dated else None,
            issued_to=self.issued_to if dated else None,
            cohorts=tuple(c for c in self.cohorts if all(item.column in present for item in c.conditions)),
        )

    def lines(self, language: str) -> list[str]:
        """The filter in words, one line per part, for a page's caption and an export's cover."""
        if self.is_empty:
            return [translate("filter.all_policies", language)]
        joiner = "、" if language == "zh" else ", "
        out = [
            translate(
                "filter.values_line",
                language,
                column=column_label(column, language),
                values=joiner.join(chosen),
            )
            for column, chosen in self.values
            if chosen
        ]
        if self.issued_from is not None or self.issued_to is not None:
            start = self.issued_from.isoformat() if self.issued_from else "…"
            end = self.issued_to.isoformat() if self.issued_to else "…"
            out.append(translate("filter.issued_line", language, start=start, end=end))
        if self.cohorts:
            out.append(
                translate(
                    "filter.cohorts_line",
                    language,
                    cohorts=joiner.join(c.label(language) for c in self.cohorts),
                )
            )
        return out


def filter_policies(policies: pd.DataFrame, book_filter: BookFilter) -> pd.DataFrame:
    """The policies ``book_filter`` keeps, with their index (a new frame; the input is not changed).

    Raises
    ------
    ExtractError
        ``missing_column`` when a part names a column the book lacks (see :meth:`BookFilter.fitted_to`).
    """
    if book_filter.is_empty:
        return policies
    mask = filter_mask(policies, book_filter.conditions())
    if book_filter.cohorts:
        inside = pd.Series(False, index=policies.index)
        for cohort in book_filter.cohorts:
            inside |= filter_mask(policies, cohort.conditions)
        mask &= inside
    return policies[mask]


def filter_table(table: ir.Table, book_filter: BookFilter) -> ir.Table:
    """The rows of an engine table ``book_filter`` keeps (the engine form of :func:`filter_policies`)."""
    from analysis.engine.cohorts import predicate

    if book_filter.is_empty:
        return table
    keep = predicate(table, book_filter.conditions())
    if book_filter.cohorts:
        inside = predicate(table, book_filter.cohorts[0].conditions)
        for cohort in book_filter.cohorts[1:]:
            inside = inside | predicate(table, cohort.conditions)
        keep = keep & inside
    return table.filter(keep)


def filter_params(book_filter: BookFilter) -> dict[str, list[str]]:
    """The filter as page-address parameters (``f_<column>``, ``f_from``, ``f_to``, ``f_cohort``), each a list of values."""
    params = {f"{PARAM_PREFIX}{column}": list(chosen) for column, chosen in book_filter.values if chosen}
    if book_filter.issued_from is not None:
        params[FROM_PARAM] = [book_filter.issued_from.isoformat()]
    if book_filter.issued_to is not None:
        params[TO_PARAM] = [book_filter.issued_to.isoformat()]
    if book_filter.cohorts:
        params[COHORT_PARAM] = [c.key for c in book_filter.cohorts]
    return params


def _day(texts: Sequence[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(texts[0]) if texts else None
    except ValueError:
        return None  # a hand-edited address: an unreadable date is no bound


def filter_from_params(
    params: Mapping[str, Sequence[str]], *, columns: Sequence[str] = FILTER_COLUMNS, cohorts: Sequence[NamedCohort] = ()
) -> BookFilter:
    """The filter an address names (the inverse of :func:`filter_params`); unknown columns and cohorts are left out."""
    known = {c.key: c for c in cohorts}
    values = tuple(
        (column, tuple(str(v) for v in params[f"{PARAM_PREFIX}{column}"])) for column in columns if params.get(f"{PARAM_PREFIX}{column}")
    )
    return BookFilter(
        values=values,
        issued_from=_day(list(params.get(FROM_PARAM, ()))),
        issued_to=_day(list(params.get(TO_PARAM, ()))),
        cohorts=tuple(known[k] for k in params.get(COHORT_PARAM, ()) if k in known),
    )
