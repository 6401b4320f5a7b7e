"""The Survival page through AppTest."""

from __future__ import annotations

from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest


def test_survival_page_compares_young_new_earners_in_plain_words() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/survival.py").run()
    assert not at.exception
    at.selectbox(key="survival_by__zh").set_value("young_new_earners").run()
    assert not at.exception
    sentences = [shown(m.value) for m in at.markdown]
    assert any("刚入职场的年轻客户的失效风险显著高于其他客户" in s and "p < 0.001" in s for s in sentences), sentences
    summary = at.dataframe[1].value  # numbers at risk, summary, hazard ratios
    assert set(summary.iloc[:, 0]) == {"刚入职场的年轻客户", "其他客户"}
    at.radio(key="survival_unit__zh").set_value("years").run()
    assert not at.exception
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert any("Young new earners lapse significantly more" in shown(m.value) for m in at.markdown)


def test_survival_page_without_events_is_an_empty_state() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/survival.py").run()
    at.multiselect(key="survival_events__zh").set_value([]).run()
    assert not at.exception and at.info


def test_a_later_study_window_enters_policies_late() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/survival.py").run()
    at.checkbox(key="survival_window").check().run()
    assert not at.exception
    assert any("左截断" in c.value for c in at.caption)


def test_survival_by_1500_agents_is_quick_and_by_yes_no_says_of_what() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/survival.py").run()
    at.selectbox(key="survival_by__zh").select("代理人").run()
    assert not at.exception
    captions = [shown(c.value) for c in at.caption]
    assert any("图中画出最大的 12 个分群" in c for c in captions) and any("两两检验只在不超过 12 个分群时进行" in c for c in captions)
    at.selectbox(key="survival_by__zh").select("自动扣款").run()
    assert not at.exception
    assert any("自动扣款：否的失效风险显著高于自动扣款：是" in shown(m.value) for m in at.markdown)


def test_survival_page_on_a_single_premium_book_never_crashes(shared_data) -> None:
    """eusavingULnoPS: covariates that do not vary and events that never happen get a message, not a crash page."""
    from ui import state
    from ui.datasets import content_version

    data = (shared_data / "eusavingULnoPS.csv").read_bytes()
    version = content_version(data)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state[state.UPLOADS] = {version: data}
    at.session_state[state.ACTIVE] = state.DataSetChoice(
        name="eusavingULnoPS.csv",
        version=version,
        preset_toml=(ROOT / "data" / "presets" / "eusavingULnoPS.toml").read_text(encoding="utf-8"),
    )
    at.run()
    at.switch_page("views/survival.py").run()
    assert not at.exception
    assert any("协变量" in shown(i.value) or "Cox" in shown(i.value) for i in at.info)
    events = at.multiselect(key="survival_events__zh")
    for option in events.options:
        at.multiselect(key="survival_events__zh").set_value([option]).run()
        assert not at.exception, option
