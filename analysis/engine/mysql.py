"""A MySQL or MariaDB table or query read into Arrow through PyMySQL, for the engine to map and check.

Ibis's MySQL backend runs on mysqlclient (``MySQLdb``), a C extension with no Linux wheel: it
needs a compiler and the MySQL client headers on the machine. PyMySQL (pure Python, on PyPI)
installs anywhere, but put in its place (``pymysql.install_as_MySQLdb()``) Ibis's backend fails
on a raw SQL query (it calls ``get_character_set_info`` and ``description_flags``, which only
mysqlclient has) and reads every result through pandas. So the rows are streamed here instead,
as the PostgreSQL route copies them: an unbuffered cursor sends them a batch at a time as
MySQL's text protocol has them, and each column is cast in Arrow to its declared type
(``DECIMAL`` exact as a decimal, ``DATE`` as a date, ``DATETIME``/``TIMESTAMP`` as a timestamp,
integers, floating numbers, text). A NULL stays missing, an empty text stays empty, and MySQL's
zero date (``0000-00-00``) is missing. Names and text travel as ``utf8mb4``, so every Chinese
character arrives whole.

The password comes from the argument (the app's secrets), the URL, or ``MYSQL_PWD``; an error
never shows it.
"""

from __future__ import annotations

import base64
import io
import os
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from analysis.errors import ExtractError

if TYPE_CHECKING:
    from pymysql.connections import Connection

__all__ = ["MYSQL_SCHEMES", "connect_mysql", "read_mysql"]

#: URL schemes read by this module (MariaDB speaks MySQL's protocol).
MYSQL_SCHEMES: Final = ("mysql", "mariadb")
#: MySQL's port when the URL names none.
MYSQL_PORT: Final = 3306
#: The environment variable MySQL's own client reads a password from.
MYSQL_PASSWORD_ENV: Final = "MYSQL_PWD"
#: Seconds to wait for the server to answer a connection.
CONNECT_TIMEOUT_SECONDS: Final = 10
#: Rows fetched and turned into Arrow at a time (bounds the Python objects alive at once).
FETCH_ROWS: Final = 20_000
#: Arrow's JSON reader block (bytes); a block must hold the longest row whole, so a batch with longer rows gets a larger one.
JSON_BLOCK_BYTES: Final = 1 << 20
#: The most bytes a character takes in UTF-8 (a row's length is counted in characters).
UTF8_MAX_BYTES: Final = 4
#: The character set of names and text on the connection: all of Unicode (MySQL's ``utf8`` stops at 3 bytes).
CHARSET: Final = "utf8mb4"
#: MySQL's character set number of binary data (bytes, not text).
BINARY_CHARSET: Final = 63
#: MySQL's zero date, which no calendar has: read as missing.
ZERO_DATE: Final = "0000-00-00"
#: The widest decimal the engines hold (DuckDB's and Spark's 38 digits); a wider one (MySQL allows 65) is read as a float.
DECIMAL128_DIGITS: Final = 38
#: The flag of an UNSIGNED number in a column's description.
UNSIGNED_FLAG: Final = 32
#: Tables named in an error about a missing one.
TABLES_SHOWN: Final = 10

# MySQL's column type codes (pymysql.constants.FIELD_TYPE), grouped by the Arrow type they become.
_DECIMALS: Final = frozenset({0, 246})
_INTEGERS: Final = frozenset({1, 2, 3, 8, 9, 13})
_FLOATS: Final = frozenset({4, 5})
_DATES: Final = frozenset({10, 14})
_TIMESTAMPS: Final = frozenset({7, 12})
_BIGINT: Final = 8
#: Text, blob, bit and geometry columns: bytes when their character set is binary (TIME's is too, but it is text).
_MAYBE_BYTES: Final = frozenset({15, 16, 249, 250, 251, 252, 253, 254, 255})


def connect_mysql(url: str, shown: str, *, password: str | None) -> Connection:
    """A connection to the MySQL or MariaDB database a URL names (``mysql://user@host:port/db``).

    Parameters
    ----------
    url : str
        The URL; a password in it is used but never shown.
    shown : str
        The URL as errors may show it (without a password).
    password : str, optional
        The password; else the URL's, else ``MYSQL_PWD``.

    Raises
    ------
    ExtractError
        ``bad_source``: ``url`` without a host or a database, ``mysql_connect`` when the server
        refuses (the password replaced by ``***`` in the server's words).
    """
    import pymysql

    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise ExtractError("bad_source", reason="url", source=shown)
    try:
        port = parts.port or MYSQL_PORT
    except ValueError as exc:
        raise ExtractError("bad_source", reason="url", source=shown) from exc
    secret = password or (unquote(parts.password) if parts.password else None) or os.environ.get(MYSQL_PASSWORD_ENV) or ""
    try:
        return pymysql.connect(
            host=parts.hostname,
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=secret,
            database=database,
            charset=CHARSET,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            conv=_encoders_only(),  # every value read as the text protocol sends it: Arrow casts it, exactly
            init_command="SET time_zone = '+00:00'",  # a TIMESTAMP read as UTC, as Ibis reads PostgreSQL's
            autocommit=True,
        )
    except pymysql.MySQLError as exc:
        detail = _said(exc)
        if secret:
            detail = detail.replace(secret, "***")
        raise ExtractError("bad_source", reason="mysql_connect", source=shown, detail=detail) from exc


def _encoders_only() -> dict[Any, Any]:
    """PyMySQL's conversions for values sent (query parameters), none for values read."""
    from pymysql.converters import conversions

    return {kind: convert for kind, convert in conversions.items() if not isinstance(kind, int)}


def read_mysql(url: str, shown: str, *, table: str | None, query: str | None, password: str | None) -> tuple[pa.Table, str]:
    """The rows of a MySQL table or query as Arrow, and the source as it may be shown.

    Parameters
    ----------
    url, shown : str
        The URL, and the URL as it may be shown.
    table, query : str, optional
        Exactly one: the table of the URL's database, or an SQL query.
    password : str, optional
        The password (see :func:`connect_mysql`).

    Raises
    ------
    ExtractError
        ``bad_source``: ``no_table`` naming the database's tables, ``query`` with the server's
        words, and the reasons of :func:`connect_mysql`.
    """
    import pymysql

    connection = connect_mysql(url, shown, password=password)
    try:
        if table:
            tables = _tables(connection)
            if table not in tables:
                raise ExtractError(
                    "bad_source", reason="no_table", table=table, source=shown, tables=", ".join(tables[:TABLES_SHOWN]) or "-"
                )
            sql, description = f"SELECT * FROM {_quoted(table)}", f"{shown} table {table}"
        else:
            sql, description = str(query), f"{shown} query"
        try:
            return _streamed(connection, sql), description
        except pymysql.MySQLError as exc:
            raise ExtractError("bad_source", reason="query", source=shown, detail=_said(exc)) from exc
    finally:
        connection.close()


def _tables(connection: Connection) -> list[str]:
    """The tables and views of the connection's database, sorted."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        return sorted(str(row[0]) for row in cursor.fetchall())


def _quoted(name: str) -> str:
    """A table's name as a MySQL identifier (backquotes doubled inside)."""
    return "`" + name.replace("`", "``") + "`"


def _streamed(connection: Connection, sql: str) -> pa.Table:
    """A query's rows as Arrow: each row one JSON text of its cells as text, read by Arrow a batch at a time, then typed.

    One value per row crosses PyMySQL (pure Python) instead of one per cell: twice as fast on
    the sample's 24 columns. ``CAST(… AS CHAR)`` writes each cell as MySQL's text protocol
    would (a DECIMAL's digits, a DATE's ``YYYY-MM-DD``); bytes travel as Base64.
    """
    from pymysql.cursors import SSCursor

    query = f"({sql.strip().rstrip(';')}) AS lapselens_source"
    fields = _fields(connection, f"SELECT * FROM {query} LIMIT 0")
    names = [str(field.name) for field in fields]
    wanted = [_arrow_type(field) for field in fields]
    cells = ", ".join(
        f"'c{i}', " + (f"TO_BASE64({_quoted(name)})" if pa.types.is_binary(kind) else f"CAST({_quoted(name)} AS CHAR)")
        for i, (name, kind) in enumerate(zip(names, wanted, strict=True))
    )
    sent = pa.schema([(f"c{i}", pa.string()) for i in range(len(names))])
    batches: list[pa.Table] = []
    with connection.cursor(SSCursor) as cursor:
        cursor.execute(f"SELECT JSON_OBJECT({cells}) FROM {query}")
        while rows := cursor.fetchmany(FETCH_ROWS):
            lines = [row[0] for row in rows]
            text = "\n".join(lines).encode("utf-8")
            block = max(JSON_BLOCK_BYTES, 2 * max(len(line) for line in lines) * UTF8_MAX_BYTES)
            batches.append(
                pj.read_json(
                    io.BytesIO(text),
                    read_options=pj.ReadOptions(block_size=block),
                    parse_options=pj.ParseOptions(explicit_schema=sent, unexpected_field_behavior="error"),
                )
            )
    raw = pa.concat_tables(batches) if batches else sent.empty_table()
    columns = [_typed(raw.column(i), kind) for i, kind in enumerate(wanted)]
    return pa.table(columns, names=names)


def _fields(connection: Connection, probe: str) -> list[Any]:
    """The columns of a query as PyMySQL describes them (name, type code, length, scale, flags, character set)."""
    with connection.cursor() as cursor:
        cursor.execute(probe)
        return list(cursor._result.fields)  # noqa: SLF001 - PyMySQL keeps each column's type, length, flags and character set here


def _typed(values: pa.ChunkedArray, wanted: pa.DataType) -> pa.ChunkedArray:
    """One column's text cast to the Arrow type of its MySQL type (Base64 decoded for bytes; a zero date missing)."""
    if pa.types.is_string(wanted):
        return values
    if pa.types.is_binary(wanted):
        decoded = [None if v is None else base64.b64decode(v) for v in values.to_pylist()]  # bytes in a policy table: rare and small
        return pa.chunked_array([pa.array(decoded, type=pa.binary())], type=pa.binary())
    if pa.types.is_date(wanted) or pa.types.is_timestamp(wanted):
        zero = pc.starts_with(values, ZERO_DATE)
        values = pc.if_else(zero, pa.scalar(None, pa.string()), values)
    return values.cast(wanted)


def _arrow_type(field: Any) -> pa.DataType:
    """The Arrow type a MySQL column becomes."""
    code = int(field.type_code)
    unsigned = bool(field.flags & UNSIGNED_FLAG)
    if code in _DECIMALS:
        scale = int(field.scale)
        # The column's length counts the sign (unless UNSIGNED) and the decimal point (when it has decimals).
        digits = max(int(field.length) - (scale > 0) - (not unsigned), scale, 1)
        return pa.decimal128(digits, scale) if digits <= DECIMAL128_DIGITS else pa.float64()
    if code in _INTEGERS:
        return pa.uint64() if unsigned and code == _BIGINT else pa.int64()
    if code in _FLOATS:
        return pa.float64()
    if code in _DATES:
        return pa.date32()
    if code in _TIMESTAMPS:
        return pa.timestamp("us")
    binary = code in _MAYBE_BYTES and int(field.charsetnr) == BINARY_CHARSET
    return pa.binary() if binary else pa.string()


def _said(exc: BaseException) -> str:
    """The server's words of a PyMySQL error (its message without the error number), in one line."""
    args: tuple[object, ...] = exc.args
    text = str(args[1]) if len(args) > 1 else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
