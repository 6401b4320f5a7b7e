"""The app opens on the company's book: a real PostgreSQL table named by the configuration, not an upload.

The configuration comes through the environment variable (a TOML file) or the app's secrets, as
the README says; the sidebar names the book, its policies and its study date; the Overview's
headline figures equal those of the same rows uploaded as the CSV. A configuration that does
not open says so in the page's language, never shows the password, and the app opens on the sample.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import pg_connect
from paths import ROOT
from streamlit.testing.v1 import AppTest

from analysis.engine.config import SOURCE_ENV
from analysis.store.disk import DATA_DIR_ENV

APP = str(ROOT / "app.py")
BOOK_NAME = "公司保单库"
SECRET = "never-shown-horse"


def _config(tmp_path: Path, **keys: str) -> Path:
    path = tmp_path / "source.toml"
    lines = "\n".join(f'{key} = "{value}"' for key, value in keys.items())
    path.write_text(f"[source]\n{lines}\n", encoding="utf-8")
    return path


def _opened(*, secrets: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    if secrets is not None:
        at.secrets["source"] = secrets
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def _everything_shown(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "caption", "markdown", "text") for e in getattr(at, kind)]
    parts += [e.value for kind in ("caption", "text", "markdown") for e in getattr(at.sidebar, kind)]
    return "\n".join(str(p) for p in parts)


def _headline(at: AppTest) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


@pytest.fixture
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own, so no book kept by another test is read."""
    import ui.datasets

    folder = tmp_path / "data-dir"
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    ui.datasets._open_source.clear()  # the process's cache of configured books, as a restart would
    return folder


def test_the_app_opens_on_the_configured_postgres_book(sample_in_pg: str, tmp_path: Path, monkeypatch, own_data_dir: Path) -> None:
    import ui.datasets

    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, url=sample_in_pg, table="保单明细", name=BOOK_NAME)))
    at = _opened(page="views/overview.py")
    assert any(t.value == f"{BOOK_NAME}：49,992 张保单，统计截止日 2026-09-30" for t in at.sidebar.text), [t.value for t in at.sidebar.text]
    assert any("公司保单库，" in c.value for c in at.sidebar.caption)
    from_source = _headline(at)
    assert from_source, "the Overview shows its headline figures"
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert any(t.value == f"{BOOK_NAME}: 49,992 policies, study date 2026-09-30" for t in at.sidebar.text)
    # The same rows uploaded as the CSV: the bundled sample, with no source configured.
    monkeypatch.delenv(SOURCE_ENV)
    by_file = _opened(page="views/overview.py")
    assert any(t.value.startswith("内置样例数据：49,992 张保单") for t in by_file.sidebar.text)
    assert _headline(by_file) == from_source
    # The book was kept on disk: a restarted process (its cache cleared) reads it without the source.
    assert len([p for p in (own_data_dir / "books").iterdir() if not p.name.startswith(".")]) >= 1
    ui.datasets._open_source.clear()

    def no_source(*args, **kwargs):
        raise AssertionError("the kept book should have been read, not the source")

    monkeypatch.setattr(ui.datasets, "open_config", no_source)
    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, url=sample_in_pg, table="保单明细", name=BOOK_NAME)))
    again = _opened()
    assert any(t.value == f"{BOOK_NAME}：49,992 张保单，统计截止日 2026-09-30" for t in again.sidebar.text)


def test_the_data_page_goes_back_and_forth_between_the_book_and_the_sample(
    sample_in_pg: str, tmp_path: Path, monkeypatch, own_data_dir: Path
) -> None:
    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, url=sample_in_pg, table="保单明细", name=BOOK_NAME)))
    at = _opened()
    # Markdown-escaped as shown; a word joiner keeps user@host from becoming a mail link.
    facts = [c.value.replace("\\", "").replace("\u2060", "") for c in at.caption]
    assert any("读自 postgresql://postgres@" in c and "table 保单明细，计算引擎 duckdb" in c for c in facts), facts
    at.button(key="data_back").click().run()
    assert not at.exception
    assert any(t.value.startswith("内置样例数据") for t in at.sidebar.text)
    at.button(key="data_back_to_source").click().run()
    assert not at.exception
    assert any(t.value.startswith(BOOK_NAME) for t in at.sidebar.text)
    saved_before = _saved_times(own_data_dir)
    at.button(key="data_reload_source").click().run()  # read again from PostgreSQL
    assert not at.exception
    assert max(_saved_times(own_data_dir)) > max(saved_before)
    assert any(t.value.startswith(f"{BOOK_NAME}：49,992") for t in at.sidebar.text)


def _saved_times(data_dir: Path) -> list[float]:
    return [json.loads(p.read_text(encoding="utf-8"))["saved"] for p in data_dir.glob("books/*/book.json")]


def test_an_old_copy_is_shown_when_the_source_cannot_be_reached(root: Path, tmp_path: Path, monkeypatch, own_data_dir: Path) -> None:
    import ui.datasets
    from analysis import load_extract
    from analysis.engine.config import read_config_file
    from analysis.store.books import SECONDS_PER_DAY, BookStore

    path = _config(tmp_path, url="postgresql://postgres@127.0.0.1:1/book", table="保单明细", name=BOOK_NAME)
    monkeypatch.setenv(SOURCE_ENV, str(path))
    config = read_config_file(path)
    # Yesterday's copy (two days old: past the 24-hour refresh), kept as the app keeps it.
    key = ui.datasets._source_key(config, "", None)
    BookStore(own_data_dir / "books").put(key, load_extract(root / "data" / "sample_policies.csv"), now=time.time() - 2 * SECONDS_PER_DAY)
    at = _opened()
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert any(w.startswith("无法从数据来源重新读取公司保单库，现显示") and "无法连接" in w for w in warnings), warnings
    assert any(t.value.startswith(f"{BOOK_NAME}：49,992 张保单") for t in at.sidebar.text)


def test_a_password_from_the_secrets_is_used_and_never_shown(sample_in_pg: str, own_data_dir: Path) -> None:
    # The test server trusts its superuser on the loopback, so any password opens it: the point is where it goes.
    at = _opened(secrets={"url": sample_in_pg, "table": "保单明细", "password": SECRET})
    assert any("49,992" in t.value for t in at.sidebar.text)
    assert SECRET not in _everything_shown(at)
    assert not any(SECRET in str(p) for p in own_data_dir.rglob("*.json")) and not any(
        SECRET.encode() in p.read_bytes() for p in own_data_dir.rglob("*") if p.is_file()
    )


def _pw_reader(url: str) -> str:
    """A role that must give its password (the test server's pg_hba asks it of pw_reader); its URL without one."""
    con = pg_connect(url)
    with con.con.cursor() as cursor:
        cursor.execute("DO $$ BEGIN CREATE ROLE pw_reader LOGIN PASSWORD 'right-horse'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    con.con.commit()
    con.disconnect()
    return "postgresql://pw_reader@" + url.split("@", 1)[1]


def test_a_wrong_password_says_so_and_opens_the_sample(sample_in_pg: str, own_data_dir: Path) -> None:
    at = _opened(secrets={"url": _pw_reader(sample_in_pg), "table": "保单明细", "password": SECRET, "name": BOOK_NAME})
    errors = [e.value for e in at.error]
    said = f"无法打开公司保单库（{BOOK_NAME}），现显示内置样例数据。"
    assert any(e.startswith(said) and "password authentication failed" in e for e in errors), errors
    assert SECRET not in _everything_shown(at)
    assert any(t.value.startswith("内置样例数据：49,992 张保单") for t in at.sidebar.text)
    assert "Traceback" not in _everything_shown(at)
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert any(e.value.startswith(f"The company's book ({BOOK_NAME}) could not be opened") for e in at.error)
    assert any(e.value.startswith("Cannot connect to") or "Cannot connect to" in e.value for e in at.error)


def test_an_unreachable_server_says_so_and_opens_the_sample(tmp_path: Path, monkeypatch, own_data_dir: Path) -> None:
    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, url="postgresql://postgres@127.0.0.1:1/book", table="保单明细")))
    at = _opened()
    errors = [e.value.replace("\\", "").replace("\u2060", "") for e in at.error]  # Markdown-escaped as shown
    said = "无法打开公司保单库（postgresql://postgres@127.0.0.1:1/book table 保单明细）"
    assert any(e.startswith(said) and "无法连接" in e for e in errors), errors
    assert any(t.value.startswith("内置样例数据") for t in at.sidebar.text)


def test_a_bad_configuration_says_so_and_opens_the_sample(tmp_path: Path, monkeypatch, own_data_dir: Path) -> None:
    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, url="postgresql://u@h/db", table="t", passwd="x")))
    at = _opened()
    assert any(e.value.startswith("配置的数据来源无法使用，现显示内置样例数据。") and "passwd" in e.value for e in at.error)
    assert any(t.value.startswith("内置样例数据") for t in at.sidebar.text)
    at.switch_page("views/data.py").run()
    assert not at.exception
