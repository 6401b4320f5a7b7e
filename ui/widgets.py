"""Widgets whose option labels are translated.

A Streamlit widget keeps the labels it was first drawn with, so these widgets
take the language into their key and carry their value across a language switch.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import language, t
from ui.state import carried_index, carry_over, lang_key


def select(label: str, options: dict[str, str], *, key: str) -> str:
    """A selectbox over ``options`` (value → translated label)."""
    values = list(options)
    return str(
        st.selectbox(
            label,
            values,
            format_func=options.__getitem__,
            key=lang_key(key),
            index=carried_index(key, values),
            on_change=carry_over,
            args=(key,),
        )
    )


def radio(label: str, options: dict[str, str], *, key: str) -> str:
    """A horizontal radio over ``options`` (value → translated label)."""
    values = list(options)
    return str(
        st.radio(
            label,
            values,
            format_func=options.__getitem__,
            key=lang_key(key),
            index=carried_index(key, values),
            on_change=carry_over,
            args=(key,),
            horizontal=True,
        )
    )


def multiselect(label: str, options: dict[str, str], *, default: list[str], key: str) -> list[str]:
    """A multiselect over ``options`` (value → translated label), remembering its choice across languages."""
    carried = st.session_state.get(f"{key}__value")
    chosen = carried if isinstance(carried, list) else default
    return list(
        st.multiselect(
            label,
            list(options),
            default=[c for c in chosen if c in options],
            format_func=options.__getitem__,
            key=lang_key(key),
            on_change=carry_over,
            args=(key,),
            placeholder=t("widget.choose"),
            select_all=select_all(),
        )
    )


def select_all() -> bool:
    """Whether a multiselect offers Streamlit's "Select all": in English only.

    Streamlit lets a page hide that option (``select_all=False``) but not word it, so in 中文 it is
    hidden (README, "Streamlit's own words"); an empty choice already means all on our filters.
    """
    return language() == "en"


def download_button(where: Any, label: str, data: Any, **kwargs: Any) -> None:
    """``where.download_button(label, data, …)`` that does not rerun the page when clicked (``on_click="ignore"``).

    Nothing on a page depends on a download having been clicked, so the rerun would only cost
    time, and it gives every download on the page a new handle while the browser may still be
    fetching the file it asked for under the old one.
    """
    where.download_button(label, data, on_click="ignore", **kwargs)
