"""Loading data sets through the caches: the only place the UI touches ingestion."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Final

import streamlit as st

from analysis import ExtractError, LoadResult, parse_preset
from analysis.engine.config import SOURCE_ENV, SOURCE_TABLE, SourceConfig, open_config, read_config_file
from analysis.ingest.guard import guarded_load, guarded_sheets, guarded_survey
from analysis.ingest.headers import example_headers
from analysis.ingest.loud import loud_reasons, loud_sentences
from analysis.ingest.pipeline import BYTES_PER_MB
from analysis.ingest.presets import MappingPreset, fitting_presets
from analysis.ingest.survey import ExtractSurvey
from analysis.report.catalogue import column_label
from analysis.schema import CANONICAL_COLUMNS
from analysis.store.books import SECONDS_PER_HOUR, SOURCE_REFRESH_HOURS, BookStore, book_key_hash, code_version
from analysis.store.datasets import KIND_UPLOAD, DataSetStore, KeptSide, choice_key, content_hash, keeps_bytes, new_token
from analysis.store.disk import data_dir
from ui import state
from ui.auth import signed_in_account
from ui.i18n import Markdown, has, language, md_escape, t, tm

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "sample_policies.csv"
PRESET_DIR = ROOT / "data" / "presets"


def upload_limit_mb() -> int:
    """The upload limit in MB: Streamlit's ``server.maxUploadSize`` (set in ``.streamlit/config.toml``)."""
    return int(st.get_option("server.maxUploadSize"))


def content_version(data: bytes) -> str:
    """A short content hash: the key under which a file's results are cached and kept."""
    return content_hash(data)


@st.cache_resource(max_entries=1, show_spinner=False)
def sample_bytes() -> bytes:
    """The bundled sample extract (read once per process)."""
    return SAMPLE_PATH.read_bytes()


def sample_choice() -> state.DataSetChoice:
    """The choice that shows the bundled sample."""
    return state.DataSetChoice(name="sample_policies.csv", version=content_version(sample_bytes()), is_sample=True)


#: Books in memory are shared by every session that shows them and go when no session has asked
#: for them for :data:`BOOK_IDLE_SECONDS` (a reaper thread checks every :data:`REAP_SECONDS`),
#: so the server's memory returns to its level after sessions close: Streamlit keeps a closed
#: session's state until another session disconnects, so nothing big is kept there. A book
#: asked for again is read back from its copy on disk. Two sessions asking for the same book at
#: once read it once (``loading``).
BOOK_IDLE_ENV: Final = "LAPSELENS_BOOK_IDLE_SECONDS"
BOOK_IDLE_SECONDS: Final = 600
REAP_SECONDS: Final = 30


@dataclass
class _Books:
    held: dict[str, tuple[LoadResult, float]] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)
    loading: dict[str, threading.Lock] = field(default_factory=dict)

    def idle_seconds(self) -> float:
        return book_idle_seconds()

    def reap(self, now: float) -> int:
        """Let go of the books no session asked for lately; how many went."""
        with self.guard:
            idle = [key for key, (_, used) in self.held.items() if now - used > self.idle_seconds()]
            for key in idle:
                del self.held[key]
                self.loading.pop(key, None)
        return len(idle)


def book_idle_seconds() -> float:
    """How long a book no session asked for stays in memory (``LAPSELENS_BOOK_IDLE_SECONDS``, default :data:`BOOK_IDLE_SECONDS`)."""
    try:
        return float(os.environ.get(BOOK_IDLE_ENV, "") or BOOK_IDLE_SECONDS)
    except ValueError:
        return float(BOOK_IDLE_SECONDS)


def _reaper(books: _Books) -> None:
    again = False
    while True:
        time.sleep(REAP_SECONDS)
        released = books.reap(time.time()) + _close_expired_sessions() + _forget_last_run_when_idle()
        if released or again:
            release_memory()
        again = released > 0  # the sessions shut down on the server's event loop, after this round: give their memory back next round too


def release_memory() -> None:
    """Give the memory of books and sessions let go back to the system, not only to the allocators.

    Python frees a dropped frame's arrays into the C allocator (glibc's malloc, Arrow's
    jemalloc pool), which keep freed pages for later use: the process's resident memory stays
    where the books left it. After a collection this drops the engine's registrations of books
    nothing refers to (each holds the book's Arrow copy until the next book is bound, and after
    the last session nothing is), then asks Arrow's pool to release its unused memory and glibc
    to trim its heaps (``malloc_trim``); where either is missing it does nothing.
    """
    import ctypes
    import ctypes.util
    import gc

    import pyarrow as pa

    from analysis.engine.backend import drop_released

    gc.collect()
    drop_released()  # the engine's registrations of books no one refers to (only a next bind would drop them)
    gc.collect()
    try:
        pa.default_memory_pool().release_unused()
    except (AttributeError, NotImplementedError, pa.ArrowNotImplementedError):
        pass
    name = ctypes.util.find_library("c")
    try:
        trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        trim = None
    if trim is not None:
        trim(0)


def _close_expired_sessions() -> int:
    """Shut down the closed sessions whose reconnect time (``server.disconnectedSessionTTL``) is up; how many.

    Streamlit keeps a closed session (its state, its uploaded files, its pages' last globals)
    for a reconnect and drops it only when another session closes: when the last users leave
    together, nothing would. This reaps the store as that would, then shuts each session down
    on the server's event loop as a close does. It reaches into Streamlit's session manager;
    on a version without these parts it does nothing and Streamlit's own reaping stands.
    """
    instance = _running_server()
    if instance is None:
        return 0
    try:
        manager = instance._session_mgr  # noqa: SLF001
        with manager._storage_lock:  # noqa: SLF001
            removed = manager._session_storage._cache.expire()  # noqa: SLF001
        loop = instance._get_async_objs().eventloop  # noqa: SLF001
    except (AttributeError, ImportError, RuntimeError, TypeError):
        return 0
    for _, info in removed:
        loop.call_soon_threadsafe(_shut_down, info.session)
    return len(removed)


def _running_server() -> Any:
    """Streamlit's runtime of this server, or None (no server: the tests, the command line)."""
    from streamlit import runtime

    return runtime.get_instance() if runtime.exists() else None


def _forget_last_run_when_idle() -> int:
    """:func:`_forget_last_run` once the server has no session at all (1 when it let something go)."""
    instance = _running_server()
    if instance is None:
        return 0
    try:
        if instance._session_mgr.list_sessions():  # noqa: SLF001
            return 0
        script = instance._main_script_path  # noqa: SLF001
    except (AttributeError, ImportError, RuntimeError, TypeError):
        return 0
    return int(_forget_last_run(script))


def _forget_last_run(script: str) -> bool:
    """When no session is left, let go of the last script run's globals; whether there were any.

    Streamlit runs ``app.py`` in a new module that it installs as ``sys.modules["__main__"]``
    and never removes: after the last session has gone, the last run's globals (the active
    book it drew, a page's upload) stay alive. The module is replaced by an empty one with the
    same ``__file__`` (Streamlit's hashing of cached functions reads it); a run under way keeps
    its own module, and the next run installs its own.
    """
    import sys
    import types

    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) != script:
        return False
    if all(name.startswith("__") for name in vars(main)):  # already empty
        return False
    empty = types.ModuleType("__main__")
    empty.__file__ = script
    sys.modules["__main__"] = empty
    return True


def _shut_down(session: Any) -> None:
    """Shut a closed session down as a close does, then empty its state.

    Streamlit's runtime loop keeps the last session it sent messages to in a loop variable
    until another session sends something, so a session shut down when the last users have
    left outlives its reaping, state and all: its widgets' callbacks hold the pages' globals,
    and with them the book and the uploaded file. Giving it a new, empty state lets them go
    (``SessionState.clear`` keeps the widgets' metadata, and with it their callbacks).
    """
    session.shutdown()
    state = getattr(session, "_session_state", None)
    if state is not None:
        try:
            session._session_state = type(state)()  # noqa: SLF001
        except (AttributeError, TypeError):  # a Streamlit whose session takes no new state: empty what can be
            state.clear()


@st.cache_resource(max_entries=1, show_spinner=False)
def _shared_books() -> _Books:
    # The process's books in memory, with the reaper that lets idle ones go.
    books = _Books()
    threading.Thread(target=_reaper, args=(books,), name="lapselens-book-reaper", daemon=True).start()
    return books


#: A file's bytes, or how to get them when they are needed (None: this session no longer has them).
_Bytes = bytes | Callable[[], bytes | None] | None


def _book_key(version: str, filename: str, preset_toml: str, sheet: str | None, study_date: str | None) -> dict[str, object]:
    # What identifies a loaded file on disk and in memory: content hash, name, mapping, sheet, study date, limit, code.
    return {
        "file": version,
        "name": filename,
        "preset": content_hash(preset_toml.encode("utf-8")),
        "sheet": sheet,
        "study_date": study_date,
        "max_bytes": upload_limit_mb() * BYTES_PER_MB,
        "code": door_code(),
    }


def _load(version: str, filename: str, preset_toml: str, sheet: str | None, study_date: str | None, data: _Bytes) -> LoadResult:
    # Keyed by the content hash (``version``), never by hashing the bytes or a frame; every
    # session that sends the same file and mapping shares one read-only result. A book kept on
    # disk (after a restart, or after its last session closed) is read back without the file.
    key = _book_key(version, filename, preset_toml, sheet, study_date)
    digest = book_key_hash(key)
    books = _shared_books()
    with books.guard:
        lock = books.loading.setdefault(digest, threading.Lock())
    with lock:
        held = books.held.get(digest)
        result = held[0] if held is not None else _read_book(key, digest, filename, preset_toml, sheet, study_date, data)
        with books.guard:
            books.held[digest] = (result, time.time())
    return result


def _read_book(
    key: dict[str, object], digest: str, filename: str, preset_toml: str, sheet: str | None, study_date: str | None, data: _Bytes
) -> LoadResult:
    kept = kept_books().get(key, now=time.time())
    if kept is not None:
        return kept.result
    if callable(data):  # the file's bytes, read only when the book is neither in memory nor on disk
        data = data()
    if data is None:  # neither in memory nor on disk, and this session no longer has the file
        raise ExtractError("empty_file", reason="upload_gone")
    refusals = _refusals()
    refused = refusals.get(digest)
    if refused is not None:  # a file refused once is not read again on every click (a hostile one may take minutes)
        raise refused.bare()  # a fresh error each time: the one remembered gathers no frames
    try:
        # Read (the preset's text too) in a worker process with a memory ceiling and a time limit
        # (analysis/ingest/guard.py). The worker also keeps the book on disk under ``key``.
        keep = (kept_books().root, key, time.time())
        limit = int(str(key["max_bytes"]))
        return guarded_load(data, filename=filename, preset=preset_toml, sheet=sheet, study_date=study_date, max_bytes=limit, keep=keep)
    except ExtractError as exc:
        _remember_refusal(refusals, digest, exc)
        raise


#: Refusals remembered per process (file, mapping, sheet, study date, code), the oldest forgotten first.
MAX_REFUSALS = 64


@st.cache_resource(max_entries=1, show_spinner=False)
def _refusals() -> dict[str, ExtractError]:
    # The process's record of loads that ended in a refusal: the same file and mapping is refused at once.
    return {}


def _remember_refusal(refusals: dict[str, ExtractError], key: str, error: ExtractError) -> None:
    refusals[key] = error.bare()  # without the traceback that holds the refused file's bytes
    while len(refusals) > MAX_REFUSALS:
        refusals.pop(next(iter(refusals)))


def load_choice(choice: state.DataSetChoice, data: bytes | None = None) -> LoadResult:
    """Load (or fetch from cache) the data set a choice names.

    Raises
    ------
    ExtractError
        When the file cannot be used; the caller keeps the previous data set.
    """
    if state.is_configured(choice):
        return opened_source(choice).result
    given: _Bytes = data if data is not None else lambda: file_bytes(choice)
    return _load(choice.version, choice.name, choice.preset_toml, choice.sheet, choice.study_date, given)


def file_bytes(choice: state.DataSetChoice) -> bytes | None:
    """The bytes of the file a choice names: the sample's, this session's upload, or the copy kept under its link."""
    if choice.is_sample:
        return sample_bytes()
    data = state.upload_bytes(choice.version)
    kept = state.kept_link()
    if data is None and kept is not None and kept[1].version == choice.version:
        found = kept_store().get(kept[0], owner=signed_in_account(), now=time.time())
        data = found[1] if found is not None and found[0].version == choice.version else None
    return data


def active_result() -> tuple[state.DataSetChoice, LoadResult]:
    """The session's active data set, falling back to the sample; kept under the session's link.

    A session starts on the company's book when a source is configured; when it does not open
    (a bad configuration, the server down, a wrong password) the session notes why
    (:func:`state.source_failure`, which the frame says) and shows the sample.
    """
    choice = state.active_choice() or default_choice()
    if choice is not None:
        try:
            result = load_choice(choice)
        except ExtractError as exc:
            kept = state.kept_link()
            if state.is_configured(choice):
                state.set_source_failure(exc)
            elif kept is not None and kept[1] == choice:  # a data set brought back by a link no longer loads
                state.set_link_lost(True)
                state.clear_sides()  # nor does what was kept with it: the sample starts without a link
        else:
            state.set_active(choice)
            keep_link(choice)
            return choice, result
    choice = sample_choice()
    state.set_active(choice)
    keep_link(choice)
    return choice, load_choice(choice)


# --- The company's book: the configured source -----------------------------------------------
# A ``[source]`` table in the app's secrets, or a TOML file named by LAPSELENS_SOURCE (its
# password, if any, from the secrets). Parsed and checked in analysis.engine.config; opened on
# its engine once per process, and kept on disk (analysis.store.books) so a restart reads the
# kept copy until it is SOURCE_REFRESH_HOURS old. The password is in no cache key and no message.


def _secrets_source() -> object | None:
    try:
        value = st.secrets.get(SOURCE_TABLE)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def configured_source() -> SourceConfig | None:
    """The configured source (secrets first, else the file ``LAPSELENS_SOURCE`` names), or None without one.

    Raises
    ------
    ExtractError
        ``bad_config`` for a configuration that cannot be used.
    """
    secrets = _secrets_source()
    if isinstance(secrets, dict) and secrets.get("url"):
        return SourceConfig.from_mapping(secrets, origin="secrets", base=ROOT)
    path = os.environ.get(SOURCE_ENV, "").strip()
    if not path:
        return None
    password = secrets.get("password") if isinstance(secrets, dict) else None
    return read_config_file(path, password=password if isinstance(password, str) else None)


def source_choice(config: SourceConfig) -> state.DataSetChoice:
    """The choice that shows the configured book: named as configured, its mapping the configured preset.

    Raises
    ------
    ExtractError
        When the configured preset cannot be read.
    """
    return state.DataSetChoice(name=config.display_name(), version=state.SOURCE_PREFIX + config.version(), preset_toml=config.preset_text())


def configured_choice() -> state.DataSetChoice | None:
    """The configured book's choice, or None without a configuration or when it cannot be used."""
    try:
        config = configured_source()
        return None if config is None else source_choice(config)
    except ExtractError:
        return None


def default_choice() -> state.DataSetChoice:
    """What a session starts on: the company's book when one is configured (and has not failed in this session), else the sample."""
    if state.source_failure() is not None:
        return sample_choice()
    try:
        config = configured_source()
        return sample_choice() if config is None else source_choice(config)
    except ExtractError as exc:
        state.set_source_failure(exc)
        return sample_choice()


@dataclass(frozen=True)
class OpenedSource:
    """The configured book as the app shows it: the result, when it was read from the source, and why a stale copy is shown."""

    result: LoadResult
    saved: float
    stale: ExtractError | None = None


def _source_key(config: SourceConfig, preset_toml: str, study_date: str | None) -> dict[str, object]:
    # What identifies the configured book on disk: the configuration without its password, the mapping, the code.
    preset = content_hash(preset_toml.encode("utf-8"))
    return {"source": config.identity(), "preset": preset, "study_date": study_date, "code": door_code()}


@st.cache_resource(max_entries=4, ttl=SOURCE_REFRESH_HOURS * SECONDS_PER_HOUR, show_spinner=False)
def _open_source(version: str, preset_toml: str, study_date: str | None, asked: float, _config: SourceConfig) -> OpenedSource:
    # Keyed by the configuration's hash (``version``, no password in it), the mapping, the study date, and
    # the time a reload was last asked for (a copy saved before it is not fresh).
    key = _source_key(_config, preset_toml, study_date)
    now = time.time()
    kept = kept_books().get(key, now=now)
    if kept is not None and kept.fresh(now=now, asked=asked):
        return OpenedSource(kept.result, kept.saved)
    try:
        result = open_config(_config, preset_toml=preset_toml, study_date=study_date).load_result()
    except ExtractError as exc:
        if kept is not None:  # the source is down: yesterday's copy, saying so
            return OpenedSource(kept.result, kept.saved, exc)
        raise
    _keep_book(key, result)
    return OpenedSource(result, now)


def _config_of(choice: state.DataSetChoice) -> SourceConfig:
    config = configured_source()
    if config is None or state.SOURCE_PREFIX + config.version() != choice.version:
        raise ExtractError("empty_file", reason="upload_gone")  # the configuration changed under the session
    return config


def opened_source(choice: state.DataSetChoice) -> OpenedSource:
    """The configured book ``choice`` names (from the process's cache, the kept copy, or the source).

    Raises
    ------
    ExtractError
        When the configuration or the source cannot be used and no copy is kept.
    """
    return _open_source(choice.version, choice.preset_toml, choice.study_date, _reloads().get(choice.version, 0.0), _config_of(choice))


@st.cache_resource(max_entries=1, show_spinner=False)
def _reloads() -> dict[str, float]:
    # The process's record of "Reload from the source": configured book's version → when it was asked for.
    return {}


@dataclass(frozen=True)
class SourceSide:
    """A side table of the configured source (a payment history, a campaign list): where it is read from, as shown, and its version.

    ``version`` changes with the configuration and with each "Reload from the source", so the
    caches keyed by it read the table again when the book is.
    """

    source: Any
    name: str
    version: str


def source_side(choice: state.DataSetChoice, kind: str) -> SourceSide | None:
    """The configured source's side table ``kind`` (``payments``, ``campaign_list``) for the book ``choice`` names.

    None when ``choice`` is not the configured book, or the configuration names no such table
    (or can no longer be used: the book's own page says why).
    """
    if not state.is_configured(choice):
        return None
    try:
        config = _config_of(choice)
        source = config.side_source(kind)
    except ExtractError:
        return None
    if source is None:
        return None
    name = source.description() if hasattr(source, "description") else Path(str(source)).name
    version = f"{kind}-{config.side_version(kind)}-{_reloads().get(choice.version, 0.0)}"
    return SourceSide(source=source, name=name, version=version)


def source_facts(choice: state.DataSetChoice) -> tuple[str, str] | None:
    """The configured book's source as it may be shown (never a password) and its engine; None for a file or the sample."""
    if not state.is_configured(choice):
        return None
    try:
        config = _config_of(choice)
    except ExtractError:
        return None
    return config.description(), config.engine


def saved_text(saved: float) -> str:
    """When a kept copy was read from its source, as the server's local date and time (``YYYY-MM-DD HH:MM``)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(saved))


def reload_source(choice: state.DataSetChoice) -> None:
    """Read the configured book again from its source on the next run (every session then sees the new copy).

    The kept copy stays until the new one replaces it: when the source cannot be reached, it is
    shown with a warning, as after :data:`SOURCE_REFRESH_HOURS`.
    """
    _reloads()[choice.version] = time.time()


# --- Books kept on disk: a restart or a reload reads them instead of loading again -----------


@st.cache_resource(max_entries=1, show_spinner=False)
def _books(root: str) -> BookStore:
    return BookStore(Path(root) / "books")


def kept_books() -> BookStore:
    """The store of loaded books in the data directory (``LAPSELENS_DATA_DIR``, default ``.lapselens/``)."""
    return _books(str(data_dir()))


@st.cache_resource(max_entries=1, show_spinner=False)
def door_code() -> str:
    """A hash of the code that loads books (the door, the source readers, the schema): part of every kept book's key."""
    analysis = ROOT / "analysis"
    paths = [*(analysis / "ingest").glob("*.py"), *(analysis / "engine").glob("*.py")]
    return code_version([*paths, analysis / "schema.py", analysis / "store" / "books.py"])


def _keep_book(key: dict[str, object], result: LoadResult) -> None:
    # A book that cannot be kept (a full or read-only disk) is simply loaded again next time.
    try:
        kept_books().put(key, result, now=time.time())
    except (OSError, TypeError, ValueError):
        pass


# --- Data sets kept across a browser refresh -------------------------------------------------
# A refresh starts a new session: session_state is gone, the page address is not. The session's
# data set is kept on disk (analysis.store) under an unguessable link token carried in the
# address as ?ds=…, tied to the signed-in account when sign-in is on. The token is never logged.


@st.cache_resource(max_entries=1, show_spinner=False)
def _store(root: str) -> DataSetStore:
    # One store per data directory and process: its lock is shared by every session.
    return DataSetStore(Path(root) / "datasets")


def kept_store() -> DataSetStore:
    """The store of kept data sets in the data directory (``LAPSELENS_DATA_DIR``, default ``.lapselens/``)."""
    return _store(str(data_dir()))


def _needs_no_link(choice: state.DataSetChoice) -> bool:
    # The plain sample and the configured source are what a session starts on: a refresh finds them without a link.
    plain_sample = choice.is_sample and not choice.preset_toml and choice.sheet is None and choice.study_date is None
    return plain_sample or state.is_configured(choice)


def open_link() -> None:
    """Bring back the data set the page address names (app.py calls it before the page, every run).

    On a session's first run a ``?ds=`` token is looked up for the signed-in account (or for
    nobody, when sign-in is off). Found, its file and mapping become the active data set.
    Not found — unknown, expired, evicted, another account's — the parameter goes and the
    session shows the sample with a message (:func:`state.link_lost`), never silently. On
    later runs the session's token is put back into the address, because switching pages
    clears the address's parameters.
    """
    if not st.session_state.get(state.LINK_READ):
        st.session_state[state.LINK_READ] = True
        token = st.query_params.get(state.LINK_PARAM)
        if token:
            _restore(token)
        return
    kept = state.kept_link()
    if kept is not None and st.query_params.get(state.LINK_PARAM) != kept[0]:
        st.query_params[state.LINK_PARAM] = kept[0]


def _restore(token: str) -> None:
    store, owner, now = kept_store(), signed_in_account(), time.time()
    found = store.get(token, owner=owner, now=now)
    if found is not None and found[0].is_sample and found[0].version != sample_choice().version:
        found = None  # kept for a sample that this version of the app no longer ships
    if found is None:
        del st.query_params[state.LINK_PARAM]
        state.set_link_lost(True)
        return
    choice = found[0]  # its bytes stay on disk: file_bytes reads them back under the link when needed
    state.set_active(choice)
    state.set_kept_link(token, choice)
    # The side files that go with this data set (a history attached to this very book, a campaign list):
    # each page module takes its own (state.take_restored_side); their bytes stay on disk too (side_bytes).
    book = choice_key(choice)
    sides = {slot: side for slot, side in store.sides(token, owner=owner, now=now).items() if side.book in (None, book)}
    for slot, side in sides.items():
        state.set_kept_side(slot, (token, side))
    state.set_restored_sides(sides)


def keep_link(choice: state.DataSetChoice) -> None:
    """Keep ``choice`` under the session's link and put the token in the address.

    The plain sample and the configured source need no link, unless the session keeps side
    files with them (a payment history, a campaign list: :func:`keep_side`): then they get
    one too, so a refresh brings those back. A new file gets a new token, so an older link
    still opens its own file, and the side files that go with the new data set are kept
    under the new token too; a new mapping, sheet or study date of the same file is kept
    under the same token. When the data directory cannot be written the session goes on and
    says a refresh would lose the data set (:func:`state.unsaved_choice`); it does not retry
    the same choice on every run.
    """
    carried = _sides_for(choice)
    if _needs_no_link(choice) and not carried:
        state.clear_kept_link()
        if state.LINK_PARAM in st.query_params:
            del st.query_params[state.LINK_PARAM]
        return
    kept = state.kept_link()
    if (kept is not None and kept[1] == choice) or state.unsaved_choice() == choice:
        return
    token = kept[0] if kept is not None and kept[1].version == choice.version else new_token()
    data = file_bytes(choice) if keeps_bytes(choice) else None
    try:
        kept_store().put(token, choice, data, owner=signed_in_account(), now=time.time())
    except (OSError, ValueError):
        # The address must not name an older data set: a refresh now gives the sample, as the note says.
        state.set_unsaved_choice(choice)
        state.clear_kept_link()
        if state.LINK_PARAM in st.query_params:
            del st.query_params[state.LINK_PARAM]
        return
    state.set_kept_link(token, choice)
    state.forget_upload(choice.version)  # kept on disk: the session holds no copy (file_bytes reads it back)
    state.set_unsaved_choice(None)
    state.set_link_lost(False)
    st.query_params[state.LINK_PARAM] = token
    if kept is None or kept[0] != token:
        _carry_sides(carried, token)


# --- Side files kept with the data set: the payment history attached to the book, the campaign list -------------
# Each lives in its page module's session keys (ui/payments.py, ui/campaigns.py), which calls keep_side whenever
# what it holds differs from what is kept; the bytes of an upload then leave the session (side_bytes reads them back).


def _sides_for(choice: state.DataSetChoice) -> dict[str, tuple[str, KeptSide]]:
    # The session's kept side files that go with ``choice``: those of any book, and those of this very book.
    book = choice_key(choice)
    return {slot: kept for slot, kept in state.kept_sides().items() if kept[1].book in (None, book)}


def _carry_sides(carried: dict[str, tuple[str, KeptSide]], token: str) -> None:
    # A new link: the side files come along from the link they were kept under (their bytes read from there).
    store, owner, now = kept_store(), signed_in_account(), time.time()
    for slot, (old, side) in carried.items():
        data = store.side_bytes(old, slot, side.version, owner=owner, now=now) if side.kind == KIND_UPLOAD else None
        try:
            store.put_side(token, slot, side, data, owner=owner, now=now)
        except (OSError, ValueError):
            state.set_unsaved_side(slot, side)  # still readable under the old link for this session
            continue
        state.set_kept_side(slot, (token, side))


def _new_link(choice: state.DataSetChoice) -> tuple[str, state.DataSetChoice] | None:
    # A link for a data set that needs none of its own (the plain sample, the configured source), to keep side files with.
    if state.unsaved_choice() == choice:
        return None
    token = new_token()
    try:
        kept_store().put(token, choice, file_bytes(choice) if keeps_bytes(choice) else None, owner=signed_in_account(), now=time.time())
    except (OSError, ValueError):
        return None
    state.set_kept_link(token, choice)
    st.query_params[state.LINK_PARAM] = token
    return token, choice


def keep_side(slot: str, side: KeptSide | None, data: bytes | None = None) -> bool:
    """Keep a side file with the session's data set under its link, or drop the one kept in ``slot`` (``side`` None).

    Called by a page module whenever what it holds differs from what is kept (cheap when
    nothing changed). A side file of another book than the link's waits (False, nothing
    noted). The plain sample or the configured source gets a link for it. When it cannot be
    written the session keeps its own copy and :func:`side_unsaved` says a refresh would lose
    it (not retried for the same side file); a removal that cannot be written takes the
    token out of the address, so a refresh cannot bring back what the user removed.

    Parameters
    ----------
    slot
        The side file's place (``"payments"``, ``"campaigns"``).
    side
        What to keep, its ``book`` the :func:`choice_key` of the data set it belongs to (None: any).
    data
        Its bytes for an upload, when the session still holds them; else they are read from where it was kept before.

    Returns
    -------
    bool
        True when what the session holds in ``slot`` is on disk (the caller may then let go of the bytes).
    """
    kept, current = state.kept_link(), state.kept_sides().get(slot)
    if side is None:
        if state.unsaved_side(slot) is not None:
            state.set_unsaved_side(slot, None)
        return current is None or _drop_side(slot, current[0])
    if kept is not None and current == (kept[0], side):
        return True
    if state.unsaved_side(slot) == side:
        return False
    choice = state.active_choice()
    if kept is None and choice is not None and (side.book is None or side.book == choice_key(choice)):
        kept = _new_link(choice)
    if kept is None:
        state.set_unsaved_side(slot, side)
        return False
    if side.book is not None and side.book != choice_key(kept[1]):
        return False  # the link still names the previous book: kept on a later run
    store, owner, now = kept_store(), signed_in_account(), time.time()
    if side.kind == KIND_UPLOAD and data is None and current is not None:
        data = store.side_bytes(current[0], slot, side.version, owner=owner, now=now)
    try:
        store.put_side(kept[0], slot, side, data, owner=owner, now=now)
    except (OSError, ValueError):
        state.set_unsaved_side(slot, side)
        return False
    state.set_kept_side(slot, (kept[0], side))
    state.set_unsaved_side(slot, None)
    return True


def _drop_side(slot: str, token: str) -> bool:
    try:
        kept_store().put_side(token, slot, None, None, owner=signed_in_account(), now=time.time())
    except ValueError:
        pass  # the link itself is gone (evicted, expired): nothing left to bring back
    except OSError:
        # Not removed on disk: the address must not bring it back, so the session gives up its link (and says so).
        kept = state.kept_link()
        if kept is not None and kept[0] == token:
            state.set_unsaved_choice(kept[1])
            state.clear_kept_link()
            if state.LINK_PARAM in st.query_params:
                del st.query_params[state.LINK_PARAM]
    state.set_kept_side(slot, None)
    return True


def side_bytes(slot: str, version: str) -> bytes | None:
    """The bytes of the uploaded side file ``version`` in ``slot``, read back from where the session kept it (None when gone)."""
    kept = state.kept_sides().get(slot)
    if kept is None or kept[1].version != version:
        return None
    return kept_store().side_bytes(kept[0], slot, version, owner=signed_in_account(), now=time.time())


def side_unsaved(slot: str) -> bool:
    """True when the side file the session holds in ``slot`` could not be kept on disk (a refresh would lose it)."""
    return state.unsaved_side(slot) is not None


# --- A load that failed: kept in the session until another load or a new upload ------------------
# The error itself is kept (not its sentence), so the message follows a change of language.
FAILED = "data_failed"
FAILED_ERROR = "data_failed_error"


def failed_load() -> tuple[state.DataSetChoice, ExtractError] | None:
    """The choice whose load failed last, and why, while the page shows it (None when none did)."""
    choice, error = st.session_state.get(FAILED), st.session_state.get(FAILED_ERROR)
    if isinstance(choice, state.DataSetChoice) and isinstance(error, ExtractError):
        return choice, error
    return None


def record_failure(choice: state.DataSetChoice, error: ExtractError) -> None:
    """Remember that ``choice`` could not be loaded (the page then shows its columns to map)."""
    st.session_state[FAILED] = choice
    st.session_state[FAILED_ERROR] = error


def clear_failure() -> None:
    """Forget the failed load (a new upload, or a load that worked)."""
    st.session_state.pop(FAILED, None)
    st.session_state.pop(FAILED_ERROR, None)


def try_load(choice: state.DataSetChoice, data: bytes | None = None) -> bool:
    """Load ``choice`` and make it the active data set; on failure remember why and keep the previous one."""
    try:
        load_choice(choice, data)
    except ExtractError as exc:
        record_failure(choice, exc)
        return False
    state.set_active(choice)
    clear_failure()
    return True


@st.cache_resource(max_entries=2, show_spinner=False)
def _survey(version: str, filename: str, preset_toml: str, sheet: str | None, _data: bytes) -> ExtractSurvey | None:
    # Keyed by content hash like _load; None when the file cannot be read as a table at all. The
    # preset is parsed in the worker; one that cannot be used leaves the file's own columns to show.
    limit = upload_limit_mb() * BYTES_PER_MB
    for preset in (preset_toml, ""):
        try:
            return guarded_survey(_data, filename=filename, preset=preset, sheet=sheet, max_bytes=limit)
        except ExtractError as exc:
            if exc.code != "bad_preset" or not preset:
                return None
    return None


@st.cache_resource(max_entries=8, show_spinner=False)
def _sheets(version: str, filename: str, _data: bytes) -> tuple[str, ...] | ExtractError:
    # Keyed by content hash; a refusal is kept too (returned, not raised), so it is not asked again.
    try:
        return guarded_sheets(_data, filename=filename)
    except ExtractError as exc:
        return exc.bare()  # kept by the cache: without the traceback that holds the file's bytes


def sheet_names(data: bytes, filename: str) -> tuple[str, ...]:
    """The sheets of an uploaded workbook (empty for CSV and Parquet), read in a worker process.

    Raises
    ------
    ExtractError
        When the file cannot be read (the same refusal as its load).
    """
    found = _sheets(content_version(data), filename, data)
    if isinstance(found, ExtractError):
        # A fresh copy: raising the remembered one would give it this run's traceback, whose frames
        # hold the session (its uploads, its page's globals) for as long as the cache keeps it.
        raise found.bare()
    return found


def inspect_choice(choice: state.DataSetChoice) -> ExtractSurvey | None:
    """The columns and status values of a file that failed to load (None when it has none to show)."""
    data = file_bytes(choice)
    if data is None:
        return None
    return _survey(choice.version, choice.name, choice.preset_toml, choice.sheet, data)


def fitting_preset_choices(headers: list[str], current: state.DataSetChoice) -> dict[str, str]:
    """Label → TOML of the presets that fit ``headers``: the shipped ones, and the mapping of the data set in use."""
    candidates = dict(shipped_presets())
    if current.preset_toml and not current.is_sample:
        candidates[t("data.saved_mapping", name=current.name)] = current.preset_toml
    parsed: dict[str, MappingPreset] = {}
    for label, text in candidates.items():
        try:
            parsed[label] = parse_preset(text)
        except ExtractError:
            continue
    return {label: candidates[label] for label in fitting_presets(headers, parsed)}


@st.cache_data(max_entries=16, show_spinner=False)
def _loud_lines(key: str, lang: str, _result: LoadResult) -> list[str]:
    # Keyed by the data set (content hash, mapping, sheet, study date) and the language, never by hashing the frame.
    return loud_sentences(loud_reasons(_result.problems, _result.rows_read), _result.rows_read, lang)


def loud_lines(choice: state.DataSetChoice, result: LoadResult) -> list[str]:
    """The reasons that touch many rows of the data set, each a sentence in the session's language (the loud account)."""
    key = "|".join([choice.version, content_version(choice.preset_toml.encode()), str(choice.sheet), str(choice.study_date)])
    return _loud_lines(key, language(), result)


def shipped_presets() -> dict[str, str]:
    """Preset name → TOML text of the presets in ``data/presets``."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(PRESET_DIR.glob("*.toml"))}


def error_text(exc: ExtractError) -> Markdown:
    """The user's-language message for an ExtractError (English if not catalogued), safe for Markdown.

    The message quotes the user's own text (file names, headers, values); it is escaped, so
    st.error shows it as typed.
    """
    key = exc.key
    if has(key):
        params = dict(exc.params)
        for name, value in exc.params.items():
            if has(f"error_detail.{value}"):  # a reason or a kind of file: a catalogued phrase
                params[name] = t(f"error_detail.{value}")
            elif name in ("canonical", "column") and value in CANONICAL_COLUMNS:  # our own column names in words
                params[name] = column_label(value, language())
            elif exc.code == "missing_required" and name in CANONICAL_COLUMNS:  # known headers, in the page's language
                params[name] = ", ".join(example_headers(name, language())) or value
        try:
            return tm(key, **params)
        except (KeyError, IndexError):
            return md_escape(exc.text(language()))
    return md_escape(exc.text(language()))
