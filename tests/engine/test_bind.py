"""A pandas book handed to the engine: the Arrow table it is registered as, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from artefacts import sample_extract

from analysis.engine.backend import _arrow, arrow_book, bind, run


def _through_a_new_frame(frame: pd.DataFrame) -> pa.Table:
    """What the book used to become: the columns made into a new frame, then ``Table.from_pandas`` (text categories: dictionaries)."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        text_categories = isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(values.cat.categories) == "string"
        if isinstance(values.dtype, pd.CategoricalDtype) and not text_categories:
            values = values.astype(values.cat.categories.dtype if values.cat.categories.dtype != object else "string")
        if values.dtype == object:
            values = values.astype("string")
        columns[str(name)] = values
    return pa.Table.from_pandas(pd.DataFrame(columns, index=None), preserve_index=False).replace_schema_metadata(None)


def test_the_sample_becomes_the_same_arrow_table_column_by_column() -> None:
    book = sample_extract().policies
    assert _arrow(book).equals(_through_a_new_frame(book))


def test_every_kind_of_column_keeps_its_values_and_types() -> None:
    frame = pd.DataFrame(
        {
            "text": pd.array(["a", None, "丙"], dtype="string[pyarrow]"),
            "python_text": pd.array(["a", None, "c"], dtype="string"),
            "mixed": np.array(["x", 3, None], dtype=object),
            "category": pd.Categorical(["银保", "个险", None]),
            "number_category": pd.Categorical([1.5, None, 2.5]),
            "day": pd.to_datetime(["2024-01-31", None, "2023-02-28"]),
            "premium": [1.5, np.nan, 3.0],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            7: [1, 2, 3],
        },
        index=[10, 11, 12],
    )
    arrow = _arrow(frame)
    assert arrow.equals(_through_a_new_frame(frame))
    assert arrow.column("mixed").to_pylist() == ["x", "3", None] and arrow.column("category").to_pylist() == ["银保", "个险", None]
    assert pa.types.is_dictionary(arrow.column("category").type)  # the book's codes, not a copy of its text
    assert arrow.column("number_category").type == pa.float64()  # other categories: their own type
    table, engine = bind(frame)
    assert table.schema()["category"].is_string()
    back = run(engine, table)
    assert back["day"].isna().tolist() == [False, True, False] and back["7"].tolist() == [1, 2, 3]
    assert back["category"].tolist()[:2] == ["银保", "个险"] and back["category"].isna().tolist() == [False, False, True]


def test_each_engine_reads_nullable_columns_as_the_types_they_are(engine) -> None:
    """Whole numbers and yes/no with blanks stay whole numbers and yes/no on DuckDB and on Spark (which is handed pandas)."""
    frame = pd.DataFrame(
        {
            "count": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "text": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "day": pd.to_datetime(["2024-01-31", None, "2023-02-28"]),
            "channel": pd.Categorical(
                ["银保", None, "个险"], categories=pd.Index(["个险", "银保"], dtype=object)
            ),  # the door's text categories
        }
    )
    table, backend = bind(frame, engine)
    kinds = table.schema()
    assert kinds["count"].is_integer() and kinds["flag"].is_boolean() and kinds["text"].is_string() and kinds["day"].is_temporal()
    assert kinds["channel"].is_string()
    back = run(backend, table.order_by(table["count"].isnull(), table["count"]))
    assert back["count"].tolist()[:2] == [1, 3] and back["count"].isna().tolist() == [False, False, True]
    assert back["channel"].tolist()[:2] == ["银保", "个险"] and back["channel"].isna().tolist() == [False, False, True]
    counts = run(backend, table.group_by("channel").aggregate(n=table.count()).order_by("channel"))
    assert counts["n"].tolist() == [1, 1, 1] and counts["channel"].tolist()[:2] == ["个险", "银保"]


def test_only_the_columns_named_and_the_extra_ones_are_handed_over() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert arrow_book(frame, ["b", "missing"], row=np.arange(2)).column_names == ["b", "row"]
    assert arrow_book(frame, ["missing"], row=np.arange(2)).to_pydict() == {"row": [0, 1]}
    table, engine = bind(pa.table({"a": [1, 2], "b": ["x", "y"]}), columns=["b", "missing"])
    assert table.columns == ("b",) and run(engine, table)["b"].tolist() == ["x", "y"]
