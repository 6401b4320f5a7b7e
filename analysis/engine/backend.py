"""Engines: which Ibis backend runs the book's expressions, and how a book is bound to one.

``duckdb`` (the default) is an in-process DuckDB database: a pandas or Arrow table is
registered without a copy, Parquet is read lazily and larger-than-memory work spills to
disk. ``spark`` is a Spark session: the one that ``SPARK_REMOTE`` names (Spark Connect, a
cluster), or else a local session with :data:`SPARK_LOCAL_MASTER` threads. Connections
are made once per process and shared.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Final

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from analysis.errors import ExtractError

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

ENGINES: Final = ("duckdb", "spark")
DEFAULT_ENGINE: Final = "duckdb"
#: Local Spark: both cores of a developer's machine, and as many shuffle partitions.
SPARK_LOCAL_MASTER: Final = "local[2]"
SPARK_SHUFFLE_PARTITIONS: Final = 2
#: Heap of a local Spark driver (it holds the small results and the cached plans).
SPARK_DRIVER_MEMORY: Final = "2g"
#: Memory DuckDB may use before it spills to its temporary folder.
DUCKDB_MEMORY_LIMIT: Final = "6GB"

_lock = threading.Lock()
_backends: dict[str, BaseBackend] = {}


def connect(engine: str = DEFAULT_ENGINE) -> BaseBackend:
    """The process's backend for ``engine`` (made on first use)."""
    if engine not in ENGINES:
        raise ExtractError("bad_option", reason="engine", engine=engine, allowed=", ".join(ENGINES))
    with _lock:
        if engine not in _backends:
            _backends[engine] = _duckdb() if engine == "duckdb" else ibis.pyspark.connect(spark_session())
        return _backends[engine]


def _duckdb() -> BaseBackend:
    con = ibis.duckdb.connect(memory_limit=DUCKDB_MEMORY_LIMIT, temp_directory=os.path.join(tempfile.gettempdir(), "lapselens-duckdb"))
    con.raw_sql("SET preserve_insertion_order = false")
    return con


def spark_session() -> Any:
    """The Spark session: ``SPARK_REMOTE`` (Spark Connect) when set, else a quiet local one."""
    from pyspark.sql import SparkSession

    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    warehouse = os.path.join(tempfile.gettempdir(), "lapselens-spark-warehouse")
    session = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", SPARK_LOCAL_MASTER))
        .appName("LapseLens")
        .config("spark.sql.shuffle.partitions", str(SPARK_SHUFFLE_PARTITIONS))
        .config("spark.default.parallelism", str(SPARK_SHUFFLE_PARTITIONS))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", SPARK_DRIVER_MEMORY)
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def engine_of(backend: BaseBackend) -> str:
    """The engine name of a backend (``duckdb``, ``spark`` or the Ibis backend's own name)."""
    name = str(getattr(backend, "name", ""))
    return "spark" if name == "pyspark" else name


_counter = 0


def bind(policies: pd.DataFrame | pa.Table | ir.Table, backend: BaseBackend | None = None) -> tuple[ir.Table, BaseBackend]:
    """A book as an Ibis table on a backend.

    An Ibis table keeps its own backend. A pandas or Arrow table becomes an in-memory
    table of ``backend`` (DuckDB by default): DuckDB reads the Arrow buffers in place; Spark
    makes a temporary view from them.
    """
    if isinstance(policies, ir.Table):
        own = _own_backend(policies)
        return policies, own or backend or connect()
    target = backend or connect()
    arrow = policies if isinstance(policies, pa.Table) else _arrow(policies)
    if engine_of(target) == "spark":
        global _counter
        with _lock:
            _counter += 1
            name = f"lapselens_book_{_counter}"
        session = target._session  # noqa: SLF001 - Ibis's PySpark backend keeps its session here
        session.createDataFrame(arrow.to_pandas()).createOrReplaceTempView(name)
        return target.table(name), target
    return ibis.memtable(arrow), target


def _own_backend(table: ir.Table) -> BaseBackend | None:
    try:
        return table._find_backend(use_default=False)  # noqa: SLF001 - Ibis's way to tell a table's backend
    except Exception:  # noqa: BLE001 - an in-memory table has none
        return None


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """A pandas book as Arrow: categories as plain strings, mixed object columns as text."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.cat.categories.dtype if values.cat.categories.dtype != object else "string")
        if values.dtype == object:
            values = values.astype("string")
        columns[str(name)] = values
    return pa.Table.from_pandas(pd.DataFrame(columns, index=None), preserve_index=False)


def run(backend: BaseBackend, expression: ir.Table) -> pd.DataFrame:
    """Execute an expression on ``backend`` and return the (small) result as pandas."""
    return backend.to_pandas(expression)
