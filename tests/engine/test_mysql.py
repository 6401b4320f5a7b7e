"""MySQL (a real MariaDB server) as a source: the sample and a real data set give the file route's figures and account.

The sample goes in as written (Chinese headers, every cell text); the real data set with MySQL's
own types (DATE, DECIMAL, INT, DOUBLE). Each opens through ``open_source`` as a database table or
query, is mapped and checked in the engine, and gives the same figures as the file to the last digit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from clirun import run_cli
from conftest import mysql_connect, mysql_load, raw_rows

from analysis import load_extract
from analysis.engine.backend import connect
from analysis.engine.config import SourceConfig, open_config
from analysis.engine.mysql import read_mysql
from analysis.engine.sources import open_source, redact
from analysis.errors import ExtractError
from analysis.ingest.presets import load_preset
from analysis.persistency.ratios import PersistencyOptions, persistency_table
from analysis.study.run import StudyRequest, parse_events, rates_output, run_study
from analysis.survival.result import survival_study

#: The real data set's columns with MySQL types (the rest DOUBLE): dates, exact premiums, whole ages.
EUSAVING_TYPES = {
    "policy.ID": "VARCHAR(16)",
    "issue.date": "DATE",
    "termination.date": "DATE",
    "lapse.reason": "VARCHAR(16)",
    "premium.frequency": "VARCHAR(16)",
    "gender": "VARCHAR(8)",
    "underwriting.age": "INT",
    "face.amount": "DECIMAL(12,2)",
    "risk.premium": "DECIMAL(12,2)",
    "saving.premium": "DECIMAL(14,2)",
}
#: The password of the role that must give one (made once on the server, shared by every worker's database).
RIGHT = "right-horse"


def _figures(policies, study_date: pd.Timestamp, backend, *, by: str | None) -> dict[str, str]:
    """The rates, persistency and survival tables of a book, as the command line prints them (CSV)."""
    cohorts = (by,) if by else ()
    rates = run_study(policies, StudyRequest(by=(*cohorts, "policy_year"), basis="central"), study_date=study_date, backend=backend)
    persistency = persistency_table(
        policies, study_date=study_date, options=PersistencyOptions(months=(13, 25)), by=cohorts, backend=backend
    )
    survival = survival_study(policies, study_date=study_date, by=by, events=parse_events(None), compare=False, backend=backend)
    curves = survival.curves[["cohort", "month", "at_risk", "events", "survival", "lower", "upper"]]
    return {
        "rates": rates_output(rates).to_csv(index=False),
        "persistency": persistency.to_csv(index=False),
        "survival": curves.to_csv(index=False),
    }


def _account(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.accepted, result.repaired, result.rejected


@pytest.fixture(scope="module")
def sample_file(root: Path):
    return load_extract(root / "data" / "sample_policies.csv")


@pytest.fixture(scope="module")
def reader(sample_in_mysql: str) -> str:
    """The host and database of the sample, for the role pw_reader that must give its password."""
    con = mysql_connect(sample_in_mysql)
    database = sample_in_mysql.rsplit("/", 1)[1]
    with con.cursor() as cursor:
        cursor.execute(f"CREATE USER IF NOT EXISTS 'pw_reader'@'127.0.0.1' IDENTIFIED BY '{RIGHT}'")
        cursor.execute(f"GRANT SELECT ON `{database}`.* TO 'pw_reader'@'127.0.0.1'")
    con.close()
    return sample_in_mysql.split("@", 1)[1]


@pytest.fixture(scope="module")
def sample_book(reader: str):
    """The sample opened once, as the app opens the company's book: a ``[source]`` configuration, the password from the secrets."""
    config = SourceConfig.from_mapping({"url": f"mariadb://pw_reader@{reader}", "table": "保单明细", "password": RIGHT}, origin="secrets")
    book = open_config(config)
    assert RIGHT not in repr(config) + config.description() + book.description
    return book


def test_the_sample_in_mysql_is_the_file(sample_book, sample_file) -> None:
    account = sample_book.account
    assert _account(account) == _account(sample_file)
    door = sample_file.problems.groupby(["kind", "variant", "action"]).size().sort_index()
    assert account.counts.set_index(["kind", "variant", "action"])["rows"].sort_index().to_dict() == door.to_dict()
    assert sample_book.policies == len(sample_file.policies) == 49_992
    assert sample_book.study_date == sample_file.study_date and account.study_date_source == "latest date"
    mine = sample_book.to_pandas().sort_values("policy_id").reset_index(drop=True)
    door_frame = sample_file.policies.drop(columns="source_row").sort_values("policy_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[door_frame.columns], door_frame, check_dtype=False)
    assert (
        sample_book.kind == "database"
        and sample_book.description.startswith("mariadb://pw_reader@")
        and "保单明细" in sample_book.description
    )


def test_rates_persistency_survival_from_mysql_equal_the_file(sample_book, sample_file, sample_in_mysql: str) -> None:
    by_file = _figures(sample_file.policies, sample_file.study_date, connect("duckdb"), by="channel")
    by_mysql = _figures(sample_book.table, sample_book.study_date, sample_book.backend, by="channel")
    for name, text in by_file.items():
        assert by_mysql[name] == text, name
    # The command line prints the file's bytes.
    csv = run_cli("rates", "data/sample_policies.csv", "--by", "policy_year")
    mysql = run_cli("rates", "--source", sample_in_mysql, "--table", "保单明细", "--by", "policy_year")
    assert csv.returncode == mysql.returncode == 0, mysql.stderr
    assert mysql.stdout == csv.stdout and len(csv.stdout.splitlines()) > 5


def test_a_real_data_set_with_mysql_types(mysql_url: str, shared_data: Path, root: Path) -> None:
    rows = raw_rows(shared_data / "eusavingULnoPS.csv")
    mysql_load(mysql_url, "eusaving", rows, {c: EUSAVING_TYPES.get(c, "DOUBLE") for c in rows.columns})
    raw, _ = read_mysql(mysql_url, mysql_url, table="eusaving", query=None, password=None)
    assert [str(raw.schema.field(c).type) for c in ("issue.date", "face.amount", "underwriting.age", "CPI.relvar1mth")] == [
        "date32[day]",
        "decimal128(12, 2)",
        "int64",
        "double",
    ]
    preset = load_preset(root / "data" / "presets" / "eusavingULnoPS.toml")
    door = load_extract(shared_data / "eusavingULnoPS.csv", preset=preset)
    book = open_source(mysql_url, table="eusaving", preset=preset)
    assert _account(book.account) == _account(door) and book.study_date == door.study_date
    by_file = _figures(door.policies, door.study_date, connect("duckdb"), by=None)
    by_mysql = _figures(book.table, book.study_date, book.backend, by=None)
    assert by_mysql == by_file


def test_types_nulls_and_chinese_arrive_exact(mysql_url: str) -> None:
    con = mysql_connect(mysql_url)
    with con.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = ''")  # allows MySQL's zero date, which old systems still hold
        cursor.execute("DROP TABLE IF EXISTS typed")
        cursor.execute(
            "CREATE TABLE typed (`保单号` VARCHAR(20), `生效日期` DATE, `年化保费（元）` DECIMAL(14,2), `投保年龄` INT, "
            "`状态时间` DATETIME, `备注` TEXT) CHARACTER SET utf8mb4"
        )
        cursor.execute(
            "INSERT INTO typed VALUES ('保单\"1\\n甲', '2020-02-29', 12345678901.23, 42, '2021-03-04 05:06:07', ''), "
            "(NULL, NULL, NULL, NULL, NULL, NULL), ('𠀀2', '0000-00-00', -0.01, 0, '1999-12-31 23:59:59', '备注')"
        )
    con.close()
    table, description = read_mysql(mysql_url, mysql_url, table="typed", query=None, password=None)
    assert description == f"{mysql_url} table typed"
    assert table.column_names == ["保单号", "生效日期", "年化保费（元）", "投保年龄", "状态时间", "备注"]
    assert table.to_pylist() == [
        {
            "保单号": '保单"1\n甲',
            "生效日期": dt.date(2020, 2, 29),
            "年化保费（元）": Decimal("12345678901.23"),
            "投保年龄": 42,
            "状态时间": dt.datetime(2021, 3, 4, 5, 6, 7),
            "备注": "",
        },
        dict.fromkeys(table.column_names),
        {
            "保单号": "𠀀2",  # a character beyond MySQL's 3-byte utf8: utf8mb4 keeps it
            "生效日期": None,  # the zero date is no date
            "年化保费（元）": Decimal("-0.01"),
            "投保年龄": 0,
            "状态时间": dt.datetime(1999, 12, 31, 23, 59, 59),
            "备注": "备注",
        },
    ]
    empty, _ = read_mysql(mysql_url, mysql_url, table=None, query="SELECT * FROM typed WHERE 1 = 0;", password=None)
    assert empty.num_rows == 0 and empty.schema == table.schema


def test_a_wrong_password_is_refused_and_never_shown(reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_cli("check", "--source", f"mysql://pw_reader:wrong-battery@{reader}", "--table", "保单明细")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "wrong-battery" not in run.stderr + run.stdout
    assert f"mysql://pw_reader@{reader}" in run.stderr and "Access denied for user 'pw_reader'" in run.stderr
    assert "MYSQL_PWD" in run.stderr
    monkeypatch.setenv("MYSQL_PWD", RIGHT)
    counted, _ = read_mysql(f"mysql://pw_reader@{reader}", "", table=None, query="SELECT COUNT(*) AS n FROM 保单明细", password=None)
    assert counted.to_pylist() == [{"n": 50_003}]
    assert redact(f"mysql://pw_reader:{RIGHT}@{reader}") == f"mysql://pw_reader@{reader}"


def test_a_missing_table_names_the_tables(sample_in_mysql: str) -> None:
    run = run_cli("rates", "--source", sample_in_mysql, "--table", "no_such_table", "--by", "policy_year")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no_such_table" in run.stderr and "保单明细" in run.stderr
    with pytest.raises(ExtractError) as failed:
        open_source(sample_in_mysql, query="SELECT no_such_column FROM 保单明细")
    assert failed.value.reason == "query" and "no_such_column" in str(failed.value.params)
    with pytest.raises(ExtractError) as refused:
        open_source("mysql://root@127.0.0.1:1/db", table="t")
    assert refused.value.reason == "mysql_connect"
