"""Loaded books kept on disk: read back equal, keyed by what identifies them, evicted by the stated rule."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pandas as pd
import pytest
from artefacts import sample_extract

from analysis import load_extract
from analysis.ingest.presets import load_preset
from analysis.store.books import (
    FRAMES,
    MAX_BOOK_IDLE_DAYS,
    SECONDS_PER_DAY,
    BookLimits,
    BookStore,
    book_key_hash,
    code_version,
)

DAY = SECONDS_PER_DAY


@pytest.fixture(scope="module")
def sample(root: Path):
    return sample_extract()


def small(sample, rows: int):
    """A smaller book of the sample's first rows (enough to tell books apart and size them)."""
    return dataclasses.replace(sample, policies=sample.policies.head(rows).reset_index(drop=True))


def assert_same_book(kept, loaded) -> None:
    for frame in FRAMES:
        pd.testing.assert_frame_equal(getattr(kept, frame), getattr(loaded, frame), check_dtype=True, check_index_type=True)
    for spec in dataclasses.fields(loaded):
        if spec.name not in FRAMES:
            assert getattr(kept, spec.name) == getattr(loaded, spec.name), spec.name


def books_in(store: BookStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir() if not p.name.startswith("."))


def test_a_kept_book_reads_back_equal(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books")
    key = {"file": "abc", "preset": "", "sheet": None, "study_date": None}
    store.put(key, sample, now=100.0)
    kept = store.get(key, now=200.0)
    assert kept is not None and kept.saved == 100.0
    assert_same_book(kept.result, sample)
    assert kept.result.policies["policy_id"].dtype == sample.policies["policy_id"].dtype  # Arrow text stays Arrow text
    # Another key (another study date set by hand) is another book.
    assert store.get({**key, "study_date": "2024-03-31"}, now=200.0) is None


def test_a_book_with_a_preset_attributes_and_notes_reads_back_equal(shared_data: Path, root: Path, tmp_path: Path) -> None:
    loaded = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    assert isinstance(loaded.column_notes["params"].iloc[1], dict)  # Python objects travel as JSON text, and come back
    store = BookStore(tmp_path / "books")
    store.put({"k": 1}, loaded, now=0.0)
    kept = store.get({"k": 1}, now=1.0)
    assert kept is not None
    assert_same_book(kept.result, loaded)


def test_files_are_private_and_never_pickled(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books")
    store.put({"k": "private"}, small(sample, 50), now=0.0)
    (folder,) = [store.root / name for name in books_in(store)]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([*(f"{frame}.parquet" for frame in FRAMES), "book.json"])
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    assert folder.name == book_key_hash({"k": "private"})


def test_a_damaged_book_reads_as_absent(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books")
    store.put({"k": 1}, small(sample, 20), now=0.0)
    folder = store.root / book_key_hash({"k": 1})
    (folder / "policies.parquet").write_bytes(b"not parquet")
    assert store.get({"k": 1}, now=1.0) is None
    (folder / "book.json").write_text("{", encoding="utf-8")
    assert store.get({"k": 1}, now=1.0) is None


def test_a_book_put_again_replaces_the_old_one_and_forget_drops_it(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books")
    store.put({"k": 1}, small(sample, 20), now=0.0)
    store.put({"k": 1}, small(sample, 30), now=5.0)
    kept = store.get({"k": 1}, now=6.0)
    assert kept is not None and len(kept.result.policies) == 30 and kept.saved == 5.0
    assert store.forget({"k": 1}) and store.get({"k": 1}, now=7.0) is None and not store.forget({"k": 1})


def test_books_unused_for_the_idle_limit_go(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books")
    store.put({"k": "old"}, small(sample, 10), now=0.0)
    store.put({"k": "used"}, small(sample, 10), now=0.0)
    # Day 20: the second is read (a use), the first is not.
    assert store.get({"k": "used"}, now=20 * DAY) is not None
    # Day 31: the unused one is past MAX_BOOK_IDLE_DAYS (30) and reads as absent; the next save evicts it.
    assert MAX_BOOK_IDLE_DAYS == 30
    assert store.get({"k": "old"}, now=31 * DAY) is None
    store.put({"k": "new"}, small(sample, 10), now=31 * DAY)
    assert books_in(store) == sorted(book_key_hash({"k": k}) for k in ("used", "new"))


def test_least_recently_used_books_go_beyond_the_count_and_the_size(sample, tmp_path: Path) -> None:
    store = BookStore(tmp_path / "books", limits=BookLimits(max_books=2))
    for day, name in enumerate(("a", "b", "c")):
        store.put({"k": name}, small(sample, 10), now=day * DAY)
    # At most two books: "a" (least recently used) went when "c" was saved.
    assert books_in(store) == sorted(book_key_hash({"k": k}) for k in ("b", "c"))
    store.get({"k": "b"}, now=3 * DAY)  # "b" is now used more recently than "c"
    store.put({"k": "d"}, small(sample, 10), now=4 * DAY)
    assert books_in(store) == sorted(book_key_hash({"k": k}) for k in ("b", "d"))
    # A size bound below one book's size: only the book just saved stays.
    tight = BookStore(tmp_path / "books", limits=BookLimits(max_bytes=1))
    tight.put({"k": "e"}, small(sample, 10), now=5 * DAY)
    assert books_in(tight) == [book_key_hash({"k": "e"})]


def test_the_code_version_changes_with_the_code(tmp_path: Path) -> None:
    one, two = tmp_path / "a.py", tmp_path / "b.py"
    one.write_text("x = 1\n")
    two.write_text("y = 2\n")
    before = code_version([one, two])
    assert code_version([two, one]) == before  # the order given does not matter
    two.write_text("y = 3\n")
    assert code_version([one, two]) != before


def test_a_half_written_book_left_by_a_dead_process_goes_after_an_hour(tmp_path: Path) -> None:
    import os
    import time

    store = BookStore(tmp_path / "books")
    (tmp_path / "books").mkdir()
    left, writing = tmp_path / "books" / ".abc.dead.tmp", tmp_path / "books" / ".def.live.tmp"
    left.mkdir()
    writing.mkdir()
    now = time.time()
    os.utime(left, (now - 2 * 3600, now - 2 * 3600))
    store.evict(now=now)
    assert not left.exists() and writing.exists()  # a write in progress is left alone


def test_a_kept_copy_is_fresh_until_a_day_old_or_a_reload_is_asked(sample) -> None:
    from analysis.store.books import KeptBook

    kept = KeptBook(result=sample, saved=1_000.0)
    assert kept.fresh(now=1_000.0 + DAY - 1)
    assert not kept.fresh(now=1_000.0 + DAY + 1)
    assert not kept.fresh(now=1_001.0, asked=1_000.5)
