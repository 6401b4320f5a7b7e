"""The Interventions page through AppTest: the sample's campaign, scenarios, comparison, the link."""

from __future__ import annotations

import json

from paths import ROOT
from streamlit.testing.v1 import AppTest


def opened(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("views/interventions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def comparison(at: AppTest):
    return next(d.value for d in at.dataframe if "方案" in d.value.columns)


def test_the_sample_campaign_is_measured_with_an_interval_covering_the_truth() -> None:
    at = opened()
    assert at.selectbox(key="campaign_column").value == "教育活动"
    values = {m.label: m.value for m in at.metric}
    assert values["实验组"] == "4,278" and values["对照组"] == "4,062"
    sentence = next(m.value for m in at.markdown if m.value.startswith("调整协变量后的风险比"))
    hr, low, high = (float(x) for x in sentence.split("：")[1].replace("（95% 置信区间", " ").replace("至", " ").rstrip("）。").split())
    assert low < 0.75 < high and low < hr < high  # the true education effect: HR 0.75
    assert any("每组需要 3,839 张保单" in m.value for m in at.markdown)


def test_two_scenarios_compare_and_the_link_carries_them() -> None:
    from ui.interventions import URL_PARAM, decode

    at = opened()
    # Education for young new earners, effect from the measured campaign (the default).
    assert at.selectbox(key="interv_target__zh").value == "named"
    assert at.selectbox(key="interv_source_education__zh").value == "measured"
    at.button(key="interv_add").click().run()
    # A 40 % cheaper product with an elasticity of 0.5 for the same cohort.
    at.selectbox(key="interv_lever__zh").set_value("low_premium").run()
    at.button(key="interv_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = comparison(at)
    assert list(table["方案"]) == ["客户教育活动 · 刚入职场的年轻客户", "低保费产品 · 刚入职场的年轻客户"]
    npv = dict(zip(table["方案"], table["净现值"]))
    assert npv["低保费产品 · 刚入职场的年轻客户"] < npv["客户教育活动 · 刚入职场的年轻客户"]  # the premium given up outweighs what it keeps
    assert (table["净现值下限"] <= table["净现值"]).all() and (table["净现值"] <= table["净现值上限"]).all()
    assert any(m.value.startswith("净现值最高：客户教育活动") for m in at.markdown)
    link = at.query_params[URL_PARAM]
    link = link[0] if isinstance(link, list) else link
    shared = decode(link)
    assert [s["name"] for s in shared] == list(table["方案"])
    # A colleague opens the link: the same comparison.
    colleague = opened({URL_PARAM: link})
    again = comparison(colleague)
    assert list(again["方案"]) == list(table["方案"])
    assert json.loads(json.dumps(shared))  # plain JSON


def test_a_damaged_link_is_a_warning_and_english_works() -> None:
    at = opened({"scenarios": "not-a-scenario-set"})
    assert any("无法读取" in w.value for w in at.warning)
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert any(m.label == "Adjusted hazard ratio" for m in at.metric)


def test_the_comparison_puts_money_first_and_names_each_effect() -> None:
    at = opened()
    at.button(key="interv_add").click().run()
    at.selectbox(key="interv_lever__zh").set_value("low_premium").run()
    at.button(key="interv_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    grid = next(d.value for d in at.dataframe if "客户教育活动 · 刚入职场的年轻客户" in d.value.columns)
    assert list(grid.columns) == ["客户教育活动 · 刚入职场的年轻客户", "低保费产品 · 刚入职场的年轻客户"]  # one column per scenario
    rows = dict(zip(grid.index, grid["低保费产品 · 刚入职场的年轻客户"]))
    assert rows["净现值"].startswith(("¥", "-¥")) and rows["净现值：95% 区间"].startswith("95% 区间")  # money, then its interval
    assert rows["多留住保单"].replace(",", "").isdigit()  # whole policies
    assert "相关关系" in rows["效果依据"]  # an elasticity is an association
    assert "同期对照" in dict(zip(grid.index, grid["客户教育活动 · 刚入职场的年轻客户"]))["效果依据"]
    assert rows["投资回报率"] == "—"  # the cheap product's cost is small beside the premium it gives up
    assert any("投资回报率显示为" in c.value for c in at.caption)
    # The sample has a concurrent control: no before/after warning anywhere on the page.
    assert not any("没有同期对照组" in w.value for w in at.warning)


def test_a_book_without_premiums_offers_the_value_per_policy() -> None:
    from ui import state
    from ui.datasets import content_version

    rows = [line.split(",") for line in (ROOT / "data" / "sample_policies.csv").read_text(encoding="utf-8-sig").split("\n")]
    drop = rows[1].index("年化保费（元）")  # row 0 is the title row, row 1 the header
    data = "\n".join(",".join(c for j, c in enumerate(row) if j != drop) for row in rows).encode("utf-8")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    version = content_version(data)
    at.session_state[state.UPLOADS] = {version: data}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name="no_premium.csv", version=version)
    at.run()
    at.switch_page("views/interventions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("没有保费列" in c.value for c in at.caption)
    assert any(m.label == "期末多留住的保单" for m in at.metric)
