"""League tables: persistency at one month by a group column (channel, branch, product, agent), worst first.

A league table pools every issue cohort that has reached the month
(:func:`analysis.persistency.ratios.pooled_persistency`) and leaves out groups with fewer
eligible policies than a minimum volume, whose ratio is noise. :func:`league_tables` gives
the table of each of several columns from one pass over the book (the Overview page offers
every column, the monthly report writes them all), each equal to its own :func:`league_table`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import ibis.expr.types as ir
import pandas as pd

from analysis.engine.persistency import DIMENSION, GROUP
from analysis.persistency.ratios import (
    DEFAULT_OPTIONS,
    Payments,
    PersistencyOptions,
    persistency_cells,
    persistency_ratios,
    pooled_persistency,
    with_ratios,
)

#: Columns management ranks persistency by (league tables), where the data set has them.
LEAGUE_COLUMNS = ("channel", "branch", "product", "agent")
#: A league table leaves out groups with fewer eligible policies than this (their ratio is noise).
MIN_LEAGUE_POLICIES = 50
#: The columns of a league table after its group column.
LEAGUE_TABLE_COLUMNS = ["cohort_policies", "persisting", "persistency", "premium_persistency"]


def league_table(
    policies: pd.DataFrame | ir.Table,
    by: str,
    *,
    study_date: pd.Timestamp,
    month: int = 13,
    min_policies: int = MIN_LEAGUE_POLICIES,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    payments: Payments | None = None,
) -> pd.DataFrame:
    """Persistency at one month by a group column, worst first, groups below ``min_policies`` left out.

    With ``payments``, persistency on premiums received (:func:`~analysis.persistency.ratios.persistency_ratios`).
    """
    opts = replace(options, months=(month,))
    ratios = persistency_ratios(policies, study_date=study_date, options=opts, by=(by,), payments=payments)
    return _ranked(ratios, by, min_policies)


def league_tables(
    policies: pd.DataFrame | ir.Table,
    columns: Sequence[str] = LEAGUE_COLUMNS,
    *,
    study_date: pd.Timestamp,
    month: int = 13,
    min_policies: int = MIN_LEAGUE_POLICIES,
    options: PersistencyOptions = DEFAULT_OPTIONS,
    payments: Payments | None = None,
) -> dict[str, pd.DataFrame]:
    """The :func:`league_table` of each of ``columns`` the book has, keyed by column, in ``columns``' order.

    The text columns (the door reads channel, branch, product and agent as text) share one
    engine pass (``persistency_cells``' ``stack``: the policies are staged once, not once per
    column); any other column gets its own query, so its groups keep their type.
    """
    present = [column for column in dict.fromkeys(columns) if column in policies.columns]
    text = [column for column in present if _is_text(policies, column)]
    out: dict[str, pd.DataFrame] = {}
    if text:
        opts = replace(options, months=(month,))
        cells = persistency_cells(policies, study_date=study_date, options=opts, payments=payments, stack=text)
        ratios = with_ratios(cells, by=(DIMENSION, GROUP))
        for column in text:
            part = ratios[ratios[DIMENSION] == column].drop(columns=DIMENSION).rename(columns={GROUP: column})
            if isinstance(policies, pd.DataFrame):  # the groups keep the book's type, as in league_table
                part[column] = part[column].astype(policies[column].dtype)
            out[column] = _ranked(part, column, min_policies)
    for column in present:
        if column not in out:
            out[column] = league_table(
                policies, column, study_date=study_date, month=month, min_policies=min_policies, options=options, payments=payments
            )
    return {column: out[column] for column in present}


def _is_text(policies: pd.DataFrame | ir.Table, column: str) -> bool:
    """Whether the column holds text (so its groups survive the engine's cast to text unchanged)."""
    if isinstance(policies, pd.DataFrame):
        values = policies[column]
        if isinstance(values.dtype, pd.CategoricalDtype):  # the door keeps a repetitive text column as categories
            values = pd.Series(values.cat.categories)
        if isinstance(values.dtype, pd.StringDtype):
            return True
        return pd.api.types.is_object_dtype(values.dtype) and pd.api.types.infer_dtype(values, skipna=True) == "string"
    return bool(policies[column].type().is_string())


def at_min_volume(table: pd.DataFrame, min_policies: int) -> pd.DataFrame:
    """A league table without its groups below ``min_policies`` eligible policies, in the same order.

    The table of a higher minimum is the table of a lower one cut this way, so the page keeps
    every column's tables for one minimum (0) and applies the user's.
    """
    return table[table["cohort_policies"].to_numpy() >= min_policies].reset_index(drop=True)


def _ranked(ratios: pd.DataFrame, by: str, min_policies: int) -> pd.DataFrame:
    """The cohorts pooled by group, worst first (ties in the groups' order), groups below ``min_policies`` left out."""
    pooled = pooled_persistency(ratios, by=(by,))
    ranked = pooled.sort_values("persistency", kind="stable").reset_index(drop=True)[[by, *LEAGUE_TABLE_COLUMNS]]
    return at_min_volume(ranked, min_policies)
