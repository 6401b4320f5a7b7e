"""Data sets kept across a browser refresh, reachable only through their link token.

A session that loads a file (or maps the sample its own way) keeps it here under a *link
token*: an unguessable text (:data:`TOKEN_BYTES` random bytes, URL-safe) that the app puts
in the page address (``?ds=…``). A refresh starts a new session with the same address; the
token brings back the same bytes and the same :class:`DataSetChoice` (file name, sheet,
mapping preset, study-date override), so the door reads them exactly as before.

On disk, under ``<data dir>/datasets/`` (folders 0700, files 0600):

* ``files/<content hash>``: an upload's bytes as they came, once per content, never pickled;
* ``links/<hash of token>.json``: one per token, the choice, the owner (a hash of the
  signed-in account, or none), when it was saved and last used, and the *side files* kept
  with the data set (:class:`KeptSide`, e.g. the payment history attached to the book and the
  campaign list in use), each under its slot name. The token itself is never written
  anywhere: a file name is its hash, so a listing of the folder opens nothing.

A side file of kind :data:`KIND_UPLOAD` keeps its bytes in ``files/`` like the data set's
own file (same content-hash names, stored once); any other kind (the bundled sample's, or one
read from elsewhere) keeps only its description. Side files count toward the limits and go
with their link.

A token opens its data set only for the owner it was saved with: with sign-in on, another
account's token reads as unknown, exactly like an expired one.

**Eviction** (:class:`StoreLimits`, checked on every save): links unused for
:data:`MAX_IDLE_DAYS` days go; then, least recently used first, files (with their links)
go until at most :data:`MAX_KEPT_FILES` files and :data:`MAX_KEPT_MB` MB remain, and links
until at most :data:`MAX_KEPT_LINKS` remain; a file no link needs is deleted. A link's files
are its data set's and its side files': they are kept or go together. The data set just
saved is never evicted by its own save.

Times are seconds since the epoch and always an argument (``now``): the module never reads
the clock, so tests can age a store by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass, fields, replace
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
#: A choice whose version starts so names the configured source (then a hash of its configuration): no bytes to keep.
SOURCE_PREFIX: Final = "source-"
SOURCE_VERSION_PATTERN: Final = re.compile(r"source-[0-9a-f]{1,64}")
#: The kind of side file whose bytes are kept (an upload); every other kind keeps only its description.
KIND_UPLOAD: Final = "upload"
#: Slot names and kinds of side files: short lower-case words.
SIDE_NAME_PATTERN: Final = re.compile(r"[a-z_]{1,32}")
#: Side files one link keeps at most.
MAX_SIDES: Final = 8


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


def keeps_bytes(choice: DataSetChoice) -> bool:
    """Whether a choice's file is kept as bytes: not for the bundled sample, nor for the configured source."""
    return not choice.is_sample and not choice.version.startswith(SOURCE_PREFIX)


def choice_key(choice: DataSetChoice) -> str:
    """A stable name of a data set as loaded (every field of the choice, hashed): what a side file belongs to."""
    text = json.dumps(asdict(choice), sort_keys=True, ensure_ascii=False)
    return content_hash(text.encode("utf-8"))


@dataclass(frozen=True)
class KeptSide:
    """A side file kept with a data set: a second table the session attached (a payment history, a campaign list).

    ``kind`` says where its content comes from: :data:`KIND_UPLOAD` (the bytes as uploaded,
    kept under ``version``, their :func:`content_hash`), or another short word (``"sample"``,
    the bundled one; later kinds alike) whose content is not kept. ``book`` is the
    :func:`choice_key` of the data set it belongs to, or None when it goes with any data set.
    """

    kind: str
    name: str
    version: str
    sheet: str | None = None
    book: str | None = None


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
    sides: dict[str, KeptSide]

    def files(self) -> list[str]:
        """The files this link needs: its data set's (when kept as bytes), then its uploaded side files'."""
        own = [self.choice.version] if keeps_bytes(self.choice) else []
        return own + [side.version for side in self.sides.values() if side.kind == KIND_UPLOAD]

    def record(self) -> bytes:
        sides = {slot: asdict(side) for slot, side in self.sides.items()}
        record = {"choice": asdict(self.choice), "owner": self.owner, "saved": self.saved, "used": self.used, "sides": sides}
        return json.dumps(record, ensure_ascii=False).encode("utf-8")


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
    version_ok = CONTENT_HASH_PATTERN.fullmatch(choice.version) or SOURCE_VERSION_PATTERN.fullmatch(choice.version)
    if not isinstance(choice.is_sample, bool) or not version_ok:
        raise ValueError("a field of the wrong type")
    return choice


def _check_side(slot: object, side: KeptSide) -> None:
    """ValueError unless ``slot`` and ``side`` have the shapes the store keeps."""
    if not isinstance(slot, str) or not SIDE_NAME_PATTERN.fullmatch(slot):
        raise ValueError("not a side file's slot")
    if not isinstance(side.kind, str) or not SIDE_NAME_PATTERN.fullmatch(side.kind):
        raise ValueError("not a side file's kind")
    if not isinstance(side.name, str) or not isinstance(side.version, str) or len(side.version) > 128:
        raise ValueError("a field of the wrong type")
    if not all(v is None or isinstance(v, str) for v in (side.sheet, side.book)):
        raise ValueError("a field of the wrong type")
    if side.kind == KIND_UPLOAD and not CONTENT_HASH_PATTERN.fullmatch(side.version):
        raise ValueError("an upload's version is its content hash")


def _sides_from(data: Any) -> dict[str, KeptSide]:
    """Side files from their JSON form (absent in links kept before there were any); ValueError when malformed."""
    if data is None:
        return {}
    if not isinstance(data, dict) or len(data) > MAX_SIDES:
        raise ValueError("not an object")
    sides = {}
    for slot, value in data.items():
        if not isinstance(value, dict):
            raise ValueError("not an object")
        side = KeptSide(**{f.name: value[f.name] for f in fields(KeptSide) if f.name in value})
        _check_side(slot, side)
        sides[slot] = side
    return sides


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

        The side files already kept under ``token`` stay (each says which data set it belongs to).

        Parameters
        ----------
        token
            The session's link token (from :func:`new_token`).
        choice
            The data set and its mapping. A choice of the bundled sample (``is_sample``) or of the
            configured source (version :data:`SOURCE_PREFIX`…) keeps no bytes: the sample ships
            with the app, the source is read again.
        data
            The file's bytes, whose :func:`content_hash` must be ``choice.version``; None when it keeps none.
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
        if keeps_bytes(choice) and (data is None or content_hash(data) != choice.version):
            raise ValueError("the bytes do not match the data set's version")
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            previous = self._read_link(path)
            if previous is not None and previous.owner != owner_key(owner):
                raise ValueError("this link is kept for another owner")
            private_dir(self.root)
            if data is not None and keeps_bytes(choice):
                self._write_file(choice.version, data)
            saved, sides = (previous.saved, previous.sides) if previous is not None else (now, {})
            link = _Link(name=path.stem, choice=choice, owner=owner_key(owner), saved=saved, used=now, sides=sides)
            write_private(private_dir(self._links) / path.name, link.record())
            self._evict(now=now, keep=path.stem)

    def put_side(self, token: str, slot: str, side: KeptSide | None, data: bytes | None, *, owner: str | None, now: float) -> None:
        """Keep ``side`` (and its bytes, for an upload) in ``slot`` of the link ``token``, or drop the slot (``side`` None); then evict.

        Parameters
        ----------
        token
            A link kept for ``owner`` (see :meth:`put`).
        slot
            The side file's place in the link (a short word, e.g. ``"payments"``); a new side file replaces the old one.
        side
            The side file, or None to drop the slot (a history detached, a list put away).
        data
            Its bytes when ``side.kind`` is :data:`KIND_UPLOAD` (their :func:`content_hash` must be ``side.version``); else None.

        Raises
        ------
        ValueError
            When the link is unknown, idle past the limit or another owner's, the slot or side malformed,
            the bytes do not match, or the link would hold more than :data:`MAX_SIDES` side files.
        OSError
            When the data directory cannot be written.
        """
        if not is_token(token):
            raise ValueError("not a link token")
        if side is not None:
            _check_side(slot, side)
            if side.kind == KIND_UPLOAD and (data is None or content_hash(data) != side.version):
                raise ValueError("the bytes do not match the side file's version")
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            link = self._open(path, owner=owner, now=now)
            if link is None:
                raise ValueError("no such link for this owner")
            sides = {name: kept for name, kept in link.sides.items() if name != slot}
            if side is not None:
                if len(sides) >= MAX_SIDES:
                    raise ValueError("too many side files")
                sides[slot] = side
                if side.kind == KIND_UPLOAD and data is not None:
                    self._write_file(side.version, data)
            write_private(path, replace(link, used=now, sides=sides).record())
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
            ``(choice, data)``: the bytes are None for the bundled sample and the configured source.
        """
        if not is_token(token):
            return None
        with self._lock:
            path = self._links / f"{_link_name(token)}.json"
            link = self._open(path, owner=owner, now=now)
            if link is None:
                return None
            data = None
            if keeps_bytes(link.choice):
                data = self._read_file(link.choice.version)
                if data is None:
                    return None
            write_private(path, replace(link, used=now).record())
            return link.choice, data

    def sides(self, token: object, *, owner: str | None, now: float) -> dict[str, KeptSide]:
        """The side files kept under ``token`` for ``owner`` (empty when none, or when the link opens nothing).

        An uploaded side file whose bytes are gone or damaged is left out. Not a use of the link.
        """
        if not is_token(token):
            return {}
        with self._lock:
            link = self._open(self._links / f"{_link_name(token)}.json", owner=owner, now=now)
            if link is None:
                return {}
            return {
                slot: side for slot, side in link.sides.items() if side.kind != KIND_UPLOAD or self._read_file(side.version) is not None
            }

    def side_bytes(self, token: object, slot: str, version: str, *, owner: str | None, now: float) -> bytes | None:
        """The bytes of the uploaded side file in ``slot`` of ``token``, when it is still ``version``; else None (as :meth:`get`)."""
        if not is_token(token):
            return None
        with self._lock:
            link = self._open(self._links / f"{_link_name(token)}.json", owner=owner, now=now)
            side = None if link is None else link.sides.get(slot)
            if side is None or side.kind != KIND_UPLOAD or side.version != version:
                return None
            return self._read_file(version)

    def forget(self, token: object, *, owner: str | None) -> bool:
        """Drop the link ``token`` of ``owner`` (its files go at the next eviction if no other link needs them).

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

    def _open(self, path: Path, *, owner: str | None, now: float) -> _Link | None:
        """The link at ``path`` when it is ``owner``'s and not idle past the limit (the lock is held)."""
        link = self._read_link(path)
        if link is None or link.owner != owner_key(owner) or now - link.used > self.limits.max_idle_seconds:
            return None
        return link

    def _write_file(self, version: str, data: bytes) -> None:
        target = private_dir(self._files) / version
        if not target.is_file():
            write_private(target, data)

    def _read_file(self, version: str) -> bytes | None:
        """A kept file's bytes, or None when it is gone or does not match its content hash."""
        try:
            data = (self._files / version).read_bytes()
        except OSError:
            return None
        return data if content_hash(data) == version else None

    def _read_link(self, path: Path) -> _Link | None:
        try:
            record = json.loads(path.read_bytes())
            return _Link(
                name=path.stem,
                choice=_choice_from(record["choice"]),
                owner=record["owner"] if isinstance(record["owner"], str) else None,
                saved=float(record["saved"]),
                used=float(record["used"]),
                sides=_sides_from(record.get("sides")),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _evict(self, *, now: float, keep: str | None) -> Evicted:
        """Idle links, then least recently used files and links, then orphan files (the lock is held)."""
        limits = self.limits
        sizes = {p.name: p.stat().st_size for p in self._files.glob("[0-9a-f]*") if p.is_file()} if self._files.is_dir() else {}
        links, dropped = [], []
        for path in sorted(self._links.glob("*.json")) if self._links.is_dir() else []:
            link = self._read_link(path)
            idle = link is not None and now - link.used > limits.max_idle_seconds
            gone = link is not None and keeps_bytes(link.choice) and link.choice.version not in sizes
            if link is None or ((idle or gone) and link.name != keep):
                dropped.append(path)
            else:
                links.append(link)
        # Newest use first (the link just saved before all): a file's recency is its newest link's.
        links.sort(key=lambda link: (link.name != keep, -link.used))
        files_kept: set[str] = set()
        total, kept_links, full = 0, 0, False
        for link in links:
            # A side file whose bytes are missing is not counted (reading it gives nothing); the link stays for its data set.
            new = list(dict.fromkeys(v for v in link.files() if v in sizes and v not in files_kept))
            if new:
                size = sum(sizes[v] for v in new)
                full = full or len(files_kept) + len(new) > limits.max_files or total + size > limits.max_bytes
                if full and link.name != keep:
                    dropped.append(self._links / f"{link.name}.json")
                    continue
                files_kept.update(new)
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
