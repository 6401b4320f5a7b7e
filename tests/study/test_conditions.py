"""Conditions (filters, named cohorts, scenario targets) mean the same on every engine and through filter_mask."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.engine.backend import bind, run
from analysis.engine.cohorts import predicate
from analysis.errors import ExtractError
from analysis.study.cohorts import Condition, filter_mask

BOOK = pd.DataFrame(
    {
        "issue_date": pd.to_datetime(["2024-01-01", "2024-12-31", "2025-01-01"]),
        "premium": [1.0, 30.0, None],
        "auto_debit": pd.array([True, False, None], dtype="boolean"),
        "渠道": pd.Categorical(["银保", "个险", None]),
    }
)
CASES = [
    (Condition("issue_date", "between", ["2024-01-01", "2024-12-31"]), [0, 1]),  # the last day of a range is in it
    (Condition("issue_date", ">=", "2024-12-31"), [1, 2]),
    (Condition("premium", "in", ["30", "30.0"]), [1]),
    (Condition("premium", "==", "30"), [1]),  # a typed "30" compares as a number
    (Condition("premium", "is blank", None), [2]),
    (Condition("auto_debit", "==", "True"), [0]),
    (Condition("auto_debit", "in", ["False"]), [1]),  # a blank is not False
    (Condition("渠道", "in", ["银保"]), [0]),
    (Condition("渠道", "!=", "银保"), [1]),  # a blank never matches a comparison
    (Condition("渠道", "not blank", None), [0, 1]),
]


@pytest.mark.parametrize(("condition", "rows"), CASES, ids=[f"{c.column} {c.op}" for c, _ in CASES])
def test_a_condition_picks_the_same_rows_on_every_engine(engine, condition: Condition, rows: list[int]) -> None:
    frame = BOOK.rename(columns={"渠道": "channel"}) if engine.name == "pyspark" else BOOK
    column = "channel" if condition.column == "渠道" and engine.name == "pyspark" else condition.column
    table, backend = bind(frame.assign(row=range(len(frame))), engine)
    got = run(backend, table.filter(predicate(table, [Condition(column, condition.op, condition.value)])).select("row"))
    assert sorted(got["row"]) == rows


@pytest.mark.parametrize(("condition", "rows"), CASES, ids=[f"{c.column} {c.op}" for c, _ in CASES])
def test_filter_mask_is_the_engine_condition(condition: Condition, rows: list[int]) -> None:
    shuffled = BOOK.set_index(pd.Index([10, 5, 7]))
    mask = filter_mask(shuffled, [condition])
    assert list(mask.index) == [10, 5, 7] and [k for k, hit in enumerate(mask) if hit] == rows


def test_a_condition_on_a_missing_column_names_the_books_columns() -> None:
    with pytest.raises(ExtractError) as raised:
        filter_mask(BOOK, [Condition("branch", "==", "北京")])
    assert raised.value.code == "missing_column" and "渠道" in str(raised.value.params["columns"])
