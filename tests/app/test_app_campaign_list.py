"""The Campaign lists page through AppTest: the sample's list, its row account, the arms against their truth, value, targeting."""

from __future__ import annotations

import pandas as pd
from artefacts import sample_extract
from paths import ROOT
from streamlit.testing.v1 import AppTest

from analysis.interventions.campaign_list import read_campaign_list
from analysis.interventions.multi_arm import evaluate_arms
from analysis.interventions.staggered import enrolled_data
from analysis.interventions.targeting import costs_per_contact, value_per_retained_default

SAMPLE_LIST = ROOT / "data" / "sample_campaign_list.csv"
#: The sample list's true hazard ratios (data/README.md).
TRUTH = {"短信提醒": 0.80, "教育讲座": 0.70}


def on_page(session: dict[str, object] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page("views/campaigns.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def with_sample_list() -> AppTest:
    at = on_page()
    assert any("使用示例数据的活动名单" in i.value for i in at.info)  # the empty state offers the sample's list
    at.button(key="campaigns_sample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def table_with(at: AppTest, header: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if header in d.value.columns)


def sample_evaluation():
    """The sample's list evaluated by the analysis functions themselves (what the page must show)."""
    loaded = sample_extract()
    data, listed = enrolled_data(loaded.policies, read_campaign_list(SAMPLE_LIST), study_date=loaded.study_date)
    return loaded, data, listed


def test_every_enrolled_policy_counts_and_each_arm_covers_its_true_hazard_ratio() -> None:
    at = with_sample_list()
    _, data, listed = sample_evaluation()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["名单行数"] == "3,631" and metrics["接受"] == "3,507" and metrics["拒绝"] == "124"
    assert len(data) == 3_507 == listed.counts()["accepted"]
    # Not in the book, not in force at enrolment: counted in words and listed with their rows.
    account = next(m.value for m in at.markdown if m.value.startswith("名单"))
    assert "3 行的保单不在保单明细中" in account and "117 行的保单入组时已不再有效" in account
    reasons = table_with(at, "问题类型")
    shown = dict(zip(reasons["问题类型"], reasons["数量"]))
    assert shown["保单不在保单明细中"] == 3 and shown["入组前已失效"] == 21 and shown["入组前已终止（退保、身故、犹豫期撤单等）"] == 96
    rows = table_with(at, "行号")
    assert len(rows) == 124 and set(rows["行号"]) == set(listed.account.loc[listed.account["outcome"] == "rejected", "row"])
    # Every policy of the arms table is one counted policy; each clock from its own enrolment.
    arms = table_with(at, "事件数")
    assert arms["保单数"].sum() == 3_507
    assert any("每张保单的时钟从它自己的入组日期开始" in m.value for m in at.markdown)
    comparisons = table_with(at, "风险比上限（Bonferroni）").set_index("组别")
    for arm, truth in TRUTH.items():
        assert comparisons.loc[arm, "风险比 95% 下限"] < truth < comparisons.loc[arm, "风险比 95% 上限"], arm
        assert comparisons.loc[arm, "参照组"] == "对照组"
    # The correction is named on the page.
    assert any("Holm" in m.value and "Bonferroni" in m.value for m in at.markdown)


def test_the_page_names_the_arm_with_the_best_value_per_contact() -> None:
    at = with_sample_list()
    loaded, data, listed = sample_evaluation()
    value = value_per_retained_default(loaded.policies, data)
    costs = costs_per_contact(data, ["教育讲座", "短信提醒"])
    result = evaluate_arms(data, control=listed.control, value_per_retained=value, cost_per_contact=costs)
    best = result.best_value_arm
    assert best == "短信提醒"  # ¥2 an SMS against ¥80 a seminar (data/README.md)
    named = [s.value for s in at.success if s.value.startswith("每次接触价值最高的措施")]
    assert named and f"**{best}**" in named[0]
    # Computed, not written in: an SMS at ¥200 a contact makes the seminar the better value.
    at.number_input(key=next(n.key for n in at.number_input if n.label == "“短信提醒”每次接触成本（元）")).set_value(200.0).run()
    assert not at.exception, [e.value for e in at.exception]
    named = [s.value for s in at.success if s.value.startswith("每次接触价值最高的措施")]
    assert named and "**教育讲座**" in named[0]


def test_targeting_names_who_to_contact_with_which_lever_and_who_to_leave_alone() -> None:
    at = with_sample_list()
    rules = [m.value for m in at.markdown if m.value.startswith(("用 **", "**不触达**"))]
    assert any(r.startswith("**不触达**") for r in rules) and any(r.startswith("用 **") for r in rules)
    groups = table_with(at, "组内实测提升")
    assert groups["保单数"].sum() == table_with(at, "事件数")["窗口结果已知"].sum()  # every known policy in one group
    assert "不触达" in set(groups["建议措施"])
    assert sum("Qini 曲线" in m.value for m in at.markdown) == 2  # one per treated arm
    assert sum(1 for chart in at.get("plotly_chart")) >= 3  # KM and two Qini curves


def test_an_arms_measured_effect_feeds_a_scenario_with_its_interval() -> None:
    from ui.interventions import SCENARIOS

    at = with_sample_list()
    comparisons = table_with(at, "风险比上限（Bonferroni）").set_index("组别")
    at.switch_page("views/interventions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="interv_source_education__zh").value == "measured"
    pick = at.selectbox(key="interv_measured_from")
    assert "arm:教育讲座" in pick.options or any("教育讲座" in o for o in pick.options)
    pick.set_value("arm:教育讲座").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("活动名单中“教育讲座”对“对照组”的风险比") for c in at.caption)
    at.button(key="interv_add").click().run()
    saved = at.session_state[SCENARIOS][-1]["effect"]
    assert saved["source"] == "measured" and not saved.get("treatment")
    assert abs(saved["value"] - comparisons.loc["教育讲座", "风险比"]) < 1e-9
    assert abs(saved["lower"] - comparisons.loc["教育讲座", "风险比 95% 下限"]) < 1e-9
    assert abs(saved["upper"] - comparisons.loc["教育讲座", "风险比 95% 上限"]) < 1e-9
    grid = next(d.value for d in at.dataframe if "效果依据" in d.value.index)
    assert "同期对照" in grid.loc["效果依据"].iloc[0]  # a measured campaign: the strongest evidence


def _bad_list_session(name: str, data: bytes) -> dict[str, object]:
    from ui import campaigns as ui_c
    from ui.datasets import content_version

    upload = ui_c.ListUpload(name=name, version=content_version(data))
    return {ui_c.LIST: upload, ui_c.LIST_BYTES: {upload.version: data}}


def test_a_bad_list_is_a_translated_error_not_an_exception() -> None:
    at = on_page(_bad_list_session("名单.csv", "保单号,渠道\n886512019100011326,短信\n".encode()))
    assert any("活动名单需要保单号、组别和入组日期三列" in e.value and "无法使用" in e.value for e in at.error)
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot be used" in e.value for e in at.error)
    # A file that is not what its name says: the door's own refusal, in words.
    broken = on_page(_bad_list_session("list.xlsx", b"not a workbook at all"))
    assert broken.error and not broken.exception
    # No control arm.
    no_control = on_page(_bad_list_session("arms.csv", "保单号,组别,入组日期\nP1,短信,2020-01-01\n".encode()))
    assert any("对照组" in e.value for e in no_control.error)


def test_an_arms_shortcut_opens_a_scenario_on_its_measured_effect() -> None:
    at = with_sample_list()
    at.button(key="campaigns_to_scenario_1").click().run()  # the arms in order: 教育讲座, 短信提醒
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="interv_measured_from").value == "arm:短信提醒"
    assert any(c.value.startswith("活动名单中“短信提醒”对“对照组”的风险比") for c in at.caption)


def test_without_a_premium_column_the_value_per_policy_is_offered_not_an_error() -> None:
    from ui import campaigns as ui_c
    from ui import state
    from ui.datasets import content_version

    rows = [line.split(",") for line in (ROOT / "data" / "sample_policies.csv").read_text(encoding="utf-8-sig").split("\n")]
    drop = rows[1].index("年化保费（元）")  # row 0 is the title row, row 1 the header
    book = "\n".join(",".join(c for j, c in enumerate(row) if j != drop) for row in rows).encode("utf-8")
    version = content_version(book)
    listed = SAMPLE_LIST.read_bytes()
    upload = ui_c.ListUpload(name="名单.csv", version=content_version(listed))
    at = on_page(
        {
            state.UPLOADS: {version: book},
            state.ACTIVE: state.DataSetChoice(name="no_premium.csv", version=version),
            ui_c.LIST: upload,
            ui_c.LIST_BYTES: {upload.version: listed},
        }
    )
    assert not at.error, [e.value for e in at.error]
    assert any(c.value.startswith("保单明细没有保费列：留住一张保单的价值默认取 ¥3,000") for c in at.caption)
    assert any(s.value.startswith("每次接触价值最高的措施") for s in at.success)


def test_pairwise_comparisons_when_asked_join_the_correction() -> None:
    at = with_sample_list()
    assert any("共 2 项比较" in m.value for m in at.markdown)
    at.checkbox(key="campaigns_pairwise").check().run()
    assert not at.exception, [e.value for e in at.exception]
    comparisons = table_with(at, "风险比上限（Bonferroni）")
    assert len(comparisons) == 3 and set(comparisons["参照组"]) == {"对照组", "教育讲座"}
    assert any("共 3 项比较" in m.value for m in at.markdown)
    # The settings stay when the page is left and opened again.
    at.switch_page("views/interventions.py").run()
    at.switch_page("views/campaigns.py").run()
    assert at.checkbox(key="campaigns_pairwise").value is True
