"""The app-wide filter bar through AppTest: it follows the user across pages and into the address."""

from __future__ import annotations

import datetime as dt

import pytest
from artefacts import sample_extract
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

from analysis.study.filters import BookFilter, filter_policies

APP = str(ROOT / "app.py")
BRANCH, CHANNEL = "广东分公司", "银保"
YEAR = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))


@pytest.fixture(scope="module")
def expected() -> tuple[int, int]:
    """Policies of one branch's bancassurance issued in 2024, counted directly, and the whole sample."""
    policies = sample_extract().policies
    asked = BookFilter(values=(("branch", (BRANCH,)), ("channel", (CHANNEL,))), issued_from=YEAR[0], issued_to=YEAR[1])
    return len(filter_policies(policies, asked)), len(policies)


def opened(page: str, query: dict[str, list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query(at: AppTest, key: str) -> list[str]:
    value = at.query_params.get(key)
    return [] if value is None else (list(value) if isinstance(value, list) else [value])


def scope_caption(at: AppTest) -> str:
    return next(shown(c.value) for c in at.caption if c.value.startswith("筛选后"))


def test_the_filter_narrows_every_page_and_follows_the_user(expected: tuple[int, int]) -> None:
    kept, total = expected
    at = opened("views/overview.py")
    assert not [c for c in at.caption if c.value.startswith("筛选后")]  # no filter: no scope line
    at.multiselect(key="filter_branch").set_value([BRANCH]).run()
    at.multiselect(key="filter_channel").set_value([CHANNEL]).run()
    at.date_input(key="filter_issued_from").set_value(YEAR[0]).run()
    at.date_input(key="filter_issued_to").set_value(YEAR[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"{kept:,} / {total:,}" in scope_caption(at)
    assert "广东分公司" in scope_caption(at) and "2024-01-01 至 2024-12-31" in scope_caption(at)
    # In the address, so a link or a refresh brings it back.
    assert query(at, "f_branch") == [BRANCH] and query(at, "f_channel") == [CHANNEL]
    assert query(at, "f_from") == ["2024-01-01"] and query(at, "f_to") == ["2024-12-31"]
    # Another page: the same filter, the page's figures on the filtered book.
    at.switch_page("views/cohorts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"{kept:,} / {total:,}" in scope_caption(at)
    used = next(m for m in at.metric if m.label == "纳入保单")
    assert int(used.value.replace(",", "")) <= kept
    assert query(at, "f_branch") == [BRANCH]
    at.switch_page("views/survival.py").run()
    assert not at.exception and f"{kept:,} / {total:,}" in scope_caption(at)
    # Cleared: the whole book again, and the address without the filter.
    at.button(key="filter_clear").click().run()
    assert not at.exception and not [c for c in at.caption if c.value.startswith("筛选后")]
    assert not query(at, "f_branch") and not query(at, "f_from")


def test_a_link_with_a_filter_opens_filtered(expected: tuple[int, int]) -> None:
    kept, total = expected
    at = opened(
        "views/overview.py",
        {"f_branch": [BRANCH], "f_channel": [CHANNEL], "f_from": ["2024-01-01"], "f_to": ["2024-12-31"], "f_colour": ["red"]},
    )
    assert at.multiselect(key="filter_branch").value == [BRANCH]
    assert at.date_input(key="filter_issued_to").value == YEAR[1]
    assert f"{kept:,} / {total:,}" in scope_caption(at)


def test_a_filter_nothing_meets_is_said_not_a_crash() -> None:
    at = opened("views/overview.py")
    at.date_input(key="filter_issued_from").set_value(dt.date(2030, 1, 1)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.info and "当前筛选下没有保单" in shown(at.info[0].value)
    at.date_input(key="filter_issued_to").set_value(dt.date(2029, 1, 1)).run()
    assert not at.exception and "调换两个日期" in at.info[0].value
    at.switch_page("views/interventions.py").run()
    assert not at.exception and "调换两个日期" in at.info[0].value


def test_a_named_cohort_filters_and_english_states_it() -> None:
    at = opened("views/cohorts.py")
    at.multiselect(key="filter_cohorts").set_value(["young_new_earners"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "分群：刚入职场的年轻客户" in scope_caption(at)
    assert query(at, "f_cohort") == ["young_new_earners"]
    at.sidebar.radio(key="app_language").set_value("en").run()
    assert not at.exception
    assert any(c.value.startswith("Filtered:") and "Young new earners" in shown(c.value) for c in at.caption)


def test_an_edited_named_cohort_follows_the_filter_to_other_pages() -> None:
    import json

    at = opened("views/cohorts.py")
    edited = {"key": "young", "name": {"zh": "年轻客户", "en": "Young"}, "all": [{"column": "age", "op": "between", "value": [22, 30]}]}
    at.text_area(key="cohort_named_definition").set_value(json.dumps(edited, ensure_ascii=False)).run()
    at.multiselect(key="filter_cohorts").set_value(["young"]).run()
    assert not at.exception, [e.value for e in at.exception]
    young = scope_caption(at)
    assert "分群：年轻客户" in young
    at.switch_page("views/overview.py").run()  # the Cohort explorer's text box is gone here
    assert not at.exception, [e.value for e in at.exception]
    assert scope_caption(at) == young and query(at, "f_cohort") == ["young"]
    at.switch_page("views/cohorts.py").run()
    assert json.loads(at.text_area(key="cohort_named_definition").value)["key"] == "young"
