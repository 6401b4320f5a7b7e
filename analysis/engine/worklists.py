"""The action lists' candidates as engine expressions: who is due or in grace, and who can still be reinstated.

The rules are those of :mod:`analysis.risk.actions` (DOMAIN.md §1 for the legal clock):

* **due or in grace** — a policy's next (or missed) due date is its paid-to date, or, for a
  grace status without one, its status date. Days to due count from the study date; a
  policy is in grace when that date has passed (or is today and the extract calls it grace)
  by at most ``grace_days`` days, and due soon when it falls within ``days`` days;
* **reinstatable** — a lapsed (suspended) policy whose suspension (its lapse date, else its
  status date) is on or before the study date, with the reinstatement deadline (suspension
  plus ``reinstatement_years`` years, 29 February → 28 February) still ahead.

The engine answers with row numbers (``book_row``) and day numbers; ranking, scores and the
contact columns are joined on the small result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import schema as S
from analysis.engine.backend import arrow_book, run
from analysis.engine.dates import add_months
from analysis.engine.stays import day_column

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

#: The column that numbers the book's rows (0-based positions).
BOOK_ROW: Final = "book_row"
#: The columns the candidates read (those the book has).
WORKLIST_COLUMNS: Final = (S.STATUS, S.PAID_TO_DATE, S.STATUS_DATE, S.LAPSE_DATE)


def book_columns(policies: pd.DataFrame) -> pa.Table:
    """The columns the candidates read, and ``book_row`` numbering the policies 0..n−1."""
    return arrow_book(policies, WORKLIST_COLUMNS, **{BOOK_ROW: np.arange(len(policies), dtype=np.int64)})


def due_candidates(table: ir.Table, backend: BaseBackend, *, study_day: int, days: int, grace_days: int) -> pd.DataFrame:
    """``[book_row, due_day, in_grace]`` of the policies due within ``days`` days or in grace, by book row."""
    grace_status = (table[S.STATUS] == S.GRACE).fill_null(False)
    paid_to, status_day = day_column(table, S.PAID_TO_DATE), day_column(table, S.STATUS_DATE)
    staged = table.mutate(due_day=(paid_to.isnull() & grace_status).ifelse(status_day, paid_to), grace_status=grace_status)
    to_due = staged.due_day - study_day
    in_grace = (((to_due < 0) | (staged.grace_status & (to_due <= 0))) & (to_due >= -grace_days)).fill_null(False)
    upcoming = (~in_grace & (to_due >= 0) & (to_due <= days)).fill_null(False)
    chosen = staged.filter(in_grace | upcoming).select(BOOK_ROW, "due_day", in_grace=in_grace)
    out = run(backend, chosen).sort_values(BOOK_ROW, kind="stable").reset_index(drop=True)
    return out.astype({BOOK_ROW: np.int64, "due_day": np.int64, "in_grace": bool})


def reinstatable_candidates(table: ir.Table, backend: BaseBackend, *, study_day: int, reinstatement_years: int) -> pd.DataFrame:
    """``[book_row, start_day, deadline_day]`` of the lapsed policies still inside the reinstatement window, by book row."""
    lapsed = table.filter((table[S.STATUS] == S.LAPSED).fill_null(False))
    lapse_day, status_day = day_column(lapsed, S.LAPSE_DATE), day_column(lapsed, S.STATUS_DATE)
    staged = lapsed.mutate(start_day=lapse_day.fill_null(status_day))
    staged = staged.mutate(deadline_day=add_months(staged.start_day, 12 * reinstatement_years))
    inside = ((staged.deadline_day - study_day > 0) & (staged.start_day <= study_day)).fill_null(False)
    out = run(backend, staged.filter(inside).select(BOOK_ROW, "start_day", "deadline_day"))
    return out.sort_values(BOOK_ROW, kind="stable").reset_index(drop=True).astype(np.int64)
