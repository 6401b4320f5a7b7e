"""The app-wide filter: one definition, applied by the cohort conditions on pandas and on every engine."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from artefacts import sample_extract

from analysis.errors import ExtractError
from analysis.study.cohorts import YOUNG_NEW_EARNERS, Condition, NamedCohort
from analysis.study.filters import BookFilter, filter_from_params, filter_params, filter_policies, filter_table

NEW_BUYERS = NamedCohort(key="new_buyers", name={"zh": "新客", "en": "New buyers"}, conditions=(Condition("首单客户", "==", "是"),))


@pytest.fixture()
def book() -> pd.DataFrame:
    """Six policies; the comments below count them by hand."""
    return pd.DataFrame(
        {
            "policy_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
            "channel": pd.array(["银保", "银保", "个险", "银保", None, "个险"], dtype="string"),
            "branch": pd.array(["上海", "北京", "上海", "上海", "上海", "北京"], dtype="string"),
            "issue_date": pd.to_datetime(["2023-12-31", "2024-01-01", "2024-06-30", "2024-12-31", "2025-01-01", "2024-03-15"]),
            "age": [25, 40, 28, 23, 30, 50],
            "首单客户": ["是", "否", "是", "否", "是", "是"],
        },
        index=[10, 11, 12, 13, 14, 15],  # a filtered book keeps the policies' own index
    )


def kept(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["policy_id"])


def test_empty_filter_keeps_the_book(book: pd.DataFrame) -> None:
    assert BookFilter().is_empty
    assert filter_policies(book, BookFilter()) is book


def test_values_of_one_column_are_alternatives_and_parts_combine_with_and(book: pd.DataFrame) -> None:
    # 银保 or 个险: P1 P2 P3 P4 P6 (P5 has no channel); and 上海: P1 P3 P4.
    both = BookFilter(values=(("channel", ("银保", "个险")), ("branch", ("上海",))))
    assert kept(filter_policies(book, both)) == ["P1", "P3", "P4"]
    assert list(filter_policies(book, both).index) == [10, 12, 13]


def test_issue_date_range_includes_both_ends(book: pd.DataFrame) -> None:
    # Issued in 2024: P2 (1 Jan), P6 (15 Mar), P3 (30 Jun), P4 (31 Dec); not P1 (31 Dec 2023) nor P5 (1 Jan 2025).
    year = BookFilter(issued_from=dt.date(2024, 1, 1), issued_to=dt.date(2024, 12, 31))
    assert kept(filter_policies(book, year)) == ["P2", "P3", "P4", "P6"]
    # Open at one end: from 30 Jun 2024 on.
    assert kept(filter_policies(book, BookFilter(issued_from=dt.date(2024, 6, 30)))) == ["P3", "P4", "P5"]
    assert kept(filter_policies(book, BookFilter(issued_to=dt.date(2023, 12, 31)))) == ["P1"]


def test_named_cohorts_keep_policies_in_any_of_them(book: pd.DataFrame) -> None:
    young = NamedCohort(key="young", name={"en": "Young"}, conditions=(Condition("age", "between", [22, 30]),))
    # young: P1 P3 P4 P5; new buyers: P1 P3 P5 P6; either: P1 P3 P4 P5 P6; and 银保: P1 P4.
    assert kept(filter_policies(book, BookFilter(cohorts=(young, NEW_BUYERS)))) == ["P1", "P3", "P4", "P5", "P6"]
    assert kept(filter_policies(book, BookFilter(values=(("channel", ("银保",)),), cohorts=(young,)))) == ["P1", "P4"]


def test_nothing_kept_is_an_empty_frame_not_an_error(book: pd.DataFrame) -> None:
    reversed_dates = BookFilter(issued_from=dt.date(2024, 12, 31), issued_to=dt.date(2024, 1, 1))
    assert filter_policies(book, reversed_dates).empty


def test_a_column_the_book_lacks_is_refused_unless_fitted(book: pd.DataFrame) -> None:
    asked = BookFilter(values=(("agent", ("A1",)), ("branch", ("北京",))), cohorts=(YOUNG_NEW_EARNERS,))
    with pytest.raises(ExtractError, match="agent"):
        filter_policies(book, asked)
    fitted = asked.fitted_to(book.columns)
    assert fitted.values == (("branch", ("北京",)),) and fitted.cohorts == ()  # young new earners need an income column
    assert kept(filter_policies(book, fitted)) == ["P2", "P6"]


def test_key_names_the_filter_not_its_order() -> None:
    one = BookFilter(values=(("channel", ("银保", "个险")), ("branch", ("上海",))))
    other = BookFilter(values=(("branch", ("上海",)), ("channel", ("个险", "银保"))))
    assert one.key() == other.key()
    assert one.key() != BookFilter(values=(("branch", ("上海",)),)).key()
    assert BookFilter(issued_from=dt.date(2024, 1, 1)).key() != BookFilter(issued_to=dt.date(2024, 1, 1)).key()


def test_address_round_trip_and_unknown_parts_left_out() -> None:
    asked = BookFilter(
        values=(("channel", ("银保",)), ("agent", ("A1", "A2"))),
        issued_from=dt.date(2024, 1, 1),
        issued_to=dt.date(2024, 12, 31),
        cohorts=(NEW_BUYERS,),
    )
    params = filter_params(asked)
    assert params == {
        "f_channel": ["银保"],
        "f_agent": ["A1", "A2"],
        "f_from": ["2024-01-01"],
        "f_to": ["2024-12-31"],
        "f_cohort": ["new_buyers"],
    }
    back = filter_from_params(params, cohorts=(NEW_BUYERS,))
    assert back.key() == asked.key()
    odd = filter_from_params({"f_colour": ["red"], "f_from": ["2024-13-45"], "f_cohort": ["gone"]}, cohorts=(NEW_BUYERS,))
    assert odd.is_empty


def test_lines_in_both_languages() -> None:
    asked = BookFilter(values=(("channel", ("银保", "个险")),), issued_from=dt.date(2024, 1, 1), cohorts=(NEW_BUYERS,))
    assert asked.lines("zh") == ["销售渠道：银保、个险", "生效日期：2024-01-01 至 …", "分群：新客"]
    assert asked.lines("en")[1:] == ["Issued: 2024-01-01 to …", "Cohorts: New buyers"]
    assert asked.lines("en")[0].endswith(": 银保, 个险")
    assert BookFilter().lines("en") == ["Scope: all policies"]


def test_engine_keeps_the_same_policies(book: pd.DataFrame, engine) -> None:
    from analysis.engine.backend import bind, run

    table, backend = bind(book, engine)
    asked = BookFilter(
        values=(("channel", ("银保", "个险")),),
        issued_from=dt.date(2024, 1, 1),
        issued_to=dt.date(2024, 12, 31),
        cohorts=(NEW_BUYERS, NamedCohort(key="young", name={"en": "Young"}, conditions=(Condition("age", "<", 30),))),
    )
    # 2024 and a channel: P2 P3 P4 P6; new buyers or under 30: P3 P4 P6.
    assert kept(filter_policies(book, asked)) == ["P3", "P4", "P6"]
    assert kept(run(backend, filter_table(table, asked))) == ["P3", "P4", "P6"]
    assert kept(run(backend, filter_table(table, BookFilter()))) == kept(book)


def test_sample_engine_and_pandas_agree(root) -> None:
    from analysis.engine.backend import bind, connect, run

    policies = sample_extract().policies
    branch = str(policies["branch"].mode()[0])
    asked = BookFilter(
        values=(("branch", (branch,)), ("channel", tuple(policies["channel"].dropna().unique()[:2]))),
        issued_from=dt.date(2022, 1, 1),
        issued_to=dt.date(2023, 6, 30),
        cohorts=(YOUNG_NEW_EARNERS,),
    )
    by_pandas = filter_policies(policies, asked)
    table, backend = bind(policies, connect("duckdb"))
    by_engine = run(backend, filter_table(table, asked))
    assert 0 < len(by_pandas) < len(policies)
    assert sorted(by_engine["policy_id"]) == sorted(by_pandas["policy_id"])
