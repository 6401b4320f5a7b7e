"""The door as named steps: each documented, importing it changes nothing, and the edges found while cutting it."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from analysis import ExtractError, MappingPreset, load_extract
from analysis.ingest.pipeline import STEPS
from analysis.report.catalogue import CATALOGUE


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.__name__)
def test_every_step_says_what_it_reads(step) -> None:
    doc = step.__doc__ or ""
    assert doc.strip(), f"{step.__name__} has no docstring"
    assert "Reads" in doc or "reads" in doc, f"{step.__name__}: say what the step reads (and writes to the ledger)"


def test_importing_analysis_leaves_the_memory_pool_alone(root) -> None:
    """The memory pool is a process setting the entry points make (analysis.ingest.reading.prefer_jemalloc)."""
    code = (
        "import pyarrow as pa\n"
        "before = pa.default_memory_pool().backend_name\n"
        "import analysis, analysis.cli, analysis.ingest.pipeline\n"
        "print(before == pa.default_memory_pool().backend_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "True"


def test_an_issue_date_in_the_1800s_with_a_duration_is_read_not_a_crash() -> None:
    # 2200-12-31 minus an 1850 issue date is more than datetime64[ns] holds (about 292 years):
    # measuring the room left for the duration overflowed before the door was cut into steps.
    data = "保单号,生效日期,保单状态,duration\n1,1850-01-01,退保,3\n2,1850-01-01,退保,300\n3,2020-01-01,有效,2\n".encode()
    preset = MappingPreset(settings={"duration_column": "duration", "duration_unit": "years"})
    result = load_extract(data, filename="a.csv", preset=preset)
    policies = result.policies.set_index("source_row")
    assert policies.loc[2, "status_date"] == pd.Timestamp("1852-12-31")  # + 1,095 days
    flagged = result.problems[result.problems["kind"] == "invalid_number"]
    assert flagged["row"].tolist() == [3]  # 300 years: beyond what date arithmetic holds
    assert policies.loc[4, "observed_to"] == pd.Timestamp("2021-12-31")


def _read_through(data: bytes, preset: MappingPreset, last: str):
    """The intake of ``data`` after the door's steps up to and including ``last``."""
    from analysis.ingest.intake import open_intake
    from analysis.ingest.reading import read_table

    intake = open_intake(read_table(data, filename="a.csv"), preset, study_date=None, pool=None)
    for step in STEPS:
        step(intake)
        if step.__name__ == last:
            return intake
    raise AssertionError(last)


def test_each_step_lets_go_of_the_text_it_has_read_and_the_others_keep_theirs() -> None:
    data = "保单号,生效日期,保单状态,年缴保费,交至日期,渠道,备注\n1,2020-01-01,有效,100,2021-01-01,银保,x\n".encode()
    intake = _read_through(data, MappingPreset(settings={"duration_column": "交至日期"}), "read_dates")
    # The dates are read: the issue date's text goes; the paid-to date is also the duration column, read later.
    assert "生效日期" not in intake.cells and "交至日期" in intake.cells
    assert {"保单号", "保单状态", "年缴保费", "渠道", "备注"} <= set(intake.cells.columns)
    assert intake.headers == ["保单号", "生效日期", "保单状态", "年缴保费", "交至日期", "渠道", "备注"]  # still every header
    intake = _read_through(data, MappingPreset(), "read_amounts")
    assert "年缴保费" not in intake.cells and "保单状态" not in intake.cells and "备注" in intake.cells
    unusable = "保单号,生效日期,保单状态,交至日期\n1,2020-01-01,有效,soon\n2,2020-02-01,有效,later\n".encode()
    intake = _read_through(unusable, MappingPreset(), "read_dates")
    assert "交至日期" in intake.cells and "交至日期" in intake.unmapped()  # no date at all: kept as an attribute, not let go
    result = load_extract(unusable, filename="a.csv")
    assert result.policies["交至日期"].tolist() == ["soon", "later"]


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ("保单号,保单状态", "issue_date"),
        ("姓名,生效日期", "policy_id_and_status"),
        ("姓名,备注", "policy_id_and_issue_date_and_status"),
    ],
)
def test_missing_required_columns_are_named_in_both_languages(columns: str, reason: str) -> None:
    with pytest.raises(ExtractError, match="No column looks like the") as caught:
        load_extract(f"{columns}\n1,2\n".encode(), filename="a.csv")
    error = caught.value
    assert (error.code, error.reason) == ("missing_required", reason)
    assert "found: " + columns.replace(",", ", ") in str(error)
    chinese = error.text("zh")
    assert "找不到像是" in chinese and "policy number" not in chinese


def test_a_picture_is_named_by_its_kind() -> None:
    with pytest.raises(ExtractError, match="The file is a PNG image, not a table") as caught:
        load_extract(b"\x89PNG\r\n\x1a\n" + bytes(100), filename="photo.png")
    assert (caught.value.code, caught.value.reason) == ("not_a_table", "png_image")
    assert "PNG 图片" in caught.value.text("zh")


def test_every_ingest_error_sentence_exists_in_both_languages() -> None:
    keys = [key for key in CATALOGUE if key.startswith(("error.bad_preset.", "error.missing_required.", "error.not_a_table."))]
    assert len(keys) >= 20
    assert all(set(CATALOGUE[key]) == {"zh", "en"} for key in keys)


def test_wide_attributes_keep_phone_and_id_numbers_as_text_as_one_by_one() -> None:
    """Many unmapped columns are read together; a column of phone or ID numbers stays text there too.

    The first value present decides whether a column is looked at closer: blanks and spaces
    before it, a number that is no identifier after it, and identifiers in a column that is not
    all of them, each read as :func:`attribute` reads the column alone.
    """
    from analysis.ingest.attributes import WIDE_COLUMNS, attribute, attributes
    from analysis.ingest.text import TEXT

    columns = {  # headers that say nothing: the values decide
        "a": [None, " 13812345678", "13912345678", "13712345678"],
        "b": ["", "110101199003070011", "110101199003070037", "110101199003070027"],
        "c": ["13812345678", "42", "13912345678", "13712345678"],
        "d": ["42", "13812345678", "13912345678", "13712345678"],
        "e": ["1.5", None, "3", " 4 "],
        "f": [None, None, None, None],
    }
    filler = {f"c{i}": [str(i), str(i + 1), "", str(i + 2)] for i in range(WIDE_COLUMNS)}
    cells = pd.DataFrame({name: pd.Series(values, dtype=object).astype(TEXT) for name, values in {**columns, **filler}.items()})
    together = attributes(cells, list(cells.columns))
    assert pd.api.types.is_string_dtype(together["a"]) and pd.api.types.is_string_dtype(together["b"])
    assert together["c"].dtype == together["d"].dtype == together["e"].dtype == together["c0"].dtype == "float64"
    for name, series in together.items():
        pd.testing.assert_series_equal(series, attribute(cells[name]), check_names=False)
