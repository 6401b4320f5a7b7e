"""The condition builder: named cohorts made by pointing, several at once, saved in and loaded from cohort presets.

The session's named cohorts are the Cohort explorer's editable one (:func:`ui.study.named_cohort`,
the preset until edited) and those built here (``SAVED``, their JSON-ready forms). Every page
offers them all: as cohorts to group by, and in the filter bar's named-cohort choice
(:func:`all_cohorts`). A cohort preset is the TOML of :mod:`analysis.study.cohort_presets`:
saved for the session under a name and downloaded, loaded from ``data/presets/cohorts/``, the
session's own or an upload.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from analysis import ExtractError, LoadResult
from analysis.report.catalogue import column_label
from analysis.study.cohort_presets import MAX_COHORTS, cohort_key, cohorts_to_toml, condition_columns, guarded_cohorts, typed_value
from analysis.study.cohorts import NamedCohort, cohort_from_dict
from ui import widgets
from ui.datasets import ROOT, error_text, upload_limit_mb
from ui.i18n import language, t, tm
from ui.state import DataSetChoice
from ui.study import NAMED_COHORT, NAMED_COHORT_KEPT, filter_values, named_cohort

#: Session keys: the built cohorts (JSON-ready forms), the conditions of the one being built, the
#: presets saved this session (name → TOML), and the builder's last problem (shown once).
SAVED, DRAFT, SESSION_PRESETS, PROBLEM = "cohort_saved", "cohort_draft", "cohort_presets", "cohort_builder_problem"
#: Where the shipped cohort presets are.
PRESET_DIR = ROOT / "data" / "presets" / "cohorts"
#: Widget keys.
COLUMN, OPERATOR, LOW, HIGH, VALUE, NAME = (
    "cohort_builder_column",
    "cohort_builder_op",
    "cohort_builder_low",
    "cohort_builder_high",
    "cohort_builder_value",
    "cohort_builder_name",
)
PRESET_NAME, PRESET_CHOICE, PRESET_FILE = "cohort_preset_name", "cohort_preset_choice", "cohort_preset_file"


def values_key(column: str) -> str:
    """The key of the values multiselect for one column."""
    return f"cohort_builder_values_{column}"


def saved_cohorts() -> tuple[NamedCohort, ...]:
    """The cohorts built (or loaded) in this session."""
    return tuple(cohort_from_dict(data) for data in st.session_state.get(SAVED) or ())


def all_cohorts() -> tuple[NamedCohort, ...]:
    """Every named cohort of the session: the editable one first, then the built ones (one per key)."""
    primary = named_cohort()[0]
    return (primary, *(c for c in saved_cohorts() if c.key != primary.key))


def shipped_presets() -> dict[str, str]:
    """Cohort preset name → TOML text of the presets in ``data/presets/cohorts``."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(PRESET_DIR.glob("*.toml"))}


def _operators() -> dict[str, str]:
    return {
        "in": t("cohort.operator.in"),
        "not in": t("cohort.operator.not_in"),
        "between": t("cohort.operator.between"),
        "==": t("cohort.operator.eq"),
        "!=": t("cohort.operator.ne"),
        "<": t("cohort.operator.lt"),
        "<=": t("cohort.operator.le"),
        ">": t("cohort.operator.gt"),
        ">=": t("cohort.operator.ge"),
        "is blank": t("cohort.operator.blank"),
        "not blank": t("cohort.operator.not_blank"),
    }


def _add_condition(column: str, op: str, numeric: bool) -> None:
    """The widgets' condition added to the cohort being built (a callback: runs before the page)."""
    state = st.session_state
    value: Any = None
    if op in ("in", "not in"):
        value = list(state.get(values_key(column)) or [])
        if not value:
            state[PROBLEM] = t("cohort.builder_no_values")
            return
    elif op == "between":
        low, high = str(state.get(LOW) or "").strip(), str(state.get(HIGH) or "").strip()
        if not low or not high:
            state[PROBLEM] = t("cohort.builder_no_range")
            return
        value = [typed_value(low, numeric=numeric), typed_value(high, numeric=numeric)]
    elif op not in ("is blank", "not blank"):
        text = str(state.get(VALUE) or "").strip()
        if not text:
            state[PROBLEM] = t("cohort.builder_no_value")
            return
        value = typed_value(text, numeric=numeric)
    state[DRAFT] = [*(state.get(DRAFT) or []), {"column": column, "op": op, "value": value}]


def _save_cohort() -> None:
    """The cohort being built saved under its name, with a key of its own."""
    state = st.session_state
    name = str(state.get(NAME) or "").strip()
    draft = list(state.get(DRAFT) or [])
    saved = list(state.get(SAVED) or [])
    if not name or not draft:
        state[PROBLEM] = t("cohort.builder_incomplete")
        return
    if len(saved) + 2 > MAX_COHORTS:  # the editable cohort, the saved ones and this one
        state[PROBLEM] = t("cohort.builder_too_many", most=MAX_COHORTS)
        return
    taken = [c.key for c in all_cohorts()]
    try:
        cohort = cohort_from_dict({"key": cohort_key(name, taken), "name": {"zh": name, "en": name}, "all": draft})
    except ExtractError as exc:
        state[PROBLEM] = str(error_text(exc))
        return
    state[SAVED] = [*saved, cohort.to_dict()]
    state[DRAFT], state[NAME] = [], ""


def _remove(key: str) -> None:
    st.session_state[SAVED] = [c for c in st.session_state.get(SAVED) or [] if c.get("key") != key]


def _save_preset() -> None:
    name = str(st.session_state.get(PRESET_NAME) or "").strip()
    if not name:
        st.session_state[PROBLEM] = t("cohort.preset_no_name")
        return
    st.session_state[SESSION_PRESETS] = {**(st.session_state.get(SESSION_PRESETS) or {}), name: cohorts_to_toml(all_cohorts())}


def load_preset(text: str, source: str) -> None:
    """A cohort preset's cohorts become the session's: the one with the editable cohort's key replaces it, the rest are the built ones."""
    state = st.session_state
    try:
        cohorts = guarded_cohorts(text, source=source)  # read in the guard's worker, as a mapping preset is
    except ExtractError as exc:
        state[PROBLEM] = str(error_text(exc))
        return
    primary = named_cohort()[0]
    for cohort in cohorts:
        if cohort.key == primary.key:
            state[NAMED_COHORT] = state[NAMED_COHORT_KEPT] = json.dumps(cohort.to_dict(), ensure_ascii=False, indent=1)
    state[SAVED] = [c.to_dict() for c in cohorts if c.key != primary.key]


def _load_chosen(presets: dict[str, str]) -> None:
    upload = st.session_state.get(PRESET_FILE)
    if upload is not None:
        load_preset(upload.getvalue().decode("utf-8", errors="replace"), upload.name)
        return
    chosen = st.session_state.get(PRESET_CHOICE)
    if chosen in presets:
        load_preset(presets[chosen], str(chosen))


def draw(choice: DataSetChoice, result: LoadResult) -> None:
    """The builder, the session's built cohorts and the presets, in one expander of the Cohort explorer."""
    policies = result.policies
    state = st.session_state
    with st.expander(t("cohort.builder"), expanded=bool(state.get(DRAFT) or state.get(SAVED))):
        st.caption(tm("cohort.builder_help"))
        problem = state.pop(PROBLEM, None)
        if problem:
            st.warning(problem)
        _saved_list()
        _condition_widgets(choice, result, policies)
        draft = [cohort_from_dict({"key": "draft", "name": {}, "all": [c]}).conditions[0] for c in state.get(DRAFT) or []]
        if draft:
            st.markdown(tm("cohort.builder_draft", text=t("cohort.and").join(c.text(language()) for c in draft)))
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.text_input(t("cohort.builder_name"), key=NAME)
        right.button(t("cohort.builder_save"), on_click=_save_cohort, key="cohort_builder_save")
        _preset_widgets()


def _saved_list() -> None:
    for cohort in saved_cohorts():
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(tm("cohort.named_reads", name=cohort.label(language()), text=cohort.text(language())))
        right.button(t("cohort.builder_remove"), on_click=_remove, args=(cohort.key,), key=f"cohort_remove_{cohort.key}")


def _condition_widgets(choice: DataSetChoice, result: LoadResult, policies: pd.DataFrame) -> None:
    lang = language()
    columns = {c: column_label(c, lang) for c in condition_columns(policies)}
    if not columns:
        return
    left, middle, right = st.columns([2, 2, 3])
    with left:
        column = widgets.select(t("cohort.builder_column"), columns, key=COLUMN)
    with middle:
        op = widgets.select(t("cohort.builder_op"), _operators(), key=OPERATOR)
    numeric = bool(pd.api.types.is_numeric_dtype(policies[column]) and not pd.api.types.is_bool_dtype(policies[column]))
    with right:
        if op in ("in", "not in"):
            st.multiselect(
                t("cohort.builder_values"),
                filter_values(choice, result, (), column),
                key=values_key(column),
                placeholder=t("widget.choose"),
                select_all=widgets.select_all(),
            )
        elif op == "between":
            low, high = st.columns(2)
            low.text_input(t("cohort.builder_low"), key=LOW)
            high.text_input(t("cohort.builder_high"), key=HIGH)
        elif op not in ("is blank", "not blank"):
            st.text_input(t("cohort.builder_value"), key=VALUE)
    buttons = st.columns([1, 1, 4])
    buttons[0].button(t("cohort.builder_add"), on_click=_add_condition, args=(column, op, numeric), key="cohort_builder_add")
    buttons[1].button(t("cohort.builder_clear"), on_click=lambda: st.session_state.update({DRAFT: []}), key="cohort_builder_clear")


def _preset_widgets() -> None:
    state = st.session_state
    st.markdown(f"**{t('cohort.presets')}**")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.text_input(t("cohort.preset_name"), key=PRESET_NAME)
    right.button(t("cohort.preset_save"), on_click=_save_preset, key="cohort_preset_save")
    widgets.download_button(
        st,
        t("cohort.preset_download"),
        data=cohorts_to_toml(all_cohorts()),
        file_name="cohorts.toml",
        mime="application/toml",
        key="cohort_preset_download",
    )
    presets = {**shipped_presets(), **(state.get(SESSION_PRESETS) or {})}
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox(t("cohort.preset_choice"), list(presets), key=PRESET_CHOICE, placeholder=t("widget.choose"), index=None)
    right.button(t("cohort.preset_load"), on_click=_load_chosen, args=(presets,), key="cohort_preset_load")
    st.file_uploader(t("cohort.preset_upload"), type=["toml"], key=PRESET_FILE, help=t("widget.upload_box", limit=upload_limit_mb()))
