"""Many sessions at once on the one DuckDB connection: every book bound and every query run, none "busy"."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from artefacts import sample_extract

from analysis.engine import backend as engines
from analysis.persistency.overview import overview_figures
from analysis.study.run import StudyRequest, run_study

SESSIONS = 8


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


def one_session(sample) -> tuple[pd.DataFrame, float]:
    """What a page does: bind the book, run a study and the overview's queries."""
    rates = run_study(sample.policies, StudyRequest(by=("channel",)), study_date=sample.study_date).rates
    figures = overview_figures(sample.policies, study_date=sample.study_date)
    return rates, figures.kpis[0].count


def test_eight_sessions_share_the_connection(sample) -> None:
    alone = one_session(sample)
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda _: one_session(sample), range(SESSIONS)))
    for rates, p13 in results:
        pd.testing.assert_frame_equal(rates, alone[0])
        assert p13 == alone[1]


def test_without_the_lock_the_connection_is_busy(sample, monkeypatch) -> None:
    """The guard above is needed: unserialised, concurrent calls fail (this pins that the test can fail)."""
    monkeypatch.setattr(engines, "serial", lambda backend: contextlib.nullcontext())
    monkeypatch.setattr(engines, "_duckdb_calls", contextlib.nullcontext())
    with ThreadPoolExecutor(SESSIONS) as pool:
        futures = [pool.submit(one_session, sample) for _ in range(SESSIONS * 2)]
        errors = [f.exception() for f in futures]
    assert any(e is not None for e in errors)


def _registered(con) -> set[str]:
    return {name for (name,) in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def test_a_book_no_one_refers_to_is_let_go_without_another_bind() -> None:
    """A book's registration (its Arrow copy) goes once its table is gone: by the next bind, or by drop_released."""
    import gc

    import ui.datasets

    backend = engines.connect("duckdb")
    table, _ = engines.bind(pd.DataFrame({"policy_id": ["A", "B"], "annual_premium": [1.0, 2.0]}), backend)
    name = table.get_name()
    assert name in _registered(backend.con)
    del table
    gc.collect()
    assert name in _registered(backend.con)  # the finalizer only notes it: dropping could deadlock inside a query
    ui.datasets.release_memory()  # what the app's reaper does when books and sessions go
    assert name not in _registered(backend.con)
