"""Exposure and events by cohort and period, aggregated in the engine.

The conventions are those of :mod:`analysis.study.exposure` (SOA / actxps, ``DOMAIN.md``
§2.2). Each stay (:func:`analysis.engine.stays.stays`) contributes its entry period and
its exit period (a share of each), and a run of whole periods between them. The engine
sums the partial periods, the events and, for the runs, a *difference*: +1 in the period
after entry and −1 in the exit period. One query returns that small ``cohort × period``
table; its running sum along the periods (done here, on the small table) gives the whole
periods, so neither the engine nor pandas ever holds policies × periods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis.engine.backend import run
from analysis.engine.dates import add_months_ymd, whole_months_ymd, with_ymd, year_start
from analysis.engine.stays import stays, study_bounds

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from analysis.study.exposure import StudySpec

#: Months in a policy period.
PERIOD_MONTHS = {"policy_year": 12, "policy_month": 1}
#: Exposure below this is rounding noise, not a period anyone was in force in.
MIN_EXPOSURE = 1e-12


def _bounds(staged: ir.Table, period: str) -> ir.Table:
    """Add ``<p>_index``, ``<p>_start``, ``<p>_end`` of the periods holding ``entry_day`` (``p = e``) and ``last_day`` (``x``).

    Policy periods are numbered from 1; calendar years by the year. Expects the parts of
    ``issue_day``, ``entry_day`` and ``last_day`` (:func:`~analysis.engine.dates.with_ymd`).
    """
    days = {"e": "entry_day", "x": "last_day"}
    if period == "calendar_year":
        staged = staged.mutate(**{f"{p}_index": staged[f"{day}_y"] for p, day in days.items()})
        return staged.mutate(
            **{f"{p}_start": year_start(staged[f"{p}_index"]) for p in days},
            **{f"{p}_end": year_start(staged[f"{p}_index"] + 1) for p in days},
        )
    step = PERIOD_MONTHS[period]
    iy, im, idd = staged.issue_day_y, staged.issue_day_m, staged.issue_day_d
    whole = {
        p: (whole_months_ymd(iy, im, idd, staged[f"{day}_y"], staged[f"{day}_m"], staged[f"{day}_d"]) // step).cast("int64")
        for p, day in days.items()
    }
    staged = staged.mutate(**{f"{p}_whole": w for p, w in whole.items()})
    bounds: dict[str, ir.Value] = {}
    for p in days:
        w = staged[f"{p}_whole"]
        bounds |= {
            f"{p}_index": w + 1,
            f"{p}_start": add_months_ymd(iy, im, idd, w * step),
            f"{p}_end": add_months_ymd(iy, im, idd, (w + 1) * step),
        }
    return staged.mutate(**bounds)


def _parts(table: ir.Table, *, spec: StudySpec, study_date: pd.Timestamp) -> ir.Table:
    """Each stay with its entry and exit periods, the days it is exposed in each and their lengths.

    Days are whole numbers: with *initial* exposure the period of a studied event counts
    whole (its days are its length: "full-year credit", DOMAIN.md §2.2; actxps does the same).
    """
    staged = stays(table, events=spec.events, study_date=study_date, study_start=spec.study_start, study_end=spec.study_end)
    # actxps leaves out policies issued on the last day of the window (issue_date >= end_date): so do we.
    staged = staged.filter(staged.issue_day < study_bounds(table, study_start=None, study_end=spec.study_end, study_date=study_date)[1])
    staged = staged.mutate(last_day=staged.stop_day - 1)
    staged = with_ymd(staged, "issue_day", "entry_day", "last_day")
    staged = _bounds(staged, spec.period)
    same = staged.e_index == staged.x_index
    first_length = staged.e_end - staged.e_start
    last_length = staged.x_end - staged.x_start
    first = same.ifelse(staged.stop_day - staged.entry_day, staged.e_end - staged.entry_day)
    last = same.ifelse(0, staged.stop_day - staged.x_start)
    if spec.basis == "initial":
        first = (staged.is_event & same).ifelse(first_length, first)
        last = (staged.is_event & ~same).ifelse(last_length, last)
    return staged.mutate(
        same=same,
        first_days=first.cast("int64"),
        first_length=first_length.cast("int64"),
        last_days=last.cast("int64"),
        last_length=last_length.cast("int64"),
    )


#: Weights are summed exactly, in hundredths (fen, cents), as 38-digit decimals.
WEIGHT_SCALE = 100
_EXACT = "decimal(38, 0)"


def exposure_deltas(
    table: ir.Table, *, by: Sequence[str], spec: StudySpec, study_date: pd.Timestamp, weights: Sequence[str] = ()
) -> ir.Table:
    """The engine's query: ``[*by, period, length, days, events, run, *days_<w>, *events_<w>, *run_<w>]``.

    ``days`` (over periods of ``length`` days) and ``events`` hold the partial periods and
    the events; ``run`` the difference whose running sum along the periods counts the whole
    periods in between. Every sum is of whole numbers, so every engine, in any order,
    returns the same table; weights are in hundredths.

    Stays that share their cohort, entry and exit periods (and those periods' lengths) and
    whether they end in an event are summed first; only those groups, far fewer than the
    policies, are spread into their four contributions.
    """
    parts = _parts(table, spec=spec, study_date=study_date)
    amounts = {w: (parts[w].cast("float64") * WEIGHT_SCALE).round().cast("int64").fill_null(0).cast(_EXACT) for w in weights}
    sums: dict[str, ir.Value] = {"n": parts.count(), "first_days": parts.first_days.sum(), "last_days": parts.last_days.sum()}
    for w, amount in amounts.items():
        sums |= {
            f"amount_{w}": amount.sum(),
            f"first_days_{w}": (parts.first_days.cast(_EXACT) * amount).sum(),
            f"last_days_{w}": (parts.last_days.cast(_EXACT) * amount).sum(),
        }
    grouped = parts.group_by([*by, "e_index", "x_index", "first_length", "last_length", "is_event", "same"]).aggregate(**sums)
    return _spread(grouped, by=by, weights=weights)


def _spread(grouped: ir.Table, *, by: Sequence[str], weights: Sequence[str]) -> ir.Table:
    """Each group's four contributions, unnested in one pass and summed by cohort, period and length.

    The contributions: its entry period, its exit period (when it leaves in another), and the
    two ends of its run of whole periods (+n after the entry period, −n in the exit period).
    """
    g = grouped
    span = (g.x_index - g.e_index) >= 2
    no_period = ibis.null().cast("int64")
    zero, one = ibis.literal(0, type="int64"), ibis.literal(1, type="int64")
    nothing = ibis.literal(0).cast(_EXACT)
    first_event, last_event = g.is_event & g.same, g.is_event
    amount = {w: g[f"amount_{w}"] for w in weights}

    def piece(period: ir.Value, days: ir.Value, length: ir.Value, events: ir.Value, run: ir.Value, weighted: dict) -> ir.StructValue:
        fields = {"period": period.cast("int64"), "days": days, "length": length.cast("int64"), "events": events, "run": run}
        for w in weights:
            fields |= {f"{c}_{w}": weighted.get((c, w), nothing).cast(_EXACT) for c in ("days", "events", "run")}
        return ibis.struct(fields)

    first = {("days", w): g[f"first_days_{w}"] for w in weights}
    first |= {("events", w): first_event.ifelse(a, nothing) for w, a in amount.items()}
    last = {("days", w): g[f"last_days_{w}"] for w in weights}
    last |= {("events", w): last_event.ifelse(a, nothing) for w, a in amount.items()}
    pieces = ibis.array(
        [
            piece(g.e_index, g.first_days, g.first_length, first_event.ifelse(g.n, zero), zero, first),
            piece(g.same.ifelse(no_period, g.x_index), g.last_days, g.last_length, last_event.ifelse(g.n, zero), zero, last),
            piece(span.ifelse(g.e_index + 1, no_period), zero, one, zero, g.n, {("run", w): a for w, a in amount.items()}),
            piece(span.ifelse(g.x_index, no_period), zero, one, zero, -g.n, {("run", w): -a for w, a in amount.items()}),
        ]
    )
    long = g.select(*by, piece=pieces.unnest())
    long = long.filter(long.piece["period"].notnull())
    counts = ("days", "events", "run")
    values = {"period": long.piece["period"], "length": long.piece["length"]}
    values |= {c: long.piece[c].cast("int64") for c in counts}
    values |= {f"{c}_{w}": long.piece[f"{c}_{w}"].cast(_EXACT) for c in counts for w in weights}
    flat = long.select(*by, **values)
    sums = [c for c in flat.columns if c not in (*by, "period", "length")]
    return flat.group_by([*by, "period", "length"]).aggregate(**{c: flat[c].sum() for c in sums})


def engine_exposures(
    table: ir.Table,
    backend: BaseBackend,
    *,
    by: Sequence[str],
    spec: StudySpec,
    study_date: pd.Timestamp,
    weights: Sequence[str] = (),
) -> pd.DataFrame:
    """Run :func:`exposure_deltas` and finish the whole periods on the small result.

    Returns ``[*by, period, exposure, events, *exposure_<w>, *events_<w>]``, one row per
    cohort and period with any exposure or event, sorted by cohort and period.
    """
    small = run(backend, exposure_deltas(table, by=by, spec=spec, study_date=study_date, weights=weights))
    return whole_periods(small, by=by, weights=weights)


def whole_periods(small: pd.DataFrame, *, by: Sequence[str], weights: Sequence[str] = ()) -> pd.DataFrame:
    """Exposure from the engine's whole-number sums, with each cohort's running sum of ``run`` (whole periods).

    Rows are put in one order before any float is added, so the result does not depend on
    the engine or on the order its rows came in.
    """
    columns = [*by, "period", "exposure", "events", *(f"exposure_{w}" for w in weights), *(f"events_{w}" for w in weights)]
    if small.empty:
        return pd.DataFrame(columns=columns)
    small = small.sort_values([*by, "period", "length"], na_position="last", kind="stable").reset_index(drop=True)
    codes, cohorts = _cohort_codes(small, by)
    period = small["period"].to_numpy(dtype=np.int64)
    lo, width = int(period.min()), int(period.max() - period.min() + 1)
    flat = codes * width + (period - lo)
    size = len(cohorts) * width
    length = small["length"].to_numpy(dtype=float)

    def grid(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=values, minlength=size).reshape(len(cohorts), width)

    def number(column: str, scale: float = 1.0) -> np.ndarray:
        return small[column].astype(float).to_numpy(dtype=float) / scale

    table = {"exposure": grid(number("days") / length) + np.cumsum(grid(number("run")), axis=1), "events": grid(number("events"))}
    for w in weights:
        whole = np.cumsum(grid(number(f"run_{w}", WEIGHT_SCALE)), axis=1)
        table[f"exposure_{w}"] = grid(number(f"days_{w}", WEIGHT_SCALE) / length) + whole
        table[f"events_{w}"] = grid(number(f"events_{w}", WEIGHT_SCALE))
    cohort_index, period_index = np.nonzero((table["exposure"] > MIN_EXPOSURE) | (table["events"] > 0))
    out = cohorts.iloc[cohort_index].reset_index(drop=True)
    out["period"] = period_index + lo
    for name, values in table.items():
        out[name] = values[cohort_index, period_index]
    return out[columns]


def _cohort_codes(small: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code of each row's cohort and the sorted table of cohorts (missing is a cohort, last)."""
    if not by:
        return np.zeros(len(small), dtype=np.int64), pd.DataFrame(index=range(1))
    cohorts = small[list(by)].drop_duplicates().sort_values(list(by), na_position="last", kind="stable").reset_index(drop=True)
    index = pd.MultiIndex.from_frame(cohorts) if len(by) > 1 else pd.Index(cohorts[by[0]])
    keys = pd.MultiIndex.from_frame(small[list(by)]) if len(by) > 1 else pd.Index(small[by[0]])
    return np.asarray(index.get_indexer(keys), dtype=np.int64), cohorts
