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


@pytest.fixture(scope="module")
def side_tables_in_pg(sample_in_pg: str, root: Path) -> str:
    """The sample's payment history (typed: dates, amounts) and campaign list (as written) beside its book: 缴费记录, 活动名单."""
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("make_payments", root / "data" / "make_payments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    payments = pd.read_csv(module.cached_sample_payments(), dtype=str, keep_default_na=False).replace({"": None})
    for column in ("应缴日期", "实缴日期"):
        payments[column] = pd.to_datetime(payments[column]).dt.date
    payments["金额"] = pd.to_numeric(payments["金额"])
    listed = pd.read_csv(root / "data" / "sample_campaign_list.csv", dtype=str, keep_default_na=False).replace({"": None})
    con = pg_connect(sample_in_pg)
    con.create_table("缴费记录", payments, overwrite=True)
    con.create_table("活动名单", listed, overwrite=True)
    con.disconnect()
    return sample_in_pg


def test_the_company_book_comes_with_its_payment_history_and_campaign_list(
    side_tables_in_pg: str, tmp_path: Path, monkeypatch, own_data_dir: Path
) -> None:
    keys = {
        "url": side_tables_in_pg,
        "table": "保单明细",
        "name": BOOK_NAME,
        "payments_table": "缴费记录",
        "campaign_list_table": "活动名单",
    }
    monkeypatch.setenv(SOURCE_ENV, str(_config(tmp_path, **keys)))
    at = _opened()
    # No upload, no click: the Data page says the history was read from the company's source, with its account.
    assert any("缴费记录读自公司数据源" in s.value and "table 缴费记录" in s.value.replace("\\", "") for s in at.success), [
        s.value for s in at.success
    ]
    figures = {m.label: m.value for m in at.metric}
    assert figures["缴费记录读取行数"] == "585,286" and figures["保单不在清单中"] == "0"
    at.switch_page("views/overview.py").run()
    assert not at.exception
    headline = {m.label: m.value for m in at.metric}
    assert "13 个月继续率，按状态（件数）" in headline, list(headline)
    assert any("继续率按实收保费计算" in c.value for c in at.caption)
    # The Campaigns page opens on the company's list: its account and the arm with the best value per contact.
    at.switch_page("views/campaigns.py").run()
    assert not at.exception
    text = _everything_shown(at).replace("\\", "")
    assert "table 活动名单" in text and "3,631" in text, text[:2000]
    assert any("每次接触价值最高的措施：**短信提醒**" in s.value for s in at.success), [s.value for s in at.success]
    # Put away, the list stays away in this session, and a button offers it again.
    at.button(key="campaigns_forget").click().run()
    assert not at.exception and at.button(key="campaigns_source").label.startswith("使用公司数据源的活动名单")
    at.button(key="campaigns_source").click().run()
    assert not at.exception and "table 活动名单" in _everything_shown(at).replace("\\", "")
    # The history detached stays detached, the Overview goes back to the status-based definition.
    at.switch_page("views/data.py").run()
    at.button(key="data_payments_detach").click().run()
    assert not at.exception and at.button(key="data_payments_source").label.startswith("使用公司数据源的缴费记录")
    at.switch_page("views/overview.py").run()
    assert "13 个月继续率，按状态（件数）" not in {m.label for m in at.metric}
