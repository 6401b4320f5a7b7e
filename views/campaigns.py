"""Campaign lists (活动名单): a list with enrolment dates and several arms — which lever works, what it is worth, whom to contact."""

from __future__ import annotations

import streamlit as st

from analysis.interventions.targeting import DEFAULT_VALUE_PER_RETAINED, LEAVE_ALONE, costs_per_contact, value_per_retained_default
from analysis.report.catalogue import column_label
from ui import campaigns as ui_c
from ui import charts, formats
from ui import datasets as ds
from ui.i18n import language, md_escape, t, tm
from ui.tables import show_table, translate_columns

st.title(t("campaigns.title"))
st.caption(tm("campaigns.caption"))
# The whole book: a list is matched with every policy (a sidebar filter would turn listed policies into "not in the book").
choice, result = ds.active_result()
lang = language()

# --- the list -------------------------------------------------------------------------------
left, right = st.columns([3, 2])
# Streamlit's box speaks English only: the help says what it means, in the page's language.
upload_help = f"{t('campaigns.upload_help')} {t('widget.upload_box', limit=ds.upload_limit_mb())}"
uploaded = left.file_uploader(t("campaigns.upload"), type=list(ui_c.LIST_TYPES), key="campaigns_upload", help=upload_help)
if uploaded is not None and st.session_state.get("campaigns_upload_done") != uploaded.file_id:
    st.session_state["campaigns_upload_done"] = uploaded.file_id
    ui_c.use_upload(uploaded.name, uploaded.getvalue())
if choice.is_sample and right.button(t("campaigns.use_sample"), key="campaigns_sample"):
    ui_c.use_sample()
if (offered := ui_c.source_offered(choice)) and right.button(t("campaigns.use_source", name=offered), key="campaigns_source"):
    ui_c.use_source(choice)
kept = ui_c.settings()
st.session_state.setdefault("campaigns_window", kept.window)
st.session_state.setdefault("campaigns_pairwise", kept.pairwise)
window = right.number_input(t("interv.window_months"), min_value=1, max_value=60, step=1, key="campaigns_window")
pairwise = right.checkbox(t("campaigns.pairwise"), key="campaigns_pairwise")
ui_c.keep(ui_c.Settings(window=int(window), pairwise=bool(pairwise)))

upload = ui_c.current()
if upload is None:
    st.info(tm("campaigns.empty_sample" if choice.is_sample else "campaigns.empty"))
    st.stop()
with st.spinner(t("campaigns.evaluating")):
    found = ui_c.evaluation(choice, result)
if found is None:  # the upload's bytes are gone (a new session): ask again
    st.info(tm("campaigns.empty"))
    st.stop()
if isinstance(found, Exception):
    st.error(tm("campaigns.refused", name=upload.name, message=ds.error_text(found)))
    st.stop()
if st.button(t("campaigns.forget"), key="campaigns_forget"):
    ui_c.forget()
    st.rerun()
if ui_c.unsaved():
    st.warning(tm("campaigns.list_unsaved"))

# --- 1. the row account ---------------------------------------------------------------------------
st.subheader(t("campaigns.account"))
counts = found.listed.counts()
cols = st.columns(4)
cols[0].metric(t("campaigns.rows"), formats.count(counts["rows"]))
cols[1].metric(t("data.accepted"), formats.count(counts["accepted"]))
cols[2].metric(t("data.repaired"), formats.count(counts["repaired"]))
cols[3].metric(t("data.rejected"), formats.count(counts["rejected"]))
st.markdown(tm("campaigns.account_sentence", name=upload.name, **ui_c.account_figures(found)))
reasons = ui_c.reason_counts(found)
if not reasons.empty:
    shown_reasons = translate_columns(reasons)
    show_table(shown_reasons, hide_index=True, column_config=ui_c.table_config(shown_reasons), key="campaigns_reasons")
    with st.expander(t("campaigns.problem_rows", rows=formats.count(counts["repaired"] + counts["rejected"]))):
        show_table(translate_columns(ui_c.problem_rows(found)), hide_index=True, key="campaigns_problem_rows")

# --- 2. staggered entry, every arm against the control ---------------------------------------------------
st.subheader(t("campaigns.arms"))
first, last = ui_c.enrolment_span(found)
st.markdown(tm("campaigns.clock", policies=formats.count(len(found.data)), first=formats.date(first), last=formats.date(last)))
arms = found.arms
arm_table = translate_columns(arms.arms)
show_table(
    arm_table, hide_index=True, column_config=ui_c.table_config(arm_table, percents=("lapse", "lower", "upper")), key="campaigns_arm_table"
)
m = len(arms.comparisons)
st.markdown(tm("campaigns.correction", m=m, level=1 - 0.05 / m))
for row in arms.comparisons.itertuples():
    st.markdown(
        tm(
            "campaigns.arm_sentence",
            arm=str(row.arm),
            reference=str(row.reference),
            window=int(window),
            lapse=formats.percent(row.lapse),
            reference_lapse=formats.percent(row.reference_lapse),
            difference=ui_c.points(row.difference),
            difference_lower=ui_c.points(row.difference_lower),
            difference_upper=ui_c.points(row.difference_upper),
            hr=row.hazard_ratio,
            lower=row.hazard_ratio_lower,
            upper=row.hazard_ratio_upper,
            p=formats.p_value(row.p_value_holm),
            adjusted_lower=row.hazard_ratio_lower_adjusted,
            adjusted_upper=row.hazard_ratio_upper_adjusted,
        )
    )
comparisons = translate_columns(arms.comparisons)
show_table(
    comparisons,
    hide_index=True,
    column_config=ui_c.table_config(
        comparisons,
        percents=("lapse", "reference_lapse", "difference", "difference_lower", "difference_upper"),
        ratios=("hazard_ratio", "hazard_ratio_lower", "hazard_ratio_upper", "hazard_ratio_lower_adjusted", "hazard_ratio_upper_adjusted"),
        p_values=("p_value", "p_value_holm"),
    ),
    key="campaigns_comparisons",
)
st.plotly_chart(
    charts.survival_curves(arms.curves, unit=1.0, x_title=t("campaigns.months_since_enrolment"), y_title=t("survival.survival")),
    key="campaigns_km",
)
st.markdown(tm("campaigns.logrank", p=formats.p_value(float(arms.logrank["p_value"].iloc[0])), arms=len(arms.arms)))
if not arms.pairwise.empty:
    pairs = translate_columns(arms.pairwise)
    show_table(
        pairs,
        hide_index=True,
        column_config=ui_c.table_config(pairs, ratios=("test_statistic",), p_values=("p_value", "p_holm")),
        key="campaigns_logrank_pairs",
    )
with st.expander(t("campaigns.balance")):
    unbalanced = arms.imbalanced_covariates
    if unbalanced:
        st.warning(tm("campaign.imbalance_warning", covariates=md_escape(", ".join(column_label(c, lang) for c in unbalanced))))
    else:
        st.caption(tm("interv.balanced"))
    balance = ui_c.balance_rows(arms, lang)
    shown_balance = translate_columns(balance)
    show_table(shown_balance, hide_index=True, column_config=ui_c.table_config(shown_balance, ratios=("smd",)), key="campaigns_balance")

# --- 3. ranking by effect and by value per contact -------------------------------------------------------
st.subheader(t("campaigns.ranking"))
treated = [str(a) for a in arms.ranking["arm"]]
offered = value_per_retained_default(result.policies, found.data)
left, right = st.columns(2)
value = left.number_input(
    t("campaigns.value_per_retained"),
    min_value=0.0,
    max_value=1e7,
    value=float(offered if offered is not None else DEFAULT_VALUE_PER_RETAINED),
    step=100.0,
    key=f"campaigns_value_{upload.version}",
)
if offered is None:
    left.caption(tm("campaigns.value_offered", value=formats.money(DEFAULT_VALUE_PER_RETAINED)))
else:
    left.caption(tm("campaigns.value_from_premium", value=formats.money(offered)))
listed_costs = costs_per_contact(found.data, treated)
costs = {}
for i, arm in enumerate(treated):
    key = f"campaigns_cost_{upload.version}_{i}"
    costs[arm] = right.number_input(
        tm("campaigns.cost_of", arm=arm), min_value=0.0, max_value=1e6, value=float(listed_costs[arm]), step=1.0, key=key
    )
ranked = ui_c.ranked(found, float(value), costs)
ranking = translate_columns(ranked.ranking)
show_table(
    ranking,
    hide_index=True,
    column_config=ui_c.table_config(
        ranking, percents=("difference",), money=("cost_per_contact", "value_per_contact"), ratios=("hazard_ratio",)
    ),
    key="campaigns_ranking",
)
best_effect = ranked.best_effect_arm
best_value = ranked.best_value_arm
if best_value is not None:
    best = ranked.ranking.set_index("arm").loc[best_value]
    st.success(
        tm(
            "campaigns.best_value",
            arm=best_value,
            value=formats.money(best["value_per_contact"]),
            effect_arm=best_effect,
            retained=formats.money(value),
        )
    )

# --- 4. targeting by value --------------------------------------------------------------------------------
st.subheader(t("campaigns.targeting"))
st.caption(tm("campaigns.targeting_method"))
rule = ui_c.targeting(found, float(value), costs)
for group in rule.groups.itertuples():
    if group.lever == LEAVE_ALONE:
        st.markdown(tm("campaigns.rule_leave_alone", policies=formats.count(group.policies), share=formats.percent(group.share)))
    else:
        st.markdown(
            tm(
                "campaigns.rule_contact",
                arm=str(group.lever),
                policies=formats.count(group.policies),
                share=formats.percent(group.share),
                predicted=formats.money(group.predicted_return),
                measured=formats.money(group.measured_value),
                uplift=ui_c.points(group.measured_uplift),
                lower=ui_c.points(group.lower),
                upper=ui_c.points(group.upper),
            )
        )
best_everyone = rule.best_for_everyone
st.markdown(
    tm(
        "campaigns.rule_returns",
        contacted=formats.count(rule.contacted),
        measured=formats.money(rule.measured_return),
        arm=str(best_everyone["lever"]),
        everyone=formats.money(best_everyone["measured_return"]),
        policies=formats.count(best_everyone["policies"]),
    )
)
groups = translate_columns(ui_c.group_rows(rule))
show_table(
    groups,
    hide_index=True,
    column_config=ui_c.table_config(
        groups,
        percents=("share", "predicted_uplift", "measured_uplift", "lower", "upper"),
        money=("predicted_value", "predicted_return", "cost_per_contact", "measured_value", "measured_return"),
    ),
    key="campaigns_groups",
)
with st.expander(t("campaigns.who")):
    profile = translate_columns(ui_c.profile_rows(rule, lang))
    show_table(
        profile,
        hide_index=True,
        column_config=ui_c.table_config(profile, percents=("share", "overall_share"), ratios=("lift",)),
        key="campaigns_profile",
    )
for i, (arm, (qini, coefficient)) in enumerate(found.qini.items()):
    st.markdown(tm("campaigns.qini_title", arm=arm, coefficient=f"{coefficient:.4f}"))
    if coefficient <= 0:
        st.caption(tm("campaigns.qini_no_better"))
    st.plotly_chart(
        charts.qini(
            qini,
            x_title=t("interv.share_targeted"),
            y_title=t("interv.prevented_per_treated"),
            names=(t("interv.by_uplift"), t("interv.random")),
        ),
        key=f"campaigns_qini_{i}",
    )

# --- 5. into a scenario --------------------------------------------------------------------------------------
st.info(tm("campaigns.to_scenario"))
for i, arm in enumerate(treated):
    if st.button(tm("campaigns.use_in_scenario", arm=arm), key=f"campaigns_to_scenario_{i}", on_click=ui_c.to_scenario, args=(arm,)):
        st.switch_page("views/interventions.py")
