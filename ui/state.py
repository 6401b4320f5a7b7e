"""Session-state keys shared by the app frame and the pages, with typed getters.

Keys are constants here so a typo is an import error, not a silent new key.
Values are seeded with ``setdefault`` in :func:`init_session`.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from analysis.errors import ExtractError

# Defined with the store that keeps it across a reload; pages and tests name it ``state.DataSetChoice``.
from analysis.store.datasets import SOURCE_PREFIX, DataSetChoice, KeptSide

LANGUAGE: Final = "app_language"
ACTIVE: Final = "app_active_dataset"
UPLOADS: Final = "app_uploads"
#: How many uploaded files a session keeps at once (until kept on disk under its link).
MAX_UPLOADS: Final = 2
#: The page address's parameter that carries the session's link token (``?ds=…``).
LINK_PARAM: Final = "ds"
#: The session's link token and the choice last kept under it (a tuple), once it has one.
KEPT: Final = "app_kept_link"
#: Set once the session has read the page address (on its first run).
LINK_READ: Final = "app_link_read"
#: True when the address named a data set this session could not open (it shows the sample instead).
LINK_LOST: Final = "app_link_lost"
#: The choice that could not be kept on disk (a refresh would lose it), or absent.
UNSAVED: Final = "app_unsaved_choice"
#: Why the configured source (the company's book) did not open in this session (an ExtractError), or absent.
SOURCE_FAILED: Final = "app_source_failed"
# SOURCE_PREFIX (imported above, defined with the store): a choice whose version starts so names the configured source.
#: Side files (a payment history, a campaign list) kept with the data set under the session's link:
#: slot → (token, side file) as last kept on disk.
KEPT_SIDES: Final = "app_kept_sides"
#: Side files the link brought back on the session's first run, not yet taken up by their page's module: slot → side file.
RESTORED_SIDES: Final = "app_restored_sides"
#: Side files that could not be kept on disk (a refresh would lose them): slot → side file.
UNSAVED_SIDES: Final = "app_unsaved_sides"


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
    """Keep this session's upload: the latest two, never dropping the active data set's file (a new mapping reads it again)."""
    kept = kept_link()
    if kept is not None and kept[1].version == version:
        return  # already kept on disk under the session's link (ui.datasets.file_bytes reads it there)
    uploads: dict[str, bytes] = st.session_state.setdefault(UPLOADS, {})
    uploads[version] = data
    active = active_choice()
    for old in [v for v in uploads if v not in (version, active.version if active else None)]:
        if len(uploads) <= MAX_UPLOADS:
            break
        uploads.pop(old)


def forget_upload(version: str) -> None:
    """Drop this session's copy of an upload (it is kept on disk under the session's link)."""
    st.session_state.setdefault(UPLOADS, {}).pop(version, None)


def kept_link() -> tuple[str, DataSetChoice] | None:
    """The session's link token and the choice kept under it, or None before anything was kept."""
    value = st.session_state.get(KEPT)
    return value if isinstance(value, tuple) else None


def set_kept_link(token: str, choice: DataSetChoice) -> None:
    """Remember that ``choice`` is kept under the session's link ``token``."""
    st.session_state[KEPT] = (token, choice)


def clear_kept_link() -> None:
    """The session has no kept data set (it shows the plain sample)."""
    st.session_state.pop(KEPT, None)


def link_lost() -> bool:
    """True when the address named a data set this session could not open."""
    return bool(st.session_state.get(LINK_LOST))


def set_link_lost(lost: bool) -> None:
    """Note (or clear) that the address's data set could not be opened."""
    st.session_state[LINK_LOST] = lost


def unsaved_choice() -> DataSetChoice | None:
    """The data set that could not be kept on disk, or None."""
    value = st.session_state.get(UNSAVED)
    return value if isinstance(value, DataSetChoice) else None


def set_unsaved_choice(choice: DataSetChoice | None) -> None:
    """Note (or clear, with None) the data set that could not be kept on disk."""
    st.session_state[UNSAVED] = choice


def kept_sides() -> dict[str, tuple[str, KeptSide]]:
    """The side files kept on disk for this session: slot → (the link token they are under, the side file)."""
    value = st.session_state.get(KEPT_SIDES)
    return dict(value) if isinstance(value, dict) else {}


def set_kept_side(slot: str, kept: tuple[str, KeptSide] | None) -> None:
    """Note that a side file is kept under a token (or, with None, that the slot keeps nothing)."""
    sides = kept_sides()
    if kept is None:
        sides.pop(slot, None)
    else:
        sides[slot] = kept
    st.session_state[KEPT_SIDES] = sides


def clear_sides() -> None:
    """The session keeps no side files (the data set they were kept with no longer opens)."""
    st.session_state.pop(KEPT_SIDES, None)
    st.session_state.pop(RESTORED_SIDES, None)


def take_restored_side(slot: str) -> KeptSide | None:
    """The side file the link brought back for ``slot``, once: taking it clears it."""
    value = st.session_state.get(RESTORED_SIDES)
    side = value.pop(slot, None) if isinstance(value, dict) else None
    return side if isinstance(side, KeptSide) else None


def set_restored_sides(sides: dict[str, KeptSide]) -> None:
    """Hand the side files a link brought back to their page modules (each takes its own)."""
    st.session_state[RESTORED_SIDES] = dict(sides)


def unsaved_side(slot: str) -> KeptSide | None:
    """The side file in ``slot`` that could not be kept on disk, or None."""
    value = st.session_state.get(UNSAVED_SIDES)
    side = value.get(slot) if isinstance(value, dict) else None
    return side if isinstance(side, KeptSide) else None


def set_unsaved_side(slot: str, side: KeptSide | None) -> None:
    """Note (or clear, with None) the side file in ``slot`` that could not be kept on disk."""
    value = st.session_state.get(UNSAVED_SIDES)
    sides = dict(value) if isinstance(value, dict) else {}
    if side is None:
        sides.pop(slot, None)
    else:
        sides[slot] = side
    st.session_state[UNSAVED_SIDES] = sides


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


def is_configured(choice: DataSetChoice) -> bool:
    """True when ``choice`` is the configured source (the company's book), not a file or the sample."""
    return choice.version.startswith(SOURCE_PREFIX)


def source_failure() -> ExtractError | None:
    """Why the configured source did not open in this session (it shows the sample), or None."""
    value = st.session_state.get(SOURCE_FAILED)
    return value if isinstance(value, ExtractError) else None


def set_source_failure(error: ExtractError | None) -> None:
    """Note (or clear, with None) why the configured source did not open; the session does not try it again until cleared."""
    if error is None:
        st.session_state.pop(SOURCE_FAILED, None)
    else:
        st.session_state[SOURCE_FAILED] = error.bare()  # without its traceback (and the frames it holds)
