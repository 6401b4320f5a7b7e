from __future__ import annotations

import numpy as np
import pandas as pd
from records import records


def test_records_equal_to_dict_on_every_kind_of_column_and_missing_value() -> None:
    frame = pd.DataFrame(
        {
            "text": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "day": pd.to_datetime(["2024-01-31", None, "2024-03-01"]),
            "amount": [1.5, np.nan, 3.0],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "plain": [1, 2, 3],
            "object": ["x", None, 2],
        }
    )
    expected, mine = frame.to_dict("records"), records(frame)
    assert len(mine) == len(expected)
    for want, got in zip(expected, mine):
        assert list(got) == list(want)
        for name, value in want.items():
            assert type(got[name]) is type(value), name
            assert (pd.isna(value) and pd.isna(got[name])) or got[name] == value, name
