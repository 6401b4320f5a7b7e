"""Exits dated by rule, dates after the study date, reinstatements with their lapse behind them (issue [2/7]).

A Chinese 保单明细 often has a status and a paid-to date (交至日期) but no status date: every
surrender, death, maturity and free-look cancellation used to be rejected as
``exit_without_date``. The figures below are computed by hand in the comments.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from analysis import LoadResult, MappingPreset, load_extract
from analysis.ingest.ledger import problem_details
from analysis.ingest.presets import EXIT_DATING_RULES, parse_preset
from analysis.persistency.overview import status_snapshot
from analysis.persistency.ratios import PersistencyOptions, persistency_ratios
from analysis.study.run import StudyRequest, run_study

STUDY = pd.Timestamp("2024-12-31")
HEADER = "保单号,生效日期,保单状态,交至日期,复效日期,缴费方式"

#: (policy, issue, status, paid-to, reinstated) of an extract with no status-date column; annual payers.
ROWS = [
    # 12 in force: their paid-to dates lie after the study date, as a snapshot's routinely do (not flagged)
    *[(f"S{m:02d}", f"2022-{m:02d}-15", "有效", f"2025-{m:02d}-15", "") for m in range(1, 13)],
    # surrenders: dated at the paid-to date
    ("T01", "2022-01-05", "退保", "2023-01-05", ""),  # paid the 1st year only
    ("T02", "2022-02-05", "退保", "2023-02-05", ""),
    ("T03", "2022-03-05", "退保", "2023-03-05", ""),
    ("T04", "2022-04-05", "退保", "2023-04-05", ""),
    ("T05", "2022-05-05", "退保", "2024-05-05", ""),  # paid two years
    ("T06", "2022-06-05", "退保", "2024-06-05", ""),
    ("T07", "2022-07-05", "退保", "2024-07-05", ""),
    ("T08", "2022-08-05", "退保", "2024-08-05", ""),
    ("T09", "2023-06-01", "退保", "2025-06-01", ""),  # paid to after the study date: dated at the study date
    ("T10", "2022-09-05", "退保", "", ""),  # no date at all: rejected
    # deaths and maturities: dated at the paid-to date
    ("C01", "2022-03-20", "身故", "2023-03-20", ""),
    ("C02", "2022-10-20", "身故", "2024-10-20", ""),
    ("C03", "2022-11-20", "身故", "2021-11-20", ""),  # paid to before issue: dates nothing, rejected
    ("M01", "2022-01-25", "满期", "2023-01-25", ""),
    ("M02", "2022-02-25", "满期", "2024-02-25", ""),
    # free-look cancellations: issue + 15 days
    ("F01", "2022-04-10", "犹豫期撤单", "", ""),
    ("F02", "2022-05-20", "犹豫期撤单", "", ""),
    ("F03", "2022-12-20", "犹豫期撤单", "", ""),
    ("F04", "2024-12-20", "犹豫期撤单", "", ""),  # 2025-01-04 is after the study date: dated at the study date
    # lapses: paid-to + 60 days of grace + 1 day
    ("L01", "2022-06-15", "失效", "2023-06-15", ""),
    ("L02", "2022-07-15", "失效", "2023-07-15", ""),
    ("L03", "2022-08-15", "失效", "2023-08-15", ""),
    ("L04", "2022-09-15", "失效", "2024-09-15", ""),
    ("L05", "2022-10-15", "失效", "2024-11-15", ""),  # 2025-01-15 is after the study date: dated at the study date
    ("L06", "2022-11-15", "失效", "", ""),  # no date at all: rejected
    ("X01", "2022-02-15", "永久失效", "2023-02-15", ""),
    # reinstated: the lapse behind them
    ("R01", "2022-03-15", "复效", "2023-03-15", "2023-09-01"),  # lapse 2023-05-15, before the reinstatement
    ("R02", "2022-04-15", "复效", "2023-04-15", "2023-05-01"),  # 2023-06-15 would follow the reinstatement: flagged
    ("R03", "2022-05-15", "复效", "2025-05-15", "2024-03-01"),  # paid-to moved on after the reinstatement: flagged
    ("R04", "2022-06-20", "复效", "", "2023-10-01"),  # nothing places the lapse: flagged
]

#: The status date (surrender, death, maturity, free-look) or lapse date each exit is given, counted by hand.
STATUS_DATES = {
    "T01": "2023-01-05",
    "T02": "2023-02-05",
    "T03": "2023-03-05",
    "T04": "2023-04-05",
    "T05": "2024-05-05",
    "T06": "2024-06-05",
    "T07": "2024-07-05",
    "T08": "2024-08-05",
    "T09": "2024-12-31",  # the paid-to date 2025-06-01 lies after the study date
    "C01": "2023-03-20",
    "C02": "2024-10-20",
    "M01": "2023-01-25",
    "M02": "2024-02-25",
    "F01": "2022-04-25",  # 2022-04-10 + 15 days
    "F02": "2022-06-04",  # 2022-05-20 + 15 days (11 left in May, 4 in June)
    "F03": "2023-01-04",  # 2022-12-20 + 15 days
    "F04": "2024-12-31",  # 2024-12-20 + 15 = 2025-01-04, after the study date
}
LAPSE_DATES = {
    "L01": "2023-08-15",  # 2023-06-15 + 61 days: 15 left in June, 31 in July, 15 in August
    "L02": "2023-09-14",  # 2023-07-15 + 61: 16 + 31 + 14
    "L03": "2023-10-15",  # 2023-08-15 + 61: 16 + 30 + 15
    "L04": "2024-11-15",  # 2024-09-15 + 61: 15 + 31 + 15
    "L05": "2024-12-31",  # 2024-11-15 + 61 = 2025-01-15, after the study date
    "X01": "2023-04-17",  # 2023-02-15 + 61: 13 + 31 + 17
    "R01": "2023-05-15",  # 2023-03-15 + 61: 16 + 30 + 15, before the reinstatement on 2023-09-01
}


def undated_extract(rows: list[tuple[str, str, str, str, str]] = ROWS) -> bytes:
    """The extract as a CSV with a title row naming the study date, and no status-date column."""
    lines = ["某某人寿 个人寿险保单明细 统计截止日：2024-12-31,,,,,", HEADER]
    lines += [f"{policy},{issue},{status},{paid_to},{reinstated},年交" for policy, issue, status, paid_to, reinstated in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def loaded() -> LoadResult:
    return load_extract(undated_extract(), filename="undated.csv")


def _kinds(result: LoadResult) -> dict[tuple[str, str], int]:
    pairs = zip(result.problems["kind"].astype(str), result.problems["variant"].astype(str))
    return dict(Counter(pairs))


def test_every_exit_is_dated_by_its_rule(loaded: LoadResult) -> None:
    policies = loaded.policies.set_index("policy_id")
    assert loaded.study_date == STUDY and loaded.study_date_source == "title row"
    dated = policies["status_date"].dropna()
    assert {p: d.date().isoformat() for p, d in dated.items()} == STATUS_DATES
    lapsed = policies["lapse_date"].dropna()
    assert {p: d.date().isoformat() for p, d in lapsed.items()} == LAPSE_DATES


def test_the_account_counts_what_a_hand_count_gives(loaded: LoadResult) -> None:
    # 42 rows: 12 in force untouched; 3 rejected (T10, C03, L06: nothing dates them);
    # 27 repaired: 9 surrenders, 2 deaths, 2 maturities, 4 free-look, 5 lapses, 1 terminated,
    # 1 reinstated with its lapse dated, and 3 reinstated flagged without one.
    assert (loaded.rows_read, loaded.accepted, loaded.repaired, loaded.rejected) == (42, 12, 27, 3)
    assert _kinds(loaded) == {
        ("exit_dated", "paid_to"): 13,  # T01–T09, C01, C02, M01, M02
        ("exit_dated", "free_look"): 4,
        ("exit_dated", "lapse"): 6,  # L01–L05, X01
        ("exit_dated", "reinstated"): 1,  # R01
        ("date_after_study", "status_date_derived"): 2,  # T09, F04
        ("date_after_study", "lapse_date_derived"): 1,  # L05
        ("reinstated_without_lapse", ""): 3,  # R02, R03, R04
        ("exit_without_date", "no_status_or_paid_to"): 1,  # T10
        ("exit_without_date", "paid_to_before_issue"): 1,  # C03
        ("exit_without_date", "no_lapse_or_paid_to"): 1,  # L06
    }
    assert loaded.status_counts["surrendered"] == 9
    snapshot = status_snapshot(loaded.policies, study_date=loaded.study_date).set_index("item")["policies"]
    assert snapshot["surrendered"] == 9  # 累计退保: was 0 when every undated surrender was rejected


def test_the_sentences_name_the_rule_and_what_is_missing(loaded: LoadResult) -> None:
    problems = loaded.problems.assign(detail=problem_details(loaded.problems, "en"), zh=problem_details(loaded.problems, "zh"))
    by_row = problems.groupby("row")["detail"].apply(list)
    # CSV lines: the title is line 1, the header line 2, S01–S12 lines 3–14, T01 line 15 (T10 24, C03 27, F01 30).
    assert by_row[15] == [
        "status '退保' has no status date: dated at its paid-to date 2023-01-05 "
        "(paid to that day, so the exit came before the next premium)"
    ]
    assert by_row[24] == ["status '退保' has no status date and no paid-to date, so the exit cannot be placed in time"]
    assert by_row[27] == [
        "status '身故' has no date of its own, and its paid-to date 2021-11-20 is before the issue date 2022-11-20, "
        "so the exit cannot be placed in time"
    ]
    assert by_row[30] == ["status '犹豫期撤单' has no status date: dated at the issue date + the 15-day free-look period, 2022-04-25"]
    assert by_row[33] == [
        "status '犹豫期撤单' has no status date: dated at the issue date + the 15-day free-look period, 2025-01-04",
        "the rule dates the exit 2025-01-04, after the study date 2024-12-31; the status says it had happened by then, "
        "so it is dated at the study date",
    ]
    assert by_row[34] == [
        "status '失效' has no status or lapse date: the lapse is dated from the premium it missed, "
        "paid-to date 2023-06-15 + 60 days of grace + 1 day = 2023-08-15"
    ]
    assert by_row[39] == ["status '失效' has no status date, no lapse date and no paid-to date, so the lapse cannot be placed in time"]
    assert by_row[41] == [
        "status '复效', reinstated 2023-09-01 with no lapse date: the lapse is dated from the premium it missed, "
        "paid-to date 2023-03-15 + 60 days of grace + 1 day = 2023-05-15"
    ]
    assert (
        problems.set_index("row").loc[15, "zh"]
        == "状态“退保”没有状态日期：按交至日期 2023-01-05 推定（保费已交至该日，终止发生在下一期保费之前）"
    )


def test_the_cohort_study_counts_the_surrenders(loaded: LoadResult) -> None:
    surrenders = run_study(loaded.policies, StudyRequest(events=frozenset({"surrendered"})), study_date=loaded.study_date)
    by_year = surrenders.rates.groupby("period")["events"].sum()
    # Dated at the paid-to date, the surrenders of the 1st year's payers fall on the first
    # anniversary (policy year 2: T01–T04), those of two years' payers on the second (year 3:
    # T05–T08); T09 (issued 2023-06-01) at the study date, 18 months in: year 2.
    assert by_year[by_year > 0].to_dict() == {2: 5.0, 3: 4.0}
    voluntary = run_study(loaded.policies, StudyRequest(), study_date=loaded.study_date)
    # + lapses L01–L03 (13–14 months in: year 2), L04, L05 (26 months: year 3), X01 (14 months: year 2)
    # and R01's lapse episode (2023-05-15, 14 months: year 2) = 10 in year 2, 6 in year 3.
    by_year = voluntary.rates.groupby("period")["events"].sum()
    assert by_year[by_year > 0].to_dict() == {2: 10.0, 3: 6.0}


def test_persistency_counts_the_surrenders(loaded: LoadResult) -> None:
    table = persistency_ratios(loaded.policies, study_date=loaded.study_date, options=PersistencyOptions(months=(13,)))
    # Only the 2022 cohort has reached month 13 (2022-12-31 + 13 months = 2024-01-31 ≤ 2024-12-31).
    # Its 30 policies: 12 in force, T01–T08, L01–L05, X01, R01–R04 (deaths, maturities and
    # free-look cancellations are excluded; T10, L06, C03 rejected). Persisting at month 13:
    # 12 in force + T05–T08 (paid two years) + L04, L05 (paid to month 24, 25) + R02 (back
    # 2023-05-01, before month 13 on 2023-05-15) + R03 (paid to 2025) + R04 (no date: in force)
    # = 21; T01–T04, L01–L03, X01 and R01 missed the 2nd year's premium. 21 / 30 = 70 %.
    assert table[["cohort", "cohort_policies", "persisting"]].values.tolist() == [["2022", 30, 21]]
    assert table["persistency"].iloc[0] == pytest.approx(0.70)


def test_a_preset_switches_each_rule_off() -> None:
    off = MappingPreset(settings=dict.fromkeys(EXIT_DATING_RULES, False))
    result = load_extract(undated_extract(), filename="undated.csv", preset=off)
    # Nothing is dated by rule: 13 paid-to exits + 4 free-look + 6 lapses rejected, with T10, C03 and L06
    # (C03's paid-to date is before issue, but the rule that would use it is off); R01 is flagged, not dated.
    assert (result.accepted, result.repaired, result.rejected) == (12, 4, 26)
    assert _kinds(result) == {
        ("exit_without_date", "paid_to_rule_off"): 15,
        ("exit_without_date", "free_look_rule_off"): 4,
        ("exit_without_date", "lapse_rule_off"): 7,
        ("reinstated_without_lapse", ""): 4,
    }
    rejected = result.problems[result.problems["variant"] == "lapse_rule_off"]
    assert problem_details(rejected, "en").iloc[0] == (
        "status '失效' has no status or lapse date, and the preset switches off dating lapses from the paid-to date "
        "(date_lapses_from_paid_to = false), so the lapse cannot be placed in time"
    )


def test_the_free_look_period_is_a_preset_setting() -> None:
    preset = parse_preset("[settings]\nfree_look_days = 10\ndate_exits_at_paid_to = false\n")
    assert preset.free_look_days == 10 and not preset.dates_by_rule("date_exits_at_paid_to")
    assert MappingPreset().free_look_days == 15 and MappingPreset().dates_by_rule("date_free_look_at_issue")
    rows = [("F01", "2022-04-10", "犹豫期撤单", "", "")]
    result = load_extract(undated_extract(rows), filename="f.csv", preset=preset)
    assert result.policies["status_date"].tolist() == [pd.Timestamp("2022-04-20")]
    with pytest.raises(Exception, match="free_look_days"):
        parse_preset("[settings]\nfree_look_days = -3\n")


def test_a_status_date_as_written_is_kept_and_no_rule_overrides_it() -> None:
    data = "保单号,生效日期,保单状态,状态日期,交至日期\n1,2022-01-05,退保,2022-08-01,2023-01-05\n".encode()
    result = load_extract(data, filename="a.csv", study_date="2024-12-31")
    assert result.policies["status_date"].tolist() == [pd.Timestamp("2022-08-01")]
    assert (result.accepted, result.repaired) == (1, 0)


# --- dates after the study date -----------------------------------------------------------------


def test_dates_after_the_study_date_are_flagged_row_by_row_and_no_study_counts_them() -> None:
    data = (
        "保单号,生效日期,保单状态,状态日期,失效日期,复效日期\n"
        "A,2022-01-01,退保,2025-03-01,,\n"  # status date after the study date
        "B,2022-01-01,失效,,2025-02-01,\n"  # lapse date after the study date
        "C,2022-01-01,复效,2025-01-10,2023-06-01,2025-01-10\n"  # reinstatement (and its status date) after it
        "D,2025-01-01,有效,,,\n"  # issued after the study date: rejected, as before
        "E,2022-01-01,退保,2024-06-01,,\n"
    ).encode()
    result = load_extract(data, filename="a.csv", study_date="2024-12-31")
    flagged = result.problems[result.problems["kind"] == "date_after_study"]
    assert list(zip(flagged["row"], flagged["variant"], flagged["action"])) == [
        (2, "status_date", "flagged"),
        (3, "lapse_date", "flagged"),
        (4, "reinstatement_date", "flagged"),
        (4, "status_date", "flagged"),
        (5, "issue_date", "rejected"),
    ]
    words = problem_details(flagged, "en").tolist()
    assert words[1] == (
        "lapse date 2025-02-01 is after the study date 2024-12-31: the lapse is treated as not yet happened "
        "(the policy counts as in force up to the study date)"
    )
    assert words[2] == (
        "reinstatement date 2025-01-10 is after the study date 2024-12-31: the reinstatement is treated as not yet happened "
        "(the policy counts as lapsed from its lapse date)"
    )
    # The dates are kept as written; the study counts no event after the study date: of the
    # voluntary exits only E's surrender (2024-06-01) and C's lapse (2023-06-01) are events.
    study = run_study(result.policies, StudyRequest(), study_date=result.study_date)
    assert study.total_events == 2
