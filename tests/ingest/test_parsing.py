"""Every parser rule, on small hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.parsing import code_lookup, id_number_facts, is_number, parse_dates, parse_ids, parse_numbers
from analysis.schema import FREQUENCY_ALIASES, GENDER_ALIASES, STATUS_ALIASES


def text(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


@pytest.mark.parametrize(
    "written",
    [
        "2023-05-06",
        "2023/5/6",
        "2023/05/06",
        "2023年5月6日",
        "20230506",
        "2023.5.6",
        "2023-05-06 00:00:00",
        "２０２３－０５－０６",
        "45052",
        "45052.0",
    ],
)
def test_every_date_form_reads_as_the_same_day(written: str) -> None:
    parsed = parse_dates(text(written))
    assert parsed.values.iloc[0] == pd.Timestamp("2023-05-06")
    assert not parsed.invalid.iloc[0]


def test_excel_1904_serials_use_the_mac_origin() -> None:
    # 1904 system: day 0 is 1904-01-01, so 2023-05-06 is 45052 - 1462 = 43590.
    parsed = parse_dates(text("43590"), date1904=True)
    assert parsed.values.iloc[0] == pd.Timestamp("2023-05-06")


def test_impossible_dates_are_invalid_and_blanks_are_not() -> None:
    parsed = parse_dates(text("2023-02-30", "2023-13-45", "abc", "", None, "  "))
    assert parsed.invalid.tolist() == [True, True, True, False, False, False]
    assert parsed.values.isna().all()


def test_real_datetimes_pass_through() -> None:
    parsed = parse_dates(pd.Series(pd.to_datetime(["2020-01-01 13:45", "2021-02-03"], format="mixed")))
    assert parsed.values.tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-02-03")]


def test_mixed_formats_in_one_column_count_the_reformatted() -> None:
    parsed = parse_dates(text("2023-05-06", "2023/5/6", "2023年5月6日", "20230506", "45052"))
    assert (parsed.values == pd.Timestamp("2023-05-06")).all()
    # The ISO reader already takes 2023/5/6 and 20230506; 年月日 and the serial need more.
    assert parsed.reformatted == 2


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("3,231.46", 3231.46),
        ("¥3231", 3231.0),
        ("￥3,231", 3231.0),
        ("3231元", 3231.0),
        ("0.5万", 5000.0),
        ("1.2亿", 1.2e8),
        ("１，０００", 1000.0),
        ("(300)", -300.0),
        ("-300", -300.0),
        ("12%", 0.12),
        (" 42 ", 42.0),
        ("1e3", 1000.0),
    ],
)
def test_numbers_stored_as_text(written: str, value: float) -> None:
    parsed = parse_numbers(text(written))
    assert parsed.values.iloc[0] == pytest.approx(value)
    assert not parsed.invalid.iloc[0]


def test_non_numbers_are_invalid() -> None:
    parsed = parse_numbers(text("abc", "1.2.3", "", None))
    assert parsed.invalid.tolist() == [True, True, False, False]


def map_codes(raw: pd.Series, vocabulary: dict[str, object]) -> tuple[pd.Series, pd.Series]:
    """The codes of a column through a vocabulary, and where a word is not in it (as the door reads them)."""
    lookup = code_lookup(raw, vocabulary)
    return pd.Series(lookup.mapped[lookup.codes], index=raw.index, dtype=object), lookup.unknown(raw.index)


def test_code_vocabularies() -> None:
    statuses, unknown = map_codes(text("有效", "效力中止", "永久失效", "犹豫期撤单", "Lapsed", " 退保 ", "A9", ""), STATUS_ALIASES)
    assert statuses.tolist()[:6] == ["in_force", "lapsed", "terminated_after_lapse", "free_look_cancelled", "lapsed", "surrendered"]
    assert unknown.tolist() == [False] * 6 + [True, False]
    genders, _ = map_codes(text("男", "女", "M", "f", "1", "2", "Female"), GENDER_ALIASES)
    assert genders.tolist() == ["M", "F", "M", "F", "M", "F", "F"]
    frequencies, _ = map_codes(text("趸交", "月交", "季交", "半年交", "年交", "12", "unique"), FREQUENCY_ALIASES)
    assert frequencies.tolist() == [0, 1, 3, 6, 12, 12, 0]


def test_ids_stay_text_and_float_tails_are_stripped() -> None:
    ids, stripped, mangled = parse_ids(text("000123", "12345.0", "886100000000000001"))
    assert ids.tolist() == ["000123", "12345", "886100000000000001"]
    assert stripped.tolist() == [False, True, False]
    assert not mangled.any()


def test_scientific_notation_ids_are_flagged() -> None:
    _, _, mangled = parse_ids(text("8.611E+19", "886100000000000001"))
    assert mangled.tolist() == [True, False]


def test_genuine_18_digit_ids_are_not_flagged() -> None:
    # Random 18-digit text IDs: some are exactly binary doubles (1 in 128), none were damaged.
    rng = np.random.default_rng(1)
    ids = text(*[f"886{n:015d}" for n in rng.integers(0, 10**15, size=2000)])
    _, _, mangled = parse_ids(ids, from_workbook=True)
    assert not mangled.any()


def test_a_column_of_excel_padded_ids_is_flagged() -> None:
    ids = text(*[f"8611234567890{i:02d}00000" for i in range(10)])
    _, _, mangled = parse_ids(ids)
    assert mangled.all()


def test_id_number_gives_birth_date_and_sex() -> None:
    birth, sex = id_number_facts(text("11010519900307123X", "110105199003071244", "12345"))
    assert birth.iloc[0] == pd.Timestamp("1990-03-07")
    assert sex.tolist()[:2] == ["M", "F"]
    assert pd.isna(birth.iloc[2]) and pd.isna(sex.iloc[2])


def test_a_time_zone_after_the_time_keeps_the_day_as_written() -> None:
    # Found by fuzzing: "…Z" made the column time-zone aware and the parse crashed.
    parsed = parse_dates(text("2000-01-01T00:00:00Z", "2023-05-06T23:30:00+08:00", "2023-05-06T01:00:00-05", "2023-05-06"))
    assert parsed.values.tolist() == [pd.Timestamp("2000-01-01")] + [pd.Timestamp("2023-05-06")] * 3
    assert not parsed.invalid.any()


def test_datetimes_beyond_what_a_date_column_holds_are_invalid_not_a_crash() -> None:
    # Found by fuzzing: a Parquet timestamp in the year 2263 overflowed datetime64[ns].
    raw = pd.Series(np.array(["2263-01-01", "2020-05-06T10:00", "NaT", "0001-01-01"], dtype="datetime64[us]"))
    parsed = parse_dates(raw)
    assert parsed.values.tolist()[1] == pd.Timestamp("2020-05-06")
    assert parsed.invalid.tolist() == [True, False, False, True]


def test_infinite_amounts_are_not_numbers() -> None:
    # Found by fuzzing: "1e309" and "1e308万" were read as infinite premiums, which no sum survives.
    parsed = parse_numbers(text("1e309", "1e308万", "inf", "9" * 40, "1e308"))
    assert parsed.invalid.tolist() == [True, True, True, False, False]
    assert parsed.values.iloc[3] == pytest.approx(1e40)


@pytest.mark.parametrize(
    ("value", "typed", "written"),
    [
        (3, True, True),
        (3.5, True, True),
        (np.int64(3), True, True),
        (True, True, True),  # float() reads a bool, so it counts as a number
        ("3", False, True),  # a string counts only where text may be a number (a typed condition)
        (" 30 ", False, True),
        ("0101", False, True),  # a branch code: shown as written, compared as a number when typed
        ("3a", False, False),
        (None, False, False),
        ([3], False, False),
    ],
)
def test_is_number_tells_numbers_and_numbers_written_as_text(value: object, typed: bool, written: bool) -> None:
    assert is_number(value, text=False) is typed
    assert is_number(value, text=True) is written
