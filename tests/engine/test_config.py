"""The configured source: every key checked, the password never shown nor part of what identifies the book."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.config import SOURCE_KEYS, SourceConfig, open_config, read_config_file
from analysis.errors import ExtractError

URL = "postgresql://reader@db.example:5432/book"


def reason(values: object, **options) -> str | None:
    with pytest.raises(ExtractError) as caught:
        SourceConfig.from_mapping(values, **options)
    assert caught.value.code == "bad_config"
    assert caught.value.text("zh") and caught.value.text("en")  # catalogued words, placeholders filled
    return caught.value.reason


def test_a_full_configuration() -> None:
    config = SourceConfig.from_mapping(
        {
            "url": URL,
            "table": "保单明细",
            "mapping": "presets/company.toml",
            "engine": "Spark",
            "study_date": dt.date(2026, 9, 30),  # TOML reads an unquoted date as a date
            "name": " 公司保单库 ",
            "password": "s3cret",
        },
        base=Path("/etc/lapselens"),
    )
    assert config.table == "保单明细" and config.query is None and config.engine == "spark"
    assert config.mapping == "/etc/lapselens/presets/company.toml"
    assert config.study_date == "2026-09-30" and config.name == "公司保单库"
    assert config.password == "s3cret"
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.identity()) and "s3cret" not in config.description()
    assert config.display_name() == "公司保单库"
    assert config.description() == f"{URL} table 保单明细"
    assert config.is_database


def test_the_password_is_not_part_of_the_identity() -> None:
    one = SourceConfig.from_mapping({"url": URL, "query": "SELECT 1", "password": "a"})
    other = SourceConfig.from_mapping({"url": URL, "query": "SELECT 1", "password": "b"})
    assert one == other and one.version() == other.version() and len(one.version()) == 24
    assert one.description() == f"{URL} query" and one.display_name() == one.description()
    renamed = SourceConfig.from_mapping({"url": URL, "query": "SELECT 1", "name": "x"})
    assert renamed.version() == one.version()  # the name is how it is shown, not what it opens
    assert SourceConfig.from_mapping({"url": URL, "query": "SELECT 2"}).version() != one.version()


def test_parquet_and_spark_sources(tmp_path: Path) -> None:
    parquet = SourceConfig.from_mapping({"url": "books/policies"}, base=tmp_path)
    assert parquet.url == str(tmp_path / "books" / "policies") and not parquet.is_database
    spark = SourceConfig.from_mapping({"url": "spark:lake.policies", "engine": "spark"})
    assert spark.url == "spark:lake.policies" and spark.description() == "spark:lake.policies"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("url", "not_table"),
        ({"url": URL, "table": "t", "passwd": "x"}, "unknown_key"),
        ({"url": URL, "table": 3}, "not_text"),
        ({"table": "t"}, "no_url"),
        ({"url": "  ", "table": "t"}, "no_url"),
        ({"url": "postgresql://reader:s3cret@db/book", "table": "t"}, "password_in_url"),
        ({"url": URL}, "table_or_query"),
        ({"url": URL, "table": "t", "query": "SELECT 1"}, "table_or_query"),
        ({"url": URL, "table": "t", "engine": "polars"}, "engine"),
        ({"url": URL, "table": "t", "study_date": "30/09/2026"}, "study_date"),
    ],
)
def test_a_bad_configuration_is_refused_in_words(values: object, expected: str) -> None:
    assert reason(values) == expected


def test_a_password_in_the_file_is_refused_and_never_quoted(tmp_path: Path) -> None:
    assert reason({"url": URL, "table": "t", "password": "s3cret"}, origin="file") == "password_in_file"
    path = tmp_path / "source.toml"
    path.write_text(f'[source]\nurl = "{URL}"\ntable = "t"\npassword = "s3cret"\n', encoding="utf-8")
    with pytest.raises(ExtractError) as caught:
        read_config_file(path)
    assert "s3cret" not in caught.value.text("en") + caught.value.text("zh")


def test_the_file_named_by_the_environment(tmp_path: Path) -> None:
    (tmp_path / "company.toml").write_text('[settings]\nstudy_date = "2026-06-30"\n', encoding="utf-8")
    path = tmp_path / "source.toml"
    path.write_text(f'[source]\nurl = "{URL}"\ntable = "保单明细"\nmapping = "company.toml"\nname = "公司保单库"\n', encoding="utf-8")
    config = read_config_file(path, password="from-secrets")
    assert config.mapping == str(tmp_path / "company.toml") and config.password == "from-secrets"
    assert "study_date" in config.preset_text()
    with pytest.raises(ExtractError) as unreadable:
        read_config_file(tmp_path / "missing.toml")
    assert unreadable.value.reason == "unreadable"
    (tmp_path / "other.toml").write_text('[elsewhere]\nurl = "x"\n', encoding="utf-8")
    with pytest.raises(ExtractError) as no_table:
        read_config_file(tmp_path / "other.toml")
    assert no_table.value.reason == "not_table"
    (tmp_path / "broken.toml").write_text("[source\nurl = \n", encoding="utf-8")
    with pytest.raises(ExtractError) as broken:
        read_config_file(tmp_path / "broken.toml")
    assert broken.value.reason == "unreadable"


def test_every_key_is_documented_in_the_readme(root: Path) -> None:
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The company's book (configured source)", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{key}`" in section for key in SOURCE_KEYS)


def test_a_mapping_that_cannot_be_read_is_said_before_any_connection(tmp_path: Path) -> None:
    config = SourceConfig.from_mapping({"url": URL, "table": "t", "mapping": "nowhere.toml"}, base=tmp_path)
    with pytest.raises(ExtractError) as caught:
        open_config(config)
    assert caught.value.code == "bad_preset" and caught.value.reason == "unreadable"


def test_the_configured_book_opens_from_postgres(sample_in_pg: str) -> None:
    config = SourceConfig.from_mapping({"url": sample_in_pg, "table": "保单明细", "study_date": "2026-06-30"})
    book = open_config(config)
    assert book.account.rows_read == 50_003 and str(book.study_date.date()) == "2026-06-30"
    assert book.account.study_date_source == "argument"
    result = open_config(config, preset_toml='[settings]\nstudy_date = "2026-03-31"\n', study_date=None)
    assert str(result.study_date.date()) == "2026-06-30"  # the configured date is set by hand: it wins over the preset's


def test_the_configured_book_is_kept_and_read_back_equal(sample_in_pg: str, tmp_path: Path) -> None:
    from analysis.store.books import FRAMES, BookStore

    config = SourceConfig.from_mapping({"url": sample_in_pg, "table": "保单明细", "name": "公司保单库"})
    result = open_config(config).load_result()
    store = BookStore(tmp_path / "books")
    store.put({"source": config.identity()}, result, now=0.0)
    kept = store.get({"source": config.identity()}, now=1.0)
    assert kept is not None and len(kept.result.policies) == 49_992
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(kept.result, frame), getattr(result, frame), check_dtype=True)
    assert kept.result.mapping == result.mapping and kept.result.study_date == result.study_date
    assert kept.result.attributes == result.attributes and kept.result.kind == "database"
