"""A browser refresh keeps the data set: a new session with the same ``?ds=`` link finds it again.

A refresh starts a new Streamlit session with the same address; here that is a new AppTest
with the same query parameter. Uploading through the file widget is out of AppTest's reach,
so the first session gets its upload the way the Data page leaves it in the session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import ROOT
from streamlit.testing.v1 import AppTest

from analysis import load_extract, parse_preset
from analysis.report.catalogue import translate
from analysis.store.datasets import is_token

APP = str(ROOT / "app.py")
# The first 299 policies of the sample: its title row, its header row, then 299 policy rows (301 lines).
UPLOAD = b"".join((ROOT / "data" / "sample_policies.csv").read_bytes().splitlines(keepends=True)[:301])
NAME = "保单_[300](x).csv"
# A mapping of the user's own (grace 30 days instead of 60) and a study date set by hand.
PRESET = '[columns]\npolicy_id = "保单号"\n\n[settings]\ngrace_days = 30\n'
STUDY_DATE = "2024-03-31"
LOST_ZH = "此链接指向的数据集已不在服务器上"


def token_of(at: AppTest) -> str | None:
    value = at.query_params.get("ds")
    return (value[0] if value else None) if isinstance(value, list) else value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def opened(query: dict[str, str] | None = None, *, upload: bool = False) -> AppTest:
    from ui import state
    from ui.datasets import content_version

    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if upload:
        version = content_version(UPLOAD)
        at.session_state[state.UPLOADS] = {version: UPLOAD}
        at.session_state[state.ACTIVE] = state.DataSetChoice(name=NAME, version=version, preset_toml=PRESET, study_date=STUDY_DATE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def expected():
    """The account the door gives for the upload, read directly (the figures a restored session must show)."""
    return load_extract(UPLOAD, filename=NAME, preset=parse_preset(PRESET), study_date=STUDY_DATE)


def test_a_refresh_finds_the_same_data_set_and_mapping(expected) -> None:
    from ui import state

    first = opened(upload=True)
    token = token_of(first)
    assert is_token(token), "the session's data set is named in the address"
    assert expected.rows_read == 299  # 301 lines − the title row − the header row
    assert metrics(first)["读取行数"] == "299"
    # The refresh: a new session, the same address.
    again = opened({"ds": token})
    assert not any(LOST_ZH in w.value for w in again.warning)  # (the page's loud account may warn: 12 % of rows dated after 2024-03-31)
    assert again.session_state[state.ACTIVE] == first.session_state[state.ACTIVE]
    restored = again.session_state[state.ACTIVE]
    assert (restored.name, restored.preset_toml, restored.study_date) == (NAME, PRESET, STUDY_DATE)
    shown = metrics(again)
    assert shown == metrics(first)
    labels = [translate(f"data.{name}", "zh") for name in ("rows_read", "accepted", "repaired", "rejected")]
    assert [shown[label] for label in labels] == [
        f"{expected.rows_read:,}",
        f"{expected.accepted:,}",
        f"{expected.repaired:,}",
        f"{expected.rejected:,}",
    ]
    assert any("手动指定" in c.value for c in again.caption)  # the study date's source: set by hand
    assert any(t.value.startswith(NAME) for t in again.sidebar.text)  # the user's own file name, as typed
    assert token_of(again) == token


def test_a_wrong_token_falls_back_to_the_sample_and_says_so() -> None:
    at = opened({"ds": "A" * 32})
    assert any(LOST_ZH in w.value for w in at.warning)
    assert metrics(at)["读取行数"] == metrics(opened())["读取行数"]  # the sample
    assert token_of(at) is None
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert any(w.value.startswith("The data set this link named is no longer kept") for w in at.warning)


def test_another_accounts_token_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.datasets

    monkeypatch.setattr(ui.datasets, "signed_in_account", lambda: "https://login.example.com|alice")
    token = token_of(opened(upload=True))
    monkeypatch.setattr(ui.datasets, "signed_in_account", lambda: "https://login.example.com|bob")
    assert any(LOST_ZH in w.value for w in opened({"ds": token}).warning)
    monkeypatch.setattr(ui.datasets, "signed_in_account", lambda: "https://login.example.com|alice")
    at = opened({"ds": token})
    assert not any(LOST_ZH in w.value for w in at.warning) and metrics(at)["读取行数"] == "299"


def test_the_token_comes_back_after_a_page_switch_and_goes_with_the_sample() -> None:
    at = opened(upload=True)
    token = token_of(at)
    at.switch_page("views/overview.py")
    del at.query_params["ds"]  # what the browser does on a page switch: the address loses its parameters
    at.run()
    assert not at.exception
    assert token_of(at) == token
    at.switch_page("views/data.py").run()
    at.button(key="data_back").click().run()
    assert not at.exception
    assert token_of(at) is None, "back to the bundled sample: the address names no data set"
    assert not at.warning


def test_the_interventions_link_is_left_alone() -> None:
    at = opened({"scenarios": "not-a-scenario-set"}, upload=True)
    assert token_of(at) and at.query_params["scenarios"] in ("not-a-scenario-set", ["not-a-scenario-set"])


def test_a_data_directory_that_cannot_be_written_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("LAPSELENS_DATA_DIR", str(blocked))
    at = opened(upload=True)
    assert token_of(at) is None
    assert any("当前数据集未能保存在服务器上" in w.value for w in at.sidebar.warning)
    assert metrics(at)["读取行数"] == "299"  # the session goes on with its data set
