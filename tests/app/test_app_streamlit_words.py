"""Streamlit's own English words in 中文 mode: what the API lets a page replace or hide (README, "Streamlit's own words")."""

from __future__ import annotations

from paths import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")


def test_select_all_is_hidden_in_chinese_and_offered_in_english() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/cohorts.py").run()
    assert not at.exception
    events = [m for m in at.main.multiselect if m.label == "计入的事件"]
    assert len(events) == 1 and events[0].proto.select_all == 0  # Streamlit words "Select all" only in English: hidden
    assert events[0].placeholder == "请选择"  # Streamlit's "Choose options" in our words
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    events = [m for m in at.main.multiselect if m.label == "Events counted"]
    assert len(events) == 1 and events[0].proto.select_all != 0


def test_an_uploader_says_in_chinese_what_its_english_box_means() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    helps = [u.proto.help for u in at.main.get("file_uploader")]
    assert any("Drag and drop a file here" in h and "400 MB" in h for h in helps)
