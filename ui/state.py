"""Session-state keys shared by the app frame and the pages, with typed getters.

Keys are constants here so a typo is an import error, not a silent new key.
Values are seeded with ``setdefault`` in :func:`init_session`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import streamlit as st

LANGUAGE: Final = "app_language"
ACTIVE: Final = "app_active_dataset"
UPLOADS: Final = "app_uploads"


@dataclass(frozen=True)
class DataSetChoice:
    """Which data set a session is looking at, and how it was mapped.

    ``version`` is the content hash of the file: caches key on it, never on
    the frame. ``preset_toml`` is the mapping in force (empty: automatic).
    """

    name: str
    version: str
    preset_toml: str = ""
    sheet: str | None = None
    study_date: str | None = None
    is_sample: bool = False


def browser_language() -> str:
    """``en`` when the browser asks for English, else ``zh`` (the default)."""
    locale = getattr(st.context, "locale", None) or ""
    return "en" if str(locale).lower().startswith("en") else "zh"


def init_session() -> None:
    """Seed the app-wide keys once per session."""
    st.session_state.setdefault(LANGUAGE, browser_language())
    st.session_state.setdefault(UPLOADS, {})


def active_choice() -> DataSetChoice | None:
    """The session's active data set, or None before the sample is chosen."""
    value = st.session_state.get(ACTIVE)
    return value if isinstance(value, DataSetChoice) else None


def set_active(choice: DataSetChoice) -> None:
    """Make ``choice`` the session's active data set."""
    st.session_state[ACTIVE] = choice


def upload_bytes(version: str) -> bytes | None:
    """The bytes of a file this session uploaded, by content hash."""
    uploads: dict[str, bytes] = st.session_state.get(UPLOADS, {})
    return uploads.get(version)


def remember_upload(version: str, data: bytes) -> None:
    """Keep this session's upload (only the latest two, to bound memory)."""
    uploads: dict[str, bytes] = st.session_state.setdefault(UPLOADS, {})
    uploads[version] = data
    while len(uploads) > 2:
        uploads.pop(next(iter(uploads)))


def lang_key(name: str) -> str:
    """A widget key that changes with the language, for widgets whose option labels are translated."""
    return f"{name}__{st.session_state.get(LANGUAGE, 'zh')}"


def carry_over(name: str) -> None:
    """Remember a language-keyed widget's value under its plain name (an ``on_change`` callback)."""
    st.session_state[f"{name}__value"] = st.session_state.get(lang_key(name))


def carried_index(name: str, options: list[str]) -> int:
    """The option index to draw a language-keyed widget with: the value it had before."""
    value = st.session_state.get(f"{name}__value")
    return options.index(value) if value in options else 0
