"""A book's training rows drawn once, for the leak check and the model to share (:class:`TrainingDraw`).

The draw is the engine's (:func:`analysis.engine.risk_rows.training_draw`: the rows with the
smallest key of a hash of book row, as-of day and seed); the rules of the rows themselves are
in :mod:`analysis.risk.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.engine.backend import bind
from analysis.engine.dates import day_of
from analysis.engine.risk_rows import ROW_COLUMNS, book_columns, first_drawn, training_draw
from analysis.study.calendar import add_months

#: A training draw recognises its book by this many evenly spaced rows (:func:`book_fingerprint`).
FINGERPRINT_ROWS = 4096


@dataclass(frozen=True)
class TrainingDraw:
    """Training rows drawn once for a book, so the leak check and the model do not each ask the engine again.

    ``rows`` are the ``max_rows`` (policy, as-of date) pairs with the smallest draw key, in draw
    order (:func:`analysis.engine.risk_rows.training_draw`): the first ``n`` of them are exactly
    the rows a cap of ``n`` draws. :func:`analysis.risk.rows.feature_choices` draws at the larger of the leak
    check's cap and the model's default cap; :func:`analysis.risk.rows.training_rows` takes the draw when it was
    made for the same book (its size and :func:`book_fingerprint`), as-of dates, horizon and
    seed and covers the cap asked for, and asks the engine otherwise. The fingerprint reads
    evenly spaced rows, so handing a draw only to the book it was made for stays the caller's
    part (the app keys both by the data set and its filter).
    """

    book: tuple[int, int]
    as_of_days: tuple[int, ...]
    horizon_ends: tuple[int, ...]
    random_state: int
    max_rows: int
    rows: pd.DataFrame = field(repr=False, compare=False)

    def selection(
        self, policies: pd.DataFrame, as_of_days: Sequence[int], horizon_ends: Sequence[int], max_rows: int | None, random_state: int
    ) -> pd.DataFrame | None:
        """The training selection these arguments would draw (``[book_row, as_of_day, target]``), or None when the draw does not hold it."""
        asked = (tuple(as_of_days), tuple(horizon_ends), random_state)
        if asked != (self.as_of_days, self.horizon_ends, self.random_state) or book_fingerprint(policies) != self.book:
            return None
        complete = len(self.rows) < self.max_rows  # every row there is was drawn
        if not (complete or (max_rows is not None and max_rows <= self.max_rows)):
            return None
        return first_drawn(self.rows, as_of_days=as_of_days, max_rows=max_rows)


def book_fingerprint(policies: pd.DataFrame) -> tuple[int, int]:
    """The book's size, and a hash of the columns the draw reads (row labels too) on about :data:`FINGERPRINT_ROWS` evenly spaced rows."""
    step = max(1, len(policies) // FINGERPRINT_ROWS)
    # Column by column: only the rows hashed are copied (``policies.iloc[::step]`` copies every column, 0.3 s on 5M policies).
    sample = pd.DataFrame({c: policies[c].iloc[::step] for c in ROW_COLUMNS if c in policies.columns}, index=policies.index[::step])
    hashes = pd.util.hash_pandas_object(sample, index=True).to_numpy(dtype=np.uint64)
    return len(policies), int(np.bitwise_xor.reduce(hashes * np.arange(1, len(hashes) + 1, dtype=np.uint64)) if len(hashes) else 0)


def horizon_days(as_of: Sequence[pd.Timestamp], horizon_months: int) -> tuple[list[int], list[int]]:
    """The as-of dates and the last day of each one's horizon, as day numbers."""
    as_of_days = [day_of(date) for date in as_of]
    ends = add_months(np.array(as_of_days, dtype="datetime64[D]"), horizon_months).astype(np.int64)
    return as_of_days, [int(e) for e in ends]


def draw_training(
    policies: pd.DataFrame, *, as_of: Sequence[pd.Timestamp], horizon_months: int, max_rows: int, random_state: int
) -> TrainingDraw:
    """The book's training rows drawn once at ``max_rows`` (:class:`TrainingDraw`)."""
    as_of_days, ends = horizon_days(as_of, horizon_months)
    rows = training_draw(
        *bind(book_columns(policies)),
        as_of_days=as_of_days,
        horizon_ends=ends,
        max_rows=max_rows,
        random_state=random_state,
        policies=len(policies),
    )
    return TrainingDraw(book_fingerprint(policies), tuple(as_of_days), tuple(ends), random_state, max_rows, rows)
