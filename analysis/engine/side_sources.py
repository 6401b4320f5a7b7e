"""Where a side table comes from — a payment history, a campaign list: a file, or a table of the book's own source.

A side table is named the way the book is (:mod:`analysis.engine.sources`):

* a CSV, Excel or Parquet file (a path, or an upload's bytes) is read as text in the guard's
  worker (:func:`analysis.ingest.side_tables.read_side_cells`), its row numbers the file's own;
* a database table or SQL query, ``postgresql://…``, ``mysql://…`` or ``mariadb://…`` with
  :class:`SideSource` ``table`` or ``query`` (the password from the environment or the app's
  secrets, never shown), read into Arrow as the book is;
* a Spark table (``spark:NAME``, or ``table`` on the Spark engine), for a lake.

What a database or Spark table returns is turned into the cells a file gives — every value as
text (a date as ``YYYY-MM-DD``, a number as written, a NULL as missing) — so the same rules,
account and refusals apply to both (:func:`analysis.payments.table.payments_from_cells`,
:func:`analysis.interventions.campaign_list.campaign_list_from_cells`). A database has no row
numbers: a row's number in the account is its position in what the table or query returned
(1 for the first), so an ``ORDER BY`` in the query makes the numbers stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from analysis.engine.backend import DEFAULT_ENGINE, connect, on_engine
from analysis.errors import ExtractError
from analysis.ingest.side_tables import read_side_cells

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SideSource", "is_source_url", "side_cells"]

#: The scheme of a Spark table named as a URL (as :data:`analysis.engine.sources.SPARK_SCHEME`).
SPARK_PREFIX: Final = "spark:"


@dataclass(frozen=True)
class SideSource:
    """A side table in a database or a lake: the source (a URL or ``spark:NAME``) and the table or query in it.

    Attributes
    ----------
    url : str
        A database URL (no password in what is shown), or ``spark:NAME``; empty with the Spark
        engine and a ``table`` (a table of the session's catalogue).
    table, query : str or None
        The table or SQL query (exactly one, for a database).
    engine : str
        ``duckdb`` or ``spark`` (a Spark table needs ``spark``).
    password : str or None
        The database password (the app's secrets); left out of ``repr`` and equality.
    """

    url: str
    table: str | None = None
    query: str | None = None
    engine: str = DEFAULT_ENGINE
    password: str | None = field(default=None, repr=False, compare=False)

    def description(self) -> str:
        """The side table as it may be shown: the source without its password, and the table or that it is a query."""
        from analysis.engine.sources import redact

        shown = redact(self.url) if self.url else SPARK_PREFIX.rstrip(":")
        if self.table and not self.url.startswith(SPARK_PREFIX):
            return f"{shown} table {self.table}"
        return f"{shown} query" if self.query else shown


def is_source_url(text: object) -> bool:
    """Whether ``text`` names a database or Spark table rather than a file (``scheme://…`` or ``spark:NAME``)."""
    if not isinstance(text, str):
        return False
    return text.startswith(SPARK_PREFIX) or ("://" in text and urlsplit(text).scheme.lower() != "file")


def side_cells(
    source: bytes | str | Path | SideSource, *, filename: str | None = None, sheet: str | int | None = None
) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """A side table's cells as text, their row numbers, and whether they came from a workbook's number cells.

    Parameters
    ----------
    source : bytes, str, Path or SideSource
        A file (its bytes or path) or a table in a database or a lake.
    filename : str, optional
        The name the bytes came under (tells the format).
    sheet : str or int, optional
        A workbook's sheet.

    Raises
    ------
    ExtractError
        ``bad_source`` when the database or lake cannot be reached or has no such table, the
        query fails, or a column cannot be read as text; the door's refusals for a file.
    """
    if not isinstance(source, SideSource):
        return read_side_cells(source, filename=filename, sheet=sheet)
    arrow = _spark_rows(source) if _is_spark(source) else _database_rows(source)
    cells = _text_cells(arrow, source.description())
    return cells, np.arange(1, len(cells) + 1, dtype=np.int64), False


def _is_spark(source: SideSource) -> bool:
    return source.url.startswith(SPARK_PREFIX) or (not source.url and source.engine == "spark")


def _database_rows(source: SideSource) -> pa.Table:
    from analysis.engine.sources import DATABASE_SCHEMES, _database, redact

    scheme = urlsplit(source.url).scheme.lower()
    if scheme not in DATABASE_SCHEMES:
        raise ExtractError("bad_source", reason="scheme", source=redact(source.url), schemes=", ".join(DATABASE_SCHEMES))
    arrow, _ = _database(source.url, scheme, table=source.table, query=source.query, password=source.password)
    return arrow


def _spark_rows(source: SideSource) -> pa.Table:
    from analysis.engine.sources import _spark_table

    name = source.url[len(SPARK_PREFIX) :] if source.url.startswith(SPARK_PREFIX) else (source.table or "")
    if source.query:
        raise ExtractError("bad_source", reason="spark_query", source=source.description())
    backend = connect("spark")
    table = _spark_table(backend, name)
    return on_engine(backend, table.to_pyarrow)


def _text_cells(arrow: pa.Table, shown: str) -> pd.DataFrame:
    """Every column as text, as a file's cells are read: a date ``YYYY-MM-DD``, a number as written, NULL missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: dict[str, Any] = {}
    for name, column in zip(arrow.column_names, arrow.columns):
        kind = column.type
        try:
            if pa.types.is_timestamp(kind):
                text = _timestamp_text(column)
            elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
                text = column
            else:
                text = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ExtractError("bad_source", reason="column_type", source=shown, column=str(name), kind=str(kind)) from exc
        columns[str(name)] = text.to_pandas(types_mapper=pd.ArrowDtype).astype("string")
    return pd.DataFrame(columns, index=pd.RangeIndex(arrow.num_rows))


def _timestamp_text(column: Any) -> Any:
    """A timestamp as its date when every value is at midnight (a date column typed as a timestamp), else as written."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dates = pc.cast(column, pa.date32())
    back = pc.cast(dates, column.type)
    if pc.all(pc.or_kleene(pc.equal(back, column), pc.is_null(column))).as_py() is not False:
        return pc.cast(dates, pa.string())
    seconds = pc.cast(column, pa.timestamp("s", tz=column.type.tz), safe=False)  # Arrow's %S would write fractions
    return pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")


def named_side_source(
    value: str | None,
    *,
    table: str | None,
    query: str | None,
    book_source: str | None,
    engine: str = DEFAULT_ENGINE,
    password: str | None = None,
    flags: tuple[str, str, str],
) -> str | SideSource | None:
    """What a side table's options name: a file path, a table or query of a database or lake, or None.

    Parameters
    ----------
    value : str or None
        The option's value: a file path, a database URL or ``spark:NAME``.
    table, query : str or None
        The table or query in that source; without ``value``, in the book's own source
        (``book_source``: a database URL, or the Spark engine's catalogue).
    book_source : str or None
        Where the book itself was opened from (``--source``), if anywhere.
    engine : str
        The engine (a Spark table needs ``spark``).
    password : str, optional
        The database password (else the environment's, see :mod:`analysis.engine.sources`).
    flags : tuple of str
        The options' names as the user wrote them, for the refusals: the source's, the table's, the query's.

    Raises
    ------
    ExtractError
        ``bad_source`` (``side_table``: a table or query with a file or with no database or
        lake to find it in; ``side_table_or_query``: a database named without exactly one of
        its table and query).
    """
    if not (value or table or query):
        return None
    if value and not is_source_url(value):
        if table or query:
            raise ExtractError("bad_source", reason="side_table", flag=flags[1] if table else flags[2], source_flag=flags[0])
        return value
    url: str = value or (book_source if book_source and is_source_url(book_source) else "")
    if not url and engine != "spark":
        raise ExtractError("bad_source", reason="side_table", flag=flags[1] if table else flags[2], source_flag=flags[0])
    source = SideSource(url or "", table=table, query=query, engine=engine, password=password)
    spark = _is_spark(source)
    if (not spark and bool(table) == bool(query)) or (spark and not (url.startswith(SPARK_PREFIX) or table)):
        from analysis.engine.sources import redact

        raise ExtractError(
            "bad_source", reason="side_table_or_query", source=redact(url) or "spark", table_flag=flags[1], query_flag=flags[2]
        )
    return source
