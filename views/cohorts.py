"""Cohort explorer: exposure-based lapse rates by any cohort, with intervals, credibility and A/E."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import streamlit as st

from analysis import ExtractError
from analysis.report.catalogue import column_label
from analysis.report.export import write_workbook
from analysis.schema import EXIT_STATUSES, VOLUNTARY_EXITS
from analysis.study.cohorts import AGE_EDGES, YOUNG_NEW_EARNERS, Condition, age_edges_from, edges_are_numbers
from analysis.study.run import StudyRequest
from analysis.study.thin import THIN_EXPOSURE, mark_thin, rate_axis
from ui import charts, cohort_builder, filters, formats, widgets
from ui import datasets as ds
from ui.i18n import language, t, tm
from ui.study import NAMED_COHORT, NAMED_COHORT_KEPT, cohort_dimensions, cohort_study, filter_values, named_cohort
from ui.tables import display_levels, rate_column_config, show_table, translate_columns

#: Cohorts drawn at most: lines in the rate chart, rows in the heatmap (the largest by exposure).
MAX_LINES, MAX_HEATMAP_ROWS = 12, 40

st.title(t("cohort.title"))
st.caption(tm("cohort.caption"))

choice, result = filters.filtered_book()
policies = result.policies

# --- named cohort (editable preset) --------------------------------------------------
with st.expander(t("cohort.named"), expanded=False):
    st.caption(tm("cohort.named_help"))
    definition = st.text_area(
        t("cohort.named_definition"),
        value=st.session_state.get(NAMED_COHORT_KEPT) or json.dumps(YOUNG_NEW_EARNERS.to_dict(), ensure_ascii=False, indent=1),
        height=220,
        key=NAMED_COHORT,
    )
    named, problem = named_cohort(definition)
    if problem:
        st.error(tm("cohort.named_invalid", message=problem))
    else:
        st.caption(tm("cohort.named_reads", name=named.label(language()), text=named.text(language())))
named_ok = all(c.column in policies.columns for c in named.conditions)
# Cohorts built by pointing, several at once, saved in and loaded from cohort presets.
cohort_builder.draw(choice, result)
# Every named cohort the book can apply: to group by here, and in the filter bar on every page.
usable = tuple(c for c in cohort_builder.all_cohorts() if all(item.column in policies.columns for item in c.conditions))
if not named_ok:
    st.info(
        tm(
            "cohort.named_missing",
            name=named.label(language()),
            columns="、".join(column_label(c.column, language()) for c in named.conditions if c.column not in policies.columns),
        )
    )

# --- widgets -----------------------------------------------------------------------
dimensions = cohort_dimensions(policies, usable)
left, middle, right = st.columns(3)
with left:
    first = widgets.select(t("cohort.by1"), dimensions, key="cohort_by1")
    second = widgets.select(t("cohort.by2"), {"": t("cohort.none")} | dimensions, key="cohort_by2")
with middle:
    periods = {"policy_year": t("period.policy_year"), "policy_month": t("period.policy_month"), "calendar_year": t("period.calendar_year")}
    period = widgets.select(t("cohort.period"), periods, key="cohort_period")
    basis = widgets.radio(t("cohort.basis"), {b: t(f"basis.{b}") for b in ("initial", "central")}, key="cohort_basis")
with right:
    events = widgets.multiselect(
        t("cohort.events"),
        {s: t(f"status.{s}") for s in EXIT_STATUSES},
        default=sorted(VOLUNTARY_EXITS),
        key="cohort_events",
    )
    weights = {"": t("cohort.weight_count")} | {w: t(f"canon.{w}") for w in ("annual_premium", "sum_assured") if w in policies.columns}
    weight = widgets.select(t("cohort.weight"), weights, key="cohort_weight")

with st.expander(t("cohort.filters"), expanded=False):
    filter_column = widgets.select(
        t("cohort.filter_column"),
        {"": t("cohort.none")} | {k: v for k, v in dimensions.items() if k != "policy_year"},
        key="cohort_filter_column",
    )
    chosen: list[str] = []
    if filter_column:
        options = filter_values(choice, result, usable, filter_column, age_edges_from(st.session_state.get("cohort_age_edges", "")))
        chosen = st.multiselect(
            t("cohort.filter_values"),
            options,
            key=f"cohort_filter_values_{filter_column}",
            placeholder=t("widget.choose"),
            select_all=widgets.select_all(),
        )
    edges_text = st.text_input(t("cohort.age_edges"), value=", ".join(map(str, AGE_EDGES)), key="cohort_age_edges")
    age_edges = age_edges_from(edges_text)
    if not edges_are_numbers(edges_text):
        st.warning(tm("cohort.age_edges_invalid"))
    expected_rate = st.number_input(
        t("cohort.expected_rate"), min_value=0.0, max_value=1.0, value=0.0, step=0.005, format="%.3f", key="cohort_expected_rate"
    )
    expected_file = st.file_uploader(
        t("cohort.expected_table"), type=["csv"], key="cohort_expected_file", help=t("widget.upload_box", limit=ds.upload_limit_mb())
    )

if not events:
    st.info(tm("cohort.no_events"))
    st.stop()

by = tuple(b for b in (first, second) if b)
request = StudyRequest(
    by=tuple(dict.fromkeys(by)),
    period=period,
    events=frozenset(events),
    basis=basis,
    weight=weight or None,
    filters=(Condition(filter_column, "in", chosen),) if filter_column and chosen else (),
    named=usable,
    expected_rate=expected_rate or None,
    age_edges=age_edges or (0,),
)
expected_csv = expected_file.getvalue().decode("utf-8-sig", errors="replace") if expected_file else None
try:
    study = cohort_study(choice, result, request, expected_csv)
except ExtractError as exc:
    st.error(ds.error_text(exc))
    st.stop()

if study.rates.empty:
    st.info(tm("cohort.empty"))
    st.stop()

# --- results ---------------------------------------------------------------------
overall = study.totals
cols = st.columns(4)
cols[0].metric(t("cohort.policies_used"), formats.count(study.policies_used), help=t("cohort.share_used", share=study.share_used))
cols[1].metric(t("cohort.total_events"), formats.count(study.total_events))
cols[2].metric(t("cohort.total_exposure"), formats.exposure(study.total_exposure))
cols[3].metric(
    t("cohort.overall_rate_weighted", weight=weights[weight]) if weight else t("cohort.overall_rate"), f"{study.overall_rate:.2%}"
)
lower, upper = study.overall_interval
if lower == lower:
    cols[3].caption(tm("cohort.overall_interval", lower=lower, upper=upper, z=study.overall_credibility))
# One basis on the whole page: the headline, the lines, the heatmap and the tables are all weighted, or none is.
st.caption(tm("cohort.basis_weighted", weight=weights[weight]) if weight else tm("cohort.basis_count"))
if study.share_used < 1:
    st.caption(tm("cohort.share_used", share=study.share_used))
st.caption(tm(f"cohort.meaning.{period}"))

# "In" is the name of the named cohort the table is split by (the first one among the dimensions).
split = next((c for c in usable if c.key in study.by), named)
legend = {"in": split.label(language()), "rest": t("cohort.rest")}
cohort_column = study.by[0] if study.by else None
# Levels as readers see them: the named cohort's in/rest, blanks and yes/no in the UI language; thin cells marked.
shown_rates = display_levels(mark_thin(study.rates), study.by, legend)
if len(study.by) == 2:
    pair = list(study.by)
    ordered = shown_rates.sort_values(pair, kind="stable")[pair].astype(str).agg(" · ".join, axis=1)
    shown_rates = shown_rates.assign(
        _cohort=pd.Categorical(shown_rates[pair].astype(str).agg(" · ".join, axis=1), categories=list(dict.fromkeys(ordered)))
    )
line_column = "_cohort" if len(study.by) == 2 else cohort_column
line_rates, heat_rates = shown_rates, shown_rates
if line_column:
    # An agent or branch column can hold hundreds of cohorts: the charts draw the largest by exposure, the tables keep all.
    exposure = shown_rates.groupby(line_column, observed=True)["exposure"].sum()
    if len(exposure) > MAX_LINES:
        line_rates = shown_rates[shown_rates[line_column].isin(exposure.nlargest(MAX_LINES).index)]
        heat_rates = shown_rates[shown_rates[line_column].isin(exposure.nlargest(MAX_HEATMAP_ROWS).index)]
        st.caption(tm("cohort.charts_trimmed", lines=MAX_LINES, rows=min(MAX_HEATMAP_ROWS, len(exposure)), total=len(exposure)))
axis = rate_axis(line_rates)
st.plotly_chart(
    charts.rate_lines(line_rates, cohort=line_column, x_title=periods[period], y_title=t("col.rate"), y_range=axis, thin="thin"),
    key="cohort_lines",
)
if axis is not None and (line_rates["rate"] > axis[1]).any():
    st.caption(tm("cohort.axis_fitted", top=axis[1]))
if shown_rates["thin"].any():
    st.caption(tm("cohort.thin_note", n=formats.count(THIN_EXPOSURE)))
if cohort_column:
    st.plotly_chart(
        charts.rate_heatmap(
            heat_rates,
            cohort=line_column,
            x_title=periods[period],
            y_title=dimensions.get(cohort_column, cohort_column),
            z_range=rate_axis(heat_rates),
        ),
        key="cohort_heatmap",
    )

st.subheader(t("cohort.totals"))
totals_view = translate_columns(display_levels(overall.drop(columns="period"), study.by, legend))
show_table(data=totals_view, hide_index=True, column_config=rate_column_config(totals_view), width="stretch")
st.subheader(t("cohort.detail"))
detail_view = translate_columns(shown_rates.drop(columns="_cohort", errors="ignore"))
show_table(data=detail_view, hide_index=True, column_config=rate_column_config(detail_view), width="stretch")
if study.rates["low_credibility"].any():
    st.caption(tm("cohort.low_credibility_note"))

widgets.download_button(
    st,
    t("cohort.download"),
    data=partial(
        write_workbook,
        {t("cohort.totals"): totals_view, t("cohort.detail"): detail_view},
        notes={t("cohort.totals"): filters.scope_lines(), t("cohort.detail"): [*filters.scope_lines(), t(f"cohort.meaning.{period}")]},
        percent=[t("col.rate"), t("col.lower"), t("col.upper")],
    ),
    file_name="cohort_rates.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="cohort_download",
)
