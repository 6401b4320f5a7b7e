"""Survival aggregates as engine expressions: ``cohort × time → removed, observed, entered``.

Kaplan–Meier curves, their band and numbers at risk, and the log-rank tests between
cohorts are all functions of this small table (:mod:`analysis.survival.curves`,
:mod:`analysis.survival.logrank`): at each distinct time, ``removed`` policies leave
observation (an event or censoring), ``observed`` of them by a studied event, and
``entered`` policies join it (late entrants of a left-truncated study; everyone else at 0).

From the book, times are whole DAYS from issue (:func:`survival_days_expr`, the stays of
:func:`analysis.engine.stays.stays`); months (``days / DAYS_PER_MONTH``) are applied on the
small result, so they are the same floats as a per-policy division.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis import schema as S
from analysis.engine.stays import stays

#: The cohort name of a study without a cohort column.
ALL = "all"
COUNT_COLUMNS = ["cohort", "time", "removed", "observed", "entered"]


def survival_days_expr(
    table: ir.Table,
    *,
    events: Iterable[str],
    study_date: pd.Timestamp,
    study_start: pd.Timestamp | None = None,
    study_end: pd.Timestamp | None = None,
    by: Sequence[str] = (),
) -> ir.Table:
    """One row per policy in the study: ``[*by, duration, entry, event]``, durations in whole days from issue.

    ``duration`` runs to the event or censoring day, ``entry`` is the day a late entrant
    joined the study (0 inside the window); policies gone before the window opened are left out.
    """
    staged = stays(table, events=events, study_date=study_date, study_start=study_start, study_end=study_end)
    return staged.select(
        *by,
        duration=(staged.stop_day - 1 - staged.issue_day).cast("int64"),
        entry=(staged.entry_day - staged.issue_day).cast("int64"),
        event=staged.is_event.fill_null(False),
    )


def km_counts_expr(
    data: ir.Table, *, by: str | None = None, duration: str = "duration", entry: str | None = "entry", event: str = "event"
) -> ir.Table:
    """``[cohort, time, removed, observed, entered]``: exits, events and entrants at each distinct time of each cohort.

    ``data`` has one row per policy (a duration, an entry time and an event flag); ``cohort`` is
    the ``by`` column (:data:`ALL` without one). Times without exits or entrants do not appear.
    Without an ``entry`` column (the log-rank tests ignore entries) ``entered`` is 0.
    """
    cohort = data[by] if by else ibis.literal(ALL)
    if entry is None:
        return data.group_by(cohort=cohort, time=data[duration]).aggregate(
            removed=data[duration].count().cast("int64"),
            observed=data[event].cast("int64").sum().cast("int64"),
            entered=ibis.literal(0, type="int64"),
        )
    # One pass: each policy twice (its exit, then its entry), so the engine reads the stays once.
    pairs = data.select(
        cohort=cohort,
        duration=data[duration],
        entry=data[entry],
        event=data[event],
        kind=ibis.literal([0, 1], type="array<int64>").unnest(),
    )
    leaves = pairs.kind == 0
    return pairs.group_by(cohort=pairs.cohort, time=leaves.ifelse(pairs.duration, pairs.entry)).aggregate(
        removed=leaves.cast("int64").sum().cast("int64"),
        observed=(leaves & pairs.event.cast("boolean")).cast("int64").sum().cast("int64"),
        entered=(~leaves).cast("int64").sum().cast("int64"),
    )


def incidence_counts_expr(
    table: ir.Table, *, causes: Mapping[str, Sequence[str]], study_date: pd.Timestamp, study_start: pd.Timestamp | None = None
) -> ir.Table:
    """``[time, removed, observed, entered, observed_<cause> …]``: the competing-risks aggregate of a book.

    Every cause's statuses are events (each policy's first exit is its cause); the other exits
    and the study end censor. One row per distinct day (exit or late entry), as
    :func:`km_counts_expr` without cohorts, plus the events of each cause.
    """
    events = sorted({status for statuses in causes.values() for status in statuses})
    days = survival_days_expr(table, events=events, study_date=study_date, study_start=study_start, by=[S.STATUS])
    pairs = days.select(
        S.STATUS, duration=days.duration, entry=days.entry, event=days.event, kind=ibis.literal([0, 1], type="array<int64>").unnest()
    )
    leaves = pairs.kind == 0
    sums: dict[str, ir.Value] = {
        "removed": leaves.cast("int64").sum().cast("int64"),
        "observed": (leaves & pairs.event).cast("int64").sum().cast("int64"),
        "entered": (~leaves).cast("int64").sum().cast("int64"),
    }
    for cause, statuses in causes.items():
        hit = leaves & pairs.event & pairs[S.STATUS].isin(list(statuses)).fill_null(False)
        sums[f"observed_{cause}"] = hit.cast("int64").sum().cast("int64")
    return pairs.group_by(time=leaves.ifelse(pairs.duration, pairs.entry)).aggregate(**sums)
