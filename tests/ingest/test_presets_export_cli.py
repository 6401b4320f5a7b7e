"""Mapping presets, safe exports and the command line."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
from clirun import run_cli
from messy import messy_workbook

from analysis import ExtractError, parse_preset, preset_to_toml
from analysis.report.export import mask_identifiers, neutralise, write_workbook

PRESET = """
[columns]
policy_id = "保单号"
[status_values]
"效力中止" = "lapsed"
[settings]
study_date = "2024-06-30"
duration_column = "duration"
duration_unit = "quarters"
"""


def test_preset_round_trips_through_toml() -> None:
    preset = parse_preset(PRESET)
    assert preset.columns == {"policy_id": "保单号"}
    assert preset.status_values == {"效力中止": "lapsed"}
    assert preset.settings["duration_unit"] == "quarters"
    assert parse_preset(preset_to_toml(preset)) == preset


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[columns\n", "not valid TOML"),
        ('[columns]\npolicy_number = "x"\n', "unknown canonical column"),
        ('[status_values]\n"x" = "gone"\n', "unknown status"),
        ('[settings]\nduration_unit = "weeks"\n', "duration_unit 'weeks'"),
        ('[settings]\ncolour = "red"\n', "unknown setting 'colour'"),
        ('[settings]\ngrace_days = "sixty"\n', "should be a whole number"),
        ("[extra]\n", "unknown section"),
    ],
)
def test_bad_presets_name_the_problem(text: str, words: str) -> None:
    with pytest.raises(ExtractError, match=words):
        parse_preset(text)


def test_formula_injection_is_neutralised_but_numbers_stay_numbers() -> None:
    frame = pd.DataFrame({"text": ["=1+1", "+86 138", "-cmd", "@SUM(A1)", "\tx", "\ry", "plain"], "n": [-1, 2, 3, 4, 5, 6, 7]})
    safe = neutralise(frame)
    assert safe["text"].tolist() == ["'=1+1", "'+86 138", "'-cmd", "'@SUM(A1)", "'\tx", "'\ry", "plain"]
    assert safe["n"].tolist() == frame["n"].tolist()
    assert frame["text"].iloc[0] == "=1+1"  # input untouched


def test_workbook_export_holds_no_formulas() -> None:
    data = write_workbook({"表": pd.DataFrame({"说明": ['=HYPERLINK("http://x")', "正常"]})})
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [c.value for c in sheet["A"]]
    assert values == ["说明", '\'=HYPERLINK("http://x")', "正常"]
    assert all(c.data_type != "f" for c in sheet["A"])


def test_personal_identifiers_are_masked() -> None:
    frame = pd.DataFrame({"name": ["张三丰"], "phone": ["13812345678"], "id_number": ["11010519900307123X"], "policy_id": ["P1"]})
    masked = mask_identifiers(frame)
    assert masked.loc[0, "name"] == "张**"
    assert masked.loc[0, "phone"] == "138****5678"
    assert masked.loc[0, "id_number"] == "110***********123X"
    assert masked.loc[0, "policy_id"] == "P1"


def test_cli_check_json_matches_the_documented_shape(root, tmp_path) -> None:
    path = tmp_path / "messy.xlsx"
    path.write_bytes(messy_workbook())
    done = run_cli("check", str(path), "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {
        "rows_read",
        "accepted",
        "repaired",
        "rejected",
        "skipped_rows",
        "study_date",
        "study_date_source",
        "study_date_column",
        "mapping",
        "status_counts",
        "problems",
        "loud",
    }
    assert (report["study_date_source"], report["study_date_column"]) == ("title row", None)
    assert (report["rows_read"], report["accepted"], report["repaired"], report["rejected"]) == (15, 6, 3, 6)
    assert report["mapping"]["policy_id"] == "保单号"
    assert {"row": 20, "reason": "summary or note row (合计/注) below the data"} in report["skipped_rows"]
    assert set(report["problems"][0]) == {"row", "column", "kind", "action", "detail"}


def test_cli_check_with_a_preset_on_real_data(root, shared_data) -> None:
    done = run_cli("check", str(shared_data / "uslapseagent.csv"), "--mapping", "data/presets/uslapseagent.toml", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"] == 29317


def test_cli_check_fails_with_a_one_line_reason(root, tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    done = run_cli("check", str(path), cwd=root)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "empty" in done.stderr


def test_the_account_masks_personal_identifiers_unless_asked(tmp_path) -> None:
    import dataclasses

    import pandas as pd

    from analysis import load_extract
    from analysis.ingest.account import account_table, worded_account

    frame = pd.DataFrame(
        {"保单号": ["P1", "P2"], "生效日期": ["2020-01-01", "bad"], "保单状态": ["有效", "有效"], "手机号": ["13812345678", "13900001111"]}
    )
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    result = load_extract(path)
    assert result.mapping["phone"].source == "手机号"
    # A problem on the phone column (the door itself reports none today): its value must not leak.
    extra = pd.DataFrame(
        [
            {
                "row": 2,
                "column": "手机号",
                "kind": "invalid_number",
                "action": "flagged",
                "value": "13812345678",
                "variant": "amount",
                "params": "{}",
            }
        ]
    )
    result = dataclasses.replace(result, problems=pd.concat([result.problems, extra], ignore_index=True))
    masked = account_table(result).set_index("column")
    shown = account_table(result, mask=False).set_index("column")
    assert shown.loc["手机号", "value"] == "13812345678"
    assert masked.loc["手机号", "value"] == "138****5678"
    assert masked.loc["生效日期", "value"] == shown.loc["生效日期", "value"] == "bad"  # other columns untouched
    worded = worded_account(account_table(result), "en").set_index("column")
    assert "13812345678" not in worded.loc["手机号", "detail"] and "138****5678" in worded.loc["手机号", "detail"]
