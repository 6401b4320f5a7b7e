"""The Cohort explorer page through AppTest."""

from __future__ import annotations

from artefacts import sample_extract
from paths import ROOT
from streamlit.testing.v1 import AppTest

from analysis.study.run import StudyRequest, run_study

APP = str(ROOT / "app.py")


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/cohorts.py").run()
    assert not at.exception
    return at


def test_default_view_shows_the_young_new_earners_against_the_rest() -> None:
    at = open_page()
    shown = {m.label: m.value for m in at.metric}
    loaded = sample_extract()
    study = run_study(loaded.policies, StudyRequest(by=("young_new_earners",)), study_date=loaded.study_date)
    assert shown["事件数"] == f"{study.rates['events'].sum():,.0f}"
    # Issue [2/7]: the headline rate with its 95 % Wilson interval and credibility (full: ≥ 1,082 events).
    lower, upper = study.overall_interval
    assert lower <= study.overall_rate <= upper and study.overall_credibility == 1.0
    assert f"95% 置信区间 {lower:.2%}–{upper:.2%}；可信度 1.00" in [c.value for c in at.caption]
    totals = at.dataframe[0].value
    assert set(totals.iloc[:, 0]) == {"刚入职场的年轻客户", "其他客户"}
    rates = dict(zip(totals.iloc[:, 0], totals["失效率"]))
    assert rates["刚入职场的年轻客户"] > 1.3 * rates["其他客户"]


def test_regrouping_by_channel_and_policy_month_and_weighting() -> None:
    at = open_page()
    at.selectbox(key="cohort_by1__zh").set_value("channel").run()
    at.selectbox(key="cohort_period__zh").set_value("policy_month").run()
    at.selectbox(key="cohort_weight__zh").set_value("annual_premium").run()
    assert not at.exception
    detail = at.dataframe[1].value
    assert {"个险", "银保"} <= set(detail.iloc[:, 0])
    assert detail["期间"].max() > 12


def test_a_filter_reports_the_share_remaining_and_english_labels() -> None:
    at = open_page()
    at.selectbox(key="cohort_filter_column__zh").set_value("channel").run()
    at.multiselect(key="cohort_filter_values_channel").set_value(["银保"]).run()
    assert not at.exception
    assert any("保留" in c.value and "%" in c.value for c in at.caption)
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert at.title[0].value.startswith("Cohort explorer")
    assert at.selectbox(key="cohort_filter_column__en").value == "channel"


def test_no_event_chosen_is_an_empty_state_not_an_error() -> None:
    at = open_page()
    at.multiselect(key="cohort_events__zh").set_value([]).run()
    assert not at.exception
    assert at.info and "至少" in at.info[0].value


def test_edited_age_bands_feed_the_filter_and_bad_edges_warn() -> None:
    at = open_page()
    at.text_input(key="cohort_age_edges").set_value("0, 40").run()
    at.selectbox(key="cohort_filter_column__zh").set_value("age_band").run()
    assert at.multiselect(key="cohort_filter_values_age_band").options == ["0–39", "40+"]
    at.multiselect(key="cohort_filter_values_age_band").set_value(["40+"]).run()
    assert not at.exception
    at.text_input(key="cohort_age_edges").set_value("0, abc").run()
    assert not at.exception and at.warning


def test_every_cohort_dimension_renders_with_blanks_and_yes_no_in_words() -> None:
    """Columns with blanks (年收入, 教育活动), yes/no flags and 1,500 agents: no crash, readable levels."""
    at = open_page()
    for option in at.selectbox(key="cohort_by1__zh").options:
        at.selectbox(key="cohort_by1__zh").select(option).run()
        assert not at.exception, option
        levels = {str(v) for v in at.dataframe[0].value.iloc[:, 0]}
        assert not levels & {"nan", "None", "<NA>", "True", "False", "(blank)"}, (option, levels)
        if option == "年收入":
            assert "（空白）" in levels
        if option == "自动扣款":
            assert levels == {"是", "否"}
        if option == "性别":
            assert levels <= {"男", "女", "（空白）"}
        if option == "代理人":
            assert len(levels) > 1000 and any("共 " in c.value and "个分群" in c.value for c in at.caption)
