"""The Work queue page through AppTest: assign ten policies to an agent, record outcomes, restart, find them still there."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from jobs import wait_for_jobs
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

from analysis.collections.database import DATABASE_ENV


@pytest.fixture
def database(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """One database file for the whole test, named as a deployment would (``LAPSELENS_DATABASE``)."""
    path = tmp_path / "queue" / "lapselens.db"
    monkeypatch.setenv(DATABASE_ENV, str(path))
    yield path
    restart()


def restart() -> None:
    """What a restart of the app's process forgets: every cached resource (the database's connections among them) and result."""
    st.cache_resource.clear()
    st.cache_data.clear()


def queue_page() -> AppTest:
    """A new session on the Work queue page, rerun until the day's calls can be assigned (the model has finished)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/queue.py").run()
    deadline = time.monotonic() + 180
    while not at.exception and time.monotonic() < deadline and not any(b.key == "queue_assign" for b in at.button):
        wait_for_jobs()
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_assign_ten_policies_record_outcomes_restart_and_find_them(database) -> None:
    at = queue_page()
    assert any(str(database) in shown(c.value) for c in at.caption)  # the page says where the queue is kept
    assert any("队列为空" in shown(i.value) for i in at.info)
    at.number_input(key="queue_capacity").set_value(10).run()
    assignee = at.selectbox(key="queue_assignee")
    agent = assignee.options[0]
    assignee.set_value(agent).run()
    assert at.button(key="queue_assign").label == "分派勾选的 10 张保单"
    at.button(key="queue_assign").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [f"已分派 10 张保单给 {agent}。"]

    policies = at.multiselect(key="queue_record_policies")
    assert len(policies.options) == 10
    picked = policies.options[:6]
    policies.set_value(picked)
    at.selectbox(key="queue_record_outcome").set_value("paid")
    at.text_area(key="queue_record_note").input("客户已转账，回电 13812345678")
    next(b for b in at.button if b.label == "保存结果").click().run()
    assert any("已为 6 张保单记录结果：已缴费" in shown(s.value) for s in at.success)
    policies = at.multiselect(key="queue_record_policies")
    policies.set_value(policies.options[6:8])
    at.selectbox(key="queue_record_outcome").set_value("unreachable")
    next(b for b in at.button if b.label == "保存结果").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    # 8 attempted, 6 of them reached (paid); the 6 paid (dated today, inside grace) of the settled
    assert metrics["已分派保单"] == "10" and metrics["接通率"] == "75.0%"

    restart()
    again = queue_page()  # a new session of a restarted process, on the same database file
    queue = again.dataframe[1].value  # the pick table first, then the queue
    assert len(queue) == 10 and set(queue["负责人"]) == {agent}
    assert sorted(queue.loc[queue["最近结果"] == "已缴费", "保单号"]) == sorted(picked)
    assert (queue.loc[queue["最近结果"] == "已缴费", "最近备注"] == "客户已转账，回电 138****5678").all()  # masked on screen
    assert {m.label: m.value for m in again.metric}["接通率"] == "75.0%"
    again.sidebar.radio(key="app_language").set_value("en").run()
    assert not again.exception
    assert {m.label for m in again.metric} >= {"Reach rate", "Paid within grace", "Policies assigned"}


def test_the_reinstatable_list_to_a_branch_carries_who_recorded_it(database, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.queue
    from analysis.collections.database import open_store
    from analysis.collections.outcomes import list_outcomes
    from analysis.collections.queue import assignments

    monkeypatch.setattr(ui.queue, "recorder", lambda: "li@example.com")  # sign-in on: the signed-in user's e-mail
    at = queue_page()
    assert any("li@example.com" in shown(c.value).replace("\u2060", "") for c in at.caption)
    at.radio(key="queue_list__zh").set_value("reinstatable").run()
    at.number_input(key="queue_capacity").set_value(5).run()
    at.radio(key="queue_kind__zh").set_value("branch").run()
    branch = at.selectbox(key="queue_assignee")
    branch.set_value(branch.options[0]).run()
    at.button(key="queue_assign").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [f"已分派 5 张保单给 {branch.options[0]}。"]
    policies = at.multiselect(key="queue_record_policies")
    policies.set_value(policies.options[:2])
    at.selectbox(key="queue_record_outcome").set_value("refused")
    at.selectbox(key="queue_record_lever").set_value("flexible_payment")
    next(b for b in at.button if b.label == "保存结果").click().run()
    assert not at.exception, [e.value for e in at.exception]

    store = open_store(str(database))
    queue = assignments(store)
    assert len(queue) == 5 and set(queue["state"]) == {"lapsed"} and set(queue["assigned_by"]) == {"li@example.com"}
    assert set(queue["branch"]) == {branch.options[0]} and queue["agent"].isna().all()
    recorded = list_outcomes(store)
    assert recorded[["outcome", "lever", "assignee", "recorded_by", "recorded_via"]].drop_duplicates().values.tolist() == [
        ["refused", "flexible_payment", branch.options[0], "li@example.com", "form"]
    ]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["已分派保单"] == "5" and metrics["挽回复效"] == "0" and metrics["接通率"] == "100.0%"


def test_a_database_that_cannot_be_opened_is_said_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_ENV, "postgresql://queue:Secr3tWord@127.0.0.1:1/lapselens")
    restart()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("views/queue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [shown(e.value).replace("\u2060", "") for e in at.error]
    assert len(errors) == 1 and "无法打开工作队列的数据库" in errors[0] and "queue@127.0.0.1:1/lapselens" in errors[0]
    assert "Secr3tWord" not in errors[0] and not at.tabs
    restart()
