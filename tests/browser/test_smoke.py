"""One real browser through the app: sample in 中文, switch to English, upload a messy workbook.

Waits are on ``data-testid`` selectors and on the app's own script state, never on sleeps.
Screenshots land in ``tests/artifacts/browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from messy import EXPECTED, messy_workbook
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

#: Under pytest-xdist the browser tests run in two groups, each on one worker with its own app
#: server and Chromium: the two longest pages (risk model, interventions) apart from the rest.
pytestmark = pytest.mark.xdist_group("browser")
SECOND_WORKER = pytest.mark.xdist_group("browser-2")

METRIC = '[data-testid="stMetric"]'
#: How long a download may take to start on a busy machine (the app reruns after a download click).
DOWNLOAD_WAIT = 90_000
UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'

# True once the script has finished its run, the status widget is gone and no element is stale.
_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  return document.querySelectorAll('[data-stale="true"]').length === 0;
}"""

_METRICS_JS = """(sel) => Array.from(document.querySelectorAll(sel)).map((m) => [
  (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
  (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || '',
])"""


_MAIN_HEIGHT_JS = "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
_MAIN_FITS_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main.scrollHeight <= main.clientHeight + 1;
}"""


def wait_idle(page: Page, timeout: float = 30_000) -> None:
    """Wait until the app is not running: script finished, no status widget, nothing stale."""
    page.wait_for_function(_IDLE_JS, timeout=timeout)


def metrics(page: Page) -> dict[str, str]:
    """Metric label → displayed value, as the browser shows them."""
    pairs = page.evaluate(_METRICS_JS, METRIC)
    return {label.strip(): value.strip() for label, value in pairs}


def metric_value(page: Page, label: str) -> Locator:
    """The value element of the metric whose label is exactly ``label``."""
    card = page.locator(METRIC).filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def as_int(text: str) -> int:
    """A metric value such as ``"48,210"`` as an integer."""
    return int(re.sub(r"[,\s]", "", text))


def snap(page: Page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside ``stMain``, so grow the viewport to fit it."""
    viewport = page.viewport_size or {"width": 1400, "height": 1000}
    for attempt in range(4):  # charts may still grow the page while it is measured: measure again
        height = page.evaluate(_MAIN_HEIGHT_JS)
        page.set_viewport_size({"width": viewport["width"], "height": max(viewport["height"], height)})
        try:
            page.wait_for_function(_MAIN_FITS_JS, timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(viewport)


def assert_no_errors(page: Page) -> None:
    """No exception element and no traceback anywhere on the page."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback").count() == 0
    assert "Traceback" not in page.content()


@pytest.mark.browser
def test_smoke(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))

    # 1. The sample, in Chinese (the browser asks for zh-CN).
    page.goto(app_url)
    page.wait_for_selector('[data-testid="stAppViewContainer"]')
    page.wait_for_selector(METRIC)
    wait_idle(page)
    expect(page.get_by_test_id("stMetricLabel").get_by_text("读取行数", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stFileUploader").first).to_contain_text("上传保单明细")
    sample = metrics(page)
    assert as_int(sample["读取行数"]) > 40_000, sample
    snap(page, screenshot_dir / "01_sample_zh.png")

    # 2. Switch to English with the sidebar radio.
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Rows read", exact=True)).to_be_visible()
    wait_idle(page)
    english = metrics(page)
    assert set(english) == {"Rows read", "Accepted", "Repaired / flagged", "Rejected", "Non-policy rows skipped"}, english
    assert english["Rows read"] == sample["读取行数"]
    expect(page.get_by_test_id("stFileUploader").first).to_contain_text("Upload a policy extract")
    expect(page.get_by_test_id("stSelectbox").first.locator("input")).to_have_value("Recognise headers automatically")
    snap(page, screenshot_dir / "02_english.png")

    # 3. Upload the messy Chinese workbook through the first file uploader.
    workbook = tmp_path / "messy_policies.xlsx"
    workbook.write_bytes(messy_workbook())
    page.locator(UPLOAD_INPUT).first.set_input_files(str(workbook))
    expect(metric_value(page, "Rows read")).to_have_text(str(EXPECTED["rows_read"]))
    wait_idle(page)
    account = metrics(page)
    assert as_int(account["Rows read"]) == EXPECTED["rows_read"], account
    assert as_int(account["Accepted"]) == EXPECTED["accepted"], account
    assert as_int(account["Repaired / flagged"]) == EXPECTED["repaired"], account
    assert as_int(account["Rejected"]) == EXPECTED["rejected"], account
    assert as_int(account["Non-policy rows skipped"]) == len(EXPECTED["skipped"]), account
    study_date = re.compile(rf"^Study date {EXPECTED['study_date']} \(from: the title row\)")
    expect(page.get_by_test_id("stMain").get_by_text(study_date)).to_be_visible()
    snap(page, screenshot_dir / "03_messy_upload.png")
    # The sidebar names the active data set: the upload, not the sample.
    expect(page.get_by_test_id("stSidebar")).to_contain_text("messy_policies.xlsx")

    # 3b. A browser refresh keeps the data set: the address carries the session's link.
    expect(page).to_have_url(re.compile(r"[?&]ds=[A-Za-z0-9_-]{32}"))
    page.reload()
    page.wait_for_selector(METRIC)
    expect(metric_value(page, "读取行数")).to_have_text(str(EXPECTED["rows_read"]))  # a new session: 中文 again
    expect(page.get_by_test_id("stSidebar")).to_contain_text("messy_policies.xlsx")
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(metric_value(page, "Rows read")).to_have_text(str(EXPECTED["rows_read"]))
    wait_idle(page)

    # 4. Download the account as Excel and as CSV and read both back: every skipped,
    #    rejected and repaired row is there with its source row number.
    import csv

    import openpyxl

    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns

    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download the account (Excel)").locator("button").click()
    xlsx = tmp_path / "account.xlsx"
    download.value.save_as(xlsx)
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "Row")
    verdicts = {(int(row[0]), row[1]) for row in rows[header_at + 1 :] if row and row[0] is not None}
    assert {r for r, v in verdicts if v == "rejected"} == set(EXPECTED["rejected_rows"]), verdicts
    assert {r for r, v in verdicts if v == "skipped"} == set(EXPECTED["skipped"]), verdicts
    assert set(EXPECTED["repaired_rows"]) <= {r for r, v in verdicts if v in ("repaired", "flagged")}, verdicts
    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Download the account (CSV)").locator("button").click()
    text = tmp_path / "account.csv"
    download.value.save_as(text)
    lines = list(csv.reader(text.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0][0] == "Row" and len(lines) - 1 == len(rows) - header_at - 1, (lines[:3], len(lines))

    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
def test_cohort_explorer(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """Open the Cohort explorer on the sample, regroup, download the Excel table and read it back."""
    import openpyxl

    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/cohorts")
    page.wait_for_selector(METRIC)
    wait_idle(page)
    expect(page.get_by_role("heading", name="分群失效率分析")).to_be_visible()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("整体失效率", exact=True)).to_be_visible()
    page.wait_for_selector(".js-plotly-plot")
    snap(page, screenshot_dir / "04_cohorts_zh.png")

    # Regroup by channel: the answer comes back and the table changes.
    page.get_by_test_id("stSelectbox").filter(has_text="分组维度一").locator("input").click()
    page.get_by_role("option", name="销售渠道", exact=True).click()
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("银保")

    # Download the table and open it.
    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="下载失效率表").locator("button").click()
    path = tmp_path / "rates.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["各分群合计（全部期间）", "分群 × 期间明细"]
    detail = book["分群 × 期间明细"]
    # Above the table: what the sheet means and the filter it was made under, then a blank row.
    header_row = next(r for r in range(1, 10) if "失效率" in [c.value for c in detail[r]])
    assert detail.cell(header_row - 1, 1).value is None and detail.cell(1, 1).value
    headers = [c.value for c in detail[header_row]]
    assert "失效率" in headers and "暴露数" in headers, headers
    channels = {row[0] for row in detail.iter_rows(min_row=header_row + 1, values_only=True)}
    assert {"个险", "银保"} <= channels, channels
    snap(page, screenshot_dir / "05_cohorts_by_channel.png")
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Overall rate", exact=True)).to_be_visible()
    wait_idle(page)
    snap(page, screenshot_dir / "05b_cohorts_en.png")

    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
def test_persistency_overview(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """The management overview: KPI cards, trend, triangle and league table render, in both languages."""
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/overview")
    page.wait_for_selector(METRIC)
    wait_idle(page)
    expect(page.get_by_test_id("stMetricLabel").get_by_text("13 个月继续率（件数）", exact=True)).to_be_visible()
    value = metric_value(page, "13 个月继续率（件数）").inner_text()
    assert value.endswith("%") and 80 < float(value.rstrip("%")) < 95, value
    page.wait_for_selector(".js-plotly-plot")
    assert page.locator(".js-plotly-plot").count() >= 2  # trend and triangle (and the funnel)
    snap(page, screenshot_dir / "06_overview_zh.png")
    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="下载月度报告").locator("button").click()
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    import openpyxl

    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["封面", "继续率"], book.sheetnames
    assert book["封面"]["A3"].value == "统计截止日"
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("13-month persistency (count)", exact=True)).to_be_visible()
    wait_idle(page)
    snap(page, screenshot_dir / "07_overview_en.png")
    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
def test_filter_bar_follows_the_address_pages_and_the_report(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """A link with a filter opens filtered: the sidebar shows it, every page says its scope, the report's cover states it."""
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/overview?f_channel=银保&f_branch=广东分公司&f_from=2024-01-01&f_to=2024-12-31")
    page.wait_for_selector(METRIC)
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_test_id("stMultiSelect").filter(has_text="广东分公司")).to_be_visible()
    scope = page.get_by_test_id("stMain").get_by_text(re.compile(r"筛选后：\d[\d,]* / 49,992 张保单"))
    expect(scope).to_be_visible()
    snap(page, screenshot_dir / "05b_filter_overview_zh.png")
    wait_idle(page, timeout=DOWNLOAD_WAIT)
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="下载月度报告").locator("button").click()
    path = tmp_path / "report.xlsx"
    download.value.save_as(path)
    import openpyxl

    cover = {row[0]: row[1] for row in openpyxl.load_workbook(path)["封面"].iter_rows(values_only=True)}
    assert "管理机构：广东分公司" in cover["筛选范围"] and "2024-01-01 至 2024-12-31" in cover["筛选范围"], cover
    # Another page: the same filter, still in the address.
    sidebar.get_by_test_id("stSidebarNav").get_by_text("分群失效率").click()
    page.wait_for_selector(METRIC)
    wait_idle(page)
    expect(page.get_by_test_id("stMain").get_by_text(re.compile(r"筛选后：\d[\d,]* / 49,992 张保单"))).to_be_visible()
    assert "f_branch=" in page.url and "f_from=2024-01-01" in page.url, page.url
    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
def test_survival_curves(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """The Survival page draws the curves and states the log-rank result."""
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/survival")
    page.wait_for_selector(".js-plotly-plot")
    wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="按分群").locator("input").click()
    page.get_by_role("option", name="刚入职场的年轻客户", exact=True).click()
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("刚入职场的年轻客户的失效风险显著高于其他客户")
    snap(page, screenshot_dir / "08_survival_zh.png")
    import openpyxl

    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns

    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="下载曲线与检验").locator("button").click()
    path = tmp_path / "survival.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert len(book.sheetnames) == 3, book.sheetnames  # curves, summary, tests
    groups = {row[0] for ws in book.worksheets[:1] for row in ws.iter_rows(values_only=True)}
    assert {"刚入职场的年轻客户", "其他客户"} <= groups, groups
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMain")).to_contain_text("Young new earners lapse significantly more")
    wait_idle(page)
    snap(page, screenshot_dir / "08b_survival_en.png")
    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
@SECOND_WORKER
def test_risk_drivers_and_action_lists(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """The model trains in the background with a progress bar; the drivers explain a policy; the action list downloads masked."""
    import openpyxl

    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/drivers")
    expect(page.get_by_test_id("stMetricLabel").get_by_text("AUC（时间外验证）", exact=True)).to_be_visible(timeout=180_000)
    wait_idle(page)
    auc = float(metric_value(page, "AUC（时间外验证）").inner_text())
    assert 0.6 < auc < 0.85, auc
    expect(page.get_by_test_id("stMain")).to_contain_text("未来 12 个月")
    page.get_by_role("tab", name="单张保单").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("推高风险的原因")
    expect(page.get_by_test_id("stMain")).to_contain_text("个百分点")
    snap(page, screenshot_dir / "09_drivers_policy_zh.png")
    page.get_by_role("tab", name="整体重要性").click()
    expect(page.locator('[role="tabpanel"]:not([hidden]) .js-plotly-plot').first).to_be_visible()
    snap(page, screenshot_dir / "10_drivers_importance_zh.png")

    page.goto(f"{app_url}/actions")
    expect(page.get_by_test_id("stMetricLabel").get_by_text("其中宽限期内", exact=True)).to_be_visible(timeout=180_000)
    wait_idle(page)
    assert metric_value(page, "其中宽限期内").inner_text() == "1,278"
    snap(page, screenshot_dir / "11_actions_zh.png")
    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="下载行动清单").locator("button").click()
    path = tmp_path / "actions.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["即将到期或宽限期", "可复效"], book.sheetnames
    headers = [c.value for c in next(row for row in book["即将到期或宽限期"].iter_rows() if row[0].value == "保单号")]
    assert {"失效概率", "预期风险保费", "原因一", "建议措施", "宽限期剩余天数"} <= set(headers), headers
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Of which in grace", exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page)
    snap(page, screenshot_dir / "12_actions_en.png")
    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
@SECOND_WORKER
def test_interventions(page: Page, app_url: str, screenshot_dir: Path, tmp_path: Path) -> None:
    """Measure the sample's campaign, size two scenarios, download them as JSON, and open the shared link."""
    import json

    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/interventions")
    expect(page.get_by_test_id("stMetricLabel").get_by_text("期末多留住的保单", exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="加入比较").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("净现值最高：客户教育活动")  # the rerun after adding has finished
    wait_idle(page)
    lever = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text("措施", exact=True))
    option = page.get_by_role("option", name="低保费产品", exact=True)
    for _ in range(3):  # a rerun that lands while the list opens closes it again
        lever.locator("input").click()
        try:
            option.wait_for(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            wait_idle(page)
    option.click()
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("放弃的保费")  # the low-premium projection is on screen
    one_scenario = page.url
    page.get_by_role("button", name="加入比较").click()
    page.wait_for_function("(before) => location.href !== before", arg=one_scenario, timeout=60_000)  # the link now carries two
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("净现值最高：客户教育活动")
    assert "scenarios=" in page.url
    snap(page, screenshot_dir / "13_interventions_zh.png")
    wait_idle(page, timeout=DOWNLOAD_WAIT)  # a download button is inert while the page reruns
    with page.expect_download(timeout=DOWNLOAD_WAIT) as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="保存方案").locator("button").click()
    path = tmp_path / "scenarios.json"
    download.value.save_as(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert [s["lever"] for s in saved] == ["education", "low_premium"], saved
    # Clear the comparison, then load the saved file back through the page's uploader.
    page.get_by_role("button", name="清空比较").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("还没有加入比较的方案")
    wait_idle(page)
    page.locator(UPLOAD_INPUT).first.set_input_files(str(path))
    expect(page.get_by_test_id("stMain")).to_contain_text("净现值最高：客户教育活动", timeout=60_000)
    wait_idle(page)
    # The campaign tab: the measured effect.
    page.get_by_role("tab", name="活动效果评估").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("调整协变量后的风险比（实验组 vs 对照组）：0.75")
    snap(page, screenshot_dir / "14_campaign_zh.png")
    # A colleague opens the link in a fresh page: the same two scenarios.
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    expect(other.get_by_test_id("stMain")).to_contain_text("净现值最高：客户教育活动", timeout=60_000)
    other.close()
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("English", exact=True).click()
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Extra policies in force at the horizon", exact=True)).to_be_visible()
    wait_idle(page)
    snap(page, screenshot_dir / "15_interventions_en.png")
    assert_no_errors(page)
    assert page_errors == [], page_errors


@pytest.mark.browser
@SECOND_WORKER
def test_campaign_lists_customer_file_and_work_queue(page: Page, app_url: str, screenshot_dir: Path) -> None:
    """This round's pages in a real browser: the sample's campaign list names its best-value arm; the customer file and work queue draw."""
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{app_url}/campaigns")
    expect(page.get_by_role("heading", name="活动名单：哪种措施有效、值多少、该触达谁")).to_be_visible(timeout=60_000)
    wait_idle(page)
    page.get_by_role("button", name="使用示例数据的活动名单").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("每次接触价值最高的措施", timeout=120_000)
    wait_idle(page, timeout=120_000)
    snap(page, screenshot_dir / "16_campaign_lists_zh.png")
    assert_no_errors(page)

    page.goto(f"{app_url}/customer")
    expect(page.get_by_role("heading", name="客户档案：保单、缴费、风险与下一步行动")).to_be_visible(timeout=60_000)
    wait_idle(page, timeout=120_000)
    snap(page, screenshot_dir / "17_customer_file_zh.png")
    assert_no_errors(page)

    page.goto(f"{app_url}/queue")
    expect(page.get_by_role("heading", name="工作队列：分派行动清单，记录跟进结果")).to_be_visible(timeout=60_000)
    wait_idle(page, timeout=120_000)
    snap(page, screenshot_dir / "18_work_queue_zh.png")
    assert_no_errors(page)
    assert page_errors == [], page_errors
