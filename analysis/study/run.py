"""One call from policies to a rate table: cohort columns, filters, exposure and rates.

This is what the Cohort explorer page, the monthly report and ``python -m analysis
rates`` share, so the three always give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, scalar
from analysis.engine.cohorts import derive, predicate
from analysis.engine.stays import STAY_COLUMNS
from analysis.study.cohorts import AGE_EDGES, DERIVED_SOURCES, IN_COHORT, REST, YOUNG_NEW_EARNERS, Condition, NamedCohort, derived_columns
from analysis.study.exposure import PERIODS, StudySpec, exposures
from analysis.study.rates import credibility, lapse_rates, rate_totals

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


@dataclass(frozen=True)
class StudyResult:
    """Rates by cohort and period, their all-period totals, and what was studied."""

    rates: pd.DataFrame
    totals: pd.DataFrame
    by: tuple[str, ...]
    spec: StudySpec
    weight: str | None
    policies_used: int
    policies_total: int

    @property
    def share_used(self) -> float:
        """Share of the data set's policies left after the filters."""
        return self.policies_used / self.policies_total if self.policies_total else 0.0

    @property
    def total_events(self) -> float:
        """Events over every cohort and period (count basis)."""
        return float(self.rates["events"].sum())

    @property
    def total_exposure(self) -> float:
        """Exposure over every cohort and period, in period units (count basis)."""
        return float(self.rates["exposure"].sum())

    @property
    def overall(self) -> pd.Series:
        """Every cohort and period together on the study's basis: ``rate``, ``lower``, ``upper``, ``credibility``.

        With a ``weight`` the rate is the weighted one (as every rate of the tables), its
        interval the count basis' relative width (:func:`~analysis.study.rates.rate_totals`).
        """
        return rate_totals(self.rates, weight=self.weight).iloc[0]

    @property
    def overall_rate(self) -> float:
        """Events over exposure across every cohort and period, weighted when the study is; 0 without exposure."""
        rate = float(self.overall["rate"]) if len(self.rates) else float("nan")
        return rate if rate == rate else 0.0

    @property
    def overall_interval(self) -> tuple[float, float]:
        """95 % interval of :attr:`overall_rate`, as the rate table's intervals (NaN without exposure)."""
        if not len(self.rates) or not self.total_exposure:
            return float("nan"), float("nan")
        return float(self.overall["lower"]), float(self.overall["upper"])

    @property
    def overall_credibility(self) -> float:
        """Limited-fluctuation credibility of :attr:`overall_rate` from its events (1 at 1,082 events or more)."""
        return float(credibility(np.array([self.total_events]))[0])


@dataclass(frozen=True)
class StudyRequest:
    """Everything a cohort study is asked for (hashable, so it can key a cache)."""

    by: tuple[str, ...] = ()
    period: str = "policy_year"
    events: frozenset[str] = StudySpec().events
    basis: str = "initial"
    weight: str | None = None
    study_start: str | None = None
    study_end: str | None = None
    filters: tuple[Condition, ...] = ()
    named: tuple[NamedCohort, ...] = field(default_factory=lambda: (YOUNG_NEW_EARNERS,))
    age_edges: tuple[float, ...] = AGE_EDGES
    expected_rate: float | None = None


def run_study(
    policies: pd.DataFrame | ir.Table,
    request: StudyRequest,
    *,
    study_date: pd.Timestamp,
    expected: pd.DataFrame | None = None,
    backend: BaseBackend | None = None,
) -> StudyResult:
    """Cohort columns → filters → exposure → rates, as one pure function run by the engine.

    ``policies`` is a pandas book (handed to ``backend``, DuckDB by default) or a table of
    any engine. ``by`` may name the period itself (``policy_year``, ``policy_month`` or
    ``calendar_year``): the table is then simply by period. An ``expected`` table is keyed
    by ``period`` and by any of its other columns that are also in ``by`` (for example
    ``period, channel, expected_rate``).
    """
    table, engine, orders = study_table(policies, request, backend=backend)
    total = len(policies) if isinstance(policies, pd.DataFrame) else int(scalar(engine, table.count()))
    used = total
    if request.filters:
        table = table.filter(predicate(table, request.filters))
        used = int(scalar(engine, table.count()))
    by = tuple(b for b in request.by if b not in PERIODS)
    spec = StudySpec(
        period=request.period,
        events=request.events,
        basis=request.basis,
        study_start=pd.Timestamp(request.study_start) if request.study_start else None,
        study_end=pd.Timestamp(request.study_end) if request.study_end else None,
    )
    weights = [request.weight] if request.weight else []
    table = _as_cohorts(exposures(table, by=by, spec=spec, study_date=study_date, weights=weights, backend=engine), policies, orders)
    flat = request.expected_rate
    if flat is not None and request.period == "policy_month":
        flat = 1 - (1 - flat) ** (1 / 12)  # the flat assumption is annual; the periods are months
    basis: pd.DataFrame | float | None = expected if expected is not None else flat
    keys = ("period", *(c for c in (expected.columns if expected is not None else []) if c in by))
    rates = lapse_rates(table, by=by, weight=request.weight, expected=basis, expected_keys=keys)
    totals = rate_totals(rates, by=by, weight=request.weight)
    return StudyResult(rates, totals, by, spec, request.weight, used, total)


def study_table(
    policies: pd.DataFrame | ir.Table, request: StudyRequest, *, backend: BaseBackend | None = None
) -> tuple[ir.Table, BaseBackend, dict[str, list[str]]]:
    """The columns a study reads, on its engine, with the derived cohorts it asks for and each one's label order."""
    table, engine = bind(policies, backend, columns=_study_columns(policies, request))
    wanted = [*request.by, *(c.column for c in request.filters)]
    derived = [w for w in wanted if w not in policies.columns]
    table, orders = derive(table, engine, derived, named=request.named, age_edges=request.age_edges)
    return table, engine, orders


def _study_columns(policies: pd.DataFrame | ir.Table, request: StudyRequest) -> list[str]:
    """Only the columns a study reads from the book: dates and status, its cohorts' sources, filters and weight."""
    named = {c.key: c for c in request.named}
    wanted = [*request.by, *(c.column for c in request.filters), *([request.weight] if request.weight else [])]
    sources = [DERIVED_SOURCES.get(w, w) for w in wanted] + [c.column for w in wanted if w in named for c in named[w].conditions]
    if "premium_band" in wanted:
        sources.append(S.ANNUAL_PREMIUM)
    return [c for c in dict.fromkeys([*STAY_COLUMNS, *sources]) if c in policies.columns]


def _as_cohorts(table: pd.DataFrame, policies: pd.DataFrame | ir.Table, orders: dict[str, list[str]]) -> pd.DataFrame:
    """Cohort columns typed as the pandas cohorts are: the book's own dtypes, ordered bands, categorical issue periods."""
    for column in table.columns:
        if isinstance(policies, pd.DataFrame) and column in policies.columns:
            table[column] = table[column].astype(policies[column].dtype)
        elif column in orders and orders[column] != [IN_COHORT, REST]:
            categories = orders[column] or sorted(table[column].dropna().unique())
            table[column] = pd.Categorical(table[column], categories=categories, ordered=bool(orders[column]))
    return table


def study_frame(policies: pd.DataFrame, request: StudyRequest) -> pd.DataFrame:
    """Only the columns a study reads: dates and status, its cohorts, filters and weight.

    Derived cohorts (bands, issue periods, named cohorts) are made only when asked for,
    so a study of a million policies does not copy the whole book.
    """
    wanted = [*request.by, *(c.column for c in request.filters)]
    base = [c for c in (S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.OBSERVED_TO) if c in policies.columns]
    own = [c for c in dict.fromkeys([*wanted, *([request.weight] if request.weight else [])]) if c in policies.columns and c not in base]
    frame = pd.DataFrame({c: policies[c] for c in [*base, *own]}, index=policies.index)
    derived = derived_columns(policies, [w for w in wanted if w not in policies.columns], named=request.named, age_edges=request.age_edges)
    for name, values in derived.items():
        frame[name] = values
    return frame


def rates_output(result: StudyResult) -> pd.DataFrame:
    """The command line's table: group columns, then period, events, exposure, rate, lower, upper, credibility."""
    columns = [*result.by, "period", "events", "exposure", "rate", "lower", "upper", "credibility"]
    extra = [c for c in ("expected", "ae") if c in result.rates]
    return result.rates[columns + extra].reset_index(drop=True)


def parse_by(text: str | None) -> tuple[str, ...]:
    """``"channel,age_band"`` → ``("channel", "age_band")``."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def parse_events(text: str | None) -> frozenset[str]:
    """``"lapsed,surrendered"`` → the studied statuses (default: voluntary exits)."""
    parts = parse_by(text)
    return frozenset(parts) if parts else StudySpec().events
