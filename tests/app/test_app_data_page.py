"""The app frame and the Data page through Streamlit's AppTest."""

from __future__ import annotations

import pytest
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

from analysis import load_extract

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def sample_account():
    return load_extract(ROOT / "data" / "sample_policies.csv")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_data_page_opens_on_the_sample_in_chinese(sample_account) -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception
    shown = metrics(at)
    assert shown["读取行数"] == f"{sample_account.rows_read:,}"
    assert shown["接受"] == f"{sample_account.accepted:,}"
    assert shown["拒绝"] == f"{sample_account.rejected:,}"
    assert at.title[0].value == "数据导入与质量核对"
    assert any("统计截止日" in c.value for c in at.caption)


def test_column_notes_follow_the_language() -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    details = [v for frame in at.dataframe if "说明" in frame.value.columns for v in frame.value["说明"]]
    assert any("以其他写法书写的日期" in v for v in details), details
    at.sidebar.radio(key="app_language").set_value("en").run()
    details = [v for frame in at.dataframe if "Detail" in frame.value.columns for v in frame.value["Detail"]]
    assert any(v.startswith("dates written in another form") for v in details), details


def test_language_switch_to_english(sample_account) -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert metrics(at)["Rows read"] == f"{sample_account.rows_read:,}"
    assert at.title[0].value == "Data: import and quality account"


def test_a_preset_that_does_not_fit_keeps_the_data_set() -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    before = metrics(at)["读取行数"]
    at.selectbox(key="data_preset__zh").set_value("uslapseagent").run()
    assert not at.exception
    assert at.error, "a preset naming columns the sample lacks must say so"
    assert "issue.date" in shown(at.error[0].value)
    assert metrics(at)["读取行数"] == before


def test_study_date_override_changes_the_account_source() -> None:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.checkbox(key="data_override").check().run()
    assert not at.exception
    assert any("手动指定" in c.value for c in at.caption)


def test_the_sample_with_a_study_date_set_by_hand_survives_a_refresh() -> None:
    """The sample keeps no bytes on the server, only the session's choice: the override comes back."""
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert "ds" not in at.query_params  # the plain sample needs no link
    at.checkbox(key="data_override").check().run()
    token = at.query_params["ds"]
    token = token[0] if isinstance(token, list) else token
    again = AppTest.from_file(APP, default_timeout=90)
    again.query_params["ds"] = token
    again.run()
    assert not again.exception and not again.warning
    assert any("手动指定" in c.value for c in again.caption)
    assert metrics(again) == metrics(at)
