"""The ledger's problems are codes with parameters; their sentences come from the catalogue, in both languages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from messy import conflicting_coverages_csv, dated_exits_csv, every_problem_csv, mangled_ids_workbook, messy_workbook

from analysis import LoadResult, MappingPreset, load_extract
from analysis.ingest.account import account_table, worded_account
from analysis.ingest.columns import CODE_COLUMNS
from analysis.ingest.ledger import NOT_A_POLICY_ROW, PROBLEM_KINDS, Ledger, problem_details, skipped_problems
from analysis.ingest.presets import EXIT_DATING_RULES
from analysis.ingest.rows import SKIP_REASONS
from analysis.report.catalogue import LANGUAGES

#: Three or more Latin letters in a row: an English word (what a 中文 sentence must not hold).
ENGLISH = re.compile(r"[A-Za-z]{3,}")
#: Names a 中文 sentence may keep.
PROPER_NAMES = ("Excel",)

#: Every exit-dating rule switched off (:data:`~analysis.ingest.presets.EXIT_DATING_RULES`).
RULES_OFF = dict.fromkeys(EXIT_DATING_RULES, False)
#: The English sentences of :func:`every_problem_csv`, by CSV line: today's words, kept exactly.
EVERY_PROBLEM_ENGLISH = [
    (1, "above the header: title or group-header row"),
    (2, "header row"),
    (4, "the policy number is empty"),
    (5, "the issue date is empty"),
    (6, "the policy status is empty"),
    (7, "'2023-13-45' is not a date"),
    (8, "'1700-01-01' is not a date between the years 1800 and 2200"),
    (9, "status '退保' has no status date and no paid-to date, so the exit cannot be placed in time"),
    (9, "'someday' is not a date; left blank"),
    (10, "status '退保' has no status date and no paid-to date, so the exit cannot be placed in time"),
    (10, "'1700-01-01' is not a date between the years 1800 and 2200; left blank"),
    (11, "negative amount '-5' is impossible; left blank"),
    (11, "'abc' is not a number; left blank"),
    (12, "'old' is not an age; left blank"),
    (13, "age '150' is outside 0–120; left blank"),
    (14, "'未知' is not a sex (男/女, M/F, 1/2); left blank"),
    (14, "'每周' is not a payment frequency (趸交/月交/季交/半年交/年交 or 0/1/3/6/12); left blank"),
    (14, "'偶尔' does not say whether premiums are auto-debited; left blank"),
    (14, "'也许' is not yes or no (是/否); left blank"),
    (15, "'plenty' is not an income; left blank"),
    (16, "status '退保' has no status date and no paid-to date, so the exit cannot be placed in time"),
    (16, "'forever' is not a duration; left blank"),
    (17, "status date 2019-06-01 is before the issue date 2020-01-01"),
    (18, "reinstatement date is not after the issue date; left blank"),
    (19, "status '有效' with a reinstatement date: counted as reinstated (in force after a lapse)"),
    (19, "reinstated but no lapse date is recorded: the lapse episode cannot be placed in time and is not counted as a lapse"),
    (20, "issued 2025-01-01, after the study date 2024-06-30"),
    (
        21,
        "status date 2025-01-01 is after the study date 2024-06-30: the change is treated as not yet happened "
        "(the policy counts as in force up to the study date)",
    ),
    (22, "exact copy of row 3"),
    (
        23,
        "same policy number as row 3 but different status_date, status, status_source; "
        "if the extract has one row per coverage, choose the grain policy+coverage",
    ),
    (24, "has 17 fields where the header has 15"),
    (25, "blank row"),
    (26, "summary or note row (合计/注) below the data"),
]


def _every_problem() -> list[LoadResult]:
    """Loads that between them record every (kind, variant) of :data:`PROBLEM_KINDS`."""
    return [
        load_extract(
            every_problem_csv(), filename="e.csv", preset=MappingPreset(settings={"duration_column": "期限", "study_date": "2024-06-30"})
        ),
        load_extract(conflicting_coverages_csv(), filename="c.csv", preset=MappingPreset(settings={"grain": "policy+coverage"})),
        load_extract(mangled_ids_workbook(), filename="i.xlsx"),
        load_extract(dated_exits_csv(), filename="d.csv", preset=MappingPreset(settings={"study_date": "2024-06-30"})),
        load_extract(dated_exits_csv(), filename="d.csv", preset=MappingPreset(settings={"study_date": "2024-06-30", **RULES_OFF})),
    ]


@pytest.fixture(scope="module")
def every_problem() -> list[LoadResult]:
    return _every_problem()


def _all_problems(result: LoadResult) -> pd.DataFrame:
    return pd.concat([skipped_problems(result.skipped_rows), result.problems], ignore_index=True)


def test_the_door_records_every_declared_problem(every_problem: list[LoadResult]) -> None:
    """The loads hit every sentence: none of PROBLEM_KINDS is dead, and the door records no undeclared one."""
    seen = set()
    for result in every_problem:
        problems = _all_problems(result)
        seen |= set(zip(problems["kind"], problems["variant"]))
    assert seen == {(kind, variant) for kind, variants in PROBLEM_KINDS.items() for variant in variants}
    assert set(PROBLEM_KINDS["unknown_code"]) == set(CODE_COLUMNS)
    assert PROBLEM_KINDS[NOT_A_POLICY_ROW] == SKIP_REASONS


def test_every_problem_has_its_sentence_in_both_languages(every_problem: list[LoadResult]) -> None:
    """Strict catalogue (tests/conftest.py): a missing sentence or placeholder raises; the 中文 keeps no English word."""
    for result in every_problem:
        problems = _all_problems(result)
        details = {language: problem_details(problems, language) for language in LANGUAGES}
        for language, texts in details.items():
            assert (texts.str.len() > 0).all() and not texts.str.contains(r"[{}]").any(), language
        assert (details["zh"] != details["en"]).all()
        chinese = details["zh"].str.replace(r"“[^”]*”", "", regex=True)  # a quoted source value is the file's own text
        assert [w for text in chinese for w in ENGLISH.findall(text) if w not in PROPER_NAMES] == []


def test_the_english_sentences_are_kept_word_for_word(every_problem: list[LoadResult]) -> None:
    problems = _all_problems(every_problem[0]).sort_values("row", kind="stable")
    assert list(zip(problems["row"].tolist(), problem_details(problems, "en").tolist())) == EVERY_PROBLEM_ENGLISH
    coverage = every_problem[1].problems
    assert problem_details(coverage, "en").tolist() == ["same policy number as row 2 but different status_date, status, status_source"]
    assert problem_details(every_problem[2].problems, "en").iloc[0] == (
        "policy number '86112345678901002240' went through a number cell and lost its last digits "
        "(Excel keeps 15 significant digits); export the column as text to recover it"
    )


def test_a_chinese_account_has_no_english_sentence() -> None:
    result = load_extract(messy_workbook(), filename="m.xlsx")
    account = worded_account(account_table(result), "zh")
    assert list(account.columns) == ["row", "verdict", "column", "kind", "value", "detail"]
    assert len(account) == len(result.skipped_rows) + len(result.problems)
    details = account["detail"].str.replace(r"“[^”]*”", "", regex=True)
    assert [text for text in details if ENGLISH.search(text)] == []
    assert "保单号与第 5 行相同，但以下字段不同：状态日期" in account.set_index("row").loc[18, "detail"]
    english = worded_account(account_table(result), "en")
    assert english.set_index("row").loc[17, "detail"] == "exact copy of row 4"


def test_a_column_that_flags_every_row_shares_one_parameter_text() -> None:
    """No Python object per row for the parameters of a whole bad column: one JSON text, referenced by every row."""
    rows = "".join(f"{i},2020-01-01,有效,150\n" for i in range(1000))
    result = load_extract(("保单号,生效日期,保单状态,投保年龄\n" + rows).encode(), filename="a.csv")
    params = result.problems["params"]
    assert len(params) == 1000 and len({id(text) for text in params}) == 1
    assert problem_details(result.problems, "zh").eq("年龄“150”超出 0–120；已留空").all()


def test_the_ledger_refuses_a_problem_without_a_sentence() -> None:
    ledger = Ledger(np.arange(2))
    with pytest.raises(ValueError, match="PROBLEM_KINDS"):
        ledger.add(np.array([True, False]), column="x", kind="invalid_number", action="repaired", variant="shoe_size")
    ledger.add(np.array([False, False]), column="x", kind="anything", action="repaired")  # nothing flagged, nothing checked
    assert ledger.frame().empty
