"""Translations for the UI: the session's language over the shared catalogue.

The catalogue itself lives in :mod:`analysis.catalogue` so headless reports use the
same words. A key missing from it is a bug: tests check that every key used by the
pages exists in both languages.
"""

from __future__ import annotations

import streamlit as st

from analysis.catalogue import CATALOGUE, LANGUAGES, translate
from ui.state import LANGUAGE

__all__ = ["CATALOGUE", "LANGUAGES", "has", "language", "t"]


def language() -> str:
    """The session's UI language code (``zh`` or ``en``)."""
    lang = st.session_state.get(LANGUAGE, "zh")
    return lang if lang in LANGUAGES else "zh"


def t(key: str, **params: object) -> str:
    """Translate ``key`` into the session's language, filling ``{params}``."""
    return translate(key, language(), **params)


def has(key: str) -> bool:
    """True when the catalogue has ``key``."""
    return key in CATALOGUE
