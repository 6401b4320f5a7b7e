"""Outcomes in and out: every imported row accounted for, the export masked and inert, an export imported back once."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from analysis.collections.database import open_store
from analysis.collections.outcomes import import_outcomes, list_outcomes, match_outcomes, read_outcomes, record_outcomes
from analysis.collections.queue import assign, assignments, queue_rows, work_queue
from analysis.collections.summary import outcome_summary
from analysis.collections.words import queue_workbook, with_contacts
from analysis.errors import ExtractError

AT = dt.datetime(2026, 10, 1, 9, 0)
BOOK = pd.DataFrame(
    {
        "policy_id": ["886000000000000001", "886000000000000002", "0003"],
        "status": ["in_force", "in_force", "lapsed"],
        "paid_to_date": pd.to_datetime(["2026-09-01", "2026-09-10", "2026-03-01"]),
        "name": ["张三丰", "李四光", "王五"],
        "phone": ["13812345678", "13987654321", "13500001111"],
        "annual_premium": [1000.0, 2000.0, 3000.0],
        "branch": ["北京分公司", "=cmd|' /C calc'!A0", "上海分公司"],
    }
)

OUTCOMES_CSV = """保单号,结果,日期,措施,备注
886000000000000001,已缴费,2026-10-02,reminder,客户已转账
886000000000000002,Promised to pay,2026/10/03,,回电 13812345678
,paid,2026-10-03,,
886000000000000001,结算,2026-10-03,,
886000000000000002,refused,下周,,
886000000000000002,unreachable,2026-10-04,行贿,
886000000000000001,paid,2026-10-02,,同一结果第二次
999999999999999999,paid,2026-10-05,,
0003,reached,2026-10-05,auto_debit,=HYPERLINK("http://x")
"""


def test_every_row_of_an_import_is_accounted_for_with_its_row_number_and_reason() -> None:
    imported = match_outcomes(read_outcomes(OUTCOMES_CSV.encode("utf-8"), filename="outcomes.csv"), BOOK["policy_id"])
    account = imported.account.set_index("row")
    # the header is row 1: the first outcome is row 2
    assert account["result"].to_dict() == {
        2: "accepted",
        3: "accepted",
        4: "rejected",
        5: "rejected",
        6: "rejected",
        7: "repaired",
        8: "rejected",
        9: "rejected",
        10: "accepted",
    }
    assert account["reason"].dropna().to_dict() == {
        4: "blank_policy_id",
        5: "bad_outcome",
        6: "bad_outcome_date",
        7: "bad_lever",
        8: "duplicate",  # same policy, outcome and date as row 2
        9: "not_in_book",
    }
    assert imported.counts() == {
        "rows": 9,
        "accepted": 3,
        "repaired": 1,
        "rejected": 5,
        "bad_lever": 1,
        "blank_policy_id": 1,
        "bad_outcome": 1,
        "bad_outcome_date": 1,
        "duplicate": 1,
        "not_in_book": 1,
    }
    assert imported.not_in_book()["policy_id"].tolist() == ["999999999999999999"]  # reported, not dropped silently
    kept = imported.outcomes
    assert kept["policy_id"].tolist() == ["886000000000000001", "886000000000000002", "886000000000000002", "0003"]  # as written
    assert kept["outcome"].tolist() == ["paid", "promised", "unreachable", "reached"]  # words and codes read alike
    assert kept["lever"].tolist() == ["reminder", None, None, "auto_debit"]


def test_an_outcomes_file_without_its_columns_or_rows_is_refused() -> None:
    with pytest.raises(ExtractError, match="missing: outcome_date") as caught:
        read_outcomes("保单号,结果\n1,paid\n".encode(), filename="o.csv")
    assert "保单号, 结果" in str(caught.value)
    with pytest.raises(ExtractError, match="None of the outcomes file's 2 rows"):
        read_outcomes("保单号,结果,日期\n1,done,2026-01-01\n,paid,2026-01-01\n".encode(), filename="o.csv")


def test_an_import_is_recorded_once_even_twice(database_url: str) -> None:
    store = open_store(database_url)
    imported = read_outcomes(OUTCOMES_CSV.encode("utf-8"), filename="outcomes.csv")
    with pytest.raises(ExtractError, match="not been checked against the book"):
        import_outcomes(store, imported, at=AT)
    first = match_outcomes(imported, BOOK["policy_id"], recorded=list_outcomes(store))
    assert import_outcomes(store, first, at=AT, by="importer") == 4
    again = match_outcomes(imported, BOOK["policy_id"], recorded=list_outcomes(store))
    assert len(again.outcomes) == 0 and again.counts()["duplicate"] == 5  # the four recorded and row 8
    stored = list_outcomes(store)
    assert len(stored) == 4 and set(stored["recorded_via"]) == {"import"} and set(stored["recorded_by"]) == {"importer"}


def workbook(store, *, mask: bool = True, language: str = "zh") -> bytes:
    queue = assignments(store)
    views = {by: outcome_summary(queue, list_outcomes(store), BOOK, as_of=pd.Timestamp("2026-10-15"), by=by) for by in (None, "lever")}
    return queue_workbook(with_contacts(work_queue(store), BOOK), list_outcomes(store), views, language=language, mask=mask, notes=["测试"])


def cells(data: bytes) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def filled(database_url: str):
    store = open_store(database_url)
    assign(store, queue_rows(BOOK.head(2), list_kind="due", assignee_kind="agent", assignee="=A1+1"), at=AT)
    record = pd.DataFrame(
        {
            "policy_id": ["886000000000000001", "886000000000000002"],
            "outcome": ["paid", "promised"],
            "outcome_date": ["2026-10-02", "2026-10-03"],
            "note": ["客户电话 13812345678 已转账", '=HYPERLINK("http://evil.example","点我")'],
        }
    )
    record_outcomes(store, record, at=AT, by="@agent")
    return store


def test_the_export_masks_identifiers_by_default_and_neutralises_formulas(database_url: str) -> None:
    store = filled(database_url)
    sheets = cells(workbook(store))
    assert list(sheets) == ["工作队列", "跟进结果", "成效"]
    text = "\n".join(str(v) for rows in sheets.values() for row in rows for v in row if v is not None)
    for secret in ("张三丰", "李四光", "13812345678", "13987654321"):
        assert secret not in text
    assert "张**" in text and "138****5678" in text  # masked, in the contact columns and inside a note
    assert "886000000000000001" in text  # policy numbers as given, never masked
    queue = sheets["工作队列"]
    header = queue[2]  # a note line, a blank line, then the header
    assert header[:4] == ["保单号", "清单", "分派对象", "负责人"]
    for row in queue[3:]:
        assert row[header.index("负责人")] == "'=A1+1"  # an assignee that looks like a formula is inert
    outcomes = sheets["跟进结果"]
    assert outcomes[0][:5] == ["保单号", "结果", "结果日期", "采取的措施", "备注"]
    notes = [row[4] for row in outcomes[1:]]
    assert notes[1].startswith("'=HYPERLINK") and notes[0] == "客户电话 138****5678 已转账"
    assert {row[outcomes[0].index("记录人")] for row in outcomes[1:]} == {"'@agent"}
    assert any(str(v).startswith("'=cmd") for row in queue for v in row if v is not None)  # the book's branch, joined


def test_identifiers_are_shown_only_when_asked_and_the_english_export_reads_back(database_url: str) -> None:
    store = filled(database_url)
    shown = "\n".join(str(v) for rows in cells(workbook(store, mask=False)).values() for row in rows for v in row if v is not None)
    assert "张三丰" in shown and "13812345678" in shown
    data = workbook(store, language="en")
    assert list(cells(data)) == ["Work queue", "Outcomes", "Results"]
    # the export's outcomes sheet, imported back: every row is already recorded
    back = match_outcomes(read_outcomes(data, filename="queue.xlsx", sheet="Outcomes"), BOOK["policy_id"], recorded=list_outcomes(store))
    assert back.counts()["rows"] == 2 and back.counts()["duplicate"] == 2
    # and into an empty database, the same outcomes (masked notes as exported)
    fresh = open_store(database_url.replace("queue.db", "fresh.db")) if database_url.startswith("sqlite") else None
    if fresh is not None:
        moved = match_outcomes(
            read_outcomes(data, filename="queue.xlsx", sheet="Outcomes"), BOOK["policy_id"], recorded=list_outcomes(fresh)
        )
        assert import_outcomes(fresh, moved, at=AT) == 2
        assert list_outcomes(fresh)[["policy_id", "outcome", "recorded_by"]].values.tolist() == [
            ["886000000000000001", "paid", "'@agent"],
            ["886000000000000002", "promised", "'@agent"],
        ]
