"""Messages built from the analysis core's errors and details read in 中文, with no English words left in."""

from __future__ import annotations

import re

import pytest
from messy import messy_workbook
from paths import ROOT
from shown import shown

from analysis import ExtractError, load_extract
from analysis.ingest.ledger import problem_details
from analysis.ingest.presets import MappingPreset
from ui.datasets import error_text
from ui.study import named_cohort

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
    text = problem_details(problems[problems["kind"] == "conflicting_duplicate"], "zh").iloc[0]
    assert "状态" in text and "保单+险种" in text and _english(text) == []


def test_mapping_editors_show_words_and_give_back_codes() -> None:
    from analysis.schema import STATUSES
    from ui.tables import mapping_rows, preset_from_editors, status_rows, status_words

    assert len(set(status_words().values())) == len(STATUSES)  # the words map back to one code each

    result = load_extract(messy_workbook(), filename="m.xlsx")
    statuses, columns = status_rows(result), mapping_rows(result)
    assert not set(statuses["status"]) & set(STATUSES)  # words, not codes
    assert "失效（效力中止）" in set(statuses["status"])
    assert columns.loc[columns["canonical"] == "issue_date", "label"].item() == "生效日期"
    preset = preset_from_editors(result, columns, statuses)
    expected = result.status_values.groupby("value")["status"].first().to_dict()
    assert preset.status_values == {str(k): v for k, v in expected.items()}
    edited = statuses.copy()
    edited.loc[0, "status"] = "退保"
    assert preset_from_editors(result, columns, edited).status_values[str(edited.loc[0, "value"])] == "surrendered"


def test_every_table_shows_a_dash_for_an_empty_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit writes "None" in empty cells unless told otherwise; every table on the pages goes through
    ui.tables.show_table / edit_table, which tell it, and views/ and ui/ call st.dataframe / st.data_editor nowhere else."""
    import ast

    import ui.tables
    from ui.tables import EMPTY_CELL, edit_table, show_table

    seen: list[tuple[str, object]] = []
    for name in ("dataframe", "data_editor"):
        monkeypatch.setattr(ui.tables.st, name, lambda data, _name=name, **options: seen.append((_name, options.get("placeholder"))))
    show_table([1, None], hide_index=True)
    edit_table([1, None], hide_index=True)
    assert seen == [("dataframe", EMPTY_CELL), ("data_editor", EMPTY_CELL)]

    root = ROOT
    direct, wrapped = [], 0
    for path in [*sorted((root / "views").glob("*.py")), *sorted((root / "ui").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        wrappers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("show_table", "edit_table")]
        allowed = {id(c) for w in wrappers for c in ast.walk(w)} if path.name == "tables.py" else set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or id(node) in allowed:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("dataframe", "data_editor"):
                direct.append(f"{path.name}:{node.lineno}")
            wrapped += isinstance(func, ast.Name) and func.id in ("show_table", "edit_table")
    assert direct == []
    assert wrapped >= 20  # the scan sees the pages' tables


def test_every_multiselect_has_a_translated_placeholder() -> None:
    """Streamlit's own placeholder for an empty multiselect is the English "Choose options"."""
    import ast

    root = ROOT
    missing = []
    for path in [*sorted((root / "views").glob("*.py")), *sorted((root / "ui").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "multiselect"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "st"
            ):
                if not any(k.arg == "placeholder" for k in node.keywords):
                    missing.append(f"{path.name}:{node.lineno}")
    assert missing == []
