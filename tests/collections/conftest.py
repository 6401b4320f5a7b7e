"""The work queue's databases for the tests: an SQLite file per test, and a PostgreSQL schema per test.

PostgreSQL is the real server ``scripts/services.sh`` starts (``LAPSELENS_TEST_PG``): skipped
outside CI when unset, a failure on CI. Each test run makes a database of its own (a random
name, dropped at the end), and each test a schema of its own inside it, so parallel runs and
xdist workers never share tables.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
from paths import missing_on_ci

PG_ENV = "LAPSELENS_TEST_PG"
BACKENDS = ("sqlite", "postgresql")


def _admin(url: str):
    import sqlalchemy as sa

    return sa.create_engine("postgresql+psycopg://" + url.split("://", 1)[1], isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_database() -> str:
    """A database of this test process on the test server (random name; dropped at the end)."""
    import sqlalchemy as sa

    server = os.environ.get(PG_ENV, "").strip()
    if not server:
        missing_on_ci(f"{PG_ENV} is not set: run the tests through scripts/test.sh, which starts PostgreSQL (scripts/services.sh)")
    name = f"lapselens_queue_{uuid.uuid4().hex[:12]}"
    admin = _admin(server)
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    yield server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A fresh schema in the run's database, as a URL whose connections search it first."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin(pg_database)
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return f"{pg_database}?options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL of an empty database: an SQLite file, and a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    return request.getfixturevalue("pg_url")
