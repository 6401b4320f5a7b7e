"""The loud account: a reason that touches more than 5 % of the rows is said first, with its count and effect."""

from __future__ import annotations

import json

import pandas as pd
from clirun import run_cli

from analysis import load_extract
from analysis.ingest.loud import LOUD_SHARE, loud_reasons, loud_sentences


def _problems(*groups: tuple[str, str, list[int]]) -> pd.DataFrame:
    rows = [(row, kind, action) for kind, action, numbers in groups for row in numbers]
    return pd.DataFrame(rows, columns=["row", "kind", "action"])


def test_only_reasons_above_five_percent_are_loud() -> None:
    """By hand, 100 policy rows: 31 rows rejected for exit_without_date (31 % > 5 %); unknown_code on rows 2–6 (5 rows,
    5 % — not more than 5 %) and on rows 2–4 again in another column (a row counts once); 6 rows of date_after_study (6 %)."""
    problems = _problems(
        ("exit_without_date", "rejected", list(range(10, 41))),
        ("unknown_code", "repaired", [2, 3, 4, 5, 6, 2, 3, 4]),
        ("date_after_study", "flagged", list(range(50, 56))),
    )
    reasons = loud_reasons(problems, 100)
    assert LOUD_SHARE == 0.05
    assert [(r.kind, r.action, r.rows, r.share, r.effect) for r in reasons] == [
        ("exit_without_date", "rejected", 31, 0.31, "exit_without_date"),
        ("date_after_study", "flagged", 6, 0.06, "date_after_study"),
    ]
    english = loud_sentences(reasons, 100, "en")
    assert english[0] == (
        "31 of 100 policy rows (31%) were rejected — exit without a date: these exits (surrenders, deaths, maturities, lapses) "
        "have no date at all and are missing from every rate and persistency ratio."
    )
    assert english[1].startswith("6 of 100 policy rows (6.0%) are flagged — date after the study date:")
    assert loud_sentences(reasons, 100, "zh")[0].startswith("100 行保单中有 31 行（31%）因“已终止但无日期”被拒绝：")


def test_a_kind_without_its_own_effect_says_its_action() -> None:
    reasons = loud_reasons(_problems(("invalid_number", "repaired", list(range(1, 11)))), 100)
    assert [(r.kind, r.effect) for r in reasons] == [("invalid_number", "repaired")]
    assert loud_sentences(reasons, 100, "en")[0].endswith(
        "a value of each was changed as the account says, and the figures use the changed value."
    )


def _missing_status_csv() -> bytes:
    """20 policies, 2 without a status (rows 3 and 4 of the file): 2 of 20 = 10 % rejected."""
    lines = ["保单号,生效日期,保单状态"] + [f"P{i:02d},2023-01-01,{'' if i in (2, 3) else '有效'}" for i in range(1, 21)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_the_account_and_check_say_it_first(tmp_path, root) -> None:
    result = load_extract(_missing_status_csv(), filename="m.csv")
    reasons = loud_reasons(result.problems, result.rows_read)
    assert [(r.kind, r.action, r.rows) for r in reasons] == [("missing_required", "rejected", 2)]
    path = tmp_path / "m.csv"
    path.write_bytes(_missing_status_csv())
    text = run_cli("check", str(path), cwd=root)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == (
        "WARNING: 2 of 20 policy rows (10%) were rejected — required value empty: these policies are missing from every figure; "
        "map the column that holds the value, or complete it in the extract."
    )
    report = json.loads(run_cli("check", str(path), "--json", cwd=root).stdout)
    assert [(r["kind"], r["action"], r["rows"], r["share"]) for r in report["loud"]] == [("missing_required", "rejected", 2, 0.1)]
    assert report["loud"][0]["detail"] == text.stdout.splitlines()[0].removeprefix("WARNING: ")


def test_one_odd_row_of_a_small_file_is_not_loud() -> None:
    """15 policy rows: one row rejected is 6.7 % (> 5 %) but one row is no pattern (LOUD_MIN_ROWS = 2); two rows are."""
    from analysis.ingest.loud import LOUD_MIN_ROWS

    assert LOUD_MIN_ROWS == 2
    assert loud_reasons(_problems(("missing_required", "rejected", [4])), 15) == []
    two = loud_reasons(_problems(("missing_required", "rejected", [4, 9])), 15)
    assert [(r.kind, r.rows) for r in two] == [("missing_required", 2)]
