"""Loading data sets through the caches: the only place the UI touches ingestion."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from analysis import ExtractError, LoadResult, load_extract, parse_preset
from analysis.ingest.pipeline import BYTES_PER_MB
from analysis.ingest.presets import MappingPreset
from analysis.report.catalogue import column_label
from analysis.schema import CANONICAL_COLUMNS
from ui import state
from ui.i18n import Markdown, has, language, md_escape, t, tm

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = ROOT / "data" / "sample_policies.csv"
PRESET_DIR = ROOT / "data" / "presets"


def upload_limit_mb() -> int:
    """The upload limit in MB: Streamlit's ``server.maxUploadSize`` (set in ``.streamlit/config.toml``)."""
    return int(st.get_option("server.maxUploadSize"))


def content_version(data: bytes) -> str:
    """A short content hash: the key under which a file's results are cached."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


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
    """The session's active data set, falling back to the sample."""
    choice = state.active_choice()
    if choice is not None:
        try:
            return choice, load_choice(choice)
        except ExtractError:
            pass
    choice = sample_choice()
    state.set_active(choice)
    return choice, load_choice(choice)


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
        try:
            return tm(key, **params)
        except (KeyError, IndexError):
            return md_escape(exc.text(language()))
    return md_escape(exc.text(language()))
