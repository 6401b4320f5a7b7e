"""The Risk drivers and Action lists pages through AppTest (the model trains in the background)."""

from __future__ import annotations

import time

from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest


def trained(page: str) -> AppTest:
    """Open ``page`` and rerun until the background model has finished (at most 3 minutes)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(page).run()
    deadline = time.monotonic() + 180
    while not at.metric and not at.exception and time.monotonic() < deadline:
        time.sleep(1)
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
