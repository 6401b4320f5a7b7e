"""Persistency overview for management: KPIs against target and last year, trend, triangle, league tables, status."""

from __future__ import annotations

from functools import partial
from typing import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analysis.payments.persistency import DEFINITION_KEYS
from analysis.persistency.league import LEAGUE_COLUMNS, MIN_LEAGUE_POLICIES
from analysis.persistency.maturity import MIN_TREND_POLICIES, persistency_contrast
from analysis.persistency.overview import DEFAULT_TARGETS, Basis, Kpi
from analysis.persistency.projection import REFERENCE_MONTHS
from analysis.persistency.ratios import EXCLUSIONS, HEADLINE_MONTHS, PersistencyOptions
from ui import charts, filters, formats, widgets
from ui import payments as ui_payments
from ui.i18n import language, t, tm
from ui.overview import league, monthly_report_bytes, overview_figures, whole_book_curve
from ui.tables import column_config, show_table, translate_columns

st.title(t("overview.title"))
st.caption(tm("overview.caption"))

choice, result = filters.filtered_book()
policies = result.policies

with st.expander(t("overview.settings"), expanded=False):
    left, right = st.columns(2)
    target13 = left.number_input(
        t("overview.target", month=13),
        min_value=0.0,
        max_value=1.0,
        value=DEFAULT_TARGETS[13],
        step=0.01,
        format="%.2f",
        key="overview_target13",
    )
    target25 = right.number_input(
        t("overview.target", month=25),
        min_value=0.0,
        max_value=1.0,
        value=DEFAULT_TARGETS[25],
        step=0.01,
        format="%.2f",
        key="overview_target25",
    )
    at = widgets.radio(t("overview.measure_at"), {"N": t("overview.at_n"), "N+1": t("overview.at_n1")}, key="overview_at")
    grain = widgets.select(
        t("overview.trend_grain"), {g: t(f"overview.grain.{g}") for g in ("quarter", "month", "year")}, key="overview_grain"
    )
    excluded = widgets.multiselect(
        t("overview.exclusions"), {e: t(f"report.exclusion.{e}") for e in EXCLUSIONS}, default=list(EXCLUSIONS), key="overview_exclusions"
    )
st.caption(tm("overview.targets_stated", p13=target13, p25=target25))
if ui_payments.current_payments() is None:
    st.info(tm("overview.approximation"))

options = PersistencyOptions(
    months=HEADLINE_MONTHS, include_grace=at == "N+1", grace_days=result.preset.grace_days, exclude=frozenset(excluded)
)
figures = overview_figures(choice, result, options, {13: target13, 25: target25}, grain)
# With a payment history the page measures on premiums received; the status-based figure is shown beside it.
on_payments = ui_payments.overview_on_payments(choice, result, options, {13: target13, 25: target25}, grain)
status_figures, figures = figures, on_payments or figures
if not figures.kpis and figures.trend.empty:
    st.info(tm("overview.no_cohorts"))
    st.stop()
if not figures.kpis:  # cohorts reached month 13, none fully observed yet: no cards, the rest of the page stands
    st.info(tm("overview.no_observed_cohorts", grace=options.grace_days))

# With a payment history the workbook is on premiums received, as the page (the history resolved now, not on the download's thread).
paid = ui_payments.report_payments()
report_args = (options, {13: target13, 25: target25}, language(), tuple(filters.scope_lines()), figures)
widgets.download_button(
    st,
    t("report.download"),
    # Built only when clicked (on its own thread), so the page itself stays fast.
    data=partial(monthly_report_bytes, choice, result, paid, *report_args),
    file_name=f"lapselens_report_{result.study_date.date().isoformat()}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="overview_report",
)

# --- KPI cards -------------------------------------------------------------------------


def kpi_card(column: DeltaGenerator, label: str, basis: Basis, help_text: str | None = None) -> None:
    """One KPI card: the ratio, its change against last year (greyed and marked when within noise), its 95 % interval."""
    known = basis.value == basis.value
    change = None
    if known and basis.change == basis.change:
        change = t(
            "overview.delta_within_noise" if basis.within_noise else "overview.delta_pp",
            value=basis.change * 100,
            noise=basis.noise * 100,
        )
    column.metric(
        label,
        formats.percent(basis.value) if known else formats.DASH,
        delta=change,
        delta_color="off" if basis.within_noise else "normal",
        help=help_text,
    )
    if known:
        column.caption(tm("overview.kpi_interval", lower=basis.lower, upper=basis.upper))


listed = "、" if language() == "zh" else ", "


def window_text(kpi: Kpi, words: Callable[..., str] = tm) -> str:
    """Which issue months a KPI is on: the latest 12 fully observed, and the settling ones it leaves out."""
    if not kpi.settling:
        return words("persistency.kpi_window", month=kpi.month, start=kpi.window[0], end=kpi.window[1])
    return words(
        "persistency.kpi_window_settling",
        month=kpi.month,
        start=kpi.window[0],
        end=kpi.window[1],
        months=listed.join(kpi.settling),
        grace=options.grace_days,
    )


cards = st.columns(max(2 * len(figures.kpis), 1))
for i, kpi in enumerate(figures.kpis):
    kpi_card(
        cards[2 * i],
        t("overview.kpi_count", month=kpi.month),
        kpi.count_basis,
        t(
            "overview.kpi_help",
            start=kpi.window[0],
            end=kpi.window[1],
            n=kpi.policies,
            target=kpi.target,
            gap=(kpi.count - kpi.target) * 100,
        )
        + " "
        + window_text(kpi, t),
    )
    kpi_card(cards[2 * i + 1], t("overview.kpi_premium", month=kpi.month), kpi.premium_basis, t("overview.kpi_premium_help"))
# Each card's window named, and the settling issue months it leaves out (as the trend statements do).
for kpi in figures.kpis:
    st.caption(window_text(kpi))
if figures.kpis:
    st.caption(tm("overview.noise_note"))
# Why the P13 here is not the Survival page's S(13): the numbers of both, computed, in one sentence.
contrast = persistency_contrast(figures.kpis, whole_book_curve(choice, result))
if contrast is not None:
    st.caption(
        tm(
            "overview.p13_vs_s13",
            p=contrast.persistency,
            start=contrast.window[0],
            end=contrast.window[1],
            n=formats.count(contrast.policies),
            s=contrast.survival,
            lower=contrast.lower,
            upper=contrast.upper,
            m=formats.count(contrast.survival_policies),
        )
    )
st.caption(tm(DEFINITION_KEYS[figures.definition]))
if figures is not status_figures and status_figures.kpis:
    st.markdown(f"**{t('overview.status_based')}**")
    status_cards = st.columns(2 * len(status_figures.kpis))
    for i, kpi in enumerate(status_figures.kpis):
        help_text = t("overview.status_based_help") + " " + window_text(kpi, t)
        kpi_card(status_cards[2 * i], t("overview.kpi_status_count", month=kpi.month), kpi.count_basis, help_text)
        kpi_card(status_cards[2 * i + 1], t("overview.kpi_status_premium", month=kpi.month), kpi.premium_basis)
    # On statuses a lapse is known only after grace: these windows can end earlier than the cards above.
    for kpi in status_figures.kpis:
        if kpi.settling:
            st.caption(window_text(kpi))
if figures.kpis:
    st.caption(
        " · ".join(
            tm("overview.vs_target", month=k.month, start=k.window[0], end=k.window[1], gap=(k.count - k.target) * 100, target=k.target)
            for k in figures.kpis
        )
    )

# --- trend and triangle ------------------------------------------------------------------
st.subheader(t("overview.trend"))
names = {13: t("overview.p", month=13), 25: t("overview.p", month=25)}
projected_names = {13: t("overview.p_projected", month=13), 25: t("overview.p_projected", month=25)}
st.plotly_chart(
    charts.trend_lines(
        figures.trend,
        x_title=t(f"overview.grain.{grain}"),
        y_title=t("overview.persistency"),
        names=names,
        targets={13: target13, 25: target25},
        projection=figures.projection,
        projected_names=projected_names,
        maturity=figures.maturity,
        unsettled_labels={m: t("overview.unsettled_band", month=m) for m in HEADLINE_MONTHS},
    ),
    key="overview_trend",
)
# Trend statements rest on fully observed cohorts only; the newer ones are named as left out.
for said in figures.statements:
    st.markdown(
        tm(
            "overview.trend_statement_noise" if said.within_noise else "overview.trend_statement",
            month=said.month,
            cohorts=said.cohorts,
            first=said.first,
            last=said.last,
            start=said.start,
            end=said.end,
            change=said.change * 100,
        )
        + (" " + tm("overview.trend_settling", cohorts=listed.join(said.settling)) if said.settling else "")
        + (" " + tm("overview.trend_thin", n=MIN_TREND_POLICIES, cohorts=listed.join(said.thin)) if said.thin else "")
    )
st.caption(tm("overview.maturity_help", grace=options.grace_days, n=MIN_TREND_POLICIES))
for ahead in figures.headings:
    st.markdown(
        tm(
            "overview.heading",
            month=ahead.month,
            first=ahead.first,
            last=ahead.last,
            policies=f"{ahead.policies:,}",
            value=ahead.persistency,
            target=ahead.target,
            verdict=t("overview.above_target") if ahead.meets_target else t("overview.below_target"),
        )
    )
if len(figures.projection):
    st.caption(tm("overview.projection_help", months=REFERENCE_MONTHS))
st.subheader(t("overview.triangle"))
st.caption(tm("overview.triangle_help"))
if not figures.triangle.empty:
    st.plotly_chart(
        charts.triangle_heatmap(figures.triangle, x_title=t("overview.duration"), y_title=t("col.issue_month")), key="overview_triangle"
    )

# --- league tables ------------------------------------------------------------------
st.subheader(t("overview.league"))
dimensions = {c: t(f"canon.{c}") for c in LEAGUE_COLUMNS if c in policies.columns}
if dimensions:
    cols = st.columns(3)
    with cols[0]:
        dimension = widgets.select(t("overview.league_by"), dimensions, key="overview_league_by")
    with cols[1]:
        league_month = widgets.select(t("overview.league_month"), {"13": names[13], "25": names[25]}, key="overview_league_month")
    min_policies = cols[2].number_input(
        t("overview.min_volume"), min_value=1, value=MIN_LEAGUE_POLICIES, step=10, key="overview_min_volume"
    )
    table = league(choice, result, dimension, int(league_month), int(min_policies), options, paid)
    view = translate_columns(table)
    show_table(
        data=view,
        hide_index=True,
        width="stretch",
        column_config=column_config(view)
        | {
            t("col.persistency"): st.column_config.ProgressColumn(t("col.persistency"), format="percent", min_value=0.0, max_value=1.0),
            t("col.premium_persistency"): st.column_config.NumberColumn(t("col.premium_persistency"), format="percent"),
        },
    )
    st.caption(tm("overview.league_help", n=int(min_policies)))

# --- status snapshot and collections -------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader(t("overview.snapshot"))
    snapshot = figures.snapshot.assign(item=figures.snapshot["item"].map(lambda k: t(f"overview.item.{k}")))
    view = translate_columns(snapshot)
    show_table(data=view, hide_index=True, width="stretch", column_config=column_config(view))
with right:
    st.subheader(t("overview.funnel"))
    if figures.funnel is None:
        st.info(tm("overview.no_paid_to"))
    else:
        st.plotly_chart(
            charts.funnel([t(f"overview.stage.{s}") for s in figures.funnel["stage"]], figures.funnel["policies"].tolist()),
            key="overview_funnel",
        )
        st.caption(tm("overview.funnel_help" if figures is status_figures else "overview.funnel_help_payments"))
