"""Each policy's stay in a study, as engine columns: issue, entry, exit and whether it ends in an event.

The rules are those of the exposure study and the survival view (``DOMAIN.md`` §2.2):

* a lapse-like status (lapsed, terminated after lapse, reinstated) leaves on its lapse
  date, any other exit on its status date; a policy in force is censored at
  ``observed_to`` (when the extract has it) or at the study end;
* a reinstated policy left the study at its lapse when lapses are studied, and otherwise
  stays in force;
* an exit with no known date is no event and counts in force (the door's account lists
  such rows).

Dates are day numbers (:mod:`analysis.engine.dates`).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis import schema as S
from analysis.engine.dates import day_number, day_of

#: Statuses whose event date is the start of the suspension (lapse), not the status date.
LAPSE_LIKE = frozenset({S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED})
_NULL_DAY = ibis.null().cast("int64")
#: The columns a stay reads (those the book has).
STAY_COLUMNS = (S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.OBSERVED_TO)


def day_column(table: ir.Table, column: str) -> ir.IntegerValue:
    """The day number of a date column, or null when the table lacks it."""
    return day_number(table[column]) if column in table.columns else _NULL_DAY


def with_days(table: ir.Table, columns: Sequence[str]) -> ir.Table:
    """``table`` plus ``<column>_day`` day numbers for each named date column (null where absent)."""
    return table.mutate(**{f"{c}_day": day_column(table, c) for c in columns})


def with_exits(table: ir.Table, events: Iterable[str]) -> ir.Table:
    """Add ``issue_day``, ``exit_day`` (first day out of force, null while in force) and ``is_event``.

    The engine form of :func:`analysis.study.exposure.event_dates`.
    """
    events = frozenset(events)
    staged = with_days(table, [S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.OBSERVED_TO])
    status = staged[S.STATUS]
    lapse_day, status_day, observed = staged[f"{S.LAPSE_DATE}_day"], staged[f"{S.STATUS_DATE}_day"], staged[f"{S.OBSERVED_TO}_day"]
    lapse_like = status.isin(sorted(LAPSE_LIKE)).fill_null(False)
    own_day = (lapse_like & lapse_day.notnull()).ifelse(lapse_day, status_day)
    is_reinstated = (status == S.REINSTATED).fill_null(False)
    active = status.isin(sorted(S.ACTIVE_STATUSES)).fill_null(False) & ~is_reinstated
    studies_lapse = S.LAPSED in events
    is_event = status.isin(sorted(events)).fill_null(False) & own_day.notnull()
    if studies_lapse:
        is_event = is_event | (is_reinstated & lapse_day.notnull())
        exit_day = active.ifelse(observed, own_day)
    else:
        is_event = is_event & ~is_reinstated
        exit_day = (active | is_reinstated).ifelse(observed, own_day)
    return staged.mutate(issue_day=staged[f"{S.ISSUE_DATE}_day"], exit_day=exit_day, is_event=is_event)


def study_bounds(table: ir.Table, *, study_start: pd.Timestamp | None, study_end: pd.Timestamp | None, study_date: pd.Timestamp) -> tuple:
    """The study window as day numbers: ``(start, end)``; ``start`` is None without a study start.

    Without a start the window opens with the first issue date, so every policy enters at
    its issue: no query for that date is needed.
    """
    end = day_of(study_end if study_end is not None else study_date)
    return (day_of(study_start) if study_start is not None else None), end


def stays(
    table: ir.Table,
    *,
    events: Iterable[str],
    study_date: pd.Timestamp,
    study_start: pd.Timestamp | None = None,
    study_end: pd.Timestamp | None = None,
) -> ir.Table:
    """Policies in force for at least a day of the window, with ``issue_day, entry_day, stop_day, is_event``.

    ``entry_day`` is the first day of exposure, ``stop_day`` the day after the last (the exit
    day itself counts, as in SOA / actxps), ``is_event`` whether the stay ends in a studied
    event inside the window. Policies without an issue date are left out.
    """
    exits = with_exits(table, events)
    start, end = study_bounds(table, study_start=study_start, study_end=study_end, study_date=study_date)
    after = exits.exit_day.notnull() & (exits.exit_day > end)
    stop = (exits.exit_day.isnull() | after).ifelse(end + 1, exits.exit_day + 1)
    entry = exits.issue_day if start is None else (exits.issue_day > start).ifelse(exits.issue_day, start)
    staged = exits.mutate(entry_day=entry.cast("int64"), stop_day=stop.cast("int64"), is_event=exits.is_event & ~after)
    return staged.filter(staged.issue_day.notnull(), staged.stop_day > staged.entry_day)
