"""The command line's worklist hands the service team what the Actions page does: capacity, branch, agent, risk band."""

from __future__ import annotations

import openpyxl
import pytest
from clirun import run_cli

from analysis.risk.actions import DUE_WITHIN_DAYS
from analysis.risk.worklist import HIGH, MEDIUM, WorklistRequest, worklist


@pytest.fixture()
def session_model(monkeypatch, sample_risk):
    """The command's default model is the session's model (same pipeline and seed; the fit is checked in test_risk.py)."""
    loaded, _, risk = sample_risk

    def build_risk(policies, study_date, options, progress=None, **_):
        assert policies.equals(loaded.policies) and study_date == loaded.study_date
        return risk

    monkeypatch.setattr("analysis.risk.model.build_risk", build_risk)
    return loaded, risk


def _due_sheet(path) -> tuple[list[str], list[dict[str, object]]]:
    """The due sheet's lines above its table, and its rows by header."""
    rows = [tuple(row) for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(rows) if row[0] == "Policy number")
    return [row[0] for row in rows[:header] if row[0]], [dict(zip(rows[header], row)) for row in rows[header + 1 :]]


def test_capacity_branch_and_band_cut_the_list_as_the_page_does(root, tmp_path, session_model) -> None:
    loaded, risk = session_model
    out = tmp_path / "calls.xlsx"
    done = run_cli(
        "worklist", str(root / "data" / "sample_policies.csv"), "-o", str(out), "--lang", "en", "--show-identifiers",
        "--capacity", "25", "--branch", "广东分公司", "--branch", "上海分公司", "--risk-band", "high", "--risk-band", "medium",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    request = WorklistRequest(capacity=25, branches=("广东分公司", "上海分公司"), bands=(HIGH, MEDIUM))
    expected = worklist(loaded.policies, risk, request, days=DUE_WITHIN_DAYS)
    assert expected.matched > 25  # the capacity cuts the matching list
    lines, rows = _due_sheet(out)
    assert [row["Policy number"] for row in rows] == expected.rows["policy_id"].tolist()
    assert {row["Branch"] for row in rows} <= {"广东分公司", "上海分公司"}
    assert {row["Risk band"] for row in rows} <= {"High", "Medium"}
    assert lines[:3] == ["Branch: 广东分公司, 上海分公司", "Risk band: High, Medium", "Policies we can call today: 25"]


def test_an_agent_filter_and_capacity_zero_list_every_matching_policy(root, tmp_path, session_model) -> None:
    loaded, risk = session_model
    agent = str(worklist(loaded.policies, risk, WorklistRequest(capacity=1), days=DUE_WITHIN_DAYS).rows["agent"].iloc[0])
    out = tmp_path / "agent.xlsx"
    done = run_cli("worklist", "data/sample_policies.csv", "-o", str(out), "--lang", "en", "--agent", agent, "--capacity", "0", cwd=root)
    assert done.returncode == 0, done.stderr
    expected = worklist(loaded.policies, risk, WorklistRequest(capacity=None, agents=(agent,)), days=DUE_WITHIN_DAYS)
    _, rows = _due_sheet(out)
    assert len(rows) == expected.matched > 1 and {row["Agent"] for row in rows} == {agent}


def test_a_branch_the_book_lacks_and_a_negative_capacity_are_refused(root, tmp_path) -> None:
    out = tmp_path / "none.xlsx"
    typo = run_cli("worklist", "data/sample_policies.csv", "-o", str(out), "--branch", "广州分公司", cwd=root)
    assert typo.returncode == 2 and typo.stderr.startswith("error: --branch 广州分公司 is not in this book; it has: ")
    assert "广东分公司" in typo.stderr and not out.exists()
    negative = run_cli("worklist", "data/sample_policies.csv", "-o", str(out), "--capacity", "-5", cwd=root)
    assert negative.returncode == 2 and negative.stderr == "error: --capacity -5 must be zero or more (0 lists every matching policy).\n"
    band = run_cli("worklist", "data/sample_policies.csv", "-o", str(out), "--risk-band", "severe", cwd=root)
    assert band.returncode == 2 and "invalid choice: 'severe'" in band.stderr
