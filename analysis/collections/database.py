"""The app's database: where the work queue and its outcomes are kept between visits.

**Where.** By default an embedded SQLite file, ``<data dir>/lapselens.db`` (the data directory
of :mod:`analysis.store.disk`: ``LAPSELENS_DATA_DIR``, else ``.lapselens/`` beside ``app.py``;
the file is 0600). PostgreSQL (or another SQLite file) when configured, first found wins:

1. the environment variable :data:`DATABASE_ENV` (``LAPSELENS_DATABASE=postgresql://user@host:5432/db``);
2. a ``[database]`` table in the app's secrets (``.streamlit/secrets.toml``)::

       [database]
       url = "postgresql://lapselens@db.example:5432/lapselens"
       password = "…"          # or in the URL; the secrets only, never shown

A password is never shown: every message names the URL through
:func:`analysis.engine.sources.redact`, and a driver's error has the password replaced.

**Schema.** Created on first use (:func:`open_store`), with a version table
(:data:`SCHEMA_VERSION`): a later release that changes the tables adds a migration step and
raises the number; a database written by a newer release is refused rather than damaged.
SQLAlchemy Core only (no ORM): the tables are plain, readable by any SQL tool.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analysis.errors import ExtractError
from analysis.store.disk import PRIVATE_FILE_MODE, data_dir, private_dir

#: The environment variable that names the database (a URL, or a path of an SQLite file).
DATABASE_ENV: Final = "LAPSELENS_DATABASE"
#: The table of the app's secrets that configures the database.
DATABASE_TABLE: Final = "database"
#: The keys that table may hold.
DATABASE_KEYS: Final = ("url", "password")
#: The embedded database's file name, in the data directory.
DATABASE_FILE: Final = "lapselens.db"
#: The schema this release writes; :data:`MIGRATIONS` lead an older database up to it.
SCHEMA_VERSION: Final = 1
#: How long a writer waits for another's lock on the embedded file before giving up (seconds).
BUSY_SECONDS: Final = 30
#: Seconds to wait for a database server to answer.
CONNECT_TIMEOUT_SECONDS: Final = 10
#: The advisory lock PostgreSQL sessions take while they create or migrate the tables.
SCHEMA_LOCK: Final = 5_147_100

METADATA: Final = sa.MetaData()

#: The schema's version: one row.
VERSIONS: Final = sa.Table("lapselens_schema", METADATA, sa.Column("version", sa.Integer, nullable=False))

#: The work queue: one row per policy assigned (a new assignment of the same policy replaces it).
ASSIGNMENTS: Final = sa.Table(
    "queue_assignments",
    METADATA,
    sa.Column("policy_id", sa.Text, primary_key=True),  # as the book writes it
    sa.Column("list_kind", sa.Text, nullable=False),  # analysis.collections.queue.LIST_KINDS
    sa.Column("assignee_kind", sa.Text, nullable=False),  # agent or branch
    sa.Column("assignee", sa.Text, nullable=False),
    sa.Column("branch", sa.Text),  # the branch that works it (the assignee, or the policy's)
    sa.Column("agent", sa.Text),  # the agent who works it (the assignee; none for a branch)
    sa.Column("state", sa.Text),  # due_soon / in_grace / lapsed, when assigned
    sa.Column("due_date", sa.Date),  # the premium due (paid-to date), or the lapse date
    sa.Column("grace_end", sa.Date),  # the last day of grace of that premium
    sa.Column("probability", sa.Float),
    sa.Column("annual_premium", sa.Float),
    sa.Column("premium_at_risk", sa.Float),
    sa.Column("risk_band", sa.Text),
    sa.Column("lever", sa.Text),  # the suggested lever (analysis.risk.actions.LEVERS)
    sa.Column("assigned_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("assigned_by", sa.Text),  # the signed-in user, when sign-in is on
)

#: The outcomes recorded: every call's result, never overwritten.
OUTCOMES: Final = sa.Table(
    "queue_outcomes",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("policy_id", sa.Text, nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),  # analysis.collections.outcomes.OUTCOMES
    sa.Column("outcome_date", sa.Date, nullable=False),
    sa.Column("lever", sa.Text),  # the lever used
    sa.Column("note", sa.Text),
    sa.Column("assignee", sa.Text),  # who the policy was assigned to when the outcome was recorded
    sa.Column("recorded_by", sa.Text),
    sa.Column("recorded_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("recorded_via", sa.Text, nullable=False),  # form, import or cli
)

#: Steps that lead a database of version ``n`` to ``n + 1`` (none yet: version 1 is the first).
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {}


@dataclass(frozen=True)
class Store:
    """An open database: the SQLAlchemy engine and the URL as it may be shown (no password)."""

    engine: Engine
    shown: str

    @property
    def embedded(self) -> bool:
        """True for the embedded SQLite file."""
        return self.engine.dialect.name == "sqlite"


def raw(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A column read as the driver returns it: dates and times not parsed row by row in Python (SQLite sends ISO text)."""
    if isinstance(column.type, (sa.Date, sa.DateTime)):
        return sa.type_coerce(column, sa.String).label(str(column.key))
    return column


def read_frame(store: Store, query: sa.Select[Any], *, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """A query's rows as a frame (its columns named as selected), the ``dates`` columns as ``datetime64``.

    Select date columns through :func:`raw`: the frame converts a whole column at once, which is
    what keeps tens of thousands of outcomes quick to read.
    """
    with store.engine.connect() as connection:
        result = connection.execute(query)
        frame = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    for column in dates:
        values = frame[column]
        text = pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
        frame[column] = pd.to_datetime(values, format="ISO8601") if text else pd.to_datetime(values)
    return frame


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """The embedded database's URL: ``sqlite:///<data dir>/lapselens.db``."""
    return f"sqlite:///{data_dir(environ) / DATABASE_FILE}"


def configured_url(*, secrets: object = None, environ: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """The database to open and its password: ``(url, password or None)``.

    Parameters
    ----------
    secrets : mapping, optional
        The ``[database]`` table of the app's secrets (``url``, ``password``).
    environ : mapping, optional
        The environment (default ``os.environ``); :data:`DATABASE_ENV` wins over the secrets.

    Raises
    ------
    ExtractError
        ``queue_database`` (``bad_config``) for a ``[database]`` table that is not a table of texts
        or has keys other than :data:`DATABASE_KEYS`.
    """
    env = (os.environ if environ is None else environ).get(DATABASE_ENV, "").strip()
    if env:
        return env, None
    if secrets is None:
        return default_url(environ), None
    if not isinstance(secrets, Mapping) or any(k not in DATABASE_KEYS or not isinstance(v, str) for k, v in secrets.items()):
        raise ExtractError("queue_database", reason="bad_config", known=", ".join(DATABASE_KEYS))
    url = str(secrets.get("url", "")).strip()
    password = str(secrets.get("password", "")) or None
    return (url or default_url(environ)), password


def redacted(url: str) -> str:
    """The URL as it may be shown (:func:`analysis.engine.sources.redact`)."""
    from analysis.engine.sources import redact

    return redact(url)


def _sqlalchemy_url(url: str, password: str | None) -> sa.URL:
    """A URL SQLAlchemy opens: ``postgresql://`` through psycopg 3, a bare path as an SQLite file."""
    if "://" not in url:
        return sa.make_url(f"sqlite:///{Path(url).expanduser().resolve()}")
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("postgresql", "postgres"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    parsed = sa.make_url(url)
    if password and parsed.password is None:
        parsed = parsed.set(password=password)
    return parsed


def _sqlite_file(url: sa.URL) -> None:
    """The file (0600) before SQLite opens it, and its folder (0700) when LapseLens makes it.

    A folder that exists is left as it is: a database file named in a shared folder (``/tmp``,
    a team drive) must not narrow that folder for everyone else.
    """
    name = url.database
    if not name or name == ":memory:":
        return
    path = Path(name)
    if not path.parent.exists():
        private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))


def _engine(url: sa.URL) -> Engine:
    """The SQLAlchemy engine: SQLite in WAL mode, each transaction taking the write lock at once."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    _sqlite_file(url)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})

    # pysqlite's own transaction handling would begin late (at the first write); SQLAlchemy's
    # recipe: begin ourselves, IMMEDIATE, so two sessions writing wait in turn instead of failing.
    @sa.event.listens_for(engine, "connect")
    def _connect(connection: Any, _record: Any) -> None:
        connection.isolation_level = None
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_store(url: str | None = None, *, password: str | None = None) -> Store:
    """Open the database (default: the embedded file), creating or migrating its tables.

    Parameters
    ----------
    url : str, optional
        ``postgresql://user@host:port/db``, ``sqlite:///path``, or a path of an SQLite file;
        default :func:`default_url`.
    password : str, optional
        The password (from the secrets) when the URL has none.

    Raises
    ------
    ExtractError
        ``queue_database``: ``url`` (not a database URL), ``connect`` (the server cannot be
        reached; the driver's reason, the password never in it), ``newer_schema`` (written by a
        newer release).
    """
    url = url or default_url()
    shown = redacted(url)
    try:
        parsed = _sqlalchemy_url(url, password)
        engine = _engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise ExtractError("queue_database", reason="url", database=shown) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        shown = parsed.database  # the file, as a person looks for it
    store = Store(engine, shown)
    try:
        ensure_schema(store)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        secret = parsed.password
        detail = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
        for hidden in {str(secret), quote(str(secret), safe="")} if secret else set():
            detail = detail.replace(hidden, "***")
        raise ExtractError("queue_database", reason="connect", database=shown, detail=detail) from exc
    return store


def schema_version(store: Store) -> int | None:
    """The version the database's tables are at (None before they exist)."""
    if not sa.inspect(store.engine).has_table(VERSIONS.name):
        return None
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.max(VERSIONS.c.version))).scalar()


def ensure_schema(store: Store) -> int:
    """Create the tables on first use, or lead an older database up to :data:`SCHEMA_VERSION`; return the version.

    Under PostgreSQL's advisory lock (SQLite: the write lock), so two processes starting at once
    create the tables once.
    """
    with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        METADATA.create_all(connection, checkfirst=True)
        found = connection.execute(sa.select(sa.func.max(VERSIONS.c.version))).scalar()
        if found is None:
            connection.execute(VERSIONS.insert().values(version=SCHEMA_VERSION))
            return SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise ExtractError("queue_database", reason="newer_schema", database=store.shown, found=found, known=SCHEMA_VERSION)
        for version in range(int(found), SCHEMA_VERSION):
            for statement in MIGRATIONS.get(version, ()):
                connection.execute(sa.text(statement))
        if found < SCHEMA_VERSION:
            connection.execute(VERSIONS.update().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
