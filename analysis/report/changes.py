"""What changed most since last year: the monthly report's cover headline.

**Definition.** A *change* is the move of one headline persistency figure (count basis: the
share of policies still paying at month N, N in :data:`~analysis.persistency.ratios.HEADLINE_MONTHS`)
between two windows of 12 issue months: the latest window whose every policy has reached
month N and is fully observed (a lapse still in grace is not yet recorded without a payment
history: :func:`analysis.persistency.maturity.observed_cells`; the KPI's window,
:func:`analysis.persistency.overview.kpis_from_cells`) and the same window a year earlier. It
is measured for the whole book (the filtered book when the report is filtered) and for every
group of each league column the book has (channel, branch, product, agent; a column with a
single group repeats the book and is left out), all on the *book's* windows, so every change
compares the same issue months.

**Ranking.** Candidates are ranked by the absolute change in percentage points, largest
first (ties: more policies first, then by name). **Minimum size:** a candidate counts only
when both windows hold at least :data:`MIN_CHANGE_POLICIES` policies — a ratio of a few dozen
policies moves by several points by chance, and would otherwise always win. Each change also
says whether it exceeds its noise (:data:`~analysis.persistency.overview.NOISE_Z` standard
errors of a difference of two independent proportions), as the KPIs do.

The collections funnel is a snapshot of the study month; the extract has no earlier snapshot
to compare it with, so it is not a candidate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.persistency import DIMENSION, GROUP
from analysis.persistency.league import LEAGUE_COLUMNS
from analysis.persistency.maturity import observed_cells, recording_lag
from analysis.persistency.overview import NOISE_Z
from analysis.persistency.ratios import DEFAULT_OPTIONS, HEADLINE_MONTHS, Payments, PersistencyOptions, persistency_book, persistency_cells

#: The cover names this many changes.
CHANGES_SHOWN: Final = 3
#: A candidate counts only when both of its windows hold at least this many policies.
MIN_CHANGE_POLICIES: Final = 200
#: Months in a window (and between the two windows compared).
WINDOW_MONTHS: Final = 12
#: The columns of :func:`largest_changes`.
CHANGE_COLUMNS: Final = [
    "column",
    "group",
    "month",
    "window_start",
    "window_end",
    "current",
    "previous",
    "change",
    "policies",
    "previous_policies",
    "noise",
    "beyond_noise",
]


def _label(period: int) -> str:
    """An issue month numbered from year 0 as ``YYYY-MM``."""
    return f"{period // 12}-{period % 12 + 1:02d}"


def _windows(cells: pd.DataFrame, month: int, observed: np.ndarray) -> tuple[int, int] | None:
    """The last issue month (numbered) fully observed at ``month`` (``observed``: per cell), and it less a year; None without one."""
    done = cells[(cells["month"] == month).to_numpy(dtype=bool) & observed]
    if done.empty:
        return None
    last = int(done["period"].max())
    return last, last - WINDOW_MONTHS


def _moves(cells: pd.DataFrame, by: Sequence[str], month: int, last: int) -> pd.DataFrame:
    """Policies and persisting in the window ending at ``last`` and the one a year before, per group of ``by``."""
    at = cells[cells["month"] == month]
    period = at["period"].to_numpy(dtype=np.int64)
    window = np.where(period > last - WINDOW_MONTHS, "current", np.where(period > last - 2 * WINDOW_MONTHS, "previous", ""))
    at = at.assign(window=window, _book="")[(window != "") & (period <= last)]
    keys = [*(by or ["_book"]), "window"]
    sums = at.groupby(keys, observed=True, dropna=False)[["cohort_policies", "persisting"]].sum()
    wide = sums.unstack("window", fill_value=0)
    out = pd.DataFrame(index=wide.index)
    for name in ("current", "previous"):
        policies = wide["cohort_policies"][name] if name in wide["cohort_policies"] else pd.Series(0, index=wide.index)
        persisting = wide["persisting"][name] if name in wide["persisting"] else pd.Series(0, index=wide.index)
        out[f"{name}_policies"] = policies.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(policies > 0, persisting / policies, np.nan)
    return out.reset_index().drop(columns="_book", errors="ignore")


def _group_cells(
    book: ir.Table,
    columns: Sequence[str],
    lasts: dict[int, int],
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions,
    payments: Payments | None,
) -> pd.DataFrame | None:
    """The cells of every group of every column in one query, as ``(DIMENSION, GROUP)`` (``persistency_cells``'s ``stack``).

    Only the issue months the windows compare are read (a fraction of a long book); None without columns or windows.
    """
    if not columns or not lasts:
        return None
    first = min(lasts.values()) - 2 * WINDOW_MONTHS + 1
    recent = book.filter(book[S.ISSUE_DATE] >= pd.Timestamp(first // 12, first % 12 + 1, 1))
    return persistency_cells(recent, study_date=study_date, options=options, premium=False, payments=payments, stack=columns)


def candidate_changes(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    columns: Sequence[str] = LEAGUE_COLUMNS,
    months: Sequence[int] = HEADLINE_MONTHS,
    payments: Payments | None = None,
) -> pd.DataFrame:
    """Every change of the module's definition, before the size rule and the ranking (:data:`CHANGE_COLUMNS`).

    ``column`` is empty for the whole book; ``group`` is the group's value as text.
    """
    opts = replace(options, months=tuple(months), cohort="month")
    present = [c for c in columns if c in policies.columns]
    book, _ = persistency_book(policies, present, ids=payments is not None)
    whole = persistency_cells(book, study_date=study_date, options=opts, premium=False, payments=payments)
    lag = recording_lag(options, payments=payments is not None)
    observed = observed_cells(whole, study_date=study_date, shift=1 if options.include_grace else 0, lag_days=lag)
    lasts = {month: window[0] for month in months if (window := _windows(whole, month, observed)) is not None}
    grouped = _group_cells(book, present, lasts, study_date=study_date, options=opts, payments=payments)
    frames = []
    for month, last in lasts.items():
        parts = [_moves(whole, (), month, last).assign(column="", group="")]
        if grouped is not None:
            moved = _moves(grouped, (DIMENSION, GROUP), month, last)
            counts = moved[DIMENSION].map(moved[DIMENSION].value_counts())
            moved = moved[counts > 1]  # a column with a single group repeats the book
            parts.append(moved.rename(columns={DIMENSION: "column", GROUP: "group"}).assign(group=lambda d: d["group"].fillna("")))
        found = pd.concat(parts, ignore_index=True)
        found["month"], found["window_start"], found["window_end"] = month, _label(last - WINDOW_MONTHS + 1), _label(last)
        frames.append(found)
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in CHANGE_COLUMNS})
    out = pd.concat(frames, ignore_index=True).rename(columns={"current_policies": "policies"})
    out["change"] = out["current"] - out["previous"]
    p1, n1, p0, n0 = (out[c].to_numpy(dtype=float) for c in ("current", "policies", "previous", "previous_policies"))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["noise"] = NOISE_Z * np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    out["beyond_noise"] = (out["change"].abs() >= out["noise"]).to_numpy(dtype=bool)
    return out[CHANGE_COLUMNS]


def largest_changes(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    columns: Sequence[str] = LEAGUE_COLUMNS,
    payments: Payments | None = None,
    min_policies: int = MIN_CHANGE_POLICIES,
    top: int = CHANGES_SHOWN,
) -> pd.DataFrame:
    """The ``top`` changes that moved most (module notes: definition, size rule, ranking), largest first.

    Parameters
    ----------
    policies : DataFrame or ibis Table
        Canonical policies (the filtered book when the report is filtered); the league
        columns it has are compared group by group. A pandas book runs on DuckDB; an Ibis
        table on its own engine.
    study_date : Timestamp
    options : PersistencyOptions
        Exclusions, N or N + 1, grace period (``months`` and ``cohort`` are set here).
    columns : sequence of str
        Group columns to compare within.
    payments : PaymentHistory or DataFrame, optional
        Persistency on premiums received instead of the in-force approximation.
    min_policies : int
        Both windows of a candidate hold at least this many policies.
    top : int
        How many to return.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`: ``column`` (empty: the whole book) and ``group``, ``month`` (13,
        25), the current window's issue months, ``current`` and ``previous`` persistency
        (count basis), ``change`` (current − previous, a fraction), the policies of both
        windows, ``noise`` and ``beyond_noise``. Empty when no figure has last year's window.
    """
    found = candidate_changes(policies, study_date=study_date, options=options, columns=columns, payments=payments)
    sized = found[(found["policies"] >= min_policies) & (found["previous_policies"] >= min_policies)]
    sized = sized.assign(size=sized["change"].abs()).dropna(subset=["size"])
    ranked = sized.sort_values(["size", "policies", "column", "group", "month"], ascending=[False, False, True, True, True], kind="stable")
    return ranked.head(top)[CHANGE_COLUMNS].reset_index(drop=True)
