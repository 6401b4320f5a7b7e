"""Where the book comes from: a *source* named by a path or a URL, opened into a canonical table on an engine.

* a CSV or Excel file goes through the door in the guard's worker (:func:`~analysis.ingest.guard.guarded_load`,
  presets, the account) and its canonical table is bound to the engine;
* a Parquet file or folder is read lazily by the engine (DuckDB's reader, or the Spark
  session's); its columns are mapped and checked in the engine
  (:mod:`~analysis.engine.source_columns`, :mod:`~analysis.engine.checks`);
* a database table or SQL query, ``postgresql://user@host:port/db`` or
  ``mysql://user@host:port/db`` (also ``mariadb://``) with ``table=`` or ``query=``, read into
  Arrow (PostgreSQL's COPY through Ibis's PostgreSQL backend; MySQL's rows streamed by
  :mod:`~analysis.engine.mysql`), then mapped and checked the same way;
* a Spark table (``spark:NAME``, or ``table=`` with the Spark engine), for a lake.

Passwords never appear in a URL that is shown: :func:`redact` drops them, and the password
is taken from the environment (``PGPASSWORD``, ``MYSQL_PWD``) or given as ``password=`` (from
the app's secrets), never printed. A URL that carries one is accepted but shown without it.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import DEFAULT_ENGINE, bind, connect, engine_of, on_engine, run
from analysis.engine.checks import (
    ROW_KEY,
    SOURCE_ROW_SAMPLE,
    SourceAccount,
    account,
    check_dates,
    check_duplicates,
    check_study_date,
    date_exits,
    settle_study_date,
)
from analysis.engine.source_columns import WORK, typed_columns
from analysis.errors import ExtractError
from analysis.ingest.guard import guarded_load
from analysis.ingest.headers import ColumnMatch
from analysis.ingest.ledger import PROBLEM_COLUMNS
from analysis.ingest.pipeline import LoadResult
from analysis.ingest.presets import MappingPreset

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

__all__ = ["SOURCE_ROW_SAMPLE", "OpenedBook", "open_source", "redact"]

#: URL schemes of databases, and what reads each (Ibis's PostgreSQL backend; PyMySQL, see analysis.engine.mysql).
DATABASE_SCHEMES: Final = {"postgresql": "postgres", "postgres": "postgres", "mysql": "mysql", "mariadb": "mysql"}
#: The scheme of a Spark table named as a URL (``spark:policies``).
SPARK_SCHEME: Final = "spark"
#: File endings read as Parquet (a folder is read as a Parquet data set).
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
#: Tables named in an error about a missing one.
TABLES_SHOWN: Final = 10
#: The kind of each source, as ``LoadResult.kind`` names it.
KINDS: Final = ("file", "parquet", "database", "spark")


@dataclass(frozen=True)
class OpenedBook:
    """A book opened on an engine: its canonical table, the backend that runs it, the study date and the account.

    Attributes
    ----------
    table : ibis.expr.types.Table
        The canonical policies (the door's columns, attributes under their own headers),
        rows the door rejects left out.
    backend : BaseBackend
        The engine that runs ``table`` (DuckDB or Spark).
    study_date : pandas.Timestamp
        The study date; ``account.study_date_source`` says where it came from.
    description : str
        The source as it may be shown (a URL without its password, a table or query named).
    policies : int
        The policies in ``table``.
    account : SourceAccount
        Rows read, accepted, repaired and rejected; counts by reason and the first rows of each.
    loaded : LoadResult or None
        The door's result, for a file.
    """

    table: ir.Table
    backend: Any
    study_date: pd.Timestamp
    description: str
    policies: int
    account: SourceAccount
    kind: str
    preset: MappingPreset = field(default_factory=MappingPreset)
    loaded: LoadResult | None = None

    def to_pandas(self) -> pd.DataFrame:
        """The canonical policies as pandas (for the analyses that still work on a frame)."""
        if self.loaded is not None:
            return self.loaded.policies
        return _pandas_policies(run(self.backend, self.table))

    def load_result(self) -> LoadResult:
        """The book as the door's :class:`~analysis.ingest.pipeline.LoadResult` (policies materialised as pandas)."""
        if self.loaded is not None:
            return self.loaded
        a = self.account
        headers = list(a.mapping.values())
        return LoadResult(
            policies=self.to_pandas(),
            rows_read=a.rows_read,
            accepted=a.accepted,
            repaired=a.repaired,
            rejected=a.rejected,
            skipped_rows=pd.DataFrame(columns=["row", "reason"]),
            problems=a.problems[PROBLEM_COLUMNS],
            column_notes=pd.DataFrame(columns=["column", "kind", "count", "detail", "note", "params"]),
            mapping={c: ColumnMatch(c, source, 1.0, "source") for c, source in a.mapping.items()},
            headers=headers,
            attributes=[c for c in self.table.columns if c not in S.CANONICAL_COLUMNS and c not in (S.STATUS_RAW, S.SOURCE_ROW)],
            study_date=self.study_date,
            study_date_source=a.study_date_source,
            status_values=a.status_values,
            kind=self.kind,
            preset=self.preset,
            study_date_column=a.study_date_column,
        )


def _pandas_policies(frame: pd.DataFrame) -> pd.DataFrame:
    """The engine's canonical columns with the door's pandas types.

    Dates as datetime64[ns], text as Arrow text and repetitive text as categories
    (:func:`~analysis.ingest.text.compact_text`).
    """
    from analysis.ingest.text import TEXT, compact_text

    out = {}
    for name in frame.columns:
        values = frame[name]
        if name in S.DATE_COLUMNS:
            values = pd.to_datetime(values).astype("datetime64[ns]")
        elif name == S.PAYMENT_FREQUENCY:
            values = values.astype("Int64")
        elif name in (S.AUTO_DEBIT, S.WAIVER):
            values = values.astype("boolean")
        elif values.dtype == object:
            values = values.astype(TEXT)
        out[str(name)] = values
    return compact_text(pd.DataFrame(out))


def redact(url: str) -> str:
    """A URL as it may be shown: without a password.

    Examples
    --------
    >>> redact("postgresql://user:secret@db.example:5432/book")
    'postgresql://user@db.example:5432/book'
    >>> redact("data/book.parquet")
    'data/book.parquet'
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def open_source(
    source: str | Path,
    *,
    table: str | None = None,
    query: str | None = None,
    preset: MappingPreset | None = None,
    engine: str = DEFAULT_ENGINE,
    study_date: str | pd.Timestamp | None = None,
    password: str | None = None,
    sheet: str | None = None,
) -> OpenedBook:
    """Open a source (a file, a Parquet file or folder, a database table or query, a Spark table) as a canonical book.

    Parameters
    ----------
    source : str or Path
        A path, ``postgresql://user@host:port/db``, ``mysql://user@host:port/db``, or ``spark:NAME``.
    table, query : str, optional
        The database or Spark table, or an SQL query (databases), to read.
    preset : MappingPreset, optional
        Column mapping, status words and settings, as for a file.
    engine : str
        ``duckdb`` (default) or ``spark``: where the book's figures are computed.
    study_date : str or Timestamp, optional
        Overrides the preset's and the inferred study date.
    password : str, optional
        The database password (else ``PGPASSWORD``, or ``MYSQL_PWD`` for MySQL); never shown.
    sheet : str, optional
        A workbook's sheet.

    Raises
    ------
    ExtractError
        ``bad_source`` for a URL that cannot be used, a table that does not exist, a refused
        connection or a failing query; the door's errors for a file.
    """
    text = str(source)
    preset = preset or MappingPreset()
    backend = connect(engine)
    scheme = urlsplit(text).scheme.lower() if "://" in text else (SPARK_SCHEME if text.startswith(f"{SPARK_SCHEME}:") else "")
    if scheme == SPARK_SCHEME or (not text and table and engine_of(backend) == "spark"):
        name = text.split(":", 1)[1] if scheme == SPARK_SCHEME else str(table)
        return _checked(backend, _spark_table(backend, name), preset, study_date, f"spark:{name}", "spark")
    if scheme:
        raw, description = _database(text, scheme, table=table, query=query, password=password)
        bound, _ = bind(raw, backend)
        return _checked(backend, bound, preset, study_date, description, "database")
    path = Path(text)
    if path.is_dir() or path.suffix.lower() in PARQUET_SUFFIXES:
        return _checked(backend, _parquet(backend, path), preset, study_date, text, "parquet")
    # A pointed-to file is read like an upload: in the guard's worker, within its limits.
    loaded = guarded_load(path, preset=preset, sheet=sheet, study_date=None if study_date is None else str(study_date))
    bound, backend = bind(loaded.policies, backend)
    door = SourceAccount(
        rows_read=loaded.rows_read,
        accepted=loaded.accepted,
        repaired=loaded.repaired,
        rejected=loaded.rejected,
        counts=loaded.problems.groupby(["kind", "variant", "action", "column"]).size().rename("rows").reset_index(),
        problems=loaded.problems,
        status_values=loaded.status_values,
        study_date_source=loaded.study_date_source,
        study_date_column=loaded.study_date_column,
        mapping={c: m.source for c, m in loaded.mapping.items()},
    )
    return OpenedBook(bound, backend, loaded.study_date, text, len(loaded.policies), door, "file", loaded.preset, loaded)


def _checked(backend: BaseBackend, raw: ir.Table, preset: MappingPreset, given: object, description: str, kind: str) -> OpenedBook:
    """Map, type and check a source table in the engine; the canonical table keeps the rows the door keeps."""
    typed = typed_columns(backend, raw, preset)
    check_dates(typed)
    # The lookups joined once: later stages start from a plain table (numbered on DuckDB, for the duplicate check).
    typed.table = materialise(backend, typed.table, numbered=True)
    study = settle_study_date(backend, typed, preset, given)
    check_study_date(typed, study.date)
    date_exits(typed, preset)
    canonical = [c for c in (*S.CANONICAL_COLUMNS, S.STATUS_RAW) if c in typed.table.columns]
    compared = [*canonical, *typed.attributes]
    check_duplicates(typed, preset, compared, keep=lambda table: materialise(backend, table))
    typed.table = materialise(backend, typed.table)  # the joins and windows once, not again for every count and figure
    result, rejected = account(backend, typed, study)
    t = typed.table
    kept = t.filter(~rejected) if result.rejected else t
    columns = [*canonical, *typed.attributes, *([typed.order] if typed.order else [])]
    table = kept.select(*[c for c in columns if not c.startswith(WORK)])
    return OpenedBook(table, backend, study.date, description, result.rows_read - result.rejected, result, kind, preset)


_names = itertools.count(1)


def materialise(backend: BaseBackend, table: ir.Table, *, numbered: bool = False) -> ir.Table:
    """Compute a table once on its engine and keep it there: a temporary DuckDB table, or a cached Spark view.

    ``numbered``: on DuckDB the table comes back with each row's number in :data:`ROW_KEY` (the
    stored row's own ``rowid``, which costs nothing to read), the key the duplicate check joins
    its marks back on. Spark's rows have no such number: its table comes back as it is.
    """
    name = f"lapselens_source_{os.getpid()}_{next(_names)}"
    return on_engine(backend, lambda: _materialise(backend, table, name, numbered=numbered))


def _materialise(backend: BaseBackend, table: ir.Table, name: str, *, numbered: bool) -> ir.Table:
    if engine_of(backend) == "spark":
        backend.create_view(name, table, overwrite=True)
        backend._session.catalog.cacheTable(name)  # noqa: SLF001 - Ibis's PySpark backend keeps its session here
        return backend.table(name)
    stored = backend.create_table(name, table, temp=True)
    if not numbered:
        return stored
    # A view over the stored table with its rowid: stable, as the stored table is never changed.
    backend.raw_sql(f'CREATE TEMP VIEW "{name}_rows" AS SELECT *, rowid AS "{ROW_KEY}" FROM "temp"."main"."{name}"')
    return backend.table(f"{name}_rows")


def _parquet(backend: BaseBackend, path: Path) -> ir.Table:
    """A Parquet file or folder, read lazily by the engine."""
    if not path.exists():
        raise ExtractError("unreadable", reason="os_error", file=str(path), detail="No such file or directory")
    target = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    try:
        if engine_of(backend) == "spark":
            session = backend._session  # noqa: SLF001 - Ibis's PySpark backend keeps its session here
            name = f"lapselens_parquet_{abs(hash(str(path.resolve())))}"
            session.read.parquet(str(path)).createOrReplaceTempView(name)
            return backend.table(name)
        return on_engine(backend, lambda: backend.read_parquet(target))
    except Exception as exc:  # noqa: BLE001 - the engine's own error, said in one line
        raise ExtractError("bad_source", reason="parquet", source=str(path), detail=_first_line(exc)) from exc


def _spark_table(backend: BaseBackend, name: str) -> ir.Table:
    """A table of the Spark catalogue (a lake's table, or a view)."""
    if engine_of(backend) != "spark":
        raise ExtractError("bad_source", reason="spark_engine", source=f"spark:{name}")
    try:
        return backend.table(name)
    except Exception as exc:  # noqa: BLE001 - Spark's AnalysisException and Ibis's TableNotFound alike
        tables = ", ".join(sorted(backend.list_tables())[:TABLES_SHOWN]) or "-"
        raise ExtractError("bad_source", reason="no_table", table=name, source=f"spark:{name}", tables=tables) from exc


def _database(url: str, scheme: str, *, table: str | None, query: str | None, password: str | None) -> tuple[Any, str]:
    """The rows of a database table or query, as Arrow, and the source as it may be shown."""
    shown = redact(url)
    if scheme not in DATABASE_SCHEMES:
        raise ExtractError("bad_source", reason="scheme", source=shown, schemes=", ".join(DATABASE_SCHEMES))
    if bool(table) == bool(query):
        raise ExtractError("bad_source", reason="table_or_query", source=shown)
    if DATABASE_SCHEMES[scheme] == "mysql":
        from analysis.engine.mysql import read_mysql

        return read_mysql(url, shown, table=table, query=query, password=password)
    con = _connect_database(url, shown, password=password)
    try:
        if table:
            try:
                expression = con.table(table)
            except Exception as exc:  # noqa: BLE001 - Ibis's TableNotFound, or the driver's error
                tables = ", ".join(sorted(con.list_tables())[:TABLES_SHOWN]) or "-"
                raise ExtractError("bad_source", reason="no_table", table=table, source=shown, tables=tables) from exc
            description = f"{shown} table {table}"
        else:
            try:
                expression = con.sql(str(query))
            except Exception as exc:  # noqa: BLE001 - the database's own error, said in one line
                raise ExtractError("bad_source", reason="query", source=shown, detail=_first_line(exc)) from exc
            description = f"{shown} query"
        try:
            return _copied(con, expression), description
        except Exception as exc:  # noqa: BLE001
            raise ExtractError("bad_source", reason="query", source=shown, detail=_first_line(exc)) from exc
    finally:
        con.disconnect()


def _copied(con: Any, expression: ir.Table) -> Any:
    """The rows of a query as Arrow, through PostgreSQL's COPY (CSV): ten times faster than fetching rows in Python.

    Every value travels as text and is cast to its column's type in Arrow; a NULL stays missing,
    an empty text stays empty.
    """
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    schema = expression.schema().to_pyarrow()
    buffer = io.BytesIO()
    with con.con.cursor() as cursor, cursor.copy(f"COPY ({con.compile(expression)}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    names = [f"c{i}" for i in range(len(schema))]
    text = pcsv.read_csv(
        io.BytesIO(buffer.getvalue()),
        read_options=pcsv.ReadOptions(column_names=names),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    columns = []
    for name, wanted in zip(names, schema):
        values = text.column(name)
        columns.append(pc.equal(values, "t") if pa.types.is_boolean(wanted.type) else values.cast(wanted.type))
    return pa.table(columns, schema=schema)


def _connect_database(url: str, shown: str, *, password: str | None) -> Any:
    """A connection to the database a URL names; the password from the argument, the URL or ``PGPASSWORD``."""
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise ExtractError("bad_source", reason="url", source=shown)
    secret = password or (unquote(parts.password) if parts.password else None) or os.environ.get("PGPASSWORD") or None
    try:
        port = parts.port
    except ValueError as exc:
        raise ExtractError("bad_source", reason="url", source=shown) from exc
    try:
        return ibis.postgres.connect(
            host=parts.hostname,
            port=port or 5432,
            user=unquote(parts.username) if parts.username else None,
            password=secret,
            database=database,
            connect_timeout=10,
        )
    except Exception as exc:  # noqa: BLE001 - psycopg's OperationalError: refused, unknown host, wrong password
        detail = _first_line(exc)
        if secret:
            detail = detail.replace(secret, "***")
        raise ExtractError("bad_source", reason="connect", source=shown, detail=detail) from exc


def _first_line(exc: BaseException) -> str:
    """An engine's error in one line (the first that says something)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
