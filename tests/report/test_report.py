"""The monthly report: the same workbook from the page's function and the command line, Chinese intact."""

from __future__ import annotations

import io

import openpyxl
from clirun import run_cli

from analysis import load_extract
from analysis.persistency.projection import projected_persistency
from analysis.report.monthly import monthly_report


def cells(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {name: [tuple(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}


def test_cli_report_equals_the_library_workbook(root, tmp_path) -> None:
    out = tmp_path / "report.xlsx"
    done = run_cli("report", "data/sample_policies.csv", "-o", str(out), "--lang", "zh", cwd=root)
    assert done.returncode == 0, done.stderr
    library = monthly_report(load_extract(root / "data" / "sample_policies.csv"), dataset="sample_policies.csv", lang="zh")
    assert cells(out.read_bytes()) == cells(library)


def test_report_sheets_headers_and_language(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    zh = cells(monthly_report(loaded, dataset="sample_policies.csv", lang="zh"))
    assert list(zh)[:5] == ["封面", "关键指标", "继续率趋势", "继续率预测", "继续率三角形"]
    projected = zh["继续率预测"]
    header = next(i for i, row in enumerate(projected) if "预测继续率" in row)
    assert {"生效批次", "已观察到第几个月", "目前继续率", "预测继续率"} <= set(projected[header])
    assert len(projected) - header - 1 == len(projected_persistency(loaded.policies, study_date=loaded.study_date))
    assert {"排行-销售渠道", "排行-管理机构", "状态快照", "收费漏斗", "分群失效率合计", "分群失效率明细"} <= set(zh)
    assert zh["封面"][2] == ("统计截止日", "2026-09-30")
    assert "继续率（件数）" in zh["关键指标"][2]
    en = cells(monthly_report(loaded, dataset="sample_policies.csv", lang="en"))
    assert list(en)[:2] == ["Cover", "KPIs"]
    assert "Persistency (count)" in en["KPIs"][2]
    totals = en["Cohort rates totals"]
    assert {row[0] for row in totals[1:]} == {"Young new earners", "Everyone else"}


def test_report_on_the_real_data_sets_without_the_named_cohort(root, shared_data, tmp_path) -> None:
    for name, preset in (("uslapseagent.csv", "uslapseagent.toml"), ("eusavingULnoPS.csv", "eusavingULnoPS.toml")):
        out = tmp_path / f"{name}.xlsx"
        done = run_cli("report", str(shared_data / name), "--mapping", f"data/presets/{preset}", "-o", str(out), "--lang", "en", cwd=root)
        assert done.returncode == 0, done.stderr
        assert "KPIs" in cells(out.read_bytes())
