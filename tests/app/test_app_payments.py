"""The payment history on the pages (AppTest): attached on the Data page, measured on the Overview."""

from __future__ import annotations

import pytest
from artefacts import sample_extract
from paths import ROOT
from shown import shown
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
#: The worker of the sample's model with payments (tests/conftest.py): it reads the sample's history file once for all of them.
pytestmark = pytest.mark.xdist_group("payment-model")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def sample():
    return sample_extract()


def _with_sample_payments() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    assert any("尚无缴费记录" in c.value for c in at.caption)
    at.button(key="data_payments_sample").click().run()
    assert not at.exception
    return at


def test_the_sample_with_its_payments_on_the_data_page_and_the_overview() -> None:
    at = _with_sample_payments()
    shown_metrics = metrics(at)
    # data/make_payments.py bills every policy of the sample; every row is accepted, none outside the book.
    assert shown_metrics["缴费记录读取行数"] == "585,286"
    assert shown_metrics["缴费记录拒绝"] == "0"
    assert shown_metrics["保单不在清单中"] == "0"
    assert any("已与当前数据集匹配" in s.value and "继续率按实收保费计算" in s.value for s in at.success)
    assert any("保单号 → 保单号" in shown(c.value) and "应缴日期 →" in shown(c.value) for c in at.caption)

    at.switch_page("views/overview.py").run()
    assert not at.exception
    figures = metrics(at)
    # P13 on premiums received, with the status-based figure beside it, and the sentence naming the definition.
    assert "13 个月继续率（件数）" in figures and "13 个月继续率，按状态（件数）" in figures
    assert figures["13 个月继续率（件数）"] != "—"
    assert any("继续率按实收保费计算" in c.value for c in at.caption)
    assert not any("尚无缴费记录" in i.value or "近似" in i.value for i in at.info)

    on_payments = at.dataframe[0].value
    at.switch_page("views/data.py").run()
    at.button(key="data_payments_detach").click().run()
    at.switch_page("views/overview.py").run()
    assert "13 个月继续率，按状态（件数）" not in metrics(at)
    assert any("无缴费记录时的近似继续率" in c.value for c in at.caption)
    # the league table is back on the status-based definition once the history is detached
    from analysis.persistency.league import league_table
    from analysis.persistency.ratios import PersistencyOptions

    loaded = sample_extract()
    options = PersistencyOptions(grace_days=loaded.preset.grace_days)
    expected = league_table(loaded.policies, "channel", study_date=loaded.study_date, options=options)
    league = at.dataframe[0].value
    assert league.iloc[:, 2].tolist() == expected["persisting"].tolist() != on_payments.iloc[:, 2].tolist()


def test_the_overview_figures_differ_by_definition(sample, artefacts) -> None:
    """The status-based card equals the Overview without payments; the premiums-received card is measured on the payments.

    The league table follows the page's definition too: on premiums received with the history, as the report's.
    """
    from analysis.persistency.league import league_table
    from analysis.persistency.ratios import PersistencyOptions

    plain = AppTest.from_file(APP, default_timeout=180).run()
    plain.switch_page("views/overview.py").run()
    before = metrics(plain)["13 个月继续率（件数）"]
    status_league = plain.dataframe[0].value
    at = _with_sample_payments()
    at.switch_page("views/overview.py").run()
    figures = metrics(at)
    assert figures["13 个月继续率，按状态（件数）"] == before
    options = PersistencyOptions(grace_days=sample.preset.grace_days)
    expected = league_table(sample.policies, "channel", study_date=sample.study_date, options=options, payments=artefacts.history())
    shown_league = at.dataframe[0].value
    assert shown_league.iloc[:, 0].astype(str).tolist() == expected["channel"].astype(str).tolist()
    assert shown_league.iloc[:, 2].tolist() == expected["persisting"].tolist()
    assert (
        shown_league.iloc[:, 2].tolist()
        != status_league.set_index(status_league.columns[0]).loc[shown_league.iloc[:, 0]].iloc[:, 1].tolist()
    )


def _attach(at: AppTest, name: str, data: bytes) -> None:
    """Attach an uploaded history the way the Data page's uploader does (AppTest cannot drive the file widget)."""
    from ui import datasets as ds
    from ui import payments as ui_payments
    from ui.study import dataset_key

    upload = ui_payments.PaymentUpload(book=dataset_key(ds.sample_choice()), name=name, version=ds.content_version(data))
    at.session_state[ui_payments.UPLOAD_BYTES] = {upload.version: data}
    at.session_state[ui_payments.ATTACHED] = upload


def test_an_upload_reports_its_rows_and_the_policies_not_in_the_book(sample) -> None:
    first, second = (str(p) for p in sample.policies["policy_id"].head(2))
    lines = [
        "保单号,应缴日期,实缴日期,金额,缴费方式",
        f"{first},2023-01-10,2023-01-10,1200,自动扣款",  # row 2: accepted
        f"{first},2023-02-10,2023-02-10,abc,自动扣款",  # row 3: repaired (amount left blank)
        f"{second},not a date,2023-02-10,100,现金",  # row 4: rejected (bad due date)
        "NOPE-1,2023-01-10,2023-01-10,100,现金",  # row 5: rejected (not in the book)
        "NOPE-1,2023-02-10,,100,现金",  # row 6: rejected (not in the book)
    ]
    at = AppTest.from_file(APP, default_timeout=180)
    _attach(at, "缴费.csv", ("\n".join(lines) + "\n").encode())
    at.run()
    assert not at.exception
    shown_metrics = metrics(at)
    assert shown_metrics["缴费记录读取行数"] == "5"
    assert shown_metrics["缴费记录接受"] == "1"
    assert shown_metrics["缴费记录修复"] == "1"
    assert shown_metrics["缴费记录拒绝"] == "3"
    assert shown_metrics["保单不在清单中"] == "2"
    assert any("2 行缴费记录涉及 1 个不在本数据集中的保单号" in w.value for w in at.warning)
    tables = [frame.value for frame in at.dataframe]
    account = next(t for t in tables if "问题类型" in t.columns and "应缴日期" in t.columns)
    assert account["行号"].tolist() == [3, 4, 5, 6]
    outside = next(t for t in tables if list(t.columns) == ["保单号", "数量", "行号"])
    assert outside["保单号"].tolist() == ["NOPE-1"] and outside["行号"].tolist() == [5]


def test_a_history_without_its_columns_is_refused_in_words() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    _attach(at, "错表.csv", "编号,日期\n1,2023-01-01\n".encode())
    at.run()
    assert not at.exception
    assert any("缴费记录 错表.csv 无法使用" in shown(e.value) for e in at.error)
    assert not any("继续率按实收保费计算" in s.value for s in at.success)


def test_a_history_belongs_to_the_book_it_was_matched_with() -> None:
    """Another study date is another book: the history is left behind, the Overview back on the approximation, until attached again."""
    at = _with_sample_payments()
    at.checkbox(key="data_override").check().run()
    assert not at.exception
    assert any("已与另一个数据集" in c.value for c in at.caption)
    assert "缴费记录读取行数" not in metrics(at)
    at.switch_page("views/overview.py").run()
    assert any("无缴费记录时的近似继续率" in c.value for c in at.caption)


def test_the_overviews_workbook_is_on_premiums_received_with_a_history(sample, sample_history) -> None:
    """The download the Overview offers with a history (ui.overview.monthly_report_bytes) names and uses that definition."""
    import io

    import openpyxl

    from analysis.persistency.ratios import HEADLINE_MONTHS, PersistencyOptions
    from ui import datasets as ds
    from ui.overview import monthly_report_bytes

    paid = (sample_history, "sample-history")  # the sample's history matched with it (tests/artefacts.py)
    options = PersistencyOptions(months=HEADLINE_MONTHS)
    choice = ds.sample_choice()

    def texts(data: bytes) -> str:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return " ".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v is not None)

    on_payments = texts(monthly_report_bytes(choice, sample, paid, options, {13: 0.85, 25: 0.8}, "en"))
    without = texts(monthly_report_bytes(choice, sample, None, options, {13: 0.85, 25: 0.8}, "en"))
    assert "Persistency on premiums received" in on_payments and "Persistency on premiums received" not in without
