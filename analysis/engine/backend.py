"""Engines: which Ibis backend runs the book's expressions, and how a book is bound to one.

``duckdb`` (the default) is an in-process DuckDB database: a pandas or Arrow table is
registered without a copy, Parquet is read lazily and larger-than-memory work spills to
disk. ``spark`` is a Spark session: the one that ``SPARK_REMOTE`` names (Spark Connect, a
cluster), or else a local session with :data:`SPARK_LOCAL_MASTER` threads. Connections
are made once per process and shared.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import queue
import tempfile
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from typing import TYPE_CHECKING, Any, Callable, Final, Sequence, TypeVar

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
#: Memory DuckDB may use before it spills to its temporary folder (``LAPSELENS_DUCKDB_MEMORY`` overrides).
#: It shares the process with the pandas book and the models, so it is kept modest: the
#: aggregations stream and hold only their small result (50 million policies fit in 1 GB).
DUCKDB_MEMORY_LIMIT: Final = "2GB"

_lock = threading.Lock()
_backends: dict[str, BaseBackend] = {}
T = TypeVar("T")


class EngineThread:
    """The one thread that makes every call on the process's DuckDB connection.

    One DuckDB connection serves every session of the process. It runs one call at a time
    ("connection is busy with another call" otherwise), and duckdb-python supports a connection
    only on one thread: a query that scans a registered Arrow table calls back into Python
    from DuckDB's own threads, and the arrangement named as safe is one thread inside the
    engine, every other thread waiting (xarray-sql reports intermittent deadlocks otherwise).
    So every use of the connection by the app and the command line — making it, binding a book,
    dropping one, running a query — is handed to this thread, made when the engine is first
    used, and the caller waits for the answer (without the GIL). The thread is a daemon, as
    Streamlit's script threads are: a query still running never holds up the process's exit.
    Spark sessions take concurrent jobs and are called from any thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        started = threading.Event()
        thread = threading.Thread(target=self._serve, args=(started,), name="lapselens-duckdb", daemon=True)
        thread.start()
        started.wait()  # started now, not in the middle of a query
        self.ident = thread.ident

    def _serve(self, started: threading.Event) -> None:
        started.set()
        while True:
            job = self._jobs.get()
            future = job[1]
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(job[0]())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
                    future.set_exception(exc)
            del job, future  # the finished work (and the book it bound) is not kept until the next job

    def call(self, work: Callable[[], T]) -> T:
        """``work()`` on the engine's thread (at once when already there: a bind that first drops released books)."""
        if threading.get_ident() == self.ident:
            return work()
        future: Future[T] = Future()
        self._jobs.put((work, future))
        try:
            return future.result()
        except BaseException:
            if not future.done() and not future.cancel():  # the caller was stopped (Ctrl+C): so is its running query
                _stop(future)
            raise


#: How long a stopped caller keeps asking DuckDB to stop its query (an interrupt sent while the
#: engine's thread is still in Python, compiling or converting, is not remembered by DuckDB).
INTERRUPT_SECONDS: Final = 5.0


def _stop(future: Future[Any]) -> None:
    deadline = time.monotonic() + INTERRUPT_SECONDS
    while not future.done() and time.monotonic() < deadline:
        backend = _backends.get("duckdb")
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.con.interrupt()  # DuckDB's way to stop a running query from another thread
        futures_wait([future], timeout=0.1)


@functools.cache
def engine_thread() -> EngineThread:
    """The process's :class:`EngineThread` (started on first use)."""
    return EngineThread()


def _forked() -> None:
    """In a forked child: none of the parent's threads, so a new engine thread when one is needed.

    Nothing else is dropped here: this runs in every fork, including the one PySpark makes to
    start Java, and letting go of the parent's DuckDB connection in a child destroys it there
    (its threads do not exist in the child) before ``exec``. A child must not use the parent's
    connection; none does (the door's workers come from a forkserver).
    """
    engine_thread.cache_clear()


os.register_at_fork(after_in_child=_forked)


def on_engine(backend: BaseBackend, work: Callable[[], T]) -> T:
    """Call ``work`` (a direct use of ``backend``) where that engine wants it: DuckDB's on its one thread, others here."""
    return engine_thread().call(work) if engine_of(backend) == "duckdb" else work()


def unfused_selects() -> None:
    """Turn off Ibis's fusion of nested selects for the process (called when an engine is first connected).

    The engine core builds deep chains of selects (each derived column on the last); Ibis
    squashing them into one SELECT took about 40 % of the time it spends compiling them (a
    page's queries cost it more than the engine takes to run them on the sample). DuckDB,
    Spark and PostgreSQL flatten nested selects in their own optimisers, so the SQL runs the
    same, and gives the same results; it only reads longer.
    """
    ibis.options.sql.fuse_selects = False


def connect(engine: str = DEFAULT_ENGINE) -> BaseBackend:
    """The process's backend for ``engine`` (made on first use)."""
    if engine not in ENGINES:
        raise ExtractError("bad_option", reason="engine", engine=engine, allowed=", ".join(ENGINES))
    with _lock:
        if engine not in _backends:
            unfused_selects()
            _backends[engine] = engine_thread().call(_duckdb) if engine == "duckdb" else ibis.pyspark.connect(spark_session())
        return _backends[engine]


def _duckdb() -> BaseBackend:
    limit = os.environ.get("LAPSELENS_DUCKDB_MEMORY", DUCKDB_MEMORY_LIMIT)
    con = ibis.duckdb.connect(memory_limit=limit, temp_directory=os.path.join(tempfile.gettempdir(), "lapselens-duckdb"))
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


_counter = itertools.count(1)


def bind(
    policies: pd.DataFrame | pa.Table | ir.Table, backend: BaseBackend | None = None, *, columns: Sequence[str] | None = None
) -> tuple[ir.Table, BaseBackend]:
    """A book as an Ibis table on a backend.

    An Ibis table keeps its own backend. A pandas or Arrow table is registered with
    ``backend`` (DuckDB by default) under a name of its own: DuckDB reads the Arrow buffers
    in place; Spark makes a temporary view from them. The registration lasts as long as the
    returned table (or any expression built on it) lives, then it is dropped: Ibis's own
    in-memory tables stay registered until the process exits, which would keep every book a
    page ever handed to the engine. ``columns``: only those of them the book has, in this order
    (a pandas book's without first copying them into a frame of their own).

    DuckDB reads a pandas book's number and date columns in place, without a copy: a bound
    book must not be changed afterwards (the door's books are read-only everywhere).
    """
    if isinstance(policies, ir.Table):
        own = _own_backend(policies)
        if columns is not None:
            policies = policies.select(*_present(columns, policies.columns))
        return policies, own or backend or connect()
    target = backend or connect()
    if isinstance(policies, pa.Table):
        arrow = policies if columns is None else policies.select(_present(columns, policies.column_names))
    else:
        arrow = _arrow(policies, columns)
    return on_engine(target, lambda: _bind(arrow, target))


def _present(columns: Sequence[str], have: Sequence[str]) -> list[str]:
    """Those of ``columns`` in ``have``, each once, in the order asked."""
    kept = set(have)
    return [c for c in dict.fromkeys(columns) if c in kept]


def _bind(arrow: pa.Table, target: BaseBackend) -> tuple[ir.Table, BaseBackend]:
    _drop_released(engine_of(target))
    name = f"lapselens_book_{next(_counter)}"  # no lock: connect() holds _lock while it waits for the engine's thread
    if engine_of(target) == "spark":
        session = target._session  # noqa: SLF001 - Ibis's PySpark backend keeps its session here
        session.createDataFrame(_spark_frame(arrow)).createOrReplaceTempView(name)
        table = target.table(name)
        weakref.finalize(table.op(), _released.setdefault("spark", []).append, (_drop_spark_view, session, name))
        return table, target
    raw = target.con  # the DuckDB connection Ibis runs on
    raw.register(name, arrow)
    table = target.table(name)
    weakref.finalize(table.op(), _released.setdefault("duckdb", []).append, (_drop_duckdb_view, raw, name))
    return table, target


#: Registrations whose tables are gone, by engine, dropped by the next :func:`bind` on that engine
#: (DuckDB's on the engine's thread). A finalizer only appends here: it may run inside any
#: thread's garbage collection, even the engine's in the middle of a query on the same
#: connection, where dropping would deadlock.
_released: dict[str, list[tuple[Any, Any, str]]] = {}


def drop_released() -> None:
    """Drop the registrations of books no expression refers to any more (see :data:`_released`).

    :func:`bind` does it before each new registration; a process that binds nothing more (the
    last sessions have left) calls this to let the engine go of those books' Arrow tables.
    The drops run on the engine's thread, between two queries.
    """
    _drop_released("spark")
    if "duckdb" in _backends:
        engine_thread().call(lambda: _drop_released("duckdb"))


def _drop_released(engine: str) -> None:
    waiting = _released.get(engine, [])
    while waiting:
        try:
            drop, handle, name = waiting.pop()
        except IndexError:  # another thread took the last one
            return
        drop(handle, name)


def _drop_duckdb_view(raw: Any, name: str) -> None:
    # Called by _drop_released("duckdb"), always on the engine's thread.
    with contextlib.suppress(Exception):  # the connection may already be closed at exit
        raw.unregister(name)


def _drop_spark_view(session: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        session.catalog.dropTempView(name)


#: Arrow types read into pandas' nullable types for Spark: a whole-number or yes/no column with blanks stays one
#: (plain ``to_pandas`` makes it floats or objects, and Spark would read doubles), and a text column with only
#: blanks stays text.
_NULLABLE_PANDAS: Final = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def _spark_frame(arrow: pa.Table) -> pd.DataFrame:
    """The pandas frame Spark makes its view from, each column of its own type (see :data:`_NULLABLE_PANDAS`)."""
    decoded = [column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column for column in arrow.columns]
    return pa.table(decoded, names=arrow.column_names).to_pandas(types_mapper=_NULLABLE_PANDAS.get)


def _own_backend(table: ir.Table) -> BaseBackend | None:
    try:
        return table._find_backend(use_default=False)  # noqa: SLF001 - Ibis's way to tell a table's backend
    except Exception:  # noqa: BLE001 - an in-memory table has none
        return None


def arrow_book(frame: pd.DataFrame, columns: Sequence[str], **extra: Any) -> pa.Table:
    """Those of ``columns`` the book has, as Arrow (as :func:`bind` hands them over), plus ``extra`` columns (name → values).

    For a caller that adds columns of its own (a row number) to a subset of a big book: no
    pandas copy of the subset is made first.
    """
    table = _arrow(frame, columns)
    added = {name: pa.array(values) for name, values in extra.items()}
    if table.num_columns == 0:  # none of the columns: the extra ones alone (a table of no columns has no rows)
        return pa.table(added)
    for name, values in added.items():
        table = table.append_column(name, values)
    return table


def _arrow(frame: pd.DataFrame, names: Sequence[str] | None = None) -> pa.Table:
    """A pandas book (``names``: those of its columns that it has) as Arrow, text categories as Arrow's dictionaries.

    The engines read a dictionary as text; other categories become plain strings, mixed object
    columns text.

    Column by column, sharing the book's buffers. (Going through ``Table.from_pandas`` of a new
    frame first copied every column into new pandas blocks: 1.5 s for a 5,000,000-policy book
    against 0.1 s, the same columns.)
    """
    columns = {}
    for name in frame.columns if names is None else _present(names, list(frame.columns)):
        values = frame[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            if pd.api.types.infer_dtype(values.cat.categories, skipna=True) == "string":  # text: handed over as Arrow's dictionary, no copy
                columns[str(name)] = pa.Array.from_pandas(values)
                continue
            values = values.astype(values.cat.categories.dtype if values.cat.categories.dtype != object else "string")
        if values.dtype == object:
            values = values.astype("string")
        columns[str(name)] = pa.Array.from_pandas(values)
    return pa.table(columns)


def run(backend: BaseBackend, expression: ir.Table) -> pd.DataFrame:
    """Execute an expression on ``backend`` and return the (small) result as pandas."""
    return on_engine(backend, lambda: backend.to_pandas(expression))


def scalar(backend: BaseBackend, expression: ir.Scalar) -> Any:
    """Execute a scalar expression (a count, a minimum) on ``backend``."""
    return on_engine(backend, lambda: backend.execute(expression))
