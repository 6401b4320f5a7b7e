"""``python -m analysis queue …``: assign, record, export and import the work queue from the command line."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from clirun import run_cli

from analysis.collections.database import DATABASE_ENV, open_store
from analysis.collections.outcomes import list_outcomes
from analysis.collections.queue import assignments
from analysis.risk.actions import DUE_WITHIN_DAYS, unscored_due_list
from analysis.risk.worklist import WorklistRequest, worklist


@pytest.fixture(scope="module")
def small_book(root, tmp_path_factory) -> str:
    """The first 300 policies of the sample (its title row kept): below the model's minimum, so the due list is unscored."""
    lines = (root / "data" / "sample_policies.csv").read_bytes().split(b"\n")
    path = tmp_path_factory.mktemp("book") / "small_book.csv"
    path.write_bytes(b"\n".join(lines[:302]) + b"\n")
    return str(path)


def test_assign_record_export_and_import_from_the_command_line(small_book: str, tmp_path, monkeypatch) -> None:
    from analysis import load_extract

    database = f"sqlite:///{tmp_path / 'q.db'}"
    monkeypatch.setenv(DATABASE_ENV, database)  # the configured database, without --database
    done = run_cli("queue", "assign", small_book, "--to", "A274314", "--capacity", "10", "--by", "lead")
    assert done.returncode == 0, done.stderr
    assert "Assigned 10 policies to A274314." in done.stderr
    loaded = load_extract(small_book)
    expected = unscored_due_list(loaded.policies, loaded.study_date, days=DUE_WITHIN_DAYS).head(10)["policy_id"].tolist()
    store = open_store(database)
    queue = assignments(store)
    assert sorted(queue["policy_id"]) == sorted(expected) and set(queue["assigned_by"]) == {"lead"}

    first, second = expected[:2]
    done = run_cli(
        "queue", "record", small_book, "--policy", first, "--policy", second, "--outcome", "promised", "--date", "2026-10-02",
        "--lever", "reminder", "--note", "周五前转账", "--by", "agent7",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Recorded Promised to pay for 2 policies." in done.stderr
    recorded = list_outcomes(store)
    assert recorded[["policy_id", "outcome", "lever", "recorded_by", "recorded_via"]].values.tolist() == [
        [first, "promised", "reminder", "agent7", "cli"],
        [second, "promised", "reminder", "agent7", "cli"],
    ]

    out = tmp_path / "queue.xlsx"
    done = run_cli("queue", "export", small_book, "--out", str(out), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "10 policies in the queue, 2 outcomes" in done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Work queue", "Outcomes", "Results"]
    rows = list(book["Work queue"].iter_rows(values_only=True))
    assert rows[0][0] == f"Work queue and outcomes, database {tmp_path / 'q.db'}, book's study date 2026-09-30." and len(rows) == 3 + 10

    # the export's outcomes, plus one new outcome and one policy the book lacks, imported back
    sheet = pd.read_excel(out, sheet_name="Outcomes", dtype=str)
    extra = pd.DataFrame({"Policy number": [expected[2], "NOT-IN-BOOK"], "Outcome": ["Paid", "Paid"], "Outcome date": ["2026-10-05"] * 2})
    path = tmp_path / "outcomes.csv"
    pd.concat([sheet, extra], ignore_index=True).to_csv(path, index=False)
    done = run_cli("queue", "import", small_book, "--outcomes", str(path), "--by", "importer")
    assert done.returncode == 0, done.stderr
    assert "Outcomes file: 4 rows, 1 accepted, 0 repaired, 3 rejected." in done.stderr
    assert "row 5 (policy NOT-IN-BOOK): policy not in the book" in done.stderr
    assert "row 2 (policy " in done.stderr and ": exact duplicate" in done.stderr  # the export's own rows, already recorded
    assert "Recorded 1 outcomes." in done.stderr
    assert list_outcomes(store).iloc[-1][["policy_id", "outcome", "recorded_by", "recorded_via"]].tolist() == [
        expected[2],
        "paid",
        "importer",
        "import",
    ]


def test_a_policy_the_book_lacks_or_an_unknown_database_is_refused_in_one_line(small_book: str, tmp_path) -> None:
    database = f"sqlite:///{tmp_path / 'q.db'}"
    done = run_cli(
        "queue", "record", small_book, "--policy", "NO-SUCH", "--outcome", "paid", "--date", "2026-10-02", "--database", database
    )
    assert done.returncode == 2 and "Policy numbers NO-SUCH are not in the book" in done.stderr
    done = run_cli("queue", "export", small_book, "--out", str(tmp_path / "x.xlsx"), "--database", "postgresql://me:Pa55word@127.0.0.1:1/q")
    assert done.returncode == 2 and "cannot be opened" in done.stderr and "Pa55word" not in done.stderr


def test_assign_takes_the_day_calls_of_the_model(root, tmp_path, sample_risk, monkeypatch) -> None:
    loaded, _, risk = sample_risk

    def build_risk(policies, study_date, options, progress=None, **_):
        assert policies.equals(loaded.policies) and study_date == loaded.study_date
        return risk

    monkeypatch.setattr("analysis.risk.model.build_risk", build_risk)
    database = f"sqlite:///{tmp_path / 'q.db'}"
    done = run_cli(
        "queue", "assign", str(root / "data" / "sample_policies.csv"), "--to", "广东分公司", "--kind", "branch",
        "--branch", "广东分公司", "--capacity", "12", "--database", database,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    calls = worklist(loaded.policies, risk, WorklistRequest(capacity=12, branches=("广东分公司",)), days=DUE_WITHIN_DAYS).rows
    queue = assignments(open_store(database)).set_index("policy_id").loc[calls["policy_id"].astype(str)]
    assert queue["probability"].tolist() == pytest.approx(calls["probability"].tolist())
    assert queue["lever"].tolist() == calls["lever"].tolist() and set(queue["assignee_kind"]) == {"branch"}
