"""Translations for the UI: the session's language over the shared catalogue.

The catalogue itself lives in :mod:`analysis.report.catalogue` so headless reports use the
same words. A key missing from it is a bug: ``tests/report/test_catalogue.py`` checks that every
key the code uses (literal or from a declared family) exists in both languages.
"""

from __future__ import annotations

import re

import streamlit as st

from analysis.report.catalogue import CATALOGUE, LANGUAGES, translate
from ui.state import LANGUAGE

__all__ = ["CATALOGUE", "LANGUAGES", "LINK_BREAK", "Markdown", "has", "language", "md_escape", "t", "tm"]


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


class Markdown(str):
    """Text that is safe to hand to st.markdown and its kin (user text in it is escaped)."""


#: An invisible character that breaks a bare address apart (U+2060 WORD JOINER: no width, no line break).
LINK_BREAK = "\u2060"
#: The starts of what GitHub-flavoured Markdown links by itself: a scheme before ``:`` (``https://``,
#: ``mailto:``), ``www.``, and the ``@`` of an e-mail address.
_BARE_LINK = re.compile(r"(?i)(https?:|ftps?:|mailto:|xmpp:|file:|javascript:|data:|www(?=\.))|(@)")


def _break_link(match: re.Match[str]) -> str:
    return match.group(1) + LINK_BREAK if match.group(1) else LINK_BREAK + match.group(2)


def md_escape(text: object) -> Markdown:
    """User text made inert for Markdown: every control character escaped, line breaks made spaces.

    Streamlit renders Markdown in st.markdown, st.caption, st.info/warning/error/success and
    st.toast; a file name such as ``[x](http://…)`` or ``:red[…]`` must show as typed. A bare
    address (``https://…``, ``www.…``, ``a@b.example``) would still become a live link, since
    the autolinker reads the text after escapes are resolved: an invisible :data:`LINK_BREAK`
    after its scheme, after ``www`` and before ``@`` keeps it plain text. Text that is already
    :class:`Markdown` is returned as it is, so nothing is escaped twice.
    """
    if isinstance(text, Markdown):
        return text
    flat = _BARE_LINK.sub(_break_link, re.sub(r"[\r\n]+", " ", str(text)))
    return Markdown(re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$=:&])", r"\\\1", flat))


def tm(key: str, **params: object) -> Markdown:
    """:func:`t` for Markdown: every text value filled in is escaped first (numbers are formatted as they are)."""
    return Markdown(t(key, **{name: md_escape(value) if isinstance(value, str) else value for name, value in params.items()}))
