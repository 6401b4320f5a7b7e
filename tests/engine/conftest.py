"""Real PostgreSQL and MySQL (MariaDB) servers for the source tests.

``scripts/services.sh`` starts them; ``LAPSELENS_TEST_PG`` and ``LAPSELENS_TEST_MYSQL`` name them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from paths import missing_on_ci

#: The environment variable that names the test server, e.g. postgresql://postgres@127.0.0.1:55432/postgres.
PG_ENV = "LAPSELENS_TEST_PG"
#: The environment variable that names the MySQL test server, e.g. mysql://root@127.0.0.1:53306/lapselens.
MYSQL_ENV = "LAPSELENS_TEST_MYSQL"


def raw_rows(path: Path, *, skip: int = 0) -> pd.DataFrame:
    """A CSV's rows as written: every cell text, empty cells missing, the 合计 footer left out."""
    frame = pd.read_csv(path, dtype=str, skiprows=skip, keep_default_na=False, encoding="utf-8-sig")
    first = frame.columns[0]
    frame = frame[frame[first] != "合计"]
    return frame.replace({"": None}).reset_index(drop=True)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The URL of the test server; skipped outside CI when unset, a failure on CI."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        missing_on_ci(
            f"{PG_ENV} is not set: run the tests through scripts/test.sh, which installs and starts PostgreSQL (scripts/services.sh)"
        )
    return url


@pytest.fixture(scope="session")
def pg_url(pg_server: str, worker_id: str) -> str:
    """A fresh database of this test process on the test server (xdist workers do not share tables)."""
    from analysis.engine.sources import _connect_database

    admin = _connect_database(pg_server, pg_server, password=None)
    name = f"lapselens_test_{worker_id}"
    with admin.con.cursor() as cursor:
        admin.con.autocommit = True
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    admin.disconnect()
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    return url


def pg_connect(url: str):
    from analysis.engine.sources import _connect_database

    return _connect_database(url, url, password=None)


@pytest.fixture(scope="session")
def sample_in_pg(pg_url: str, root: Path) -> str:
    """The bundled sample's rows as written (Chinese headers, every cell text) in the table 保单明细."""
    con = pg_connect(pg_url)
    con.create_table("保单明细", raw_rows(root / "data" / "sample_policies.csv", skip=1), overwrite=True)
    con.disconnect()
    return pg_url


@pytest.fixture(scope="session")
def mysql_server() -> str:
    """The URL of the MySQL (MariaDB) test server; skipped outside CI when unset, a failure on CI."""
    url = os.environ.get(MYSQL_ENV, "").strip()
    if not url:
        missing_on_ci(
            f"{MYSQL_ENV} is not set: run the tests through scripts/test.sh, which installs and starts MariaDB (scripts/services.sh)"
        )
    return url


def mysql_connect(url: str):
    """A PyMySQL connection to a test database (LOAD DATA LOCAL allowed, for :func:`mysql_load`)."""
    from urllib.parse import unquote, urlsplit

    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
        charset="utf8mb4",
        autocommit=True,
        local_infile=True,
    )


@pytest.fixture(scope="session")
def mysql_url(mysql_server: str, worker_id: str) -> str:
    """A fresh database of this test process on the MySQL test server (xdist workers do not share tables)."""
    name = f"lapselens_test_{worker_id}"
    con = mysql_connect(mysql_server)
    with con.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    con.close()
    return mysql_server.rsplit("/", 1)[0] + "/" + name


def _mysql_text(value: object) -> str:
    """A cell as LOAD DATA reads it: NULL as \\N, backslashes, tabs and line ends escaped."""
    if value is None or (isinstance(value, float) and value != value):
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def mysql_load(url: str, name: str, rows: pd.DataFrame, types: dict[str, str] | None = None) -> None:
    """A frame as a MySQL table (utf8mb4), through LOAD DATA LOCAL INFILE; columns are text unless ``types`` says."""
    import tempfile

    types = types or {}
    columns = ", ".join(f"`{c}` {types.get(c, 'VARCHAR(255)')} NULL" for c in rows.columns)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as handle:
        for record in rows.itertuples(index=False, name=None):
            handle.write("\t".join(_mysql_text(v) for v in record) + "\n")
    con = mysql_connect(url)
    try:
        with con.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS `{name}`")
            cursor.execute(f"CREATE TABLE `{name}` ({columns}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            load = f"LOAD DATA LOCAL INFILE %s INTO TABLE `{name}` CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t'"
            cursor.execute(load, (handle.name,))
    finally:
        con.close()
        os.unlink(handle.name)


@pytest.fixture(scope="session")
def sample_in_mysql(mysql_url: str, root: Path) -> str:
    """The bundled sample's rows as written (Chinese headers, every cell text) in the MySQL table 保单明细."""
    mysql_load(mysql_url, "保单明细", raw_rows(root / "data" / "sample_policies.csv", skip=1))
    return mysql_url
