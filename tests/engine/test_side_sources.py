"""Side tables read where they live: a payment history and a campaign list in a real PostgreSQL server and a Spark table.

Each gives the same rows, the same account and the same figures as its file, the row numbers
being the order read (a file's are its lines: the header is line 1).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from clirun import run_cli
from conftest import pg_connect, raw_rows

from analysis.engine.config import SourceConfig
from analysis.engine.side_sources import SideSource, _text_cells, named_side_source, side_cells
from analysis.errors import ExtractError
from analysis.interventions.campaign_list import read_campaign_list
from analysis.payments.table import read_payments

FLAGS = ("--payments", "--payments-table", "--payments-query")
#: A payment history with a row for each rule of the account (as text, the way a file has it).
MESSY_PAYMENTS = pd.DataFrame(
    {
        "保单号": ["P1", "P1", "P1", None, "P2", "P3", "P4"],
        "应缴日期": ["2024-01-05", "2025-01-05", "2025-01-05", "2024-03-01", "not a date", "2024-02-01", "2024-02-01"],
        "实缴日期": ["2024-01-04", None, None, "2024-03-01", "2024-03-01", "2024-02-03", "2022-01-01"],
        "金额": ["1200", "1200", "1200", "800", "800", "-5", "100"],
        "缴费方式": ["自动扣款", "银行转账", "银行转账", "现金", "现金", "微信", "现金"],
    }
)


def _file(tmp_path: Path, frame: pd.DataFrame, name: str) -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _same_rows(by_file, by_source, frame: str) -> None:
    """The kept rows and the account of a file and of a table equal, the table's row numbers one less (no header line)."""
    left, right = getattr(by_file, frame).copy(), getattr(by_source, frame).copy()
    right["row"] += 1
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
    account_left, account_right = by_file.account.copy(), by_source.account.copy()
    account_right["row"] += 1
    pd.testing.assert_frame_equal(account_left, account_right, check_dtype=False)


# --- without a server: the values as text, and what the options name ----------------------------


def test_typed_values_read_as_a_file_would_give_them() -> None:
    arrow = pa.table(
        {
            "due": pa.array([dt.date(2024, 1, 31), None], pa.date32()),
            "at_midnight": pa.array([dt.datetime(2024, 2, 29), None], pa.timestamp("us")),
            "with_time": pa.array([dt.datetime(2024, 2, 29, 13, 5, 7), dt.datetime(2024, 3, 1)], pa.timestamp("us")),
            "amount": pa.array([1200.5, None], pa.float64()),
            "id": pa.array([886512019100011326, 7], pa.int64()),
            "failed": pa.array([True, False]),
        }
    )
    cells = _text_cells(arrow, "db")
    assert cells.loc[0].tolist() == ["2024-01-31", "2024-02-29", "2024-02-29 13:05:07", "1200.5", "886512019100011326", "true"]
    assert cells.loc[1, "due"] is pd.NA and cells.loc[1, "amount"] is pd.NA and cells.loc[1, "with_time"] == "2024-03-01 00:00:00"


def test_a_column_that_cannot_be_text_is_refused() -> None:
    arrow = pa.table({"blob": pa.array([b"\xff\xfe"], pa.binary())})
    with pytest.raises(ExtractError) as caught:
        _text_cells(arrow, "postgresql://u@h/db table t")
    assert caught.value.reason == "column_type" and "blob" in caught.value.text("en")


def test_what_the_options_name() -> None:
    pg = "postgresql://reader@db:5432/core"
    assert named_side_source(None, table=None, query=None, book_source=pg, flags=FLAGS) is None
    assert named_side_source("pay.csv", table=None, query=None, book_source=pg, flags=FLAGS) == "pay.csv"
    beside = named_side_source(None, table="缴费记录", query=None, book_source=pg, flags=FLAGS)
    assert beside == SideSource(pg, table="缴费记录") and beside.description() == f"{pg} table 缴费记录"
    own = named_side_source("mysql://r@h/db", table=None, query="SELECT 1", book_source=None, flags=FLAGS)
    assert own == SideSource("mysql://r@h/db", query="SELECT 1")
    lake = named_side_source(None, table="payments", query=None, book_source=None, engine="spark", flags=FLAGS)
    assert lake == SideSource("", table="payments", engine="spark")
    assert named_side_source("spark:payments", table=None, query=None, book_source=None, flags=FLAGS) == SideSource("spark:payments")
    for value, table, query, reason in (
        (None, "缴费记录", None, "side_table"),  # a table and no database: the book is a file
        ("pay.csv", "缴费记录", None, "side_table"),
        (pg, None, None, "side_table_or_query"),
        (pg, "t", "SELECT 1", "side_table_or_query"),
    ):
        with pytest.raises(ExtractError) as caught:
            named_side_source(value, table=table, query=query, book_source=None, flags=FLAGS)
        assert caught.value.reason == reason
        assert "--payments" in caught.value.text("en") and "--payments" in caught.value.text("zh")


def test_the_cli_says_which_option_is_missing() -> None:
    result = run_cli("persistency", "data/sample_policies.csv", "--payments-table", "缴费记录")
    assert result.returncode == 2 and "--payments-table" in result.stderr and "Traceback" not in result.stderr


def test_a_configured_source_carries_its_side_tables(tmp_path: Path) -> None:
    pg = "postgresql://reader@db:5432/core"
    config = SourceConfig.from_mapping(
        {
            "url": pg,
            "table": "保单明细",
            "password": "s3cret",
            "payments_table": "缴费记录",
            "campaign_list_query": "SELECT * FROM 活动名单",
        }
    )
    payments = config.side_source("payments")
    assert payments == SideSource(pg, table="缴费记录") and payments.password == "s3cret"
    assert config.side_source("campaign_list") == SideSource(pg, query="SELECT * FROM 活动名单")
    assert config.side_version("payments") and config.side_version("payments") != config.side_version("campaign_list")
    assert "s3cret" not in repr(config) and "s3cret" not in repr(payments)
    # a file beside the configuration file is read from its folder; a table needs a database to be in
    on_disk = SourceConfig.from_mapping({"url": "book.parquet", "payments": "pay.csv"}, origin="file", base=tmp_path)
    assert on_disk.side_source("payments") == str(tmp_path / "pay.csv") and on_disk.side_source("campaign_list") is None
    with pytest.raises(ExtractError) as caught:
        SourceConfig.from_mapping({"url": "book.parquet", "payments_table": "缴费记录"}, origin="file", base=tmp_path)
    assert caught.value.reason == "side_table" and "payments_table" in caught.value.text("en")


# --- a real PostgreSQL server -------------------------------------------------------------------


def test_a_payment_history_in_postgres_is_the_file(pg_url: str, tmp_path: Path) -> None:
    con = pg_connect(pg_url)
    con.create_table("缴费记录_text", MESSY_PAYMENTS, overwrite=True)
    typed = MESSY_PAYMENTS.iloc[[0, 1, 6]].assign(
        应缴日期=lambda f: pd.to_datetime(f["应缴日期"]).dt.date,
        实缴日期=lambda f: pd.to_datetime(f["实缴日期"]).dt.date,
        金额=lambda f: pd.to_numeric(f["金额"]),
        扣款失败=[False, True, False],
    )
    con.create_table("缴费记录_typed", typed, overwrite=True)
    con.disconnect()
    by_file = read_payments(_file(tmp_path, MESSY_PAYMENTS, "pay.csv"))
    by_table = read_payments(SideSource(pg_url, table="缴费记录_text"))
    _same_rows(by_file, by_table, "payments")
    assert by_table.counts()["rejected"] == 4  # blank id, bad due date, paid too early, duplicate: the same account
    typed_rows = read_payments(SideSource(pg_url, query='SELECT * FROM "缴费记录_typed" ORDER BY "应缴日期", "实缴日期"'))
    assert typed_rows.payments["amount"].tolist() == [1200.0, 1200.0]
    assert typed_rows.payments["failed_debit"].tolist() == [False, True]
    assert typed_rows.payments["due_date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2025-01-05")]
    assert typed_rows.counts()["rejected"] == 1  # the premium paid two years early
    with pytest.raises(ExtractError) as caught:
        read_payments(SideSource(pg_url, table="no_such_table"))
    assert caught.value.reason == "no_table" and "缴费记录_text" in caught.value.text("en")


def test_the_cli_reads_the_book_and_its_side_tables_from_postgres(pg_url: str, root: Path, tmp_path: Path) -> None:
    policies = raw_rows(root / "data" / "sample_policies.csv", skip=1)
    listed = pd.read_csv(root / "data" / "sample_campaign_list.csv", dtype=str, keep_default_na=False).replace({"": None})
    payments = MESSY_PAYMENTS.assign(保单号=policies["保单号"].iloc[: len(MESSY_PAYMENTS)].tolist())
    con = pg_connect(pg_url)
    con.create_table("保单明细", policies, overwrite=True)
    con.create_table("活动名单", listed, overwrite=True)
    con.create_table("缴费记录", payments, overwrite=True)
    con.disconnect()
    book = ("--source", pg_url, "--table", "保单明细")
    by_file = run_cli("campaign", "data/sample_policies.csv", "--campaign-list", "data/sample_campaign_list.csv", "--format", "json")
    by_table = run_cli("campaign", *book, "--list-table", "活动名单", "--format", "json")
    assert by_table.returncode == 0, by_table.stderr
    left, right = json.loads(by_file.stdout), json.loads(by_table.stdout)
    for row in right["account"]["rejected_rows"]:
        row["row"] += 1
    assert left == right and right["best_value_arm"]
    pay_file = _file(tmp_path, payments, "pay.csv")
    by_file = run_cli("persistency", "data/sample_policies.csv", "--payments", str(pay_file))
    by_table = run_cli("persistency", *book, "--payments-table", "缴费记录")
    assert by_table.returncode == 0 and by_table.stdout == by_file.stdout and by_table.stderr == by_file.stderr
    assert "Payment history: 7 rows" in by_table.stderr


@pytest.mark.integration
@pytest.mark.xdist_group("spark")  # the Spark cases' worker: one JVM
def test_a_spark_side_table_is_the_file(tmp_path: Path) -> None:
    from analysis.engine.backend import connect

    spark = connect("spark")
    spark._session.createDataFrame(MESSY_PAYMENTS).createOrReplaceTempView("payments_lake")
    by_file = read_payments(_file(tmp_path, MESSY_PAYMENTS, "pay.csv"))
    _same_rows(by_file, read_payments(SideSource("spark:payments_lake")), "payments")
    _same_rows(by_file, read_payments(SideSource("", table="payments_lake", engine="spark")), "payments")
    cells, rows, _ = side_cells(SideSource("spark:payments_lake"))
    assert rows.tolist() == list(range(1, len(MESSY_PAYMENTS) + 1)) and list(cells.columns) == list(MESSY_PAYMENTS.columns)
    listed = pd.DataFrame({"保单号": ["P1", "P2"], "组别": ["对照组", "短信"], "入组日期": ["2024-01-01", "2024-01-02"]})
    spark._session.createDataFrame(listed).createOrReplaceTempView("list_lake")
    assert read_campaign_list(SideSource("spark:list_lake")).counts()["accepted"] == 2
