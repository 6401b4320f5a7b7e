"""Customer file (客户档案): a customer's policies, payment timeline, status history, lapse risk, next action and a what-if."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.payments.customer import LATE_AFTER_DAYS
from analysis.payments.table import AMOUNT, DUE_DATE, FAILED_DEBIT, METHOD, PAID_DATE
from analysis.report.catalogue import column_label
from analysis.risk.whatif import FREQUENCIES, MAX_PREMIUM_CUT, WhatIf, what_if
from analysis.risk.words import feature_label, lever_text, reason_text, value_text
from ui import customer as ui_customer
from ui import datasets as ds
from ui import filters, formats
from ui import payments as ui_payments
from ui import risk as ui_risk
from ui.i18n import language, md_escape, t, tm
from ui.tables import column_config, percent_config, show_table, translate_columns

st.title(t("customer.title"))
st.caption(tm("customer.caption"))

# The whole book: a customer is found wherever the sidebar's filter would put them.
choice, result = filters.whole_book()
lang = language()
index = ui_customer.book_index(choice, result)
history = ui_payments.current_payments()

# --- widgets ---------------------------------------------------------------------
show_ids = st.checkbox(t("customer.show_identifiers"), value=False, key="customer_show_identifiers")
if index.column is None:
    st.info(tm("customer.no_customer_column"))
else:
    mapped_from = {column: match.source for column, match in result.mapping.items()}.get(index.column)  # the file's own header
    st.caption(tm("customer.grouped_by", column=mapped_from or column_label(index.column, lang)))
if history is None:
    st.caption(tm("customer.no_payments"))

options = ui_risk.options_for(choice, result)
left, right = st.columns(2)
typed = left.text_input(t("customer.search"), key="customer_search", help=t("customer.search_help")).strip()
with right:
    risk = ui_risk.model_for(choice, result, options)  # the session's cached model (draws its progress while training)
    offered = ui_customer.picker_ids(risk, result)
    picked = st.selectbox(
        t("customer.pick" if risk is not None else "customer.pick_unscored"),
        offered,
        format_func=lambda v: ui_customer.shown_id(v, show_ids),
        key="customer_pick",
    )
wanted = typed or picked
if not wanted:
    st.info(tm("customer.empty"))
    st.stop()
with st.spinner(t("customer.opening")):  # the first file of a book builds its indexes (seconds on a big book), once
    found = ui_customer.open_file(choice, result, wanted)
if found is None:
    st.warning(tm("customer.not_found", text=ui_customer.shown_id(wanted, show_ids)))
    st.stop()

# --- the file -------------------------------------------------------------------------
policies = found.policies
scored = ui_customer.scored_rows(risk, policies) if risk is not None else None
who = ui_customer.shown_id(found.key, show_ids) if found.key else ui_customer.shown_id(policies[S.POLICY_ID].iloc[0], show_ids)
st.subheader(t("customer.file_of", who=who))
cards = st.columns(4)
cards[0].metric(t("customer.policies"), formats.count(len(policies)))
cards[1].metric(t("customer.in_force"), formats.count(int(policies[S.STATUS].isin(S.ACTIVE_STATUSES).sum())))
if S.ANNUAL_PREMIUM in policies:
    cards[2].metric(t("customer.premium"), formats.money(float(policies[S.ANNUAL_PREMIUM].sum())))
if scored is not None and len(scored):
    cards[3].metric(t("customer.highest_probability", months=options.horizon_months), formats.percent(float(scored["probability"].max())))

st.markdown(f"**{t('customer.policies_table')}**")
shown_columns = [
    c
    for c in (S.POLICY_ID, S.PRODUCT, S.STATUS, S.ISSUE_DATE, S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.PAID_TO_DATE)
    if c in policies
]
table = ui_customer.masked_ids(policies[shown_columns], [S.POLICY_ID], show_ids)
for coded in (S.PAYMENT_FREQUENCY, S.AUTO_DEBIT):  # codes in words (月交, 是/否)
    if coded in table:
        table[coded] = [formats.DASH if pd.isna(v) else value_text(coded, v, lang) for v in table[coded]]
if scored is not None:
    table["probability"] = scored["probability"].reindex(policies.index).to_numpy()
view = translate_columns(table.reset_index(drop=True))
show_table(data=view, show_identifiers=show_ids, hide_index=True, width="stretch", column_config=percent_config(view, ("probability",)))

# --- payment timeline -----------------------------------------------------------------------
st.markdown(f"**{t('customer.timeline')}**")
timeline = found.timeline
if history is None:
    st.info(tm("customer.timeline_no_payments"))
elif timeline.empty:
    st.info(tm("customer.timeline_empty"))
else:
    policy_names = {str(p): ui_customer.shown_id(p, show_ids) for p in policies[S.POLICY_ID]}
    st.plotly_chart(
        ui_customer.timeline_chart(
            timeline,
            names={s: t(key) for s, key in ui_customer.STATE_KEYS.items()},
            policy_names=policy_names,
            failed_name=t("customer.failed_debit"),
            x_title=t("col.due_date"),
            y_title=t("col.delay_days"),
            grace_days=result.preset.grace_days,
        ),
        key="customer_timeline",
    )
    counts = ui_customer.timeline_counts(timeline)
    st.caption(
        tm(
            "customer.timeline_counts",
            dues=counts["dues"],
            late=counts["late"],
            unpaid=counts["unpaid"],
            in_grace=counts["in_grace"],
            failed=counts["failed_debit"],
            days=LATE_AFTER_DAYS,
            grace=result.preset.grace_days,
        )
    )
    with st.expander(t("customer.timeline_table")):
        rows = timeline.assign(state=timeline["state"].map(lambda s: t(ui_customer.STATE_KEYS[s])))
        rows = ui_customer.masked_ids(rows, [S.POLICY_ID], show_ids)
        rows = rows[[S.POLICY_ID, DUE_DATE, PAID_DATE, "delay_days", AMOUNT, METHOD, FAILED_DEBIT, "state"]]
        view = translate_columns(rows.rename(columns={"state": "customer_state"}))
        show_table(data=view, show_identifiers=show_ids, hide_index=True, width="stretch", column_config=column_config(view))

# --- status history -----------------------------------------------------------------------
st.markdown(f"**{t('customer.status_history')}**")
events = found.history.assign(
    event=found.history["event"].map(lambda e: t(ui_customer.EVENT_KEYS[e])),
)
events = ui_customer.masked_ids(events, [S.POLICY_ID], show_ids)
view = translate_columns(events.rename(columns={"event": "customer_event"}))
show_table(data=view, show_identifiers=show_ids, hide_index=True, width="stretch", column_config=column_config(view))

# --- lapse risk, reasons and the next best action --------------------------------------------------
st.subheader(t("customer.risk"))
if risk is None:
    st.stop()  # model_for has said why (training, or a book too small to learn from)
if scored is None or scored.empty:
    st.info(tm("customer.none_in_force"))
    st.stop()
ranked = ui_customer.highest_risk_first(scored)
policy = st.selectbox(t("customer.policy"), ranked, format_func=lambda v: ui_customer.shown_id(v, show_ids), key="customer_policy")
row = scored[scored["policy_id"].astype(str) == str(policy)].iloc[[0]]
one = ui_customer.policy_risk(risk, row)
st.markdown(
    tm(
        "customer.probability_line",
        policy=ui_customer.shown_id(policy, show_ids),
        months=options.horizon_months,
        p=one.explanation.probability,
        base=one.explanation.base_probability,
    )
)
reasons_left, reasons_right = st.columns(2)
with reasons_left:
    st.markdown("**" + tm("risk.raising") + "**")
    raising = one.reasons.raising.itertuples()
    st.text("\n".join(reason_text(r.feature, r.value, r.points, lang) for r in raising) or t("risk.none"))
with reasons_right:
    st.markdown("**" + tm("risk.lowering") + "**")
    lowering = one.reasons.lowering.itertuples()
    st.text("\n".join(reason_text(r.feature, r.value, r.points, lang) for r in lowering) or t("risk.none"))
st.success(tm("customer.next_action", action=lever_text(one.reasons.lever, lang)))

# --- what-if ---------------------------------------------------------------------------------
st.subheader(t("customer.whatif"))
st.caption(tm("customer.whatif_caveat"))
current = row.iloc[0]
lever_cols = st.columns(3)
has_debit = S.AUTO_DEBIT in row and str(current[S.AUTO_DEBIT]) == "True"
switch = lever_cols[0].checkbox(
    t("customer.whatif_auto_debit"),
    key="customer_whatif_auto_debit",
    disabled=has_debit or S.AUTO_DEBIT not in row,
    help=t("customer.whatif_has_debit") if has_debit else None,
)
frequency_now = current[S.PAYMENT_FREQUENCY] if S.PAYMENT_FREQUENCY in row else None
frequency_options = [None, *(f for f in FREQUENCIES if frequency_now is None or str(f) != str(frequency_now))]
frequency = lever_cols[1].selectbox(
    t("customer.whatif_frequency"),
    frequency_options,
    format_func=lambda f: t("customer.whatif_unchanged") if f is None else value_text(S.PAYMENT_FREQUENCY, f, lang),
    key="customer_whatif_frequency",
    disabled=S.PAYMENT_FREQUENCY not in row,
)
cut = lever_cols[2].slider(
    t("customer.whatif_premium"),
    min_value=0,
    max_value=int(MAX_PREMIUM_CUT * 100),
    value=0,
    step=5,
    format="%d%%",
    key="customer_whatif_premium",
    disabled=S.ANNUAL_PREMIUM not in row,
)
change = WhatIf(auto_debit=True if switch else None, payment_frequency=frequency, premium_change=-cut / 100)
try:
    outcome = what_if(risk, row, change)
except ExtractError as exc:
    st.error(ds.error_text(exc))
    st.stop()
result_cols = st.columns(2)
result_cols[0].metric(t("customer.whatif_before"), formats.percent(outcome.before))
result_cols[1].metric(
    t("customer.whatif_after"),
    formats.percent(outcome.after),
    delta=t("customer.whatif_points", points=outcome.difference * 100) if change.features() else None,
    delta_color="inverse",
)
if outcome.unused:
    st.warning(tm("customer.whatif_unused", features=md_escape("、".join(feature_label(f, lang) for f in outcome.unused))))
