"""The data-quality account of a load as one downloadable table: codes, then words in a language."""

from __future__ import annotations

import pandas as pd

from analysis.ingest.ledger import PROBLEM_COLUMNS, problem_details, skipped_problems
from analysis.ingest.pipeline import LoadResult
from analysis.report.export import mask_value
from analysis.schema import PERSONAL_COLUMNS

#: The account in words (:func:`worded_account`).
ACCOUNT_COLUMNS = ["row", "verdict", "column", "kind", "value", "detail"]
#: The account as codes (:func:`account_table`): ``variant`` and ``params`` name and fill each sentence.
ACCOUNT_CODES = ["row", "verdict", "column", "kind", "value", "variant", "params"]


def account_table(result: LoadResult, *, mask: bool = True) -> pd.DataFrame:
    """Every source row that was not simply accepted, with what happened to it, as codes.

    Returns
    -------
    pandas.DataFrame
        ``[row, verdict, column, kind, value, variant, params]`` sorted by source row.
        ``verdict`` is skipped (not a policy row), rejected, repaired or flagged; a row
        has one line per problem. Rows absent from the table were accepted as they were.
        With ``mask`` (the default) the values of personal-identifier columns (names,
        phones, ID numbers) are masked. :func:`worded_account` gives the sentences.
    """
    table = pd.concat([skipped_problems(result.skipped_rows), result.problems[PROBLEM_COLUMNS]], ignore_index=True)
    table = table.rename(columns={"action": "verdict"})[ACCOUNT_CODES]
    if mask:
        personal = {match.source for canonical, match in result.mapping.items() if canonical in PERSONAL_COLUMNS} | set(PERSONAL_COLUMNS)
        hidden = table["column"].isin(personal) & table["value"].map(lambda v: isinstance(v, str) and bool(v))
        table.loc[hidden, "value"] = table.loc[hidden, "value"].map(lambda v: mask_value(str(v)))
    return table.sort_values(["row", "verdict"], kind="stable").reset_index(drop=True)


def worded_account(table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The account of :func:`account_table` (or some of its rows) in ``language``.

    Returns
    -------
    pandas.DataFrame
        ``[row, verdict, column, kind, value, detail]``: ``detail`` is each problem's
        sentence (:func:`~analysis.ingest.ledger.problem_details`), from the value as
        shown in the table (masked where the table masks it).
    """
    return table.assign(detail=problem_details(table, language))[ACCOUNT_COLUMNS]
