"""The door: every row accounted for, every bad input gets a clear message."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib

import pandas as pd
import pytest
from messy import EXPECTED, messy_csv, messy_workbook

from analysis import ExtractError, MappingPreset, load_extract
from analysis.ingest.account import account_table
from analysis.ingest.ledger import problem_details
from analysis.ingest.presets import load_preset


def assert_every_row_accounted(result, total_rows: int) -> None:
    assert result.rows_read == result.accepted + result.repaired + result.rejected
    assert len(result.policies) == result.accepted + result.repaired
    skipped = set(result.skipped_rows["row"])
    rejected = set(result.problems.loc[result.problems["action"] == "rejected", "row"])
    kept = set(result.policies["source_row"])
    assert not (skipped & kept) and not (skipped & rejected) and not (kept & rejected)
    assert skipped | rejected | kept == set(range(1, total_rows + 1))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("messy.xlsx", messy_workbook()),
        ("messy1904.xlsx", messy_workbook(date1904=True)),
        ("messy_gbk.csv", messy_csv(encoding="gb18030")),
        ("messy_bom.csv", messy_csv(encoding="utf-8-sig")),
    ],
)
def test_messy_extract_gives_the_expected_account(name: str, data: bytes) -> None:
    result = load_extract(data, filename=name)
    assert result.rows_read == EXPECTED["rows_read"]
    assert (result.accepted, result.repaired, result.rejected) == (EXPECTED["accepted"], EXPECTED["repaired"], EXPECTED["rejected"])
    assert result.skipped_rows["row"].tolist() == EXPECTED["skipped"]
    problems = result.problems
    assert sorted(set(problems.loc[problems["action"] == "rejected", "row"])) == EXPECTED["rejected_rows"]
    assert sorted(set(problems.loc[problems["action"] != "rejected", "row"])) == EXPECTED["repaired_rows"]
    assert result.study_date == pd.Timestamp(EXPECTED["study_date"])
    assert result.study_date_source == "title row"
    assert_every_row_accounted(result, 21)
    policies = result.policies.set_index("source_row")
    # 43961 is an Excel serial (2020-05-10) in the workbooks; the CSV writes it as text.
    assert policies.loc[8, "issue_date"] == pd.Timestamp("2020-05-10")
    assert policies.loc[6, "annual_premium"] == 5000.0  # "0.5万"
    assert policies.loc[9, "status"] == "reinstated"  # 有效 + 复效日期
    assert pd.isna(policies.loc[10, "annual_premium"])  # -300 blanked
    assert policies.loc[19, "policy_id"].startswith("886")  # full-width digits
    assert policies.loc[5, "lapse_date"] == pd.Timestamp("2021-04-05")


def test_rejections_and_repairs_say_why() -> None:
    problems = load_extract(messy_workbook(), filename="m.xlsx").problems
    problems = problems.assign(detail=problem_details(problems, "en")).set_index("row")
    assert "'2023-13-45' is not a date" in problems.loc[13, "detail"]
    assert "is before the issue date" in problems.loc[15, "detail"]
    assert "after the study date 2024-06-30" in problems.loc[16, "detail"]
    assert "exact copy of row 4" in problems.loc[17, "detail"]
    assert "same policy number as row 5" in problems.loc[18, "detail"] and "status" in problems.loc[18, "detail"]
    assert "negative" in problems.loc[10, "detail"]


def test_duplicate_headers_are_renamed_and_reported() -> None:
    result = load_extract(messy_workbook(), filename="m.xlsx")
    assert "备注.1" in result.headers
    notes = result.column_notes
    assert ((notes["kind"] == "duplicate_header") & (notes["column"] == "备注.1")).any()


def test_column_notes_have_their_text_in_both_languages() -> None:
    """Every whole-column note names its catalogue text; the English detail is that text filled in."""
    from analysis.report.catalogue import CATALOGUE, translate

    notes = load_extract(messy_workbook(), filename="m.xlsx").column_notes
    assert {"duplicate_header", "dates_reformatted", "numbers_reformatted"} <= set(notes["note"])
    for note, params, detail in zip(notes["note"], notes["params"], notes["detail"]):
        entry = CATALOGUE[f"note.{note}"]
        assert entry["zh"] and entry["en"]
        assert detail == translate(f"note.{note}", "en", **params)
        assert set(re.findall(r"{(\w+)}", entry["zh"])) == set(re.findall(r"{(\w+)}", entry["en"])) == set(params)
    renamed = notes[notes["note"] == "duplicate_header"].iloc[0]
    assert renamed["detail"] == "header '备注' appears more than once; this copy was renamed '备注.1'"


def test_sheet_picker_and_unknown_sheet() -> None:
    data = messy_workbook()
    assert load_extract(data, filename="m.xlsx").sheets == ("保单明细", "说明")
    with pytest.raises(ExtractError, match="no sheet 'nope'"):
        load_extract(data, filename="m.xlsx", sheet="nope")


def test_study_date_override_and_latest_date_fallback() -> None:
    data = "保单号,生效日期,保单状态,状态日期\n1,2020-01-01,有效,\n2,2020-02-01,退保,2022-03-04\n".encode()
    fallback = load_extract(data, filename="a.csv")
    assert (fallback.study_date, fallback.study_date_source) == (pd.Timestamp("2022-03-04"), "latest date")
    forced = load_extract(data, filename="a.csv", study_date="2023-12-31")
    assert (forced.study_date, forced.study_date_source) == (pd.Timestamp("2023-12-31"), "argument")
    preset = MappingPreset(settings={"study_date": "2023-06-30"})
    assert load_extract(data, filename="a.csv", preset=preset).study_date == pd.Timestamp("2023-06-30")


def test_grain_policy_plus_coverage_keeps_riders() -> None:
    data = "保单号,险种代码,生效日期,保单状态\nP1,MAIN,2020-01-01,有效\nP1,RIDER,2020-01-01,有效\n".encode()
    assert load_extract(data, filename="a.csv").rejected == 1
    both = load_extract(data, filename="a.csv", preset=MappingPreset(settings={"grain": "policy+coverage"}))
    assert (both.accepted, both.rejected) == (2, 0)


def test_unknown_statuses_land_in_the_unmapped_bucket_and_a_preset_maps_them() -> None:
    data = "保单号,生效日期,保单状态,状态日期\n1,2020-01-01,A1,2021-02-03\n2,2020-01-01,有效,\n".encode()
    result = load_extract(data, filename="a.csv")
    assert result.status_counts == {"in_force": 1, "unmapped": 1}
    mapped = load_extract(data, filename="a.csv", preset=MappingPreset(status_values={"A1": "lapsed"}))
    assert mapped.status_counts == {"in_force": 1, "lapsed": 1}


def test_an_exit_without_any_date_is_rejected_not_counted_in_force() -> None:
    data = "保单号,生效日期,保单状态,状态日期\n1,2020-01-01,失效,\n2,2020-01-01,退保,2021-01-01\n3,2020-01-01,有效,\n".encode()
    result = load_extract(data, filename="a.csv")
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.problems.iloc[0]["kind"] == "exit_without_date" and result.problems.iloc[0]["row"] == 2


def test_a_row_whose_first_cell_starts_like_a_footer_but_has_an_issue_date_is_a_policy() -> None:
    data = "险种名称,保单号,生效日期,保单状态\nTotal Protect 20,P1,2020-01-01,有效\n合计,,,\n".encode()
    result = load_extract(data, filename="a.csv")
    assert result.rows_read == 1 and result.accepted == 1
    assert result.skipped_rows["row"].tolist() == [1, 3]


def test_a_reinstated_policy_without_a_lapse_date_is_flagged_not_dated_from_its_paid_to_date() -> None:
    data = "保单号,生效日期,保单状态,复效日期,交至日期\nP1,2020-01-01,复效,2023-06-01,2025-03-01\n".encode()
    result = load_extract(data, filename="a.csv", study_date="2024-12-31")
    assert result.policies["lapse_date"].isna().all() if "lapse_date" in result.policies else True
    assert result.problems.iloc[0]["kind"] == "reinstated_without_lapse"


def test_ragged_rows_are_rejected_with_their_line() -> None:
    data = "保单号,生效日期,保单状态\n1,2020-01-01,有效\n2,2020-01-01,有效,extra,fields\n3,2020-01-01,有效\n".encode()
    result = load_extract(data, filename="a.csv")
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.problems.iloc[0]["row"] == 3 and "has 5 fields" in problem_details(result.problems, "en").iloc[0]
    assert result.policies["source_row"].tolist() == [2, 4]


def test_mixed_encodings_in_one_csv_are_decoded_line_by_line() -> None:
    data = "保单号,生效日期,保单状态,状态日期\n1,2020-01-01,有效,\n".encode() + "2,2020-01-01,失效,2021-03-02\n".encode("gb18030")
    result = load_extract(data, filename="a.csv")
    assert result.status_counts == {"in_force": 1, "lapsed": 1}
    assert (result.column_notes["kind"] == "other_encoding").any()


def test_parquet_is_read() -> None:
    frame = pd.DataFrame(
        {
            "保单号": ["1", "2"],
            "生效日期": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "保单状态": ["有效", "退保"],
            "状态日期": pd.to_datetime([None, "2022-01-01"]),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    result = load_extract(buffer.getvalue(), filename="a.parquet")
    assert result.status_counts == {"in_force": 1, "surrendered": 1}


# --- bad input: each gets a clear message ------------------------------------------


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("empty.csv", b"", "empty_file", "empty"),
        ("blank.csv", b"\n\n  \n", "empty_file", "empty"),
        ("header.csv", "保单号,生效日期,保单状态\n".encode(), "header_only", "no policy rows"),
        ("photo.xlsx", _png(), "not_a_table", "PNG image"),
        ("broken.xlsx", messy_workbook()[:3000], "corrupt_workbook", "corrupt"),
        ("noise.xlsx", b"not a workbook at all", "corrupt_workbook", "not one"),
        (
            "locked.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le"),
            "encrypted_workbook",
            "password",
        ),
        ("noid.csv", "姓名,生效日期,保单状态\n张三,2020-01-01,有效\n".encode(), "missing_required", "policy number"),
        ("nodates.csv", "保单号,生效日期,保单状态\n1,abc,有效\n2,xyz,有效\n".encode(), "no_valid_dates", "none of them is a date"),
    ],
)
def test_bad_files_get_a_clear_error(name: str, data: bytes, code: str, words: str) -> None:
    with pytest.raises(ExtractError, match=words) as info:
        load_extract(data, filename=name)
    assert info.value.code == code


def test_files_above_the_upload_limit_name_the_limit() -> None:
    with pytest.raises(ExtractError, match="upload limit of 1 MB") as info:
        load_extract(b"x" * 2_000_000, filename="big.csv", max_bytes=1_000_000)
    assert info.value.params["limit"] == "1"


def test_missing_id_message_lists_what_was_found() -> None:
    with pytest.raises(ExtractError, match="found: 姓名, 生效日期, 保单状态"):
        load_extract("姓名,生效日期,保单状态\n张三,2020-01-01,有效\n".encode(), filename="a.csv")


def test_an_optional_column_of_non_dates_is_left_out_not_fatal() -> None:
    data = "保单号,生效日期,保单状态,交至日期\n1,2020-01-01,有效,abc\n".encode()
    result = load_extract(data, filename="a.csv")
    assert "paid_to_date" not in result.mapping
    assert (result.column_notes["kind"] == "unusable_column").any()
    assert result.accepted == 1


def test_account_table_lists_skipped_and_problem_rows() -> None:
    table = account_table(load_extract(messy_workbook(), filename="m.xlsx"))
    assert set(table["verdict"]) == {"skipped", "rejected", "repaired", "flagged"}  # row 9: reinstated, no lapse date
    assert table["row"].is_monotonic_increasing


# --- the two real data sets with their presets -----------------------------------------


def test_uslapseagent_loads_with_every_row_accounted(root, shared_data) -> None:
    result = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data/presets/uslapseagent.toml"))
    assert result.rows_read == 29317 and result.accepted == 29317
    assert_every_row_accounted(result, 29318)
    assert result.status_counts == {"in_force": 14453, "lapsed": 2482, "surrendered": 11098, "death_claim": 1284}
    # the exit date is issue + duration quarters; in-force policies are censored there
    first = result.policies.iloc[0]
    assert first["status_date"] == pd.Timestamp("1995-06-29")  # duration 0.01 quarter = 0 days
    assert result.policies.loc[result.policies["status"] == "in_force", "observed_to"].notna().all()


def test_eusaving_loads_with_every_row_accounted(root, shared_data) -> None:
    result = load_extract(shared_data / "eusavingULnoPS.csv", preset=load_preset(root / "data/presets/eusavingULnoPS.toml"))
    assert result.rows_read == 21921 and result.accepted == 21921
    assert_every_row_accounted(result, 21922)
    assert result.study_date == pd.Timestamp("2008-01-01")
    assert (result.policies["payment_frequency"] == 0).all()


def test_a_gbk_line_far_below_a_utf8_head_is_still_decoded() -> None:
    head = "保单号,生效日期,保单状态,状态日期\n".encode()
    body = b"".join(f"{i},2020-01-01,active,\n".encode() for i in range(20_000))  # > 200 kB of plain UTF-8
    data = head + body + "99999,2020-01-01,退保,2021-05-06\n".encode("gb18030")
    result = load_extract(data, filename="late_gbk.csv")
    assert result.policies["status"].iloc[-1] == "surrendered"
    assert result.rows_read == 20_001


def test_one_mistyped_future_date_does_not_move_the_study_date() -> None:
    rows = "".join(f"{i},2020-01-{(i % 28) + 1:02d},有效,\n" for i in range(2000))
    data = ("保单号,生效日期,保单状态,状态日期\n" + rows + "X,2020-02-01,退保,2099-03-01\n").encode()
    result = load_extract(data, filename="a.csv")
    assert result.study_date < pd.Timestamp("2021-01-01")
    flagged = result.problems[result.problems["kind"] == "date_after_study"]
    assert flagged["action"].tolist() == ["flagged"] and "2099-03-01" in problem_details(flagged, "en").iloc[0]


def test_row_numbers_stay_right_after_a_quoted_field_with_a_line_break() -> None:
    data = '保单号,生效日期,保单状态,备注\n1,2020-01-01,有效,"two\nlines"\n2,2020-13-45,有效,\n'.encode()
    result = load_extract(data, filename="a.csv")
    assert result.problems.iloc[0]["row"] == 4  # the bad date is on line 4 of the file
    assert result.policies["source_row"].tolist() == [2]


def test_a_waiver_column_is_read_as_yes_or_no() -> None:
    data = "保单号,生效日期,保单状态,豁免保费\n1,2020-01-01,有效,是\n2,2020-01-01,有效,否\n".encode()
    result = load_extract(data, filename="a.csv")
    assert result.mapping["waiver"].source == "豁免保费"
    assert result.policies["waiver"].tolist() == [True, False]


# --- found by fuzzing (tests/ingest/test_fuzz.py) ------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_unicode_text_exports_are_read(encoding: str) -> None:
    # Excel's "Unicode text" export is tab-separated UTF-16 with a byte-order mark; it was refused as binary.
    data = "保单号\t生效日期\t保单状态\n1\t2020-01-01\t有效\n".encode(encoding)
    result = load_extract(data, filename="unicode.txt")
    assert (result.rows_read, result.accepted, result.encoding) == (1, 1, encoding)


def test_a_byte_order_mark_and_nothing_else_is_an_empty_file() -> None:
    with pytest.raises(ExtractError, match="empty") as info:
        load_extract(b"\x00\x00\xfe\xff", filename="a.csv")
    assert info.value.code == "empty_file"


def test_only_separators_and_blank_lines_is_an_empty_file() -> None:
    with pytest.raises(ExtractError, match="empty") as info:
        load_extract(b"\n\n\n\n,,,\n", filename="a.csv")
    assert info.value.code == "empty_file"


def test_a_header_without_a_final_line_break_is_header_only() -> None:
    # Arrow's "Could not skip initial 1 rows" came out as "could not be split into columns".
    with pytest.raises(ExtractError, match="no policy rows") as info:
        load_extract("标题\n保单号,生效日期,保单状态".encode(), filename="a.csv")
    assert info.value.code == "header_only" and info.value.params["row"] == "2"


def test_a_damaged_member_of_a_sound_zip_is_a_corrupt_workbook() -> None:
    # A flipped byte inside the sheet gave zipfile's BadZipFile (bad CRC) or zlib.error, uncaught.
    data = bytearray(messy_workbook())
    at = bytes(data).find(b"xl/worksheets/sheet1.xml") + 200  # inside the sheet's compressed data
    data[at] ^= 0xFF
    with pytest.raises(ExtractError, match="corrupt") as info:
        load_extract(bytes(data), filename="m.xlsx")
    assert info.value.code == "corrupt_workbook"


@pytest.mark.parametrize("breaker", ["\x0c", "\u2028", "\x1c", "\x85"])
def test_a_title_with_a_character_python_takes_for_a_line_break_keeps_the_header_line(breaker: str) -> None:
    # str.splitlines ends lines at these, Arrow does not: the header was looked for one line off
    # and the first policy was taken for the header.
    data = f"某某人寿{breaker}保单明细,,\n保单号,生效日期,保单状态\n1,2020-01-01,有效\n2,2020-01-01,有效\n".encode()
    result = load_extract(data, filename="a.csv")
    assert result.header_row == 2 and result.accepted == 2
    assert result.policies["source_row"].tolist() == [3, 4]


def test_a_title_with_a_quoted_line_break_keeps_the_header_line() -> None:
    data = '"某某人寿\n保单明细",,\n保单号,生效日期,保单状态\n1,2020-01-01,有效\n'.encode()
    result = load_extract(data, filename="a.csv")
    assert result.header_row == 3 and result.policies["source_row"].tolist() == [4]


def test_a_field_longer_than_the_csv_module_takes_in_the_first_lines() -> None:
    # csv.Error "field larger than field limit (131072)" escaped the door.
    data = ("保单号,生效日期,保单状态,备注\n1,2020-01-01,有效," + "x" * 200_000 + "\n").encode()
    assert load_extract(data, filename="a.csv").accepted == 1


def test_a_blank_header_cell_in_a_workbook_is_named_and_noted() -> None:
    # It was named "<NA>", without a note.
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["保单号", None, "生效日期", "保单状态"])
    book.active.append(["1", "x", "2020-01-01", "有效"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = load_extract(buffer.getvalue(), filename="a.xlsx")
    assert result.headers == ["保单号", "column_2", "生效日期", "保单状态"]
    assert (result.column_notes["kind"] == "blank_header").any()


def test_a_parquet_date_beyond_2262_is_an_invalid_date_not_a_crash() -> None:
    frame = pd.DataFrame(
        {
            "保单号": ["1", "2"],
            "生效日期": pd.Series([dt.datetime(2020, 1, 1), dt.datetime(2263, 1, 1)], dtype=object),
            "保单状态": ["有效", "有效"],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    result = load_extract(buffer.getvalue(), filename="a.parquet")
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.problems.iloc[0]["kind"] == "invalid_date"


@pytest.mark.parametrize(
    "data",
    [
        "保单号,生效日期,保单状态,交至日期\n1,2020-01-01,失效,2262-04-01\n",  # paid-to + grace overflowed
        "保单号,生效日期,保单状态,状态日期\n1,1900-01-01,永久失效,1677-09-23\n",  # status date − 2 years overflowed
        "保单号,生效日期,保单状态,复效日期\n1,2020-01-01,有效,2262-04-11\n",
    ],
)
def test_dates_outside_1800_to_2200_are_invalid_so_date_arithmetic_cannot_overflow(data: str) -> None:
    result = load_extract((data + "2,2020-01-01,失效,2021-01-01\n").encode(), filename="a.csv")
    assert result.rows_read == 2
    assert problem_details(result.problems, "en").str.contains("not a date between the years 1800 and 2200").any()


def test_a_duration_beyond_any_date_is_not_a_duration() -> None:
    data = "保单号,生效日期,保单状态,duration\n1,2020-01-01,退保,3\n2,2020-01-01,退保,1e308\n3,,退保,500\n".encode()
    preset = MappingPreset(settings={"duration_column": "duration", "duration_unit": "years"})
    result = load_extract(data, filename="a.csv", preset=preset)
    flagged = result.problems[result.problems["kind"] == "invalid_number"]
    assert flagged["row"].tolist() == [3, 4]
    assert result.policies.set_index("source_row").loc[2, "status_date"] == pd.Timestamp("2022-12-31")  # + 1,095 days


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("columns = 5", "should be a section"),
        ("[settings]\ngrace_days = 1000000000000", "from 0 to 3650"),
        ("[settings]\nreinstatement_years = -1", "from 0 to 100"),
    ],
)
def test_presets_that_no_contract_or_toml_section_allows_are_refused(text: str, words: str) -> None:
    from analysis import parse_preset

    with pytest.raises(ExtractError, match=words) as info:
        parse_preset(text)
    assert info.value.code == "bad_preset"
    with pytest.raises(ExtractError, match="from 0 to 3650"):
        load_extract(messy_csv(encoding="utf-8"), filename="m.csv", preset=MappingPreset(settings={"grace_days": 10**12}))


def test_status_counts_leave_out_statuses_a_filtered_book_does_not_hold() -> None:
    """The door keeps statuses as categories; a filtered book keeps them all, with no policy in some."""
    import dataclasses

    from artefacts import sample_extract

    loaded = sample_extract()
    lapsed = loaded.policies[loaded.policies["status"] == "lapsed"]
    assert isinstance(lapsed["status"].dtype, pd.CategoricalDtype) and len(lapsed["status"].cat.categories) > 1
    assert dataclasses.replace(loaded, policies=lapsed).status_counts == {"lapsed": len(lapsed)}
