"""The customer file page (AppTest): find a policy, masked by default, the risk and the what-if, the payment timeline."""

from __future__ import annotations

import time

import pytest
from artefacts import sample_extract
from jobs import wait_for_jobs
from paths import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
#: The model trains in a background thread: the page is run again until it is ready (seconds at most).
WAIT_SECONDS = 240


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _ready(at: AppTest) -> AppTest:
    """Run the page until the lapse model has been trained (its progress note gone)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while any("正在训练" in i.value or "训练" in i.value for i in at.info) and time.monotonic() < deadline:
        wait_for_jobs()
        at.run()
    assert not at.exception
    return at


def _customer_page(at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("views/customer.py").run()
    return _ready(at)


@pytest.fixture(scope="module")
def sample():
    return sample_extract()


def test_identifiers_are_masked_by_default_and_shown_on_purpose(sample) -> None:
    at = _customer_page()
    assert at.title[0].value.startswith("客户档案")
    assert any("没有客户列" in i.value for i in at.info)  # the sample has no customer column: one file per policy
    picker = at.selectbox(key="customer_pick")
    raw = str(picker.value)
    assert raw in set(sample.policies["policy_id"].astype(str))
    assert all("*" in label for label in picker.options[:20]) and raw not in picker.options
    policies = next(frame.value for frame in at.dataframe if "保单号" in frame.value.columns)
    assert policies["保单号"].tolist() == [picker.options[0]] and "*" in policies["保单号"].iloc[0]
    at.checkbox(key="customer_show_identifiers").check().run()
    assert at.selectbox(key="customer_pick").options[0] == raw
    policies = next(frame.value for frame in at.dataframe if "保单号" in frame.value.columns)
    assert policies["保单号"].tolist() == [raw]


def test_switching_to_automatic_debit_changes_the_probability() -> None:
    at = _customer_page()
    before = metrics(at)
    assert before["当前失效概率"] == before["采取这些措施后"]
    assert any(s.value.startswith("建议的下一步行动") for s in at.success)
    assert any("是从数据中学到的关联，而不是提供该措施的因果效果" in c.value for c in at.caption)
    debit = at.checkbox(key="customer_whatif_auto_debit")
    assert not debit.disabled, "the riskiest sample policy does not pay by automatic debit"
    debit.check().run()
    assert not at.exception
    after = metrics(at)
    assert after["当前失效概率"] == before["当前失效概率"]
    assert after["采取这些措施后"] != after["当前失效概率"]
    delta = next(m.delta for m in at.metric if m.label == "采取这些措施后")
    assert delta and delta.endswith("个百分点")
    at.slider(key="customer_whatif_premium").set_value(30).run()
    assert not at.exception and metrics(at)["采取这些措施后"] != after["采取这些措施后"]


def test_a_typed_policy_number_opens_its_file_and_an_unknown_one_is_said(sample) -> None:
    at = _customer_page()
    lapsed = sample.policies[sample.policies["status"] == "lapsed"]["policy_id"].astype(str).iloc[0]
    at.text_input(key="customer_search").input(lapsed).run()
    assert not at.exception
    assert metrics(at)["保单数"] == "1" and metrics(at)["有效保单"] == "0"
    assert any("均非有效保单" in i.value for i in at.info)
    history = next(frame.value for frame in at.dataframe if "事件" in frame.value.columns)
    assert history["事件"].tolist()[0] == "生效" and "失效（中止）" in history["事件"].tolist()
    at.text_input(key="customer_search").input("NO-SUCH-POLICY").run()
    assert any("没有保单或客户" in w.value for w in at.warning)


@pytest.mark.xdist_group("payment-model")  # the page learns from the payments: the worker that holds that model
def test_the_payment_timeline_with_the_samples_payments() -> None:
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.button(key="data_payments_sample").click().run()
    at = _customer_page(at)
    assert not any("尚无缴费记录" in c.value for c in at.caption)
    counts = [c.value for c in at.caption if c.value.startswith("共 ") and "期应缴保费" in c.value]
    assert counts, "the timeline's counts"
    dues = next(frame.value for frame in at.dataframe if "缴费情况" in frame.value.columns)
    assert len(dues) > 0 and set(dues["缴费情况"]) <= {"按时缴费", "逾期缴费", "未缴，宽限期内", "宽限期后仍未缴"}
    assert len(at.get("plotly_chart")) >= 1


def test_a_customer_column_groups_a_persons_policies() -> None:
    """Three policies of customer K1 and one of K2, by 投保人编号 (a book too small for the model: the risk part says so)."""
    from ui import datasets as ds
    from ui import state

    lines = [
        "保单号,生效日期,保单状态,投保人编号,年缴保费",
        "A1,2022-01-10,有效,K1,1000",
        "A2,2023-02-10,有效,K1,2000",
        "A3,2023-05-10,有效,K1,500",
        "B1,2022-03-01,有效,K2,800",
    ]
    data = ("统计截止日：2024-06-30\n" + "\n".join(lines) + "\n").encode()
    at = AppTest.from_file(APP, default_timeout=300)
    version = ds.content_version(data)
    at.session_state[state.UPLOADS] = {version: data}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name="客户.csv", version=version)
    at.run()
    at.switch_page("views/customer.py").run()
    assert not at.exception
    assert any("按 投保人编号 列归并" in c.value for c in at.caption)  # the door reads it as the name; still the customer
    at.text_input(key="customer_search").input("A2").run()
    assert not at.exception
    assert metrics(at)["保单数"] == "3" and metrics(at)["有效保单"] == "3" and metrics(at)["年缴保费"] == "¥3,500"
    policies = next(frame.value for frame in at.dataframe if "保单号" in frame.value.columns)
    assert len(policies) == 3 and all("*" in v for v in policies["保单号"])
    at.text_input(key="customer_search").input("K2").run()
    assert metrics(at)["保单数"] == "1"
