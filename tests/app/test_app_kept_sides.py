"""A refresh brings back the payment history and the campaign list with the book (AppTest).

A refresh starts a new Streamlit session with the same address: here a new AppTest with the
same ``?ds=`` query parameter. AppTest cannot drive a file widget, so the first session gets
its uploads the way the Data and Campaigns pages leave them in the session; the sample's
history and list are taken with their real buttons.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

from analysis import load_extract
from analysis.store.datasets import DataSetStore, KeptSide, content_hash, is_token
from analysis.store.disk import data_dir

APP = str(ROOT / "app.py")
# The first 299 policies of the sample as an upload of the user's own (title row, header row, 299 rows).
BOOK = b"".join((ROOT / "data" / "sample_policies.csv").read_bytes().splitlines(keepends=True)[:301])
BOOK_NAME = "保单_300.csv"
NO_HISTORY = "尚无缴费记录"


def token_of(at: AppTest) -> str | None:
    value = at.query_params.get("ds")
    return (value[0] if value else None) if isinstance(value, list) else value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def opened(token: str | None = None) -> AppTest:
    """A new session (a refresh, or the link opened again), on the Data page."""
    at = AppTest.from_file(APP, default_timeout=180)
    if token is not None:
        at.query_params["ds"] = token
    return ran(at)


def on_campaigns(at: AppTest) -> AppTest:
    at.switch_page("views/campaigns.py")
    return ran(at)


def history_bytes() -> bytes:
    """A small history of the book's first two policies: 4 rows, all accepted."""
    first, second = (str(p) for p in load_extract(BOOK, filename=BOOK_NAME).policies["policy_id"].head(2))
    lines = [
        "保单号,应缴日期,实缴日期,金额,缴费方式",
        f"{first},2023-01-10,2023-01-10,1200,自动扣款",
        f"{first},2024-01-10,2024-01-25,1200,银行转账",
        f"{second},2023-02-10,2023-02-10,800,现金",
        f"{second},2024-02-10,,800,现金",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def list_bytes() -> bytes:
    """A campaign list of the user's own on the book: every policy, enrolled the day after issue, in two alternating arms."""
    policies = load_extract(BOOK, filename=BOOK_NAME).policies
    lines = ["保单号,组别,入组日期"]
    for i, (policy, issued) in enumerate(zip(policies["policy_id"], policies["issue_date"])):
        lines.append(f"{policy},{'对照组' if i % 2 else '短信提醒'},{(issued + pd.Timedelta(days=1)).date().isoformat()}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def uploaded_session(monkeypatch: pytest.MonkeyPatch | None = None) -> AppTest:
    """A session with an uploaded book, an uploaded history attached to it and an uploaded campaign list."""
    from ui import campaigns as ui_c
    from ui import payments as ui_payments
    from ui import state
    from ui.datasets import content_version
    from ui.study import dataset_key

    at = AppTest.from_file(APP, default_timeout=180)
    choice = state.DataSetChoice(name=BOOK_NAME, version=content_version(BOOK))
    history, listed = history_bytes(), list_bytes()
    upload = ui_payments.PaymentUpload(book=dataset_key(choice), name="缴费记录.csv", version=content_version(history))
    campaign = ui_c.ListUpload(name="我的名单.csv", version=content_version(listed))
    for key, value in {
        state.UPLOADS: {choice.version: BOOK},
        state.ACTIVE: choice,
        ui_payments.UPLOAD_BYTES: {upload.version: history},
        ui_payments.ATTACHED: upload,
        ui_c.LIST_BYTES: {campaign.version: listed},
        ui_c.LIST: campaign,
    }.items():
        at.session_state[key] = value
    return ran(at)


def test_a_refresh_brings_back_the_book_its_history_and_the_campaign_list() -> None:
    from ui import campaigns as ui_c
    from ui import payments as ui_payments
    from ui import state

    first = uploaded_session()
    assert metrics(first)["缴费记录读取行数"] == "4"
    on_campaigns(first)  # the list is taken on the Campaigns page
    token = token_of(first)
    assert is_token(token)
    # Kept on disk under the link: the session holds no second copy of the bytes.
    for key in (ui_payments.UPLOAD_BYTES, ui_c.LIST_BYTES):
        assert key not in first.session_state, key
    store = DataSetStore(data_dir() / "datasets")
    sides = store.sides(token, owner=None, now=time.time())
    assert set(sides) == {"payments", "campaigns"}
    assert store.side_bytes(token, "payments", content_hash(history_bytes()), owner=None, now=time.time()) == history_bytes()
    assert store.side_bytes(token, "campaigns", content_hash(list_bytes()), owner=None, now=time.time()) == list_bytes()
    first_shown = [m.value for m in first.markdown if shown(m.value).startswith("名单“我的名单.csv”")]
    assert first_shown, "the list is evaluated in the first session"

    again = opened(token)
    assert again.session_state[state.ACTIVE] == first.session_state[state.ACTIVE]
    assert again.session_state[ui_payments.ATTACHED] == first.session_state[ui_payments.ATTACHED]
    figures = metrics(again)
    assert figures["缴费记录读取行数"] == "4" and figures["缴费记录接受"] == "4"
    assert any("缴费记录.csv" in shown(s.value) and "已与当前数据集匹配" in s.value for s in again.success)
    assert ui_payments.UPLOAD_BYTES not in again.session_state  # read back from disk, not held in the session
    on_campaigns(again)
    assert again.session_state[ui_c.LIST] == first.session_state[ui_c.LIST]
    assert [m.value for m in again.markdown if shown(m.value).startswith("名单“我的名单.csv”")] == first_shown
    assert not any("还没有活动名单" in i.value for i in again.info)
    assert token_of(again) == token


def test_a_detached_history_and_a_removed_list_stay_removed() -> None:
    from ui import campaigns as ui_c
    from ui import payments as ui_payments

    token = token_of(on_campaigns(uploaded_session()))
    again = opened(token)
    again.button(key="data_payments_detach").click()
    ran(again)
    assert any(NO_HISTORY in c.value for c in again.caption)
    # A refresh does not bring back what the user removed; the list is still in use.
    third = opened(token)
    assert any(NO_HISTORY in c.value for c in third.caption)
    assert ui_payments.ATTACHED not in third.session_state
    on_campaigns(third)
    assert third.session_state[ui_c.LIST].name == "我的名单.csv"
    third.button(key="campaigns_forget").click()
    ran(third)
    assert any("还没有活动名单" in i.value for i in third.info)
    fourth = on_campaigns(opened(token))
    assert ui_c.LIST not in fourth.session_state
    assert any("还没有活动名单" in i.value for i in fourth.info)
    assert metrics(opened(token))["读取行数"] == "299", "the book itself still comes back"


def test_the_sample_gets_a_link_for_its_history_and_list_and_gives_it_up_without_them() -> None:
    from ui import campaigns as ui_c
    from ui import payments as ui_payments

    at = opened()
    assert token_of(at) is None, "the plain sample needs no link"
    at.button(key="data_payments_sample").click()
    ran(at)
    token = token_of(at)
    assert is_token(token), "a history attached to the sample is kept under a link"
    on_campaigns(at).button(key="campaigns_sample").click()
    ran(at)
    assert token_of(at) == token

    again = opened(token)
    assert metrics(again)["缴费记录读取行数"] == "585,286"
    assert again.session_state[ui_payments.ATTACHED].is_sample
    on_campaigns(again)
    assert again.session_state[ui_c.LIST].is_sample
    assert any(shown(m.value).startswith("名单“sample_campaign_list.csv”") for m in again.markdown)

    again.button(key="campaigns_forget").click()
    ran(again)
    again.switch_page("views/data.py")
    ran(again).button(key="data_payments_detach").click()
    ran(again)
    assert token_of(again) is None, "nothing left to keep with the plain sample: no link"
    # The old address opens the plain sample, without what was removed.
    third = opened(token)
    assert any(NO_HISTORY in c.value for c in third.caption)
    assert ui_c.LIST not in on_campaigns(third).session_state


def test_a_history_that_cannot_be_kept_is_said_and_still_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui import payments as ui_payments

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("LAPSELENS_DATA_DIR", str(blocked))
    at = uploaded_session()
    assert token_of(at) is None
    assert metrics(at)["缴费记录读取行数"] == "4"  # the session goes on with its history
    assert any("缴费记录未能保存在服务器上" in w.value for w in at.warning)
    assert ui_payments.UPLOAD_BYTES in at.session_state  # its only copy
    on_campaigns(at)
    assert any("活动名单未能保存在服务器上" in w.value for w in at.warning)


def test_the_configured_book_gets_a_link_for_its_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The company's book needs no link of its own; a history attached to it is kept under one, and comes back with it."""
    from analysis.engine.config import SOURCE_ENV, read_config_file
    from ui import datasets as ds
    from ui import payments as ui_payments
    from ui import state
    from ui.study import dataset_key

    rows = pd.read_csv(io.BytesIO(BOOK), skiprows=1, dtype=str)  # the book's header and 299 rows, without its title row
    rows.to_parquet(tmp_path / "book.parquet")
    config = tmp_path / "source.toml"
    config.write_text(f'[source]\nurl = "{tmp_path / "book.parquet"}"\nstudy_date = "2026-09-30"\nname = "公司保单库"\n', encoding="utf-8")
    monkeypatch.setenv(SOURCE_ENV, str(config))
    plain = opened()
    assert token_of(plain) is None and state.is_configured(plain.session_state[state.ACTIVE])
    choice = ds.source_choice(read_config_file(config))
    history = history_bytes()
    upload = ui_payments.PaymentUpload(book=dataset_key(choice), name="缴费记录.csv", version=content_hash(history))
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[ui_payments.UPLOAD_BYTES] = {upload.version: history}
    at.session_state[ui_payments.ATTACHED] = upload
    ran(at)
    token = token_of(at)
    assert is_token(token) and metrics(at)["缴费记录读取行数"] == "4"
    again = opened(token)
    assert again.session_state[state.ACTIVE] == choice
    assert again.session_state[ui_payments.ATTACHED] == upload and metrics(again)["缴费记录读取行数"] == "4"
    again.button(key="data_payments_detach").click()
    assert token_of(ran(again)) is None, "nothing left to keep with the configured book: no link"


def test_a_link_whose_book_no_longer_loads_says_so_and_keeps_nothing_with_the_sample() -> None:
    """A kept file that no longer loads (e.g. kept by an older version): the sample, the message, and no link for its list."""
    from ui import campaigns as ui_c
    from ui import state

    store = DataSetStore(data_dir() / "datasets")
    broken = b"not a policy extract\n"
    choice = state.DataSetChoice(name="旧文件.csv", version=content_hash(broken))
    listed = list_bytes()
    token = "B" * 32
    store.put(token, choice, broken, owner=None, now=time.time())
    store.put_side(
        token, "campaigns", KeptSide(kind="upload", name="我的名单.csv", version=content_hash(listed)), listed, owner=None, now=time.time()
    )
    at = opened(token)
    assert token_of(at) is None
    ran(at)  # the frame says so on the run after the load failed
    assert any("此链接指向的数据集已不在服务器上" in w.value for w in at.warning)
    assert ui_c.LIST not in on_campaigns(at).session_state
    assert token_of(at) is None
