"""Loading data sets through the caches: the only place the UI touches ingestion."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from analysis import ExtractError, LoadResult, load_extract, parse_preset
from analysis.ingest.headers import example_headers
from analysis.ingest.loud import loud_reasons, loud_sentences
from analysis.ingest.pipeline import BYTES_PER_MB
from analysis.ingest.presets import MappingPreset, fitting_presets
from analysis.ingest.survey import ExtractSurvey, inspect_extract
from analysis.report.catalogue import column_label
from analysis.schema import CANONICAL_COLUMNS
from analysis.store.datasets import DataSetStore, content_hash, new_token
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


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(version: str, filename: str, preset_toml: str, sheet: str | None, study_date: str | None, _data: bytes) -> LoadResult:
    # Keyed by the content hash (``version``), never by hashing the bytes or a frame;
    # every session that sends the same file and mapping shares one read-only result.
    preset = parse_preset(preset_toml) if preset_toml else MappingPreset()
    limit = upload_limit_mb() * BYTES_PER_MB
    return load_extract(_data, filename=filename, preset=preset, sheet=sheet, study_date=study_date, max_bytes=limit)


def load_choice(choice: state.DataSetChoice, data: bytes | None = None) -> LoadResult:
    """Load (or fetch from cache) the data set a choice names.

    Raises
    ------
    ExtractError
        When the file cannot be used; the caller keeps the previous data set.
    """
    if data is None:
        data = sample_bytes() if choice.is_sample else state.upload_bytes(choice.version)
    if data is None:
        raise ExtractError("empty_file", reason="upload_gone")
    return _load(choice.version, choice.name, choice.preset_toml, choice.sheet, choice.study_date, data)


def active_result() -> tuple[state.DataSetChoice, LoadResult]:
    """The session's active data set, falling back to the sample; kept under the session's link."""
    choice = state.active_choice()
    if choice is not None:
        try:
            result = load_choice(choice)
        except ExtractError:
            kept = state.kept_link()
            if kept is not None and kept[1] == choice:  # a data set brought back by a link no longer loads
                state.set_link_lost(True)
        else:
            keep_link(choice)
            return choice, result
    choice = sample_choice()
    state.set_active(choice)
    keep_link(choice)
    return choice, load_choice(choice)


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


def _is_plain_sample(choice: state.DataSetChoice) -> bool:
    return choice.is_sample and not choice.preset_toml and choice.sheet is None and choice.study_date is None


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
    found = kept_store().get(token, owner=signed_in_account(), now=time.time())
    if found is not None and found[0].is_sample and found[0].version != sample_choice().version:
        found = None  # kept for a sample that this version of the app no longer ships
    if found is None:
        del st.query_params[state.LINK_PARAM]
        state.set_link_lost(True)
        return
    choice, data = found
    if data is not None:
        state.remember_upload(choice.version, data)
    state.set_active(choice)
    state.set_kept_link(token, choice)


def keep_link(choice: state.DataSetChoice) -> None:
    """Keep ``choice`` under the session's link and put the token in the address (the plain sample needs none).

    A new file gets a new token, so an older link still opens its own file; a new mapping,
    sheet or study date of the same file is kept under the same token. When the data
    directory cannot be written the session goes on and says a refresh would lose the data
    set (:func:`state.unsaved_choice`); it does not retry the same choice on every run.
    """
    if _is_plain_sample(choice):
        state.clear_kept_link()
        if state.LINK_PARAM in st.query_params:
            del st.query_params[state.LINK_PARAM]
        return
    kept = state.kept_link()
    if (kept is not None and kept[1] == choice) or state.unsaved_choice() == choice:
        return
    token = kept[0] if kept is not None and kept[1].version == choice.version else new_token()
    data = None if choice.is_sample else state.upload_bytes(choice.version)
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
    state.set_unsaved_choice(None)
    state.set_link_lost(False)
    st.query_params[state.LINK_PARAM] = token


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
    # Keyed by content hash like _load; None when the file cannot be read as a table at all.
    try:
        preset = parse_preset(preset_toml) if preset_toml else MappingPreset()
    except ExtractError:
        preset = MappingPreset()
    try:
        return inspect_extract(_data, filename=filename, preset=preset, sheet=sheet, max_bytes=upload_limit_mb() * BYTES_PER_MB)
    except ExtractError:
        return None


def inspect_choice(choice: state.DataSetChoice) -> ExtractSurvey | None:
    """The columns and status values of a file that failed to load (None when it has none to show)."""
    data = sample_bytes() if choice.is_sample else state.upload_bytes(choice.version)
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
