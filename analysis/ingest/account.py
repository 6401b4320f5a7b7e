"""The data-quality account of a load as one downloadable table."""

from __future__ import annotations

import pandas as pd

from analysis.ingest.pipeline import LoadResult
from analysis.report.export import mask_value
from analysis.schema import PERSONAL_COLUMNS

ACCOUNT_COLUMNS = ["row", "verdict", "column", "kind", "value", "detail"]


def account_table(result: LoadResult, *, mask: bool = True) -> pd.DataFrame:
    """Every source row that was not simply accepted, with what happened to it.

    Returns
    -------
    pandas.DataFrame
        ``[row, verdict, column, kind, value, detail]`` sorted by source row.
        ``verdict`` is skipped (not a policy row), rejected, repaired or
        flagged; a row has one line per problem. Rows absent from the table
        were accepted as they were. With ``mask`` (the default) the values of
        personal-identifier columns (names, phones, ID numbers) are masked.
    """
    problems = result.problems.rename(columns={"action": "verdict"})
    skipped = result.skipped_rows.assign(verdict="skipped", column="", kind="not_a_policy_row", value="").rename(
        columns={"reason": "detail"}
    )
    table = pd.concat([skipped[ACCOUNT_COLUMNS], problems[ACCOUNT_COLUMNS]], ignore_index=True)
    if mask:
        personal = {match.source for canonical, match in result.mapping.items() if canonical in PERSONAL_COLUMNS} | set(PERSONAL_COLUMNS)
        hidden = table["column"].isin(personal) & table["value"].map(lambda v: isinstance(v, str) and bool(v))
        table.loc[hidden, "value"] = table.loc[hidden, "value"].map(lambda v: mask_value(str(v)))
    return table.sort_values(["row", "verdict"], kind="stable").reset_index(drop=True)
