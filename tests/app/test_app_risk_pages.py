"""The Risk drivers and Action lists pages through AppTest (the model trains in the background)."""

from __future__ import annotations

import time

from jobs import wait_for_jobs
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest


def trained(page: str) -> AppTest:
    """Open ``page`` and rerun until the background model has finished (at most 3 minutes)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(page).run()
    deadline = time.monotonic() + 180
    while not at.metric and not at.exception and time.monotonic() < deadline:
        wait_for_jobs()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_drivers_page_states_the_target_and_explains_a_policy() -> None:
    at = trained("views/drivers.py")
    assert any("未来 12 个月" in c.value for c in at.caption)
    labels = [m.label for m in at.metric]
    assert labels == ["AUC（时间外验证）", "PR-AUC", "基准 AUC（逻辑回归）", "验证期实际失效率"]
    auc, baseline = float(at.metric[0].value), float(at.metric[2].value)
    assert 0.6 < auc < 0.85 and 0.6 < baseline < 0.85
    lines = "\n".join(x.value for x in at.text)
    assert "失效概率 +" in lines and "个百分点" in lines
    assert at.success and "建议措施" in at.success[0].value
    at.selectbox(key="risk_dependence").set_value("auto_debit").run()
    assert not at.exception
    at.text_input(key="risk_policy_search").set_value("no-such-policy").run()
    assert not at.exception and any("no-such-policy" in shown(w.value) for w in at.warning)
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert [m.label for m in at.metric][0] == "AUC (holdout)"


def test_action_lists_page_ranks_and_exports() -> None:
    at = trained("views/actions.py")
    values = [(m.label, m.value) for m in at.metric]
    assert values[1] == ("其中宽限期内", "1,278")  # the sample's 宽限期 policies
    assert values[0][0] == "保单数" and int(values[0][1].replace(",", "")) > 1278
    assert values[3] == ("保单数", "2,745")  # reinstatable: every 失效 policy in the sample
    table = at.dataframe[0].value
    assert "失效概率" in table.columns and "原因一" in table.columns and "建议措施" in table.columns
    assert table["预期风险保费"].is_monotonic_decreasing
    at.slider(key="actions_days").set_value(0).run()
    assert not at.exception
    assert at.metric[0].value == "1,278"  # nothing due in 0 days: only grace
    assert any("脱敏" in c.value for c in at.caption)


def small_book() -> AppTest:
    """The app on the first 300 rows of the sample (its title row kept): a book below the model's minimum."""
    from ui import state
    from ui.datasets import content_version

    lines = (ROOT / "data" / "sample_policies.csv").read_bytes().split(b"\n")
    data = b"\n".join(lines[:302]) + b"\n"
    version = content_version(data)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[state.UPLOADS] = {version: data}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name="small_book.csv", version=version)
    return at.run()


def refused(at: AppTest, page: str) -> AppTest:
    """Open ``page`` and rerun until the background job has refused the book (at most a minute)."""
    at.switch_page(page).run()
    deadline = time.monotonic() + 60
    while not any("保单太少" in shown(i.value) for i in at.info) and not at.exception and time.monotonic() < deadline:
        wait_for_jobs()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_drivers_page_on_a_small_book_says_why_there_is_no_model() -> None:
    at = refused(small_book(), "views/drivers.py")
    sentence = next(shown(i.value) for i in at.info if "保单太少" in shown(i.value))
    # 300 policies, 222 of them in force at some training as-of date, 37 leaving within 12 months.
    assert "各训练观察日共有 222 张有效保单，其中 37 张在 12 个月内失效或退保" in sentence
    assert "至少需要 1,000 张保单、30 张失效或退保" in sentence
    assert not at.metric and not at.tabs and not at.error  # no AUC, no SHAP tabs, no alarm
    assert any("行动清单" in c.value for c in at.caption)


def test_action_lists_on_a_small_book_list_policies_by_premium_without_scores() -> None:
    at = refused(small_book(), "views/actions.py")
    assert any("按年化保费" in shown(i.value) for i in at.info)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["保单数", "其中宽限期内", "年化保费合计"]
    table = at.dataframe[0].value
    assert "失效概率" not in table.columns and "原因一" not in table.columns and "建议措施" not in table.columns
    assert table["年化保费"].is_monotonic_decreasing
    at.slider(key="actions_days").set_value(0).run()
    assert not at.exception


def test_action_lists_follow_the_filter_and_read_as_money_and_days() -> None:
    at = trained("views/actions.py")
    at.multiselect(key="filter_branch").set_value(["广东分公司"]).run()
    deadline = time.monotonic() + 60
    while not at.metric and not at.exception and time.monotonic() < deadline:
        wait_for_jobs()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("全部保单训练的模型" in c.value for c in at.caption)  # scored by the whole book's model
    table = at.dataframe[0].value
    assert set(table["管理机构"]) == {"广东分公司"}
    money = {m.label: m.value for m in at.metric}["预期风险保费合计"]
    assert money.startswith("¥") and money.endswith("万")  # ¥12.34万, not 123456.78
    days = set(table["距到期天数"])
    assert any(d.startswith("逾期 ") and d.endswith(" 天") for d in days) and not any(d.startswith("-") for d in days)
