"""The app's database: where it lives, its schema version, restarts, two sessions writing at once, passwords never shown."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from analysis.collections.database import (
    DATABASE_ENV,
    DATABASE_FILE,
    SCHEMA_VERSION,
    VERSIONS,
    configured_url,
    default_url,
    open_store,
    schema_version,
)
from analysis.collections.outcomes import list_outcomes, record_outcomes
from analysis.collections.queue import assign, assignments, queue_rows
from analysis.errors import ExtractError
from analysis.store.disk import DATA_DIR_ENV

AT = dt.datetime(2026, 10, 1, 9, 30)


def due_rows(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "policy_id": ids,
            "state": "in_grace",
            "paid_to_date": pd.Timestamp("2026-09-01"),
            "annual_premium": 1200.0,
            "branch": "北京分公司",
            "agent": "A1",
        }
    )


def test_the_embedded_file_lives_in_the_data_directory_and_only_its_owner_reads_it(tmp_path) -> None:
    environ = {DATA_DIR_ENV: str(tmp_path / "data")}
    url = default_url(environ)
    assert url == f"sqlite:///{tmp_path / 'data' / DATABASE_FILE}"
    assert configured_url(environ=environ) == (url, None)
    store = open_store(url)
    path = tmp_path / "data" / DATABASE_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert store.embedded and schema_version(store) == SCHEMA_VERSION


def test_a_file_in_a_folder_that_exists_leaves_the_folder_as_it_was(tmp_path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    open_store(str(shared / "queue.db"))
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(shared / "queue.db").st_mode) == 0o600


def test_the_environment_wins_over_the_secrets_and_the_secrets_over_the_default(tmp_path) -> None:
    environ = {DATA_DIR_ENV: str(tmp_path)}
    secrets = {"url": "postgresql://queue@db.example:5432/lapselens", "password": "s3cret"}
    assert configured_url(secrets=secrets, environ=environ) == ("postgresql://queue@db.example:5432/lapselens", "s3cret")
    assert configured_url(secrets=secrets, environ={**environ, DATABASE_ENV: "/srv/q.db"}) == ("/srv/q.db", None)
    assert configured_url(secrets={}, environ=environ) == (default_url(environ), None)
    with pytest.raises(ExtractError, match="may hold only the texts url, password"):
        configured_url(secrets={"url": "x", "user": "me"}, environ=environ)


def test_a_password_never_shows(pg_database: str) -> None:
    # A role that does not exist, with a password, on the real server: refused, and the password is nowhere in the message.
    url = pg_database.replace("postgresql://postgres@", "postgresql://nobody_here:Sup3rSecret@")
    with pytest.raises(ExtractError) as caught:
        open_store(url)
    assert caught.value.code == "queue_database" and caught.value.reason == "connect"
    assert "Sup3rSecret" not in str(caught.value) and "Sup3rSecret" not in caught.value.text("zh")
    assert "nobody_here@127.0.0.1" in str(caught.value)
    with pytest.raises(ExtractError) as caught:
        open_store("postgresql://nobody_here@127.0.0.1:55432/x", password="An0therSecret")
    assert "An0therSecret" not in str(caught.value)


def test_a_database_written_by_a_newer_release_is_refused(database_url: str) -> None:
    store = open_store(database_url)
    with store.engine.begin() as connection:
        connection.execute(VERSIONS.update().values(version=SCHEMA_VERSION + 1))
    store.engine.dispose()
    with pytest.raises(ExtractError, match=f"schema version {SCHEMA_VERSION + 1}"):
        open_store(database_url)


def test_an_older_schema_is_led_up_to_this_release(database_url: str) -> None:
    store = open_store(database_url)
    with store.engine.begin() as connection:
        connection.execute(VERSIONS.update().values(version=0))
    store.engine.dispose()
    assert schema_version(open_store(database_url)) == SCHEMA_VERSION


def test_what_was_recorded_survives_a_restart(database_url: str) -> None:
    first = open_store(database_url)
    assign(first, queue_rows(due_rows(["886000000000000001", "0012"]), list_kind="due", assignee_kind="agent", assignee="A274314"), at=AT)
    record_outcomes(first, pd.DataFrame({"policy_id": ["0012"], "outcome": ["promised"], "outcome_date": ["2026-10-02"]}), at=AT, by="li")
    first.engine.dispose()  # the process ends

    again = open_store(database_url)  # a new engine, new connections: the restart
    queue = assignments(again)
    assert sorted(queue["policy_id"]) == ["0012", "886000000000000001"]  # policy numbers as given, leading zeros kept
    assert set(queue["assignee"]) == {"A274314"}
    outcomes = list_outcomes(again)
    assert outcomes[["policy_id", "outcome", "assignee", "recorded_by"]].values.tolist() == [["0012", "promised", "A274314", "li"]]
    assert outcomes["outcome_date"].tolist() == [pd.Timestamp("2026-10-02")]


def test_two_sessions_recording_at_once_both_keep_theirs(database_url: str) -> None:
    ids = [f"P{n:03d}" for n in range(40)]
    setup = open_store(database_url)
    assign(setup, queue_rows(due_rows(ids), list_kind="due", assignee_kind="agent", assignee="A1"), at=AT)
    sessions = [open_store(database_url), open_store(database_url)]  # two engines: two app processes or sessions
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(n: int) -> None:
        try:
            start.wait()
            mine = ids[n::2]
            for policy in mine:  # one transaction per outcome, interleaved with the other session's
                frame = pd.DataFrame({"policy_id": [policy], "outcome": ["reached"], "outcome_date": ["2026-10-03"]})
                record_outcomes(sessions[n], frame, at=AT, by=f"user{n}")
            # and both reassign the same policies at once: one assignment each remains
            assign(sessions[n], queue_rows(due_rows(ids[:5]), list_kind="due", assignee_kind="agent", assignee=f"A{n + 2}"), at=AT)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    outcomes = list_outcomes(setup)
    assert len(outcomes) == 40 and sorted(outcomes["policy_id"]) == ids
    assert outcomes.groupby("recorded_by").size().to_dict() == {"user0": 20, "user1": 20}
    queue = assignments(setup)
    assert len(queue) == 40 and queue["policy_id"].is_unique
    assert set(queue.loc[queue["policy_id"].isin(ids[:5]), "assignee"]) <= {"A2", "A3"}


def test_the_tables_are_plain_sql(database_url: str) -> None:
    store = open_store(database_url)
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"lapselens_schema", "queue_assignments", "queue_outcomes"} <= names
