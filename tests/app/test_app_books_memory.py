"""Books in memory go when no session asks for them, and nothing big stays in a session's state.

Streamlit keeps a closed session's state until another session disconnects, so the app keeps
nothing big there: an upload's bytes go to disk under the session's link once kept, and books
are held by the process, which lets go of those no session asked for lately (a reaper thread).
A book asked for again, or a file needed again (a new mapping), is read back from disk; a
session never falls back to the sample with "link lost" because its bytes are no longer in
memory (issue [7/7] §9).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from paths import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
# The sample's title row, header row and its first 120 policies, under a name of its own.
UPLOAD = b"".join((ROOT / "data" / "sample_policies.csv").read_bytes().splitlines(keepends=True)[:122])
NAME = "books_memory_120.csv"


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _session(*, with_bytes: bool) -> AppTest:
    from ui import state
    from ui.datasets import content_version

    at = AppTest.from_file(APP, default_timeout=120)
    version = content_version(UPLOAD)
    at.session_state[state.UPLOADS] = {version: UPLOAD} if with_bytes else {}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name=NAME, version=version)
    return _run(at)


def _shown_count(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}.get("读取行数", "")


def _held_keys() -> set[str]:
    from ui.datasets import _shared_books

    return set(_shared_books().held)


def test_an_upload_leaves_the_session_once_kept_and_its_book_leaves_memory_when_idle() -> None:
    from ui import state
    from ui.datasets import _shared_books, content_version

    before = _held_keys()
    first = _session(with_bytes=True)
    assert _shown_count(first) == "120"
    assert content_version(UPLOAD) not in first.session_state[state.UPLOADS]  # on disk under the link, not in the session
    new = _held_keys() - before
    assert len(new) == 1
    assert _shared_books().reap(time.time()) == 0  # just asked for: kept
    assert _shared_books().reap(time.time() + 3600) >= 1 and not (_held_keys() & new)  # idle: let go

    # The same session asks again (its book was let go, its bytes are only on disk): the kept copy opens.
    _run(first)
    assert _shown_count(first) == "120" and not first.warning

    # A new study date for the same file needs the file itself: read back from disk under the link.
    choice = first.session_state[state.ACTIVE]
    first.session_state[state.ACTIVE] = replace(choice, study_date="2024-12-31")
    _run(first)
    assert _shown_count(first) == "120" and first.session_state[state.ACTIVE].study_date == "2024-12-31"


def test_a_session_whose_bytes_are_gone_opens_the_kept_copy() -> None:
    _session(with_bytes=True)  # kept on disk
    second = _session(with_bytes=False)  # it uploaded two more files since: this one's bytes are gone
    assert _shown_count(second) == "120"
    assert not second.warning or all("链接" not in w.value for w in second.warning)


def test_a_reaped_session_is_shut_down_and_its_state_emptied() -> None:
    """Streamlit's runtime loop may keep the last session it served after it closed: its state must not keep the pages' globals.

    The widgets' callbacks (a select box's ``format_func``, defined in a page) hold the page's
    globals, and with them the book; the reaper shuts the session down and empties its state.
    """
    import gc
    import weakref

    from streamlit.runtime.state.common import WidgetMetadata
    from streamlit.runtime.state.session_state import SessionState

    from ui.datasets import _shut_down

    class Book:  # stands for a page's book, held by the page's globals
        pass

    book = Book()
    page_globals = {"result": book}
    format_func = eval("lambda value: str(value)", page_globals)  # a function defined in the page: its globals are the page's
    state = SessionState()
    state["app_active_dataset"] = "a choice"
    # A select box's metadata, as a page's st.selectbox(format_func=…) leaves it: its deserializer calls the page's function.
    metadata = WidgetMetadata(id="customer_pick", deserializer=format_func, serializer=format_func, value_type="string_value")
    state._new_widget_state.widget_metadata["customer_pick"] = metadata
    shut: list[bool] = []

    class Session:
        def __init__(self, state: SessionState) -> None:
            self._session_state = state

        def shutdown(self) -> None:
            shut.append(True)

    held = weakref.ref(book)
    session = Session(state)
    del book, page_globals, format_func, metadata, state
    gc.collect()
    assert held() is not None  # the state holds the page's globals through the function
    _shut_down(session)
    gc.collect()
    assert shut == [True] and "app_active_dataset" not in session._session_state
    assert held() is None  # nothing holds the book any more, though the session object lives on


def test_the_last_runs_globals_go_when_no_session_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit leaves the last run of app.py installed as ``__main__``: its globals (the active book) must not outlive the sessions."""
    import gc
    import sys
    import types
    import weakref

    from ui.datasets import _forget_last_run

    class Book:
        pass

    script = str(ROOT / "app.py")
    run = types.ModuleType("__main__")
    run.__file__ = script
    run.result = Book()
    held = weakref.ref(run.result)
    monkeypatch.setitem(sys.modules, "__main__", run)
    del run
    assert not _forget_last_run(str(ROOT / "other.py"))  # another program's __main__ is left alone
    assert held() is not None
    assert _forget_last_run(script)
    gc.collect()
    assert held() is None
    assert sys.modules["__main__"].__file__ == script  # Streamlit's hashing of cached functions reads it
    assert not _forget_last_run(script)  # already empty: nothing to give back
