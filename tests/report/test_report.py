"""The monthly report: the same workbook from the page's function and the command line, Chinese intact."""

from __future__ import annotations

import io

import openpyxl
from clirun import run_cli

from analysis.persistency.projection import projected_persistency


def cells(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {name: [tuple(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}


def block(rows: list[tuple], title: str) -> list[tuple]:
    """The rows of the table titled ``title`` on a sheet: from its header (the first row with two cells) to the next empty row."""
    start = next(i for i, row in enumerate(rows) if row[0] == title)
    header = next(i for i in range(start + 1, len(rows)) if sum(v is not None for v in rows[i]) > 1)
    end = next((i for i in range(header, len(rows)) if all(v is None for v in rows[i])), len(rows))
    return rows[header:end]


def test_cli_report_equals_the_library_workbook(root, tmp_path, artefacts) -> None:
    out = tmp_path / "report.xlsx"
    done = run_cli("report", "data/sample_policies.csv", "-o", str(out), "--lang", "zh", cwd=root)
    assert done.returncode == 0, done.stderr
    library = artefacts.report("zh")  # monthly_report(load_extract(the sample), dataset="sample_policies.csv", lang="zh")
    assert cells(out.read_bytes()) == cells(library)


def test_report_sheets_headers_and_language(artefacts) -> None:
    loaded = artefacts.loaded()
    zh = cells(artefacts.report("zh"))  # monthly_report(loaded, dataset="sample_policies.csv", lang="zh")
    # Six sheets, one question each (the 13 sheets of old are titled tables on them, every figure kept).
    assert list(zh) == ["封面", "继续率", "继续率三角形", "排行榜", "状态与收费", "分群失效率"]
    projected = block(zh["继续率"], "继续率预测")
    assert {"生效批次", "已观察到第几个月", "目前继续率", "预测继续率"} <= set(projected[0])
    assert len(projected) - 1 == len(projected_persistency(loaded.policies, study_date=loaded.study_date))
    titles = {row[0] for rows in zh.values() for row in rows}
    assert {"关键指标", "继续率趋势", "排行-销售渠道", "排行-管理机构", "状态快照", "收费漏斗"} <= titles
    assert {"分群失效率合计", "分群失效率明细"} <= titles
    assert zh["封面"][2][:2] == ("统计截止日", "2026-09-30")
    assert "继续率（件数）" in block(zh["继续率"], "关键指标")[0]
    en = cells(artefacts.report("en"))  # monthly_report(loaded, dataset="sample_policies.csv", lang="en")
    assert list(en)[:2] == ["Cover", "Persistency"]
    assert "Persistency (count)" in block(en["Persistency"], "KPIs")[0]
    totals = block(en["Cohort lapse rates"], "Cohort rates totals")
    assert {row[0] for row in totals[1:]} == {"Young new earners", "Everyone else"}


def test_report_on_the_real_data_sets_without_the_named_cohort(root, shared_data, tmp_path) -> None:
    for name, preset in (("uslapseagent.csv", "uslapseagent.toml"), ("eusavingULnoPS.csv", "eusavingULnoPS.toml")):
        out = tmp_path / f"{name}.xlsx"
        done = run_cli("report", str(shared_data / name), "--mapping", f"data/presets/{preset}", "-o", str(out), "--lang", "en", cwd=root)
        assert done.returncode == 0, done.stderr
        assert "KPIs" in {row[0] for row in cells(out.read_bytes())["Persistency"]}
