"""A customer's file: the customer column, the indexes, the payment timeline and the status history, on hand-made books."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.payments.customer import (
    customer_column,
    customer_file,
    index_book,
    index_payments,
    payment_timeline,
    status_history,
)
from analysis.payments.table import AMOUNT, DUE_DATE, FAILED_DEBIT, METHOD, PAID_DATE

STUDY = pd.Timestamp("2024-06-30")


def _book(customer: str | None = "投保人编号") -> pd.DataFrame:
    book = pd.DataFrame(
        {
            S.POLICY_ID: ["P1", "P2", "P3", "P4"],
            S.ISSUE_DATE: pd.to_datetime(["2022-01-10", "2023-03-01", "2021-05-05", "2020-01-01"]),
            S.STATUS: [S.IN_FORCE, S.LAPSED, S.REINSTATED, S.SURRENDERED],
            S.LAPSE_DATE: pd.to_datetime([None, "2024-01-01", "2023-02-01", None]),
            S.REINSTATEMENT_DATE: pd.to_datetime([None, None, "2023-06-01", None]),
            S.STATUS_DATE: pd.to_datetime([None, "2024-01-01", None, "2023-09-09"]),
        }
    )
    if customer is not None:
        book[customer] = ["C1", "C2", "C1", None]
    return book


def _payments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            S.POLICY_ID: ["P2", "P1", "P1", "P1", "P3", "P1", "P1"],
            DUE_DATE: pd.to_datetime(["2023-03-01", "2024-01-10", "2024-02-10", "2024-02-10", "2024-03-01", "2024-03-10", "2024-06-10"]),
            PAID_DATE: pd.to_datetime(["2023-03-01", "2024-01-08", None, "2024-02-25", "2024-03-01", None, None]),
            AMOUNT: [100.0, 50.0, 50.0, 50.0, 70.0, 50.0, 50.0],
            METHOD: ["cash", "auto_debit", "auto_debit", "auto_debit", "online", "auto_debit", "auto_debit"],
            FAILED_DEBIT: pd.array([False, False, True, False, False, True, pd.NA], dtype="boolean"),
        }
    )


def test_the_customer_column_is_found_by_its_header_else_the_id_number() -> None:
    assert customer_column(_book("投保人编号")) == "投保人编号"
    assert customer_column(_book("customer_id")) == "customer_id"
    assert customer_column(_book(None)) is None
    with_id = _book(None).assign(**{S.ID_NUMBER: ["110", "111", "110", None]})
    assert customer_column(with_id) == S.ID_NUMBER
    # The door reads a file's 投保人编号 as the applicant's name: the file's own header still names a customer number.
    mapped = _book(None).assign(**{S.NAME: ["K1", "K2", "K1", None]})
    assert customer_column(mapped) is None
    assert customer_column(mapped, sources={S.NAME: "投保人编号", S.POLICY_ID: "保单号"}) == S.NAME
    assert index_book(mapped, sources={S.NAME: "投保人编号"}).find("P3", mapped)[1].tolist() == [0, 2]
    blank = _book("客户号").assign(客户号=pd.Series([None] * 4, dtype="string"))
    assert customer_column(blank) is None  # a column with no value groups nothing


def test_a_policy_number_opens_its_customers_whole_file() -> None:
    book = _book()
    index = index_book(book)
    assert index.column == "投保人编号"
    key, rows = index.find("P3", book)
    assert key == "C1" and rows.tolist() == [0, 2]  # P1 and P3 belong to C1
    key, rows = index.find(" C2 ", book)
    assert key == "C2" and rows.tolist() == [1]
    key, rows = index.find("P4", book)  # no customer value: the policy alone
    assert key == "" and rows.tolist() == [3]
    assert index.find("nobody", book)[1].tolist() == []


def test_without_a_customer_column_each_policy_is_its_own_file() -> None:
    book = _book(None)
    index = index_book(book)
    assert index.column is None
    assert index.find("P3", book)[1].tolist() == [2]
    assert index.find("C1", book)[1].tolist() == []


def test_the_payment_index_takes_a_policys_rows_only() -> None:
    payments = _payments()
    index = index_payments(payments)
    assert index.rows(["P1"]).tolist() == [1, 2, 3, 5, 6]
    assert index.rows(["P3", "P2"]).tolist() == [0, 4]
    assert index.rows(["P9"]).tolist() == []


def test_the_timeline_has_one_row_per_due_with_its_state() -> None:
    """P1's dues, study date 2024-06-30, grace 60 days, late after 10 days:

    2024-01-10 paid 01-08 (early: delay 0) → on time; 2024-02-10 failed debit, retried 02-25 →
    one due, delay 15 > 10 → late, failed; 2024-03-10 unpaid, grace ended 05-09 → unpaid
    (failed); 2024-06-10 unpaid, grace runs to 08-09 → in grace.
    """
    timeline = payment_timeline(_payments()[lambda f: f[S.POLICY_ID] == "P1"], study_date=STUDY, grace_days=60)
    assert timeline[DUE_DATE].dt.strftime("%m-%d").tolist() == ["01-10", "02-10", "03-10", "06-10"]
    assert timeline["state"].tolist() == ["on_time", "late", "unpaid", "in_grace"]
    assert timeline["delay_days"].tolist()[:2] == [0, 15]
    assert timeline["delay_days"].isna().tolist() == [False, False, True, True]
    assert timeline[FAILED_DEBIT].tolist() == [False, True, True, False]
    assert timeline[PAID_DATE].iloc[1] == pd.Timestamp("2024-02-25")


def test_the_status_history_dates_what_the_extract_tells() -> None:
    history = status_history(_book().iloc[[2]], study_date=STUDY)
    # P3: issued 2021-05-05, lapsed 2023-02-01, reinstated 2023-06-01, reinstated on the study date.
    assert history["event"].tolist() == ["issued", "lapsed", "reinstated", "at_study_date"]
    assert history["date"].dt.strftime("%Y-%m-%d").tolist() == ["2021-05-05", "2023-02-01", "2023-06-01", "2024-06-30"]
    assert history[S.STATUS].tolist() == [S.IN_FORCE, S.LAPSED, S.REINSTATED, S.REINSTATED]
    surrendered = status_history(_book().iloc[[3]], study_date=STUDY)
    assert surrendered["event"].tolist() == ["issued", "status_dated", "at_study_date"]
    assert surrendered[S.STATUS].tolist()[1:] == [S.SURRENDERED, S.SURRENDERED]


def test_a_file_assembles_the_customers_policies_timeline_and_history() -> None:
    book, payments = _book(), _payments()
    index = index_book(book)
    key, rows = index.find("C1", book)
    found = customer_file(
        book, rows, study_date=STUDY, key=key, column=index.column, payments=payments, payment_index=index_payments(payments)
    )
    assert found.policies[S.POLICY_ID].tolist() == ["P1", "P3"]
    assert sorted(set(found.timeline[S.POLICY_ID])) == ["P1", "P3"]
    assert len(found.timeline) == 5  # P1's four dues and P3's one
    assert set(found.history[S.POLICY_ID]) == {"P1", "P3"}
    without = customer_file(book, rows, study_date=STUDY)
    assert without.timeline.empty


@pytest.mark.parametrize("n", [1, 1000])
def test_the_indexes_agree_with_a_scan(n: int) -> None:
    rng = np.random.default_rng(3)
    ids = [f"P{i}" for i in range(n)]
    book = pd.DataFrame({S.POLICY_ID: ids, "客户号": [f"C{i % 7}" for i in range(n)]})
    payments = pd.DataFrame({S.POLICY_ID: rng.choice(ids, size=5 * n), DUE_DATE: pd.Timestamp("2024-01-01")})
    book_index, pay_index = index_book(book), index_payments(payments)
    for probe in ids[:: max(1, n // 50)]:
        assert pay_index.rows([probe]).tolist() == np.flatnonzero(payments[S.POLICY_ID] == probe).tolist()
        key, rows = book_index.find(probe, book)
        assert rows.tolist() == np.flatnonzero(book["客户号"] == key).tolist()
