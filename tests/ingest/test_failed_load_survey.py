"""After a failed load: the file's own headers and status values, and the presets that fit them."""

from __future__ import annotations

import pytest
from paths import ROOT

from analysis import ExtractError, MappingPreset, load_extract, load_preset
from analysis.ingest.presets import fitting_presets
from analysis.ingest.survey import inspect_extract

PRESETS = {path.stem: load_preset(path) for path in sorted((ROOT / "data" / "presets").glob("*.toml"))}

#: An extract laid out like CASdatasets' uslapseagent: no policy number, so the door refuses it without a preset.
US_LIKE = (
    b"issue.date,duration,gender,termination.cause\n"
    b"1995-06-29,0.5,Female,surrender\n"
    b"1995-09-18,2.25,Male,in-force\n"
    b"1996-01-02,4,Male,other\n"
    b"1996-03-04,1,Female,surrender\n"
    b"1996-05-06,3.5,Male,death\n"
)


def test_the_door_refuses_it_and_the_survey_shows_its_columns() -> None:
    with pytest.raises(ExtractError) as refused:
        load_extract(US_LIKE, filename="us.csv")
    assert refused.value.key == "error.missing_required.policy_id"
    survey = inspect_extract(US_LIKE, filename="us.csv")
    assert survey.headers == ["issue.date", "duration", "gender", "termination.cause"]
    assert {c: m.source for c, m in survey.mapping.items()} == {
        "issue_date": "issue.date",
        "status": "termination.cause",
        "gender": "gender",
    }
    # By hand: surrender × 2, in-force, other, death; "other" is no status word the door knows.
    counts = {(row.value, row.status): row.count for row in survey.status_values.itertuples()}
    assert counts == {("surrender", "surrendered"): 2, ("in-force", "in_force"): 1, ("other", "unmapped"): 1, ("death", "death_claim"): 1}


def test_the_shipped_preset_that_fits_is_offered_and_loads_the_file() -> None:
    survey = inspect_extract(US_LIKE, filename="us.csv")
    assert fitting_presets(survey.headers, PRESETS) == ["uslapseagent"]
    loaded = load_extract(US_LIKE, filename="us.csv", preset=PRESETS["uslapseagent"])
    assert (loaded.rows_read, loaded.rejected) == (5, 0)


def test_a_preset_naming_a_missing_column_still_shows_the_file() -> None:
    """The preset maps the issue date to a header the file lacks: the door refuses, the survey keeps what fits."""
    preset = MappingPreset(columns={"issue_date": "生效日期", "status": "termination.cause"}, status_values={"other": "lapsed"})
    with pytest.raises(ExtractError, match="maps issue_date"):
        load_extract(US_LIKE, filename="us.csv", preset=preset)
    survey = inspect_extract(US_LIKE, filename="us.csv", preset=preset)
    assert survey.mapping["issue_date"].source == "issue.date"  # recognised automatically instead
    assert ("other", "lapsed") in set(zip(survey.status_values["value"], survey.status_values["status"]))
    assert survey.preset is preset


def test_no_preset_fits_the_sample_and_a_file_that_is_no_table_has_no_survey() -> None:
    sample = inspect_extract(ROOT / "data" / "sample_policies.csv")
    assert sample.header_row == 2 and "保单号" in sample.headers
    assert fitting_presets(sample.headers, PRESETS) == []
    with pytest.raises(ExtractError):
        inspect_extract(b"%PDF-1.4 not a table", filename="x.pdf")
