"""Books in memory go with the sessions that show them, and a session's book survives its file's bytes.

The process keeps loaded books by weak reference only; each session holds its own. A session
whose uploaded bytes are gone (it uploaded more files since) still opens its book from the
copy kept on disk, instead of falling back to the sample with "link lost" (issue [7/7] §9).
"""

from __future__ import annotations

import gc

from paths import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
# The sample's title row, header row and its first 120 policies, under a name of its own.
UPLOAD = b"".join((ROOT / "data" / "sample_policies.csv").read_bytes().splitlines(keepends=True)[:122])
NAME = "books_memory_120.csv"


def _session(*, with_bytes: bool) -> AppTest:
    from ui import state
    from ui.datasets import content_version

    at = AppTest.from_file(APP, default_timeout=120)
    version = content_version(UPLOAD)
    at.session_state[state.UPLOADS] = {version: UPLOAD} if with_bytes else {}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name=NAME, version=version)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown_count(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}.get("读取行数", "")


def _held(at: AppTest) -> dict[str, object]:
    from ui import state

    return dict(at.session_state[state.HELD_BOOKS])


def test_a_book_goes_from_memory_with_its_last_session_and_comes_back_from_disk() -> None:
    from ui.datasets import _shared_books

    first = _session(with_bytes=True)
    assert _shown_count(first) == "120"
    (digest,) = [key for key, book in _held(first).items() if getattr(book, "rows_read", None) == 120]
    assert _shared_books().weak.get(digest) is not None
    del first
    gc.collect()
    assert _shared_books().weak.get(digest) is None  # no session holds it: the process let it go

    # A session whose file's bytes are gone (it uploaded two more since) opens the kept copy.
    second = _session(with_bytes=False)
    assert _shown_count(second) == "120"
    assert not second.warning or all("链接" not in w.value for w in second.warning)
