"""Work queue: assign rows of the action list to an agent or a branch, record the calls' outcomes, see what they achieved."""

from __future__ import annotations

import streamlit as st

from analysis.collections.outcomes import import_outcomes, list_outcomes, match_outcomes, read_outcomes
from analysis.collections.queue import AGENT, ASSIGNEE_KINDS, DUE, LIST_KINDS, assign, queue_rows
from analysis.collections.summary import DIMENSIONS
from analysis.collections.words import ASSIGNEE_KIND_KEYS, DIMENSION_KEYS, LIST_KIND_KEYS, in_words
from analysis.errors import ExtractError
from analysis.risk.actions import DUE_WITHIN_DAYS
from analysis.risk.worklist import DEFAULT_CAPACITY, RISK_BANDS, WorklistRequest
from analysis.schema import AGENT as AGENT_COLUMN
from analysis.schema import BRANCH as BRANCH_COLUMN
from analysis.schema import POLICY_ID
from ui import datasets as ds
from ui import filters, formats, widgets
from ui import queue as ui_queue
from ui.i18n import language, t, tm
from ui.tables import edit_table, percent_config, safe_table, show_table, translate_columns

st.title(t("queue.title"))
st.caption(tm("queue.caption"))
whole = filters.whole_book()
choice, result = filters.filtered_book()
lang = language()
store = ui_queue.store_or_stop()
st.caption(tm("queue.database", database=store.shown))
who = ui_queue.recorder()
if who is not None:
    st.caption(tm("queue.recorded_as", user=who))
show = st.checkbox(t("queue.show_identifiers"), value=False, key="queue_show_identifiers")
if not show:
    st.caption(tm("queue.masked_note"))
assign_tab, record_tab, view_tab, files_tab = st.tabs(
    [t("queue.assign_tab"), t("queue.record_tab"), t("queue.view_tab"), t("queue.files_tab")]
)

# --- 1. pick rows of the action list and assign them --------------------------------------------------
with assign_tab:
    list_kind = widgets.radio(t("queue.list"), {k: t(LIST_KIND_KEYS[k]) for k in LIST_KINDS}, key="queue_list")
    cols = st.columns(4)
    capacity = cols[0].number_input(t("worklist.capacity"), min_value=0, value=DEFAULT_CAPACITY, step=10, key="queue_capacity")
    offered = {c: filters.options(choice, result, c) if c in result.policies.columns else [] for c in (BRANCH_COLUMN, AGENT_COLUMN)}
    branches = cols[1].multiselect(
        t("worklist.branches"),
        offered[BRANCH_COLUMN],
        key="queue_branches",
        placeholder=t("widget.choose"),
        select_all=widgets.select_all(),
    )
    agents = cols[2].multiselect(
        t("worklist.agents"), offered[AGENT_COLUMN], key="queue_agents", placeholder=t("widget.choose"), select_all=widgets.select_all()
    )
    with cols[3]:
        bands = widgets.multiselect(t("worklist.bands"), {b: t(f"worklist.band.{b}") for b in RISK_BANDS}, default=[], key="queue_bands")
    days = DUE_WITHIN_DAYS
    if list_kind == DUE:
        days = st.slider(t("actions.days"), min_value=0, max_value=90, value=DUE_WITHIN_DAYS, step=5, key="queue_days")
    request = WorklistRequest(capacity=int(capacity) or None, branches=tuple(branches), agents=tuple(agents), bands=tuple(bands))
    # While the model trains its progress shows here; the queue and its outcomes below do not wait for it.
    found = ui_queue.candidate_rows(whole, (choice, result), list_kind, days, request)
    rows, words = found if found is not None else (None, None)
    if rows is not None and rows.empty:
        st.info(tm("actions.empty"))
    elif rows is not None and words is not None:
        st.caption(tm("queue.pick_help", rows=formats.count(len(rows))))
        table = translate_columns(ui_queue.pick_table(safe_table(words, show_identifiers=show)))
        picked = edit_table(
            table,
            hide_index=True,
            disabled=list(table.columns[1:]),
            column_config=percent_config(table, ("probability",)) | formats.money_config(table, lang),
            key="queue_pick_table",
        )
        chosen = rows[picked.iloc[:, 0].fillna(False).astype(bool).to_numpy()]
        kind = widgets.radio(t("queue.assignee_kind"), {k: t(ASSIGNEE_KIND_KEYS[k]) for k in ASSIGNEE_KINDS}, key="queue_kind")
        names = offered[AGENT_COLUMN if kind == AGENT else BRANCH_COLUMN]
        assignee = st.selectbox(
            t("queue.assignee"),
            names,
            index=None,
            accept_new_options=True,
            key="queue_assignee",
            placeholder=t("queue.assignee_placeholder"),
        )
        if st.button(t("queue.assign_button", rows=formats.count(len(chosen))), key="queue_assign", type="primary"):
            try:
                assigned = assign(
                    store,
                    queue_rows(
                        chosen, list_kind=list_kind, assignee_kind=kind, assignee=str(assignee or ""), grace_days=result.preset.grace_days
                    ),
                    at=ui_queue.now(),
                    by=who,
                )
                st.success(tm("queue.assigned_done", rows=formats.count(assigned), assignee=str(assignee)))
            except ExtractError as error:
                st.error(ds.error_text(error))

# --- 2. the queue and its outcomes ----------------------------------------------------------------------
# The queue is read against the whole book: a sidebar filter narrows what can be assigned, not what was.
book = whole[1]
queue, queue_words = ui_queue.queue_in_words(store, book)
with record_tab:
    if queue.empty:
        st.info(tm("queue.empty_queue"))
    else:
        assignees = sorted(queue["assignee"].dropna().astype(str).unique().tolist())
        mine = st.selectbox(t("queue.filter_assignee"), [""] + assignees, format_func=lambda a: a or t("queue.everyone"), key="queue_mine")
        keep = ui_queue.of_assignee(queue, mine)
        # The form first: what it records shows in the table below on the same run.
        with st.form("queue_record_form", clear_on_submit=True):
            st.markdown(tm("queue.record_heading"))
            policies = st.multiselect(
                t("queue.policies"),
                queue.loc[keep, POLICY_ID].astype(str).tolist(),
                key="queue_record_policies",
                placeholder=t("widget.choose"),
                select_all=widgets.select_all(),
            )
            cols = st.columns(3)
            labels = ui_queue.outcome_labels()
            outcome = cols[0].selectbox(t("queue.outcome"), list(labels), format_func=labels.__getitem__, key="queue_record_outcome")
            on = cols[1].date_input(t("queue.outcome_date"), value=ui_queue.now().date(), key="queue_record_date")
            levers = ui_queue.lever_labels()
            lever = cols[2].selectbox(t("queue.lever_used"), list(levers), format_func=levers.__getitem__, key="queue_record_lever")
            note = st.text_area(t("queue.note"), key="queue_record_note", max_chars=1000)
            if st.form_submit_button(t("queue.record_button")):
                if not policies:
                    st.warning(tm("queue.nothing_picked"))
                else:
                    count = ui_queue.record(store, policies, outcome=outcome, on=on, lever=lever, note=note, by=who)
                    st.success(tm("queue.recorded_done", rows=formats.count(count), outcome=labels[outcome]))
                    queue, queue_words = ui_queue.queue_in_words(store, book)
                    keep = ui_queue.of_assignee(queue, mine)
        attempted = int((queue["attempts"][keep] > 0).sum())
        st.caption(tm("queue.queue_count", rows=formats.count(int(keep.sum())), attempted=formats.count(attempted)))
        table = translate_columns(queue_words[keep].drop(columns=["assigned_by"]))
        show_table(
            table,
            show_identifiers=show,
            hide_index=True,
            column_config=percent_config(table, ("probability",)) | formats.money_config(table, lang),
            key="queue_table",
        )

# --- 3. the outcomes view ------------------------------------------------------------------------------
with view_tab:
    views = ui_queue.summaries(store, book)
    total = views[None].iloc[0] if not views[None].empty else None
    if total is None:
        st.info(tm("queue.empty_queue"))
    else:
        cols = st.columns(4)
        cols[0].metric(
            t("queue.metric.assigned"),
            formats.count(total["assigned"]),
            help=t("queue.metric.attempted_help", attempted=formats.count(total["attempted"])),
        )
        cols[1].metric(t("queue.metric.reach_rate"), formats.percent(total["reach_rate"]), help=t("queue.rate.reach"))
        cols[2].metric(
            t("queue.metric.paid_in_grace_rate"), formats.percent(total["paid_in_grace_rate"]), help=t("queue.rate.paid_in_grace")
        )
        cols[3].metric(
            t("queue.metric.won_back"),
            formats.count(total["won_back"]),
            help=t("queue.rate.won_back", premium=formats.money(total["won_back_premium"])),
        )
        by = widgets.radio(t("queue.view_by"), {d: t(DIMENSION_KEYS[d]) for d in DIMENSIONS}, key="queue_view_by")
        table = translate_columns(in_words(views[by], lang).rename(columns={"lever": "lever_used"}))
        show_table(
            table,
            hide_index=True,
            column_config=percent_config(table, ("reach_rate", "paid_in_grace_rate", "won_back_rate")) | formats.money_config(table, lang),
            key="queue_view_table",
        )
        st.caption(tm("queue.rates_note", study=formats.date(result.study_date, lang)))
        with st.expander(t("queue.all_outcomes")):
            recorded = list_outcomes(store)
            table = translate_columns(in_words(recorded.rename(columns={"lever": "lever_used"}), lang))
            show_table(table, show_identifiers=show, hide_index=True, key="queue_outcomes_table")

# --- 4. export and import --------------------------------------------------------------------------------
with files_tab:
    widgets.download_button(
        st,
        t("queue.export_button"),
        lambda: ui_queue.workbook(store, book, mask=not show),
        file_name=f"lapselens_work_queue_{result.study_date.date().isoformat()}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="queue_export",
    )
    uploaded = st.file_uploader(
        t("queue.import_upload"),
        type=["csv", "xlsx", "xls"],
        key="queue_import_file",
        help=f"{t('queue.import_help')} {t('widget.upload_box', limit=ds.upload_limit_mb())}",
    )
    if uploaded is not None:
        whole_choice, whole_result = whole
        try:
            imported = match_outcomes(
                read_outcomes(uploaded.getvalue(), filename=uploaded.name), whole_result.policies[POLICY_ID], recorded=list_outcomes(store)
            )
        except ExtractError as error:
            st.error(ds.error_text(error))
        else:
            counts = imported.counts()
            st.markdown(
                tm(
                    "queue.import_account",
                    rows=formats.count(counts["rows"]),
                    accepted=formats.count(counts["accepted"]),
                    repaired=formats.count(counts["repaired"]),
                    rejected=formats.count(counts["rejected"]),
                )
            )
            problems = imported.account[imported.account["reason"].notna()]
            if not problems.empty:
                st.caption(tm("queue.not_in_book", rows=formats.count(len(imported.not_in_book()))))
                shown = problems.assign(reason=[t(f"kind.{r}") for r in problems["reason"]])
                show_table(translate_columns(shown), show_identifiers=show, hide_index=True, key="queue_import_account")
            if len(imported.outcomes) and st.button(
                t("queue.import_button", rows=formats.count(len(imported.outcomes))), key="queue_import"
            ):
                count = import_outcomes(store, imported, at=ui_queue.now(), by=who)
                st.success(tm("queue.imported_done", rows=formats.count(count)))
