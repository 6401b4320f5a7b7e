"""Loaded books kept on disk, so a restart or a reload reads the book instead of loading it again.

A *book* is what the door (or a configured source) gives: a
:class:`~analysis.ingest.pipeline.LoadResult`. It is kept under ``<data dir>/books/`` in a
folder named by the hash of its *key* — what identifies it: for an upload, its content hash,
the mapping in force, the sheet and the study date set by hand; for the configured source, its
configuration without the password. The key also holds the version of the code that loaded
it (:func:`code_version`), so a new release never reads a book its older door made.

In each book's folder (0700, files 0600), never pickled:

* ``policies.parquet``, ``problems.parquet``, ``skipped_rows.parquet``, ``column_notes.parquet``,
  ``status_values.parquet``: the canonical policies and the account's tables (columns of Python
  objects, such as a note's parameters, travel as JSON text; every column's pandas type is
  written down and restored, so the frames read back equal the ones kept);
* ``book.json``: the key, the scalars (counts, study date and where it came from, the mapping,
  the preset as TOML, …), the column types, when the book was saved and last used.

A book is written into a temporary folder and renamed into place, so a reader sees a whole
book or none.

**Eviction** (:class:`BookLimits`, checked on every save): books unused for
:data:`MAX_BOOK_IDLE_DAYS` days go; then, least recently used first, books go until at most
:data:`MAX_KEPT_BOOKS` remain and they take at most :data:`MAX_BOOKS_MB` MB. The book just saved
stays. A configured source's copy is read again from the source when it is older than
:data:`SOURCE_REFRESH_HOURS` hours (a T+1 copy), which the caller decides from the saved time
:meth:`BookStore.get` returns.

Times are seconds since the epoch and always an argument (``now``), as in
:mod:`analysis.store.datasets`: the module never reads the clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.ingest.headers import ColumnMatch
from analysis.ingest.pipeline import BYTES_PER_MB, LoadResult
from analysis.ingest.presets import parse_preset, preset_to_toml
from analysis.store.datasets import SECONDS_PER_DAY
from analysis.store.disk import PRIVATE_FILE_MODE, private_dir, write_private

#: Eviction defaults: books kept at most, their total size on disk, days a book is kept unused.
MAX_KEPT_BOOKS: Final = 10
MAX_BOOKS_MB: Final = 5_000
MAX_BOOK_IDLE_DAYS: Final = 30
#: A configured source's kept copy is read again from the source when older than this (a T+1 copy).
SOURCE_REFRESH_HOURS: Final = 24
SECONDS_PER_HOUR: Final = 3_600
#: A half-written book (a hidden ``.tmp`` folder) older than this was left by a process that died: it goes.
STALE_WRITE_SECONDS: Final = SECONDS_PER_HOUR
#: The layout of a kept book; a book of another layout reads as absent.
BOOK_FORMAT: Final = 1
#: Bytes of the hash that names a book's folder (32 hex characters).
KEY_HASH_BYTES: Final = 16
#: The book's tables, each kept as ``<name>.parquet``.
FRAMES: Final = ("policies", "problems", "skipped_rows", "column_notes", "status_values")
#: The file of a book's scalars.
BOOK_FILE: Final = "book.json"


def code_version(paths: Iterable[Path]) -> str:
    """A hash of the code that loads books (the given source files, in order): part of every key.

    Parameters
    ----------
    paths : iterable of Path
        The modules whose change must make kept books stale (the door and the source readers).
    """
    digest = hashlib.blake2b(digest_size=KEY_HASH_BYTES)
    for path in sorted(paths):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def book_key_hash(key: Mapping[str, object]) -> str:
    """The folder name of the book ``key`` identifies: a hash of the key as canonical JSON."""
    text = json.dumps(dict(key), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_HASH_BYTES, person=b"lapselens-book").hexdigest()


@dataclass(frozen=True)
class BookLimits:
    """The eviction rule's bounds (the defaults are this module's ``MAX_…`` constants)."""

    max_books: int = MAX_KEPT_BOOKS
    max_bytes: int = MAX_BOOKS_MB * BYTES_PER_MB
    max_idle_seconds: float = MAX_BOOK_IDLE_DAYS * SECONDS_PER_DAY


@dataclass(frozen=True)
class KeptBook:
    """A book read back from disk: the result, and when it was saved (seconds since the epoch)."""

    result: LoadResult
    saved: float

    def fresh(self, *, now: float, asked: float = 0.0) -> bool:
        """Whether a configured source's copy may be shown without reading the source again.

        It is fresh when it was saved after the last "reload from the source" (``asked``) and
        is at most :data:`SOURCE_REFRESH_HOURS` old (the company's extracts are T+1 copies).
        """
        return self.saved >= asked and now - self.saved <= SOURCE_REFRESH_HOURS * SECONDS_PER_HOUR


def _object_to_text(values: pd.Series) -> pd.Series:
    """A column of Python objects as JSON text (missing values as JSON null)."""
    return pd.Series(
        [json.dumps(None if v is None or v is pd.NA else v, ensure_ascii=False) for v in values], index=values.index, dtype="object"
    )


def frame_to_arrow(frame: pd.DataFrame) -> tuple[pa.Table, dict[str, str]]:
    """``frame`` as Arrow (object columns as JSON text, never pickled) and its columns' pandas types."""
    types = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    shown = frame.copy(deep=False)
    for name in frame.columns:
        if frame[name].dtype == object:
            shown[name] = _object_to_text(frame[name])
    return pa.Table.from_pandas(shown, preserve_index=None), types


def frame_from_arrow(table: pa.Table, types: Mapping[str, str]) -> pd.DataFrame:
    """A frame from :func:`frame_to_arrow`'s table, with its columns' types as they were."""
    text = pd.StringDtype("pyarrow")
    frame = table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)
    for name, dtype in types.items():
        if dtype == "object":
            frame[name] = pd.Series([json.loads(v) for v in frame[name]], index=frame.index, dtype="object")
        elif str(frame[name].dtype) != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame


def _write_frame(frame: pd.DataFrame, path: Path) -> dict[str, str]:
    """Write ``frame`` as Parquet; return its columns' pandas types (what :func:`_read_frame` restores)."""
    table, types = frame_to_arrow(frame)
    pq.write_table(table, path)
    os.chmod(path, PRIVATE_FILE_MODE)
    return types


def _read_frame(path: Path, types: Mapping[str, str]) -> pd.DataFrame:
    """A frame written by :func:`_write_frame`, with its columns' types as they were."""
    return frame_from_arrow(pq.read_table(path), types)


def _scalars(result: LoadResult) -> dict[str, Any]:
    """The result's fields that are not frames, as JSON values."""
    out: dict[str, Any] = {}
    for spec in dataclasses.fields(result):
        value = getattr(result, spec.name)
        if spec.name in FRAMES:
            continue
        if spec.name == "mapping":
            value = [dataclasses.asdict(match) for match in value.values()]
        elif spec.name == "preset":
            value = preset_to_toml(value)
        elif isinstance(value, pd.Timestamp):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        elif not (value is None or isinstance(value, (str, int, float, list))):
            raise TypeError(f"LoadResult.{spec.name} of type {type(value).__name__} cannot be kept")
        out[spec.name] = value
    return out


def _result(scalars: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> LoadResult:
    """A result from its scalars and frames (the inverse of :func:`_scalars`)."""
    values: dict[str, Any] = dict(frames)
    for spec in dataclasses.fields(LoadResult):
        if spec.name in FRAMES:
            continue
        value = scalars[spec.name]
        if spec.name == "mapping":
            value = {match["canonical"]: ColumnMatch(**match) for match in value}
        elif spec.name == "preset":
            value = parse_preset(value)
        elif spec.name == "study_date":
            value = pd.Timestamp(value)
        elif spec.name == "sheets":
            value = tuple(value)
        values[spec.name] = value
    return LoadResult(**values)


class BookStore:
    """Books kept in ``root`` (``<data dir>/books``), by key; see the module's notes for the layout and rules.

    One store per data directory and process; its methods may be called from many sessions'
    threads at once. A book that cannot be read back (damaged, another layout, another key
    under the same hash) reads as absent.

    Parameters
    ----------
    root
        The folder to keep books in; made 0700 on first save.
    limits
        The eviction bounds.
    """

    def __init__(self, root: Path, *, limits: BookLimits | None = None) -> None:
        self.root = root
        self.limits = limits or BookLimits()
        self._lock = threading.Lock()

    def put(self, key: Mapping[str, object], result: LoadResult, *, now: float) -> None:
        """Keep ``result`` under ``key`` (replacing a book kept under it), then evict by the rule.

        Parameters
        ----------
        key : mapping
            What identifies the book (JSON values); see the module's notes.
        result : LoadResult
            The book.
        now : float
            The time of the save, in seconds since the epoch.

        Raises
        ------
        OSError
            When the data directory cannot be written.
        """
        name = book_key_hash(key)
        record: dict[str, Any] = {"format": BOOK_FORMAT, "key": json.loads(json.dumps(dict(key), default=str))}
        record["scalars"] = _scalars(result)
        private_dir(self.root)
        temporary = private_dir(self.root / f".{name}.{secrets.token_hex(8)}.tmp")
        try:
            record["types"] = {frame: _write_frame(getattr(result, frame), temporary / f"{frame}.parquet") for frame in FRAMES}
            record["saved"] = record["used"] = now
            write_private(temporary / BOOK_FILE, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            with self._lock:
                target = self.root / name
                if target.exists():
                    old = self.root / f".{name}.{secrets.token_hex(8)}.old"
                    os.replace(target, old)
                    shutil.rmtree(old, ignore_errors=True)
                os.replace(temporary, target)
                self._evict(now=now, keep=name)
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def get(self, key: Mapping[str, object], *, now: float) -> KeptBook | None:
        """The book kept under ``key``, or None (never kept, evicted, idle too long, damaged).

        A hit counts as a use: the book's last-used time becomes ``now``.
        """
        name = book_key_hash(key)
        folder = self.root / name
        record = self._record(folder)
        if record is None or record["key"] != json.loads(json.dumps(dict(key), default=str)):
            return None
        if now - float(record["used"]) > self.limits.max_idle_seconds:
            return None
        try:
            frames = {frame: _read_frame(folder / f"{frame}.parquet", record["types"][frame]) for frame in FRAMES}
            result = _result(record["scalars"], frames)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return None
        record["used"] = now
        with self._lock:
            if folder.is_dir():
                write_private(folder / BOOK_FILE, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        return KeptBook(result=result, saved=float(record["saved"]))

    def forget(self, key: Mapping[str, object]) -> bool:
        """Drop the book kept under ``key`` (a reload from its source); True when there was one."""
        folder = self.root / book_key_hash(key)
        with self._lock:
            if not folder.is_dir():
                return False
            shutil.rmtree(folder, ignore_errors=True)
            return True

    def evict(self, *, now: float) -> int:
        """Apply the eviction rule now (a save does it too); return how many books went."""
        with self._lock:
            return self._evict(now=now, keep=None)

    def _record(self, folder: Path) -> dict[str, Any] | None:
        try:
            record = json.loads((folder / BOOK_FILE).read_bytes())
        except (OSError, ValueError):
            return None
        ok = (
            isinstance(record, dict) and record.get("format") == BOOK_FORMAT and {"key", "saved", "used", "types", "scalars"} <= set(record)
        )
        return record if ok else None

    def _evict(self, *, now: float, keep: str | None) -> int:
        """Idle books, then the least recently used beyond the count or size bound (the lock is held)."""
        if not self.root.is_dir():
            return 0
        books: list[tuple[float, str, int]] = []
        dropped: list[Path] = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") and folder.is_dir() and now - folder.stat().st_mtime > STALE_WRITE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)  # a write that never finished
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            record = self._record(folder)
            if folder.name != keep and (record is None or now - float(record["used"]) > self.limits.max_idle_seconds):
                dropped.append(folder)
                continue
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            books.append((now if record is None else float(record["used"]), folder.name, size))
        books.sort(key=lambda book: (book[1] != keep, -book[0]))  # the book just saved first, then the newest use
        total, kept = 0, 0
        for _, name, size in books:
            if name != keep and (kept >= self.limits.max_books or total + size > self.limits.max_bytes):
                dropped.append(self.root / name)
                continue
            total += size
            kept += 1
        for folder in dropped:
            shutil.rmtree(folder, ignore_errors=True)
        return len(dropped)
