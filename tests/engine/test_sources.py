"""Sources read where they live: the sample and a real data set in a real PostgreSQL server, in Parquet and in Spark.

Each gives the same figures and the same account as the file route (the door).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from artefacts import sample_extract
from clirun import run_cli
from conftest import pg_connect, raw_rows

from analysis import load_extract
from analysis.engine.sources import SOURCE_ROW_SAMPLE, open_source, redact
from analysis.errors import ExtractError
from analysis.ingest.presets import MappingPreset, load_preset, parse_preset
from analysis.study.run import StudyRequest, rates_output, run_study

#: The figures the file route and a source must share (the CLI's rates, persistency and survival tables).
COMMANDS = (
    ("rates", "--by", "policy_year"),
    ("rates", "--by", "channel,policy_year", "--basis", "central"),
    ("persistency", "--months", "13,25", "--by", "channel"),
    ("survival", "--by", "young_new_earners"),
)


def _table(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def _same_figures(left: str, right: str) -> None:
    """Two CSV outputs identical to the last digit: the engine sums whole numbers, so the order of its rows cannot show."""
    a, b = _table(left), _table(right)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert left == right


def _account(loaded) -> tuple:
    return loaded.rows_read, loaded.accepted, loaded.repaired, loaded.rejected


@pytest.fixture(scope="module")
def sample_file(root: Path):
    return sample_extract()


def test_postgres_table_of_the_sample_is_the_file(sample_in_pg: str, sample_file) -> None:
    book = open_source(sample_in_pg, table="保单明细")
    account = book.account
    assert (account.rows_read, account.accepted, account.repaired, account.rejected) == _account(sample_file)
    door = sample_file.problems.groupby(["kind", "variant", "action"]).size().sort_index()
    engine = account.counts.set_index(["kind", "variant", "action"])["rows"].sort_index()
    assert engine.to_dict() == door.to_dict()
    assert book.policies == len(sample_file.policies) == 49_992
    # No title row in a database: the study date is inferred by the door's rule, in the engine; here it is the title's.
    assert book.study_date == sample_file.study_date and account.study_date_source == "latest date"
    mine = book.to_pandas().sort_values("policy_id").reset_index(drop=True)
    door_frame = sample_file.policies.drop(columns="source_row").sort_values("policy_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[door_frame.columns], door_frame, check_dtype=False)
    assert account.status_values.set_index("value")["count"].to_dict() == sample_file.status_values.set_index("value")["count"].to_dict()
    assert "postgres@" in book.description and "保单明细" in book.description


def test_rates_persistency_survival_from_postgres_equal_the_file(sample_in_pg: str, root: Path, tmp_path: Path) -> None:
    preset = tmp_path / "preset.toml"
    preset.write_text('[settings]\nstudy_date = "2026-09-30"\n', encoding="utf-8")
    for command in COMMANDS:
        by_file = run_cli(command[0], "data/sample_policies.csv", *command[1:])
        by_source = run_cli(command[0], "--source", sample_in_pg, "--table", "保单明细", "--mapping", str(preset), *command[1:])
        assert by_file.returncode == by_source.returncode == 0, by_source.stderr
        _same_figures(by_file.stdout, by_source.stdout)


def test_a_query_and_the_check_account(sample_in_pg: str) -> None:
    query = "SELECT * FROM 保单明细 WHERE 销售渠道 = '银保'"
    run = run_cli("check", "--source", sample_in_pg, "--query", query, "--json")
    assert run.returncode == 0, run.stderr
    import json

    summary = json.loads(run.stdout)
    assert summary["rows_read"] == summary["accepted"] + summary["repaired"] + summary["rejected"]
    assert summary["rows_read"] == 9_933 + 1 - 1 or summary["rows_read"] > 9_000


def test_a_real_data_set_in_postgres(pg_url: str, shared_data: Path, root: Path) -> None:
    con = pg_connect(pg_url)
    con.create_table("eusaving", raw_rows(shared_data / "eusavingULnoPS.csv"), overwrite=True)
    con.disconnect()
    preset_path = root / "data" / "presets" / "eusavingULnoPS.toml"
    door = load_extract(shared_data / "eusavingULnoPS.csv", preset=load_preset(preset_path))
    book = open_source(pg_url, table="eusaving", preset=load_preset(preset_path))
    assert (book.account.rows_read, book.account.accepted, book.account.rejected) == (door.rows_read, door.accepted, door.rejected)
    assert book.study_date == door.study_date
    for command in (("rates", "--by", "policy_year"), ("persistency", "--months", "13,25"), ("survival",)):
        by_file = run_cli(command[0], str(shared_data / "eusavingULnoPS.csv"), "--mapping", str(preset_path), *command[1:])
        by_source = run_cli(command[0], "--source", pg_url, "--table", "eusaving", "--mapping", str(preset_path), *command[1:])
        assert by_file.returncode == by_source.returncode == 0, by_source.stderr
        _same_figures(by_file.stdout, by_source.stdout)


@pytest.fixture(scope="module")
def sample_parquet(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's rows as written, in a Parquet folder of two files."""
    folder = tmp_path_factory.mktemp("parquet") / "policies"
    folder.mkdir()
    rows = raw_rows(root / "data" / "sample_policies.csv", skip=1)
    half = len(rows) // 2
    rows.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    rows.iloc[half:].to_parquet(folder / "part-1.parquet", index=False)
    return folder


def test_parquet_folder_equals_the_file(sample_parquet: Path, sample_file) -> None:
    book = open_source(sample_parquet, study_date="2026-09-30")
    assert (book.account.rows_read, book.account.accepted, book.account.repaired, book.account.rejected) == _account(sample_file)
    for command in COMMANDS[:1] + COMMANDS[2:3]:
        by_file = run_cli(command[0], "data/sample_policies.csv", *command[1:])
        by_source = run_cli(command[0], "--source", str(sample_parquet), "--study-date", "2026-09-30", *command[1:])
        assert by_source.returncode == 0, by_source.stderr
        _same_figures(by_file.stdout, by_source.stdout)


def _repeated_policies(root: Path) -> pd.DataFrame:
    """Sample rows made into repeats: copies, conflicts, a rejected row, blank coverages and two coverages of one policy."""
    rows = raw_rows(root / "data" / "sample_policies.csv", skip=1)
    fine = rows[(rows["保单状态"] == "有效") & rows["状态日期"].isna()].head(6).reset_index(drop=True)
    a, b, c, d, e, f = (fine.iloc[[i]] for i in range(6))
    cheaper, unstated, blank_coverage, other_coverage = b.copy(), c.copy(), e.copy(), f.copy()
    cheaper["年化保费（元）"] = "999.00"  # the same policy with another premium: a conflict
    unstated["保单状态"] = None  # rejected first (no status), so its twin is no duplicate
    blank_coverage["险种代码"] = None
    smaller = blank_coverage.copy()
    smaller["基本保额"] = "1"  # sorts before its two copies when the rows have no order of their own
    other_coverage["险种代码"] = "9999"  # a second coverage: a conflict by policy, a row of its own by policy and coverage
    parts = [a, a, b, cheaper, unstated, c, a, d, blank_coverage, blank_coverage, smaller, f, other_coverage]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize("grain", ["policy", "policy+coverage"])
def test_repeated_policies_are_marked_as_the_door_marks_them(root: Path, tmp_path: Path, engine: str, grain: str) -> None:
    """Only the repeated policies go through the duplicate check's window; the marks are the door's, row for row.

    With a ``source_row`` column the first row of a policy is its first row, as in the file, so
    the rows, reasons and references equal the door's. Without one the first row is the first by
    its cells (worked by hand below), as the window over the whole table gave before.
    """
    book = _repeated_policies(root)
    preset = parse_preset(f'[settings]\ngrain = "{grain}"\n') if grain != "policy" else MappingPreset()
    door = load_extract(book.to_csv(index=False).encode("utf-8"), filename="repeats.csv", preset=preset, study_date="2026-09-30")
    numbered = book.assign(source_row=range(2, 2 + len(book)))  # the door's row numbers: the header is row 1
    numbered.to_parquet(tmp_path / "numbered.parquet", index=False)
    opened = open_source(tmp_path / "numbered.parquet", preset=preset, engine=engine, study_date="2026-09-30")
    marked = opened.account.problems[["row", "kind", "variant"]].sort_values(["row", "kind"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(marked, door.problems[["row", "kind", "variant"]].sort_values(["row", "kind"]).reset_index(drop=True))
    refs = opened.account.problems.loc[opened.account.problems["kind"] != "missing_required", "params"]
    assert {json.loads(p)["ref"] for p in refs} == ({"2", "4", "10"} if grain == "policy+coverage" else {"2", "4", "10", "13"})
    assert (opened.account.rejected, opened.policies) == (door.rejected, len(door.policies))
    book.to_parquet(tmp_path / "cells.parquet", index=False)
    unordered = open_source(tmp_path / "cells.parquet", preset=preset, engine=engine, study_date="2026-09-30").account
    counts = unordered.counts.groupby("kind")["rows"].sum().to_dict()
    # A: three copies, two marked. B: one conflict. C: its twin was rejected first. The blank
    # coverage: the row with the smaller sum assured comes first, its two copies conflict with it.
    # F: a conflict by policy only.
    conflicts = 1 + 2 + (1 if grain == "policy" else 0)
    assert counts == {"duplicate": 2, "conflicting_duplicate": conflicts, "missing_required": 1}


def test_the_door_canonical_parquet_is_read_as_it_is(sample_file, tmp_path: Path) -> None:
    path = tmp_path / "canonical.parquet"
    sample_file.policies.to_parquet(path, index=False)
    book = open_source(path, study_date="2026-09-30")
    assert book.account.rejected == 0 and book.policies == len(sample_file.policies)
    assert "source_row" in book.table.columns


@pytest.mark.integration
@pytest.mark.xdist_group("spark")  # the Spark cases' worker: one JVM
def test_spark_table_equals_the_file(sample_parquet: Path) -> None:
    from analysis.engine.backend import connect

    # One open of the lake table (each open runs the door's checks on Spark): the command line's
    # flags for a Spark table are `--engine spark --table NAME`, the same open_source call.
    spark = connect("spark")
    spark._session.read.parquet(str(sample_parquet)).createOrReplaceTempView("policies_lake")
    by_file = run_cli("rates", "data/sample_policies.csv", "--by", "policy_year")
    named = open_source("spark:policies_lake", engine="spark", study_date="2026-09-30")
    assert named.account.rejected == 11 and named.policies == 49_992
    rates = rates_output(run_study(named.table, StudyRequest(by=("policy_year",)), study_date=named.study_date, backend=named.backend))
    _same_figures(by_file.stdout, rates.to_csv(index=False))


def test_the_account_keeps_the_first_rows_of_each_reason(sample_in_pg: str) -> None:
    book = open_source(sample_in_pg, table="保单明细")
    problems = book.account.problems
    assert problems.groupby(["kind", "variant"]).size().max() <= SOURCE_ROW_SAMPLE
    order = problems[problems["kind"] == "date_order"]
    assert set(order["value"]) == {"2018-09-12", "2020-07-08", "2021-07-04"}
    from analysis.ingest.ledger import problem_details

    assert problem_details(order, "zh").str.len().min() > 0


# --- what goes wrong says so, in words, and never shows a password --------------------------------


def test_an_unknown_scheme_or_an_incomplete_url(sample_in_pg: str) -> None:
    for url, reason in (("oracle://u@h/db", "scheme"), ("postgresql://127.0.0.1", "url")):
        with pytest.raises(ExtractError) as caught:
            open_source(url, table="t")
        assert caught.value.reason == reason
    with pytest.raises(ExtractError) as both:
        open_source(sample_in_pg)
    assert both.value.reason == "table_or_query"


def test_a_missing_table_names_the_tables(sample_in_pg: str) -> None:
    run = run_cli("rates", "--source", sample_in_pg, "--table", "no_such_table", "--by", "policy_year")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no_such_table" in run.stderr and "保单明细" in run.stderr


def test_a_wrong_password_is_refused_and_never_shown(sample_in_pg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    con = pg_connect(sample_in_pg)
    with con.con.cursor() as cursor:
        # The role is the cluster's, shared by every worker's database: made once, never dropped.
        cursor.execute("DO $$ BEGIN CREATE ROLE pw_reader LOGIN PASSWORD 'right-horse'; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        cursor.execute('GRANT SELECT ON "保单明细" TO pw_reader')
    con.con.commit()
    con.disconnect()
    host = sample_in_pg.split("@", 1)[1]
    secret_url = f"postgresql://pw_reader:wrong-battery@{host}"
    run = run_cli("check", "--source", secret_url, "--table", "保单明细")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "wrong-battery" not in run.stderr + run.stdout and "pw_reader@" in run.stderr
    assert "password authentication failed" in run.stderr
    monkeypatch.setenv("PGPASSWORD", "right-horse")
    book = open_source(f"postgresql://pw_reader@{host}", table="保单明细")
    assert book.policies == 49_992
    shown = open_source(f"postgresql://pw_reader:right-horse@{host}", table="保单明细").description
    assert "right-horse" not in shown and shown.startswith("postgresql://pw_reader@")
    assert redact(f"postgresql://pw_reader:right-horse@{host}") == f"postgresql://pw_reader@{host}"


def test_a_spark_table_needs_the_spark_engine() -> None:
    with pytest.raises(ExtractError) as caught:
        open_source("spark:policies")
    assert caught.value.reason == "spark_engine"


def test_no_file_and_no_source() -> None:
    run = run_cli("rates", "--by", "policy_year")
    assert run.returncode == 2 and "the following arguments are required: file (or --source URL" in run.stderr
    both = run_cli("rates", "data/sample_policies.csv", "--source", "x.parquet", "--by", "policy_year")
    assert both.returncode == 2 and "Name the book once" in both.stderr
