"""Action lists: policies due soon or in grace ranked by premium at risk, and reinstatable lapsed policies."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from analysis.report.export import mask_identifiers, neutralise
from analysis.risk.actions import DUE_WITHIN_DAYS, IN_GRACE
from analysis.risk.words import translated
from analysis.risk.worklist import DEFAULT_CAPACITY, HIGH_RISK_FROM, MEDIUM_RISK_FROM, RISK_BANDS, WorklistRequest, select
from analysis.schema import AGENT, BRANCH, PAID_TO_DATE
from ui import filters, formats, widgets
from ui import risk as ui_risk
from ui.i18n import language, t, tm
from ui.tables import percent_config, show_table

st.title(t("actions.title"))
st.caption(tm("actions.caption"))
# The model learns from the whole book (a filter does not retrain it); the filter chooses the policies listed.
whole_choice, whole_result = filters.whole_book()
choice, result = filters.filtered_book()
policies = result.policies
lang = language()
preset = result.preset
study = result.study_date.date().isoformat()
st.caption(tm("actions.clock", grace=preset.grace_days, years=preset.reinstatement_years, study=formats.date(result.study_date, lang)))

days = st.slider(t("actions.days"), min_value=0, max_value=90, value=DUE_WITHIN_DAYS, step=5, key="actions_days")
options = ui_risk.options_for(whole_choice, whole_result)
st.caption(tm("risk.target_text", months=options.horizon_months))
if whole_choice != choice:
    st.caption(tm("filter.actions_model"))
risk = ui_risk.model_for(whole_choice, whole_result, options)
# A book below the model's minimum still has policies to call: listed without scores.
if risk is None and not ui_risk.too_small(whole_choice, whole_result, options):
    st.stop()

# --- what the team can work today: capacity, branches, agents, risk bands ---------------------
cols = st.columns(4)
capacity = cols[0].number_input(
    t("worklist.capacity"), min_value=0, value=DEFAULT_CAPACITY, step=50, key="actions_capacity", help=t("worklist.capacity_help")
)
offered = {c: filters.options(choice, result, c) if c in policies.columns else [] for c in (BRANCH, AGENT)}
branches = cols[1].multiselect(
    t("worklist.branches"), offered[BRANCH], key="actions_branches", placeholder=t("widget.choose"), select_all=widgets.select_all()
)
agents = cols[2].multiselect(
    t("worklist.agents"), offered[AGENT], key="actions_agents", placeholder=t("widget.choose"), select_all=widgets.select_all()
)
with cols[3]:
    bands = widgets.multiselect(t("worklist.bands"), {b: t(f"worklist.band.{b}") for b in RISK_BANDS}, default=[], key="actions_bands")
    st.caption(tm("worklist.bands_help", high=formats.percent(HIGH_RISK_FROM), medium=formats.percent(MEDIUM_RISK_FROM)))
request = WorklistRequest(capacity=int(capacity) or None, branches=tuple(branches), agents=tuple(agents), bands=tuple(bands))
if risk is None:
    st.info(tm("actions.unscored_note"))
    due, back = ui_risk.unscored_lists_for(choice, result, days)
    due = select(due, request)
    work = None
else:
    work = ui_risk.worklist_for(choice, result, risk, days, request)
    due, back = work.rows, ui_risk.reinstatable_for(choice, result)
show = st.checkbox(t("actions.show_identifiers"), value=False, key="actions_show_identifiers")
if not show:
    st.caption(tm("actions.masked_note"))
due_tab, back_tab = st.tabs([t("actions.due_tab"), t("actions.reinstatable_tab")])


def on_screen(frame: pd.DataFrame) -> pd.DataFrame:
    """What the tables show (their toolbar can download it): identifiers masked unless asked, formulas inert, days in words."""
    if "days_to_due" in frame:
        frame = frame.assign(days_to_due=frame["days_to_due"].map(lambda d: formats.due_in(d, lang)))
    return translated(neutralise(frame if show else mask_identifiers(frame)), lang)


with due_tab:
    if due.empty and PAID_TO_DATE not in policies.columns:
        st.info(tm("actions.no_paid_to"))
    elif due.empty:
        st.info(tm("actions.empty"))
    else:
        cols = st.columns(3)
        if work is None:
            cols[0].metric(t("actions.count"), formats.count(len(due)))
            cols[1].metric(t("actions.in_grace_count"), formats.count((due["state"] == IN_GRACE).sum()))
            cols[2].metric(
                t("actions.premium_total"),
                formats.money_short(due["annual_premium"].sum()),
                help=formats.money(due["annual_premium"].sum()),
            )
            words = ui_risk.unscored_due_in_words(choice, result, days, lang)
            shown = on_screen(words.loc[due.index if request.capacity is None else due.index[: request.capacity]])
        else:
            cols[0].metric(t("actions.count"), formats.count(work.matched))
            cols[1].metric(t("actions.in_grace_count"), formats.count(work.matched_in_grace))
            cols[2].metric(t("actions.at_risk_total"), formats.money_short(work.matched_at_risk), help=formats.money(work.matched_at_risk))
            st.caption(
                tm(
                    "worklist.covered",
                    calls=formats.count(len(work.rows)),
                    matched=formats.count(work.matched),
                    share=formats.percent(work.at_risk / work.matched_at_risk if work.matched_at_risk else float("nan")),
                    at_risk=formats.money_short(work.at_risk),
                    total=formats.money_short(work.matched_at_risk),
                )
            )
            st.caption(tm("worklist.reasons_note"))
            shown = on_screen(ui_risk.worklist_in_words_for(choice, result, risk, days, request, lang))
        show_table(
            data=shown,
            show_identifiers=show,
            hide_index=True,
            column_config=percent_config(shown, ("probability",)) | formats.money_config(shown, lang),
            key="actions_due_table",
        )

with back_tab:
    if back.empty:
        st.info(tm("actions.empty"))
    else:
        cols = st.columns(2)
        cols[0].metric(t("actions.count"), formats.count(len(back)))
        cols[1].metric(
            t("actions.premium_total"), formats.money_short(back["annual_premium"].sum()), help=formats.money(back["annual_premium"].sum())
        )
        shown = on_screen(back)
        show_table(
            data=shown,
            show_identifiers=show,
            hide_index=True,
            column_config=percent_config(shown, ()) | formats.money_config(shown, lang),
            key="actions_back_table",
        )

# Built when the button is pressed, not on every rerun.
widgets.download_button(
    st,
    t("actions.download"),
    partial(ui_risk.worklist_workbook_for, choice, result, risk, days, request, lang, mask=not show, scope=tuple(filters.scope_lines()))
    if risk is not None
    else partial(ui_risk.unscored_workbook_for, choice, result, days, lang, mask=not show, scope=tuple(filters.scope_lines())),
    file_name=f"lapselens_action_lists_{study}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="actions_download",
)
