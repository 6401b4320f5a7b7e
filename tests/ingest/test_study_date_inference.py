"""The study date inferred from the data: paid-to dates and a lone later date do not move it; its source is named."""

from __future__ import annotations

import pandas as pd

from analysis import MappingPreset, load_extract
from analysis.ingest.study_date import ISOLATING_GAP_DAYS, JUDGED_FROM, SUPPORT_DATES, inferred_study_date


def no_title_extract(*, with_outlier: bool = True) -> bytes:
    """36 policies issued on the 10th of each month from 2021-07-10 to 2024-06-10, no title row.

    Every policy has a paid-to date a year after its issue anniversary (in force: its next
    due date, up to 2025-06-10, after the extract). Policy 12 (issued 2022-06-10) is
    reinstated, on 2022-09-01; with ``with_outlier`` policy 30 (issued 2023-12-10) carries a
    mistyped reinstatement date 2025-04-20, ten months after everything else.
    """
    lines = ["保单号,生效日期,保单状态,交至日期,复效日期"]
    for n in range(36):
        issued = pd.Timestamp("2021-07-10") + pd.DateOffset(months=n)
        paid_to = issued + pd.DateOffset(years=1)
        reinstated = ""
        if n == 11:
            reinstated = "2022-09-01"
        elif n == 29 and with_outlier:
            reinstated = "2025-04-20"
        status = "复效" if reinstated else "有效"
        lines.append(f"P{n + 1:02d},{issued:%Y-%m-%d},{status},{paid_to:%Y-%m-%d},{reinstated}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_a_lone_later_date_and_the_paid_to_dates_do_not_move_the_study_date() -> None:
    """By hand: 36 issue dates + 2 reinstatement dates = 38 dates (≥ 30, so outliers are judged).

    The paid-to dates (up to 2025-06-10) are not looked at. The latest date, 2025-04-20, is
    one date (fewer than 3) after 314 days without any (2024-06-10 → 2025-04-20, more than
    92): isolated, a typing error. The latest date before that gap is the last issue date,
    2024-06-10, in the column 生效日期. (The bulk rule alone would not drop it: the 99.9 %
    quantile of 38 dates is nearly the outlier itself.)
    """
    result = load_extract(no_title_extract(), filename="a.csv")
    assert result.study_date_source == "latest date"
    assert result.study_date_inferred
    assert result.study_date_column == "生效日期"
    assert result.study_date == pd.Timestamp("2024-06-10")
    # The reinstatement ten months later is a date after the study date, not the study date.
    assert result.summary()["study_date_source"] == "latest date" and result.summary()["study_date_column"] == "生效日期"


def test_the_latest_date_before_an_isolating_gap_is_the_study_date() -> None:
    """By hand: 40 dates, 4 a day from 2024-06-21 to 2024-06-30, then 2025-04-20 and 2025-05-02.

    The last two are 2 dates (fewer than 3) after a gap of 294 days (more than 92): isolated.
    The study date is 2024-06-30. With a third date after the gap (2025-05-10) they are no
    longer isolated: the latest, 2025-05-10, is the study date.
    """
    dates = [f"2024-06-{day}" for day in range(21, 31) for _ in range(4)] + ["2025-04-20", "2025-05-02"]
    assert len(dates) == 42 >= JUDGED_FROM and SUPPORT_DATES == 3 and ISOLATING_GAP_DAYS == 92
    assert inferred_study_date(pd.Series(pd.to_datetime(dates))) == pd.Timestamp("2024-06-30")
    assert inferred_study_date(pd.Series(pd.to_datetime([*dates, "2025-05-10"]))) == pd.Timestamp("2025-05-10")


def test_a_small_file_takes_its_latest_date() -> None:
    """Fewer than 30 dates: too few to call one an outlier (3 dates here; the latest, 2022-03-04, is taken)."""
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-02-01", "2022-03-04"]))
    assert inferred_study_date(dates) == pd.Timestamp("2022-03-04")
    assert inferred_study_date(pd.Series([], dtype="datetime64[ns]")) is None


def test_a_cluster_of_mistyped_years_does_not_count() -> None:
    """5,000 dates in 2024 (5 a day from 2024-01-01) and 3 dates typed 2099-01-01: 3 dates of company, but far beyond the bulk.

    The 99.9 % quantile of 5,003 dates lies in 2024; 2099 is more than 31 days beyond it. The last 2024 date is the study date.
    """
    days = pd.date_range("2024-01-01", periods=1000, freq="D")
    dates = pd.Series(list(days.repeat(5)) + [pd.Timestamp("2099-01-01")] * 3)
    assert inferred_study_date(dates) == days[-1]


def test_a_stated_study_date_wins_and_names_no_column() -> None:
    preset = MappingPreset(settings={"study_date": "2024-06-30"})
    stated = load_extract(no_title_extract(), filename="a.csv", preset=preset)
    assert (stated.study_date, stated.study_date_source, stated.study_date_column) == (pd.Timestamp("2024-06-30"), "preset", "")
    assert not stated.study_date_inferred
    titled = load_extract("统计截止日：2024-06-30\n".encode() + no_title_extract(), filename="t.csv")
    assert (titled.study_date, titled.study_date_source) == (pd.Timestamp("2024-06-30"), "title row")


def test_dates_beyond_what_nanoseconds_hold_do_not_break_the_inference() -> None:
    """Found by the random fuzz run: a Parquet column in seconds held the year 5473; pooling it with
    nanosecond dates overflowed. Such dates are left out of the inference (the door flags them)."""
    import numpy as np

    from analysis.ingest.study_date import _pooled

    columns = {
        "issue_date": np.array(["2020-01-01", "2021-05-05"], dtype="datetime64[ns]"),
        "reinstatement_date": np.array(["5473-05-02", "2021-06-01"], dtype="datetime64[s]"),
    }
    pooled = _pooled(columns, ["issue_date", "reinstatement_date"])
    assert pooled.tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-05-05"), pd.Timestamp("2021-06-01")]
    assert inferred_study_date(pooled) == pd.Timestamp("2021-06-01")
