"""A real PostgreSQL server for the source tests (``scripts/services.sh`` starts it; ``LAPSELENS_TEST_PG`` names it)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from paths import missing_on_ci

#: The environment variable that names the test server, e.g. postgresql://postgres@127.0.0.1:55432/postgres.
PG_ENV = "LAPSELENS_TEST_PG"


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
