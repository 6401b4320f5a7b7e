"""Many sessions at once on the one DuckDB connection: every book bound and every query run, none "busy"."""

from __future__ import annotations

import threading
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


def test_eight_sessions_share_the_connection_and_every_query_runs_on_the_engines_one_thread(sample, monkeypatch) -> None:
    """Eight sessions at once get what one gets alone, and whichever session asks, the DuckDB connection is called from
    one thread only (backend.EngineThread)."""
    alone = one_session(sample)
    backend = engines.connect("duckdb")
    callers: set[int] = set()
    for method in ("to_pandas", "execute"):
        original = getattr(type(backend), method)

        def spy(self, *args, _original=original, **kwargs):
            callers.add(threading.get_ident())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(type(backend), method, spy)
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda _: one_session(sample), range(SESSIONS)))
    assert callers == {engines.engine_thread().ident}
    for rates, p13 in results:
        pd.testing.assert_frame_equal(rates, alone[0])
        assert p13 == alone[1]


def _python(code: str, root, timeout: float):
    """``code`` run by a Python process of its own in the project's folder (tests/engine importable), with a time limit."""
    import subprocess
    import sys

    head = "import sys; sys.path[:0] = ['tests', 'tests/engine']\n"
    return subprocess.run([sys.executable, "-c", head + code], cwd=root, capture_output=True, text=True, timeout=timeout)


_SESSIONS_OWN_THREADS = """
from concurrent.futures import ThreadPoolExecutor
from artefacts import sample_extract
from test_concurrency import SESSIONS, one_session
from analysis.engine import backend as engines
sample = sample_extract()
engines.on_engine = lambda backend, work: work()  # each session calls the connection from its own thread
with ThreadPoolExecutor(SESSIONS) as pool:
    errors = [f.exception() for f in [pool.submit(one_session, sample) for _ in range(SESSIONS * 2)]]
print(sum("connection is busy" in str(e) for e in errors if e is not None))
"""


def test_without_the_engines_thread_the_connection_is_busy(root) -> None:
    """The engine's thread is needed: calls made from the sessions' own threads fail (this pins that the test above can fail).

    In a process of its own, with a time limit: this is the arrangement that can hang.
    """
    done = _python(_SESSIONS_OWN_THREADS, root, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 0, done.stdout


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


_CTRL_C = """
import os, signal, threading, time
import pandas as pd
from analysis.engine.backend import bind, connect, scalar
backend = connect()
left, _ = bind(pd.DataFrame({"a": range(200_000)}), backend)
right, _ = bind(pd.DataFrame({"b": range(200_000)}), backend)
endless = left.cross_join(right).filter(lambda r: (r.a * 7 + r.b) % 1000003 == 5).count()  # minutes of work
threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    scalar(backend, endless)
    print("finished")
except KeyboardInterrupt:
    started = time.perf_counter()
    print("stopped", scalar(backend, left.count()), round(time.perf_counter() - started, 1))
"""


def test_ctrl_c_stops_the_query_on_the_engines_thread(root) -> None:
    """The command line's Ctrl+C reaches the query running on the engine's thread: it stops, and the connection is free."""
    done = _python(_CTRL_C, root, timeout=120)
    words = done.stdout.split()
    assert words[:2] == ["stopped", "200000"], done.stdout + done.stderr
    assert float(words[2]) < 5  # the next query did not wait for the stopped one
