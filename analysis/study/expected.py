"""An expected basis for actual-to-expected: the table a user uploads, read and checked."""

from __future__ import annotations

import io

import pandas as pd

from analysis.errors import ExtractError

#: The columns every expected basis has (grouping columns may come beside them).
EXPECTED_COLUMNS = ("period", "expected_rate")


def read_expected(text: str) -> pd.DataFrame:
    """An expected basis from CSV text: ``period, expected_rate`` and optionally grouping columns.

    Parameters
    ----------
    text : str
        The CSV: a header ``period,expected_rate`` and rows such as ``1,0.08``; a grouping
        column (``channel``) keys the rate by cohort too.

    Returns
    -------
    DataFrame
        The table with ``period`` as whole numbers and ``expected_rate`` as floats (an annual
        probability, 0.05 for 5 %), ready for :func:`analysis.study.run.run_study`'s ``expected``.

    Raises
    ------
    ExtractError
        ``bad_expected`` when the text is no CSV, lacks the two columns or has no rows, or
        when a period or rate is not a number.
    """
    try:
        table = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise ExtractError("bad_expected", reason="not_csv", problem=exc) from exc
    if not set(EXPECTED_COLUMNS) <= set(table.columns) or table.empty:
        raise ExtractError("bad_expected", reason="expected_header")
    table["period"] = pd.to_numeric(table["period"], errors="coerce")
    table["expected_rate"] = pd.to_numeric(table["expected_rate"], errors="coerce")
    if table[list(EXPECTED_COLUMNS)].isna().any().any():
        raise ExtractError("bad_expected", reason="expected_numbers")
    table["period"] = table["period"].astype(int)
    return table
