"""Survival curves: Kaplan–Meier by cohort, numbers at risk, summary, and log-rank tests in plain words."""

from __future__ import annotations

import datetime as dt
from functools import partial

import numpy as np
import streamlit as st

from analysis.errors import ExtractError
from analysis.report.catalogue import BLANK_WORDS
from analysis.report.export import write_workbook
from analysis.schema import EXIT_STATUSES, VOLUNTARY_EXITS
from analysis.survival.curves import MIN_AT_RISK, RMST_HORIZON, at_risk_table, until_at_risk
from analysis.survival.logrank import MAX_PAIRWISE_COHORTS, format_p
from ui import charts, cohort_builder, filters, formats, widgets
from ui import datasets as ds
from ui.i18n import language, t, tm
from ui.study import cohort_dimensions, named_cohort
from ui.survival import cox_result, few_valued_columns, incidence, summary_table, survival_result
from ui.tables import column_config, level_label, show_table, translate_columns

#: Curves drawn at most (the largest cohorts); sentences for pairwise tests at most (more: a table).
MAX_CURVES, MAX_SENTENCES = 12, 15

st.title(t("survival.title"))
st.caption(tm("survival.caption"))

choice, result = filters.filtered_book()
policies = result.policies
named, _ = named_cohort()  # the Cohort explorer shows any error in the definition
# Every named cohort of the session (the editable one and those built by pointing) the book can apply.
usable = tuple(c for c in cohort_builder.all_cohorts() if all(item.column in policies.columns for item in c.conditions))
dimensions = {k: v for k, v in cohort_dimensions(policies, usable).items() if k != "policy_year"}

left, middle, right = st.columns(3)
with left:
    by = widgets.select(t("survival.by"), {"": t("survival.whole_book")} | dimensions, key="survival_by")
with middle:
    unit = widgets.radio(t("survival.unit"), {"months": t("survival.months"), "years": t("survival.years")}, key="survival_unit")
    horizon = st.number_input(t("survival.horizon"), min_value=6, max_value=240, value=RMST_HORIZON, step=6, key="survival_horizon")
    min_at_risk = int(
        st.number_input(t("survival.min_at_risk"), min_value=0, max_value=100_000, value=MIN_AT_RISK, step=10, key="survival_min_at_risk")
    )
with right:
    events = widgets.multiselect(
        t("cohort.events"), {s: t(f"status.{s}") for s in EXIT_STATUSES}, default=sorted(VOLUNTARY_EXITS), key="survival_events"
    )
    late_entry = st.checkbox(t("survival.window"), key="survival_window")
    window_start = (
        st.date_input(t("survival.window_start"), value=dt.date(result.study_date.year - 3, 1, 1), key="survival_window_start")
        if late_entry
        else None
    )
if not events:
    st.info(tm("cohort.no_events"))
    st.stop()

start = window_start.isoformat() if isinstance(window_start, dt.date) else None
# Only the cohort the curves are split by (if named) keys the result: the whole book's curve is the Overview's too.
outcome = survival_result(choice, result, by or None, frozenset(events), tuple(c for c in usable if c.key == by), float(horizon), start)
if start:
    st.caption(tm("survival.window_note", start=start))
if outcome.curves.empty:
    st.info(tm("cohort.empty"))
    st.stop()

split = next((c for c in usable if c.key == by), named)  # "in" is the name of the cohort the curves are split by
named_labels = {"in": split.label(language()), "rest": t("cohort.rest"), "all": t("survival.whole_book")}
labels = {str(c): level_label(c, named_labels, by) for c in outcome.curves["cohort"].unique()}
if by and set(labels) <= {"True", "False"} | BLANK_WORDS:  # yes/no alone does not say of what
    labels = {code: t("level.of", column=dimensions.get(by, by), value=text) for code, text in labels.items()}
scale = 12.0 if unit == "years" else 1.0
x_title = t("survival.years") if unit == "years" else t("survival.months")
sizes = outcome.curves.groupby("cohort", sort=False)["at_risk"].max()
drawn = outcome.curves
if len(sizes) > MAX_CURVES:
    drawn = outcome.curves[outcome.curves["cohort"].isin(sizes.nlargest(MAX_CURVES).index)]
    st.caption(tm("survival.curves_trimmed", shown=MAX_CURVES, total=len(sizes)))
# Beyond a few curves the chart is a tangle: the reader picks which to draw (the largest first).
offered = [str(c) for c in sizes.loc[sizes.index.isin(drawn["cohort"].unique())].sort_values(ascending=False).index]
if len(offered) > charts.MAX_LINES_TOGETHER:
    picked = st.multiselect(
        t("survival.curves_shown"),
        offered,
        default=offered[: charts.MAX_LINES_TOGETHER],
        format_func=labels.__getitem__,
        key=f"survival_shown_{by}",
        placeholder=t("widget.choose"),
        select_all=widgets.select_all(),
    )
    drawn = drawn[drawn["cohort"].isin(picked)]
# Curves stop where fewer than the stated number remain at risk (a handful of policies would drop them straight down).
drawn = until_at_risk(drawn, min_at_risk=min_at_risk)
st.plotly_chart(
    charts.survival_curves(drawn, unit=scale, x_title=x_title, y_title=t("survival.survival"), labels=labels), key="survival_plot"
)
st.caption(tm("survival.cutoff_note", n=min_at_risk))

last = float(outcome.curves["month"].max())
ticks = list(np.arange(0, last + 1e-9, 12.0))
risk = at_risk_table(outcome.curves, ticks)
risk.index = [labels[str(i)] for i in risk.index]
risk.columns = [f"{c / scale:g}" for c in risk.columns]
st.caption(tm("survival.at_risk"))
show_table(data=risk, width="stretch")

# --- tests in plain words -----------------------------------------------------------------
if outcome.overall_p is not None and outcome.pairwise is not None:
    st.subheader(t("survival.tests"))
    st.markdown(
        tm(
            "survival.overall_sentence",
            p=format_p(outcome.overall_p),
            significant=t("survival.differ") if outcome.cohorts_differ else t("survival.no_difference"),
        )
    )
    if outcome.pairwise.empty:
        st.caption(tm("survival.pairwise_skipped", n=len(sizes), most=MAX_PAIRWISE_COHORTS))
    elif len(outcome.pairwise) > MAX_SENTENCES:
        # Many pairs: the significant ones first, as a table.
        pairs = outcome.pairwise.sort_values("p_holm", kind="stable")
        pairs = pairs.assign(
            cohort_a=pairs["cohort_a"].map(lambda c: labels[str(c)]), cohort_b=pairs["cohort_b"].map(lambda c: labels[str(c)])
        )
        show_table(data=translate_columns(pairs), hide_index=True, width="stretch")
    else:
        for verdict in outcome.pair_verdicts:
            key = "survival.pair_higher" if verdict.significant else "survival.pair_not_significant"
            st.markdown("- " + tm(key, worse=labels[verdict.worse], better=labels[verdict.better], p=format_p(verdict.p_holm)))
    st.caption(tm("survival.tests_help"))

st.subheader(t("survival.summary"))
# Figures read past the point where a curve stops (fewer than the cutoff at risk) are named beside the numbers.
summary_view = translate_columns(summary_table(outcome, labels, min_at_risk=min_at_risk, horizon=float(horizon)))
show_table(
    data=summary_view,
    hide_index=True,
    width="stretch",
    column_config=column_config(summary_view)
    | {t(f"col.survival_{m}"): st.column_config.NumberColumn(t(f"col.survival_{m}"), format="percent") for m in (13, 25, 37, 61)},
)
st.caption(tm("survival.summary_help", horizon=int(horizon)))
if min_at_risk > 0:
    st.caption(tm("survival.summary_cutoff_note", n=min_at_risk, horizon=int(horizon)))

curve_view = translate_columns(
    outcome.curves.assign(cohort=outcome.curves["cohort"].map(lambda c: labels[str(c)])).rename(columns={"cohort": "group"})
)
sheets = {t("survival.sheet_curves"): curve_view, t("survival.summary"): summary_view}
if outcome.pairwise is not None:
    sheets[t("survival.tests")] = translate_columns(outcome.pairwise)
notes = {name: filters.scope_lines() for name in sheets}
if min_at_risk > 0:  # the summary sheet says what its "figures past the stop" column means
    notes[t("survival.summary")].append(t("survival.summary_cutoff_note", n=min_at_risk, horizon=int(horizon)))
widgets.download_button(
    st,
    t("survival.download"),
    data=partial(
        write_workbook,
        sheets,
        notes=notes,
        # Survival as percentages in Excel too (the cells stay numbers).
        percent=[t("col.survival"), t("col.lower"), t("col.upper"), *(t(f"col.survival_{m}") for m in (13, 25, 37, 61))],
    ),
    file_name="survival.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="survival_download",
)

# --- Cox proportional hazards ---------------------------------------------------------------
st.subheader(t("survival.cox"))
st.caption(tm("survival.cox_help"))
covariate_options = {k: v for k, v in dimensions.items() if k not in ("issue_month", "issue_quarter")} | (
    {"age": t("canon.age")} if "age" in policies.columns else {}
)
default_covariates = [c for c in (named.key, "channel", "auto_debit", "payment_frequency") if c in covariate_options]
covariates = widgets.multiselect(t("survival.covariates"), covariate_options, default=default_covariates, key="survival_covariates")
# Strata: covariates with few values (each combination gets its own baseline hazard).
few = few_valued_columns(choice, result)
stratifiable = {c: covariate_options[c] for c in covariates if c not in policies.columns or c in few}  # derived: bands, years
strata = widgets.multiselect(t("survival.strata"), stratifiable, default=[], key="survival_strata")
fit_columns = tuple(c for c in covariates if c not in strata)
cox = None
if not fit_columns:
    st.info(tm("survival.no_covariates"))
else:
    try:
        with st.spinner(t("survival.fitting")):
            cox = cox_result(choice, result, fit_columns, tuple(strata), frozenset(events), usable)
    except ExtractError as exc:
        st.info(ds.error_text(exc))
if cox is not None:
    hr = cox.hazard_ratios
    own = {c.key: {**named_labels, "in": c.label(language())} for c in usable}  # each named cohort's "in" is its own name
    levels = [level_label(lv, own.get(c, named_labels), c) if lv else "" for c, lv in zip(hr["covariate"], hr["level"])]
    # "销售渠道 = 银保"; a named cohort's own level is its name already.
    names = [
        covariate_options.get(c, c) if level in ("", covariate_options.get(c, c)) else f"{covariate_options.get(c, c)} = {level}"
        for c, level in zip(hr["covariate"], levels)
    ]
    st.plotly_chart(charts.forest_plot(hr, labels=names, x_title=t("survival.hazard_ratio")), key="survival_forest")
    hr_view = translate_columns(
        hr.assign(
            covariate=hr["covariate"].map(lambda c: covariate_options.get(c, c)),
            level=levels,
            reference=[level_label(r, own.get(c, named_labels), c) if r else r for c, r in zip(hr["covariate"], hr["reference"])],
            p_value=hr["p_value"].map(formats.p_value),  # "< 0.001", never "0"
        )
    )
    show_table(data=hr_view, hide_index=True, width="stretch", column_config=column_config(hr_view))
    st.caption(tm("survival.sample", used=cox.policies_used, total=cox.policies_total, ph=cox.ph_policies, c=cox.concordance))
    violated = cox.ph_test[cox.ph_test["violated"]]
    if cox.ph_test.empty:
        st.caption(tm("survival.ph_unavailable"))
    elif len(violated):
        st.warning(tm("survival.ph_warning", names=", ".join(sorted({covariate_options.get(c, c) for c in violated["covariate"]}))))
    else:
        st.success(tm("survival.ph_ok"))

# --- competing risks ----------------------------------------------------------------------
st.subheader(t("survival.cif"))
st.caption(tm("survival.cif_help"))
cif = until_at_risk(incidence(choice, result), min_at_risk=min_at_risk, by="cause")
if not cif.empty:
    st.plotly_chart(
        charts.incidence_curves(
            cif,
            names={c: t(f"survival.cause.{c}") for c in ("lapse", "surrender", "death")},
            x_title=t("survival.months"),
            y_title=t("survival.incidence"),
        ),
        key="survival_cif",
    )
    st.caption(tm("survival.cutoff_note", n=min_at_risk))
