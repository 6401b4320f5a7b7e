"""Data sets kept across a browser refresh, reachable only through their link token.

A session that loads a file (or maps the sample its own way) keeps it here under a *link
token*: an unguessable text (:data:`TOKEN_BYTES` random bytes, URL-safe) that the app puts
in the page address (``?ds=…``). A refresh starts a new session with the same address; the
token brings back the same bytes and the same :class:`DataSetChoice` (file name, sheet,
mapping preset, study-date override), so the door reads them exactly as before.

On disk, under ``<data dir>/datasets/`` (folders 0700, files 0600):

* ``files/<content hash>``: an upload's bytes as they came, once per content, never pickled;
* ``links/<hash of token>.json``: one per token, the choice, the owner (a hash of the
  signed-in account, or none), when it was saved and last used. The token itself is never
  written anywhere: a file name is its hash, so a listing of the folder opens nothing.

A token opens its data set only for the owner it was saved with: with sign-in on, another
account's token reads as unknown, exactly like an expired one.

**Eviction** (:class:`StoreLimits`, checked on every save): links unused for
:data:`MAX_IDLE_DAYS` days go; then, least recently used first, files (with their links)
go until at most :data:`MAX_KEPT_FILES` files and :data:`MAX_KEPT_MB` MB remain, and links
until at most :data:`MAX_KEPT_LINKS` remain; a file no link needs is deleted. The data set
just saved is never evicted by its own save.

Times are seconds since the epoch and always an argument (``now``): the module never reads
the clock, so tests can age a store by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Final, TypeGuard

from analysis.ingest.pipeline import BYTES_PER_MB
from analysis.store.disk import private_dir, write_private

#: Random bytes in a link token: 24 bytes = 192 bits, written as 32 URL-safe characters.
TOKEN_BYTES: Final = 24
#: A link token's shape (what :func:`new_token` makes); anything else is refused before any file is opened.
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{32}")
#: Bytes of the content hash that names an upload (24 hex characters).
CONTENT_HASH_BYTES: Final = 12
CONTENT_HASH_PATTERN: Final = re.compile(r"[0-9a-f]{24}")
#: Eviction defaults: files kept at most, their total size, links kept at most, days a link lives unused.
MAX_KEPT_FILES: Final = 20
MAX_KEPT_MB: Final = 2_000
MAX_KEPT_LINKS: Final = 500
MAX_IDLE_DAYS: Final = 30
SECONDS_PER_DAY: Final = 86_400


def content_hash(data: bytes) -> str:
    """A file's content hash (BLAKE2b, 12 bytes, hex): its version, the key caches and the store use."""
    return hashlib.blake2b(data, digest_size=CONTENT_HASH_BYTES).hexdigest()


def new_token() -> str:
    """A fresh link token (:data:`TOKEN_BYTES` bytes from :mod:`secrets`, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_token(text: object) -> TypeGuard[str]:
    """True when ``text`` has the shape of a link token (it may still be unknown)."""
    return isinstance(text, str) and TOKEN_PATTERN.fullmatch(text) is not None


def owner_key(owner: str | None) -> str | None:
    """What the store writes for an owner: a hash of the account, so no e-mail address lands on disk."""
    return None if owner is None else hashlib.blake2b(owner.encode("utf-8"), digest_size=16, person=b"lapselens-owner").hexdigest()


@dataclass(frozen=True)
class DataSetChoice:
    """Which data set a session is looking at, and how it was mapped.

    ``version`` is the content hash of the file (:func:`content_hash`): caches key on it,
    never on the frame. ``preset_toml`` is the mapping in force (empty: automatic); ``sheet``
    the workbook sheet; ``study_date`` the override (``YYYY-MM-DD``) or None.
    """

    name: str
    version: str
    preset_toml: str = ""
    sheet: str | None = None
    study_date: str | None = None
    is_sample: bool = False


@dataclass(frozen=True)
class StoreLimits:
    """The eviction rule's bounds (the defaults are this module's ``MAX_…`` constants)."""

    max_files: int = MAX_KEPT_FILES
    max_bytes: int = MAX_KEPT_MB * BYTES_PER_MB
    max_links: int = MAX_KEPT_LINKS
    max_idle_seconds: float = MAX_IDLE_DAYS * SECONDS_PER_DAY


@dataclass(frozen=True)
class Evicted:
    """What one eviction pass removed."""

    links: int
    files: int


@dataclass(frozen=True)
class _Link:
    name: str  # the link file's stem: the token's hash
    choice: DataSetChoice
    owner: str | None
    saved: float
    used: float


def _link_name(token: str) -> str:
    return hashlib.blake2b(token.encode("ascii"), digest_size=16, person=b"lapselens-link").hexdigest()


def _choice_from(data: Any) -> DataSetChoice:
    """A choice from its JSON form; ValueError when a field is missing or of the wrong type."""
    if not isinstance(data, dict):
        raise ValueError("not an object")
    values = {f.name: data[f.name] for f in fields(DataSetChoice) if f.name in data}
    choice = DataSetChoice(**values)
    texts = (choice.name, choice.version, choice.preset_toml)
    optional = (choice.sheet, choice.study_date)
    if not all(isinstance(v, str) for v in texts) or not all(v is None or isinstance(v, str) for v in optional):
        raise ValueError("a field of the wrong type")
    if not isinstance(choice.is_sample, bool) or not CONTENT_HASH_PATTERN.fullmatch(choice.version):
        raise ValueError("a field of the wrong type")
    return choice


class DataSetStore:
    """Data sets kept under link tokens in ``root`` (see the module's notes for the layout and rules).

    One store per data directory and process; its methods may be called from many sessions'
    threads at once. Writes are atomic renames, so two processes sharing a folder never see
    half a file; at worst one evicts a file the other has just linked, and that link then
    reads as unknown.

    Parameters
    ----------
    root
        The folder to keep data sets in (``<data dir>/datasets``); made 0700 on first save.
    limits
        The eviction bounds.
    """

    def __init__(self, root: Path, *, limits: StoreLimits | None = None) -> None:
        self.root = root
        self.limits = limits or StoreLimits()
        self._lock = threading.Lock()

    @property
    def _files(self) -> Path:
        return self.root / "files"

    @property
    def _links(self) -> Path:
        return self.root / "links"

    def put(self, token: str, choice: DataSetChoice, data: bytes | None, *, owner: str | None, now: float) -> None:
        """Keep ``choice`` (and the file's bytes) under ``token`` for ``owner``, then evict by the rule.

        Parameters
        ----------
        token
            The session's link token (from :func:`new_token`).
        choice
            The data set and its mapping. A choice of the bundled sample (``is_sample``) keeps
            no bytes: the sample ships with the app.
        data
            The file's bytes, whose :func:`content_hash` must be ``choice.version``; None for the sample.
        owner
            The signed-in account (any stable text, e.g. its subject or e-mail), or None when sign-in is off.
        now
            The time of the save, in seconds since the epoch.

        Raises
        ------
        ValueError
            When the token is malformed, the bytes do not match the version, or the token is
            already kept for another owner. These are programming errors, not user input.
        OSError
            When the data directory cannot be written.
        """
        if not is_token(token):
            raise ValueError("not a link token")
        if not choice.is_sample and (data is None or content_hash(data) != choice.version):
            raise ValueError("the bytes do not match the data set's version")
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            previous = self._read_link(path)
            if previous is not None and previous.owner != owner_key(owner):
                raise ValueError("this link is kept for another owner")
            private_dir(self.root)
            if data is not None and not choice.is_sample:
                target = private_dir(self._files) / choice.version
                if not target.is_file():
                    write_private(target, data)
            record = {
                "choice": asdict(choice),
                "owner": owner_key(owner),
                "saved": previous.saved if previous is not None else now,
                "used": now,
            }
            write_private(private_dir(self._links) / path.name, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            self._evict(now=now, keep=path.stem)

    def get(self, token: object, *, owner: str | None, now: float) -> tuple[DataSetChoice, bytes | None] | None:
        """The data set kept under ``token`` for ``owner``, or None when there is none to give.

        None covers every case alike — a malformed or unknown token, one kept for another
        owner, a link unused for longer than the idle limit, a file evicted or damaged — so the
        answer says nothing about other accounts' data sets. A hit counts as a use (the link's
        last-used time becomes ``now``).

        Returns
        -------
        tuple or None
            ``(choice, data)``: the bytes are None for the bundled sample, whose bytes ship with the app.
        """
        if not is_token(token):
            return None
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            link = self._read_link(path)
            if link is None or link.owner != owner_key(owner) or now - link.used > self.limits.max_idle_seconds:
                return None
            data = None
            if not link.choice.is_sample:
                try:
                    data = (self._files / link.choice.version).read_bytes()
                except OSError:
                    return None
                if content_hash(data) != link.choice.version:
                    return None
            record = {"choice": asdict(link.choice), "owner": link.owner, "saved": link.saved, "used": now}
            write_private(path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
            return link.choice, data

    def forget(self, token: object, *, owner: str | None) -> bool:
        """Drop the link ``token`` of ``owner`` (its file goes at the next eviction if no other link needs it).

        Returns
        -------
        bool
            True when a link was dropped.
        """
        if not is_token(token):
            return False
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            link = self._read_link(path)
            if link is None or link.owner != owner_key(owner):
                return False
            path.unlink(missing_ok=True)
            return True

    def evict(self, *, now: float) -> Evicted:
        """Apply the eviction rule now (a save does it too); see the module's notes."""
        with self._lock:
            return self._evict(now=now, keep=None)

    def _read_link(self, path: Path) -> _Link | None:
        try:
            record = json.loads(path.read_bytes())
            return _Link(
                name=path.stem,
                choice=_choice_from(record["choice"]),
                owner=record["owner"] if isinstance(record["owner"], str) else None,
                saved=float(record["saved"]),
                used=float(record["used"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _evict(self, *, now: float, keep: str | None) -> Evicted:
        """Idle links, then least recently used files and links, then orphan files (the lock is held)."""
        limits = self.limits
        sizes = {p.name: p.stat().st_size for p in self._files.glob("[0-9a-f]*") if p.is_file()} if self._files.is_dir() else {}
        links, dropped = [], []
        for path in sorted(self._links.glob("*.json")) if self._links.is_dir() else []:
            link = self._read_link(path)
            idle = link is not None and now - link.used > limits.max_idle_seconds
            gone = link is not None and not link.choice.is_sample and link.choice.version not in sizes
            if link is None or ((idle or gone) and link.name != keep):
                dropped.append(path)
            else:
                links.append(link)
        # Newest use first (the link just saved before all): a file's recency is its newest link's.
        links.sort(key=lambda link: (link.name != keep, -link.used))
        files_kept: set[str] = set()
        total, kept_links, full = 0, 0, False
        for link in links:
            version = None if link.choice.is_sample else link.choice.version
            if version is not None and version not in files_kept:
                size = sizes[version]
                full = full or len(files_kept) >= limits.max_files or total + size > limits.max_bytes
                if full and link.name != keep:
                    dropped.append(self._links / f"{link.name}.json")
                    continue
                files_kept.add(version)
                total += size
            if kept_links >= limits.max_links and link.name != keep:
                dropped.append(self._links / f"{link.name}.json")
                continue
            kept_links += 1
        for path in dropped:
            path.unlink(missing_ok=True)
        orphans = [name for name in sizes if name not in files_kept]
        for name in orphans:
            (self._files / name).unlink(missing_ok=True)
        return Evicted(links=len(dropped), files=len(orphans))
