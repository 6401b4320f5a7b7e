"""The rows of a frame as dicts, for the tests' policy-by-policy rebuilds."""

from __future__ import annotations

from typing import Any

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict("records")``, built column by column.

    The same values, a missing text ``None`` as there (``tests/test_records.py``), in about half the
    time on the sample: ``to_dict`` boxes Arrow-backed text one cell at a time.
    """
    columns = {name: [None if v is pd.NA else v for v in frame[name].tolist()] for name in frame.columns}
    return [dict(zip(columns, values)) for values in zip(*columns.values())]
