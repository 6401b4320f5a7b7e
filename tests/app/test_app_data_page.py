"""The app frame and the Data page through Streamlit's AppTest."""

from __future__ import annotations

import re

import pytest
from artefacts import sample_extract
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

from analysis import load_extract

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def sample_account():
    return sample_extract()


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


# --- issue [2/7]: the inferred study date, the loud account, a failed load's own columns -----------------------


def _session_with(at: AppTest, name: str, data: bytes, *, failed: bool = False) -> str:
    """Put an upload in the session the way the Data page leaves it (AppTest cannot drive the file widget)."""
    from analysis import ExtractError
    from ui import datasets as ds
    from ui import state

    version = ds.content_version(data)
    at.session_state[state.UPLOADS] = {version: data}
    choice = state.DataSetChoice(name=name, version=version)
    if failed:
        with pytest.raises(ExtractError) as refused:
            load_extract(data, filename=name)
        at.session_state[ds.FAILED] = choice
        at.session_state[ds.FAILED_ERROR] = refused.value
    else:
        at.session_state[state.ACTIVE] = choice
    return version


def _monthly_without_title() -> bytes:
    """36 policies issued monthly from 2021-07-10 to 2024-06-10, no title row, one reinstatement typed 2025-04-20."""
    lines = ["保单号,生效日期,保单状态,复效日期"]
    for n in range(36):
        issued = f"{2021 + (n + 6) // 12}-{(n + 6) % 12 + 1:02d}-10"
        lines.append(f"P{n:02d},{issued},{'复效' if n == 29 else '有效'},{'2025-04-20' if n == 29 else ''}")
    return ("\n".join(lines) + "\n").encode()


def test_an_inferred_study_date_is_a_warning_beside_its_override() -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    _session_with(at, "无标题.csv", _monthly_without_title())
    at.run()
    assert not at.exception
    warned = [shown(w.value) for w in at.warning if "统计截止日" in w.value]
    assert warned and "2024-06-10" in warned[0] and "“生效日期”列推断" in warned[0] and "手动指定统计截止日" in warned[0]
    at.checkbox(key="data_override").check().run()
    assert not any("文件未注明统计截止日" in w.value for w in at.warning)


def test_the_loud_account_is_said_first() -> None:
    """20 policies, 2 without a status: 2 of 20 (10 %) rejected, more than 5 %."""
    lines = ["保单号,生效日期,保单状态"] + [f"P{i:02d},2023-01-01,{'' if i in (2, 3) else '有效'}" for i in range(1, 21)]
    at = AppTest.from_file(APP, default_timeout=90)
    _session_with(at, "缺状态.csv", ("统计截止日：2024-06-30\n" + "\n".join(lines) + "\n").encode())
    at.run()
    assert not at.exception
    assert shown(at.warning[0].value).startswith("20 行保单中有 2 行（10%）因“必填项为空”被拒绝：这些保单不进入任何指标")


US_LIKE = (
    b"issue.date,duration,gender,termination.cause\n"
    b"1995-06-29,0.5,Female,surrender\n"
    b"1995-09-18,2.25,Male,in-force\n"
    b"1996-01-02,4,Male,other\n"
    b"1996-03-04,1,Female,surrender\n"
    b"1996-05-06,3.5,Male,death\n"
)


def test_a_failed_load_shows_its_own_columns_and_a_preset_that_fits() -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    _session_with(at, "us.csv", US_LIKE, failed=True)
    at.run()
    assert not at.exception
    message = shown(at.error[0].value)
    assert message.startswith("无法导入 us.csv：找不到像是保单号的列")
    # Wholly Chinese but for the file's own name and headers.
    own = ("us.csv", "issue.date", "duration", "gender", "termination.cause")
    rest = message
    for text in own:
        rest = rest.replace(text, "")
    assert not re.search(r"[A-Za-z]{3,}", rest), rest
    # The mapping and status editors show the failed file's columns and status values, not the sample's.
    tables = [frame.value for frame in at.dataframe]
    mapping = next(t for t in tables if "source" in t.columns)
    assert set(mapping["source"]) >= {"issue.date", "termination.cause"} and "保单号" not in set(mapping["source"])
    statuses = next(t for t in tables if "value" in t.columns)
    assert set(statuses["value"]) == {"surrender", "in-force", "other", "death"}
    assert any("映射方案“uslapseagent”与 us.csv 的列相符" in shown(i.value) for i in at.info)
    at.button(key="data_use_preset_0").click().run()
    assert not at.exception and not at.error
    assert metrics(at)["读取行数"] == "5"


def test_a_failed_load_reads_wholly_in_english_too() -> None:
    at = AppTest.from_file(APP, default_timeout=90)
    _session_with(at, "us.csv", US_LIKE, failed=True)
    at.run()
    at.sidebar.radio(key="app_language").set_value("en").run()
    message = shown(at.error[0].value)
    assert message.startswith("Could not load us.csv:")
    assert not re.search(r"[\u4e00-\u9fff]", message), message
