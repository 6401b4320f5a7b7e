"""Messages built from the analysis core's errors and details read in 中文, with no English words left in."""

from __future__ import annotations

import re

import pytest
from messy import messy_workbook
from shown import shown

from analysis import ExtractError, load_extract
from analysis.presets import MappingPreset
from ui.datasets import error_text
from ui.study import named_cohort
from ui.tables import localised_detail

ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _english(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return [w for w in ENGLISH.findall(shown(text)) if w not in allowed]


def test_a_picture_renamed_as_a_table_is_named_in_chinese() -> None:
    with pytest.raises(ExtractError) as caught:
        load_extract(b"\x89PNG\r\n\x1a\n" + bytes(200), filename="photo.xlsx")
    message = error_text(caught.value)
    assert "PNG 图片" in shown(message) and _english(message, ("CSV", "Excel", "Parquet", "PNG")) == []


def test_a_preset_naming_a_missing_column_says_which_field_in_chinese() -> None:
    data = "保单号,生效日期,保单状态\n1,2020-01-01,有效\n".encode()
    with pytest.raises(ExtractError) as caught:
        load_extract(data, filename="a.csv", preset=MappingPreset(columns={"issue_date": "起保日"}))
    message = shown(error_text(caught.value))
    assert "生效日期" in message and "起保日" in message and "issue_date" not in message


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("{'key': 1}", "不是有效的 JSON"),
        ('{"key": "x", "name": {}, "all": [{"column": "age", "op": "like", "value": 1}]}', "未知的运算符"),
        ('{"key": "x", "name": {}, "all": [{"column": "age", "op": "between", "value": 1}]}', "between 需要两个值"),
        ('{"name": {}}', "分群需要 key、name 和 all"),
        ("[1, 2]", "分群需要 key、name 和 all"),
    ],
)
def test_named_cohort_errors_read_in_chinese(definition: str, expected: str) -> None:
    _, problem = named_cohort(definition)
    assert problem is not None and expected in shown(problem)
    assert _english(problem, ("JSON", "key", "name", "all", "column", "between", "not", "blank")) == []


def test_conflicting_duplicates_name_the_fields_in_chinese() -> None:
    problems = load_extract(messy_workbook(), filename="m.xlsx").problems
    row = problems[problems["kind"] == "conflicting_duplicate"].iloc[0]
    text = localised_detail(row["kind"], row["column"], str(row["value"]), row["detail"])
    assert "状态" in text and "保单+险种" in text and _english(text) == []
