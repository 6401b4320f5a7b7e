"""Interventions: size retention levers on a target cohort, compare them, and measure real campaigns."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analysis.errors import ExtractError
from analysis.interventions.arms import CONTROL, TREATED, WINDOW_MONTHS, proposed_start
from analysis.interventions.comparison import ROI_MIN_COST_SHARE, money_first
from analysis.interventions.design import ALPHA, POWER, sample_size_per_arm
from analysis.interventions.effects import with_measured_effect
from analysis.interventions.projection import DRAWS, best_scenario, compare_scenarios, comparison_curves
from analysis.interventions.scenario import (
    LEVER_SOURCES,
    LEVERS,
    MAX_SCENARIOS,
    POPULATIONS,
    Economics,
    Effect,
    Scenario,
    Target,
    guarded_scenarios,
    scenario_to_dict,
    scenarios_to_json,
)
from analysis.report.catalogue import column_label
from analysis.risk.words import value_text
from analysis.schema import ANNUAL_PREMIUM
from analysis.survival.logrank import format_p
from ui import campaigns as ui_campaigns
from ui import charts, filters, formats, widgets
from ui import datasets as ds
from ui import interventions as ui_iv
from ui.i18n import language, md_escape, t, tm
from ui.study import named_cohort
from ui.tables import percent_config, show_table, translate_columns

st.title(t("interv.title"))
st.caption(tm("interv.caption"))
choice, result = filters.filtered_book()
policies = result.policies
lang = language()
named, _ = named_cohort()
named_ok = bool(named.conditions) and all(c.column in policies.columns for c in named.conditions)
arm_names = {TREATED: t("campaign.treated"), CONTROL: t("campaign.control")}
ui_iv.saved()  # reads a shared link's scenarios on the first visit
if st.session_state.pop("interv_bad_link", False):
    st.warning(tm("interv.bad_link"))
    refused = ui_iv.bad_link_error()
    if refused is not None:
        st.caption(ds.error_text(refused))

scenario_tab, campaign_tab, planner_tab = st.tabs([t("interv.tab_scenarios"), t("interv.tab_campaign"), t("interv.tab_planner")])


def money(value: float) -> str:
    return formats.money(value)


def comparison_cell(measure: str, value: object) -> str:
    """One figure of the money-first comparison as a reader reads it (display shaping only)."""
    if measure == "effect_source":
        source, evidence = value  # type: ignore[misc]
        return t("interv.source_evidence", source=t(f"interv.source.{source}"), evidence=t(f"interv.evidence.{evidence}"))
    if measure in ("roi", "probability_positive"):
        return formats.percent(value)
    if measure == "break_even_hazard_ratio":
        return formats.DASH if pd.isna(value) else f"{float(value):.2f}"  # type: ignore[arg-type]
    return money(value)  # type: ignore[arg-type]


def comparison_frame(grid: pd.DataFrame) -> pd.DataFrame:
    """The money-first grid in words: a row per figure (kept policies and NPV each followed by their interval), a column per scenario."""
    labels: list[str] = []
    cells: dict[str, list[str]] = {str(name): [] for name in grid.columns}
    for measure in grid.index:
        label = t("col.effect_source") if measure == "effect_source" else column_label(measure, lang)
        if measure in ("retained_policies", "npv"):  # (point, lower, upper): the interval on its own row
            labels += [label, t("interv.interval_of", measure=label)]
            for name in grid.columns:
                point, low, high = grid.at[measure, name]
                cells[str(name)] += [
                    formats.count(point) if measure == "retained_policies" else money(point),
                    interval(low, high, measure == "npv"),
                ]
        else:
            labels.append(label)
            for name in grid.columns:
                cells[str(name)].append(comparison_cell(measure, grid.at[measure, name]))
    return pd.DataFrame(cells, index=labels)


def interval(low: float, high: float, money_values: bool = False) -> str:
    if pd.isna(low) or pd.isna(high):
        return "—"
    text = money if money_values else formats.count
    return t("interv.interval", low=text(low), high=text(high))


# --- campaign evaluation (first: a scenario can take its measured effect) ------------------
columns = ui_iv.campaign_columns(choice, result)
measured = None
with campaign_tab:
    st.caption(tm("campaign.population_note"))
    if not columns:
        st.warning(tm("campaign.before_after_warning"))
        st.info(tm("interv.no_campaign_column"))
    else:
        left, middle, right = st.columns(3)
        treatment = left.selectbox(
            t("interv.treatment_column"), columns, format_func=lambda c: column_label(c, lang), key="campaign_column"
        )
        proposed = proposed_start(policies, treatment).date()
        start = middle.date_input(t("interv.campaign_start"), value=proposed, key=f"campaign_start_{treatment}")
        window = right.number_input(
            t("interv.window_months"), min_value=1, max_value=60, value=WINDOW_MONTHS, step=1, key="campaign_window"
        )
        st.caption(tm("campaign.start_default", date=proposed.isoformat()))
        try:
            measured = ui_iv.campaign(choice, result, treatment, start.isoformat() if isinstance(start, dt.date) else None, int(window))
        except ExtractError as exc:
            st.error(ds.error_text(exc))
        if measured is not None:
            summary = measured.summary()
            cols = st.columns(4)
            cols[0].metric(t("campaign.treated"), formats.count(measured.treated))
            cols[1].metric(t("campaign.control"), formats.count(measured.control))
            cols[2].metric(
                t("interv.difference"), t("interv.points", points=f"{measured.difference * 100:.1f}"), help=t("interv.difference_help")
            )
            cols[3].metric(t("interv.hazard_ratio"), f"{measured.hazard_ratio:.2f}")
            st.markdown(
                tm(
                    "campaign.difference_sentence",
                    window=int(window),
                    treated=summary["lapse_treated"],
                    control=summary["lapse_control"],
                    difference=measured.difference,
                    lower=measured.difference_lower,
                    upper=measured.difference_upper,
                )
            )
            st.markdown(
                tm(
                    "campaign.hazard_sentence",
                    hr=measured.hazard_ratio,
                    lower=measured.hazard_ratio_lower,
                    upper=measured.hazard_ratio_upper,
                )
            )
            p_value = float(measured.logrank["p_value"].iloc[0])
            st.markdown(tm("interv.logrank_sentence", p=format_p(p_value)))
            st.plotly_chart(
                charts.survival_curves(
                    measured.curves, unit=1.0, x_title=t("interv.months_from_start"), y_title=t("survival.survival"), labels=arm_names
                ),
                key="campaign_km",
            )
            window_table = translate_columns(ui_iv.arms_frame(measured, arm_names))
            show_table(
                data=window_table,
                hide_index=True,
                column_config=percent_config(window_table, ("lapse", "lower", "upper")),
            )
            st.subheader(t("interv.balance"))
            unbalanced = measured.imbalanced_covariates
            if unbalanced:
                st.warning(tm("campaign.imbalance_warning", covariates=md_escape(", ".join(column_label(c, lang) for c in unbalanced))))
            else:
                st.caption(tm("interv.balanced"))
            balance = measured.balance.assign(
                level=[
                    value_text(c, v, lang) if v not in (None, "") else v
                    for c, v in zip(measured.balance["covariate"], measured.balance["level"])
                ]
            )
            show_table(
                data=translate_columns(balance.assign(covariate=balance["covariate"].map(lambda c: column_label(c, lang)))),
                hide_index=True,
            )
            if measured.uplift is not None:
                st.subheader(t("interv.uplift"))
                st.caption(tm("interv.qini_note", coefficient=f"{measured.uplift.qini_coefficient:.4f}"))
                st.plotly_chart(
                    charts.qini(
                        measured.uplift.qini,
                        x_title=t("interv.share_targeted"),
                        y_title=t("interv.prevented_per_treated"),
                        names=(t("interv.by_uplift"), t("interv.random")),
                    ),
                    key="campaign_qini",
                )
                segments = measured.uplift.segments.copy()
                segments["level"] = [value_text(c, v, lang) for c, v in zip(segments["covariate"], segments["level"])]
                segments["covariate"] = segments["covariate"].map(lambda c: column_label(c, lang))
                segments["recommendation"] = segments["recommendation"].map(lambda r: t(f"campaign.recommendation.{r}"))
                segments["harmful"] = segments["harmful"].map(lambda h: t("campaign.harmful") if h else "")
                shown = translate_columns(segments)
                show_table(
                    data=shown,
                    hide_index=True,
                    column_config=percent_config(shown, ("lapse_treated", "lapse_control", "uplift", "lower", "upper", "predicted_uplift")),
                )

with planner_tab:
    st.caption(tm("interv.planner_caption"))
    left, right = st.columns(2)
    p1 = left.number_input(t("interv.p_control"), min_value=0.001, max_value=0.999, value=0.12, step=0.01, format="%.3f", key="planner_p1")
    p2 = right.number_input(t("interv.p_treated"), min_value=0.001, max_value=0.999, value=0.10, step=0.01, format="%.3f", key="planner_p2")
    try:
        n = sample_size_per_arm(float(p1), float(p2))
    except ExtractError:  # the same probability twice: nothing to tell apart
        st.info(tm("interv.planner_equal"))
    else:
        st.markdown(tm("campaign.sample_size_sentence", power=POWER, alpha=ALPHA, p1=float(p1), p2=float(p2), n=n))

# --- scenario builder ------------------------------------------------------------------------
with scenario_tab:
    st.caption(tm("interv.baseline_method"))
    st.caption(tm("interv.scenario_method", draws=DRAWS))
    left, middle, right = st.columns(3)
    with left:
        target_options = ({"named": named.label(lang)} if named_ok else {}) | {"book": t("interv.whole_book")}
        target_kind = widgets.select(t("interv.target"), target_options, key="interv_target")
        population = widgets.select(t("interv.population"), {p: t(f"interv.population.{p}") for p in POPULATIONS}, key="interv_population")
        levers = ["education", *(lv for lv in LEVERS if lv != "education")]
        lever = widgets.select(t("interv.lever"), {lv: t(f"interv.lever.{lv}") for lv in levers}, key="interv_lever")
        # The first choice needs nothing slow: an elasticity for a cheaper product, the measured campaign for education.
        order = {
            "low_premium": ("elasticity", "model", "hazard_ratio", "relative_reduction"),
            "education": ("measured", "hazard_ratio", "relative_reduction"),
        }
        # A measured effect: the campaign column evaluated above, or an arm of the session's campaign list (Campaign lists page).
        arm_effects = ui_campaigns.measured_arms()
        sources = {
            s: t(f"interv.source.{s}")
            for s in order.get(lever, LEVER_SOURCES[lever])
            if s in LEVER_SOURCES[lever] and (s != "measured" or measured is not None or arm_effects)
        }
        source = widgets.select(t("interv.effect_source"), sources, key=f"interv_source_{lever}")
    with middle:
        cut = st.slider(t("interv.premium_cut"), 0, 80, 40, 5, key="interv_cut") / 100 if lever == "low_premium" else 0.0
        value = lower = upper = None
        arm_effect = None
        if source == "hazard_ratio":
            value = st.number_input(t("interv.hr_value"), 0.05, 2.0, 0.85, 0.01, key="interv_hr")
            if st.checkbox(t("interv.with_interval"), value=True, key="interv_hr_ci"):
                # Keyed by the value, so a new point estimate brings a fresh interval around it.
                lower = st.number_input(
                    t("interv.lower"), 0.01, 2.0, max(0.01, round(value - 0.1, 2)), 0.01, key=f"interv_hr_lower_{value}"
                )
                upper = st.number_input(t("interv.upper"), 0.01, 3.0, round(value + 0.1, 2), 0.01, key=f"interv_hr_upper_{value}")
        elif source == "relative_reduction":
            value = st.number_input(t("interv.reduction_value"), 0.0, 0.99, 0.15, 0.01, key="interv_reduction")
            if st.checkbox(t("interv.with_interval"), value=True, key="interv_reduction_ci"):
                lower = st.number_input(
                    t("interv.lower"), 0.0, 0.99, max(0.0, round(value - 0.1, 2)), 0.01, key=f"interv_reduction_lower_{value}"
                )
                upper = st.number_input(
                    t("interv.upper"), 0.0, 0.99, min(0.99, round(value + 0.1, 2)), 0.01, key=f"interv_reduction_upper_{value}"
                )
        elif source == "elasticity":
            value = st.number_input(t("interv.elasticity_value"), 0.0, 5.0, 0.5, 0.05, key="interv_elasticity")
        elif source == "measured":
            measured_options = (
                {"column": t("interv.measured_column", column=column_label(measured.treatment, lang))} if measured else {}
            ) | {f"arm:{arm}": t("interv.measured_arm", arm=arm, control=effect_of.reference) for arm, effect_of in arm_effects.items()}
            measured_from = st.selectbox(
                t("interv.measured_which"), list(measured_options), format_func=measured_options.__getitem__, key="interv_measured_from"
            )
            arm_effect = arm_effects.get(str(measured_from).removeprefix("arm:")) if str(measured_from).startswith("arm:") else None
            if arm_effect is not None:
                value, lower, upper = arm_effect.hazard_ratio, arm_effect.hazard_ratio_lower, arm_effect.hazard_ratio_upper
                st.caption(
                    tm("interv.measured_arm_sentence", arm=arm_effect.arm, control=arm_effect.reference, hr=value, lower=lower, upper=upper)
                )
            elif measured is not None:
                st.caption(
                    tm(
                        "campaign.hazard_sentence",
                        hr=measured.hazard_ratio,
                        lower=measured.hazard_ratio_lower,
                        upper=measured.hazard_ratio_upper,
                    )
                )
        take_up = st.slider(t("interv.take_up"), 0, 100, 100 if lever == "low_premium" else 60, 5, key=f"interv_take_up_{lever}") / 100
    with right:
        cost_contact = st.number_input(t("interv.cost_per_contact"), 0.0, 1e6, 5.0, 1.0, key="interv_cost_contact")
        cost_participant = st.number_input(
            t("interv.cost_per_participant"), 0.0, 1e6, 0.0 if lever == "low_premium" else 50.0, 5.0, key=f"interv_cost_participant_{lever}"
        )
        fixed = st.number_input(t("interv.fixed_cost"), 0.0, 1e9, 20_000.0, 1_000.0, key="interv_fixed")
        horizon = st.slider(t("interv.horizon"), 1, 30, 5, 1, key="interv_horizon")
        rate = st.number_input(t("interv.discount_rate"), 0.0, 0.3, 0.03, 0.005, format="%.3f", key="interv_rate")
        # Without premiums there is no margin to apply: the value per policy is offered (its default editable), not an error.
        has_premium = ANNUAL_PREMIUM in policies.columns and bool(policies[ANNUAL_PREMIUM].notna().any())
        bases = ({"margin": t("interv.margin_basis")} if has_premium else {}) | {"value": t("interv.value_basis_policy")}
        basis = widgets.radio(t("interv.value_basis"), bases, key="interv_basis")
        if not has_premium:
            st.caption(tm("interv.no_premium_value"))
        margin = st.number_input(t("interv.margin"), 0.0, 1.0, 0.10, 0.01, key="interv_margin") if basis == "margin" else 0.10
        per_policy = (
            st.number_input(t("interv.value_per_policy"), 0.0, 1e7, 3_000.0, 100.0, key="interv_value_per_policy")
            if basis == "value"
            else None
        )
    target = Target(cohort=named) if target_kind == "named" else Target()
    default_name = f"{t(f'interv.lever.{lever}')} · {named.label(lang) if target_kind == 'named' else t('interv.whole_book')}"
    name = st.text_input(t("interv.name"), value=default_name, key=f"interv_name_{lever}_{target_kind}").strip() or default_name

    current = None
    try:
        # An arm of a campaign list carries its hazard ratio and interval (value, lower, upper above), not a column to evaluate again.
        campaign_of = (
            {"treatment": measured.treatment, "campaign_start": measured.start.date().isoformat(), "window_months": measured.window_months}
            if source == "measured" and measured and arm_effect is None
            else {}
        )
        effect = Effect(source=source, value=value, lower=lower, upper=upper, premium_cut=cut, **campaign_of)
        economics = Economics(
            take_up=take_up,
            cost_per_contact=cost_contact,
            cost_per_participant=cost_participant,
            fixed_cost=fixed,
            horizon_years=float(horizon),
            discount_rate=float(rate),
            margin=float(margin),
            value_per_policy=per_policy,
        )
        current = Scenario(name=name, lever=lever, effect=effect, target=target, population=population, economics=economics)
        if source == "measured" and (arm_effect is not None or measured is not None):
            current = with_measured_effect(current, arm_effect if arm_effect is not None else measured)
    except ExtractError as exc:
        st.error(ds.error_text(exc))

    outcome = None
    if current is not None:
        try:
            outcome = ui_iv.projection(choice, result, current)
        except ExtractError as exc:
            st.error(ds.error_text(exc))
    if outcome is not None:
        f = outcome.figures
        if source == "model":
            st.info(tm("interv.warn_model_response"))
        elif not outcome.effect.has_interval:
            st.caption(tm("interv.warn_no_interval"))
        cols = st.columns(4)
        cols[0].metric(
            t("interv.retained_policies"),
            formats.count(f["retained_policies"]),
            help=interval(f["retained_policies_lower"], f["retained_policies_upper"]),
        )
        # Cards in 万/亿 (K/M), the amount to the yuan and its interval on hover.
        cols[1].metric(
            t("interv.npv"), formats.money_short(f["npv"]), help=f"{money(f['npv'])} · {interval(f['npv_lower'], f['npv_upper'], True)}"
        )
        cols[2].metric(t("interv.roi"), formats.percent(f["roi"]))
        cols[3].metric(t("interv.cost"), formats.money_short(f["cost"]), help=money(f["cost"]))
        st.markdown(
            tm(
                "interv.result_sentence",
                policies=formats.count(f["policies"]),
                hr=f["hazard_ratio"],
                kept=formats.count(f["retained_policies"]),
                kept_interval=interval(f["retained_policies_lower"], f["retained_policies_upper"]),
                npv=money(f["npv"]),
                npv_interval=interval(f["npv_lower"], f["npv_upper"], True),
                share=f["probability_positive"],
                years=horizon,
            )
        )
        st.markdown(
            tm("interv.premium_line", kept=money(f["retained_premium"]), given_up=money(f["premium_given_up"]), value=money(f["value"]))
        )
        if lever == "low_premium":
            st.caption(tm("interv.premium_given_up_note", amount=money(f["premium_given_up"])))
        if pd.isna(f["break_even_hazard_ratio"]):
            st.markdown(tm("interv.break_even_unreachable"))
        else:
            st.markdown(tm("interv.break_even_sentence", hr=f["break_even_hazard_ratio"], reduction=f["break_even_relative_reduction"]))
        st.plotly_chart(
            charts.scenario_curve(
                outcome.curve, names=(t("interv.baseline"), name), x_title=t("interv.months_ahead"), y_title=t("interv.in_force_share")
            ),
            key="interv_curve",
        )
        kept = ui_iv.saved()
        if st.button(t("interv.add"), key="interv_add", disabled=len(kept) >= MAX_SCENARIOS):
            ui_iv.store([*[s for s in kept if s.get("name") != current.name], scenario_to_dict(current)])
            st.rerun()
        if len(kept) >= MAX_SCENARIOS:
            st.caption(tm("interv.full", n=MAX_SCENARIOS))

    # --- comparison -------------------------------------------------------------------------
    st.subheader(t("interv.comparison"))
    chosen = ui_iv.scenarios()
    if not chosen:
        st.info(tm("interv.comparison_empty"))
    else:
        results = []
        for scenario in chosen:
            try:
                projected = ui_iv.projection(choice, result, scenario)
            except ExtractError as exc:
                st.error(f"{md_escape(scenario.name)}: {ds.error_text(exc)}")
                continue
            if projected is not None:
                results.append(projected)
        if results:
            table = compare_scenarios(results, language=lang)
            table["lever"] = table["lever"].map(lambda lv: t(f"interv.lever.{lv}"))
            shown_columns = [
                "name",
                "lever",
                "target",
                "hazard_ratio",
                "retained_policies",
                "retained_policies_lower",
                "retained_policies_upper",
                "retained_premium",
                "premium_given_up",
                "cost",
                "npv",
                "npv_lower",
                "npv_upper",
                "roi",
                "probability_positive",
                "break_even_hazard_ratio",
            ]
            # Money first, one column per scenario: every figure visible without scrolling sideways.
            grid = money_first(table)
            show_table(comparison_frame(grid), width="stretch", key="interv_money_first")
            if (table["roi"].notna() & grid.loc["roi"].isna().to_numpy()).any():
                st.caption(tm("interv.roi_hidden", share=formats.percent(ROI_MIN_COST_SHARE)))
            st.caption(tm("interv.evidence_note"))
            shown = translate_columns(table[shown_columns].rename(columns={"name": "scenario", "lever": "intervention"}))
            with st.expander(t("interv.comparison_details")):
                show_table(
                    data=shown,
                    hide_index=True,
                    column_config=percent_config(shown, ("roi", "probability_positive")) | formats.money_config(shown, lang),
                    key="interv_comparison_table",
                )
            best = best_scenario(table)
            if best is not None:
                st.markdown(
                    tm(
                        "interv.winner",
                        name=md_escape(str(best["name"])),
                        npv=money(float(best["npv"])),
                        low=money(float(best["npv_lower"])),
                        high=money(float(best["npv_upper"])),
                    )
                )
            st.plotly_chart(
                charts.comparison_curves(
                    comparison_curves(results),
                    x_title=t("interv.months_ahead"),
                    y_title=t("interv.in_force_share"),
                    baseline=t("interv.baseline"),
                ),
                key="interv_comparison_chart",
            )
        left, middle, right = st.columns(3)
        remove = left.selectbox(t("interv.remove_which"), [s.name for s in chosen], key="interv_remove_which")
        if left.button(t("interv.remove"), key="interv_remove"):
            ui_iv.store([s for s in ui_iv.saved() if s.get("name") != remove])
            st.rerun()
        widgets.download_button(
            middle,
            t("interv.download_json"),
            scenarios_to_json(chosen),
            file_name="lapselens_scenarios.json",
            mime="application/json",
            key="interv_download",
        )
        if right.button(t("interv.clear"), key="interv_clear"):
            ui_iv.store([])
            st.rerun()
        st.caption(tm("interv.link_note"))
    uploaded = st.file_uploader(
        t("interv.upload_json"), type=["json"], key="interv_upload", help=t("widget.upload_box", limit=ds.upload_limit_mb())
    )
    if uploaded is not None and st.session_state.get("interv_upload_done") != uploaded.file_id:
        try:
            loaded = guarded_scenarios(uploaded.getvalue())  # size, encoding, nesting and bounds checked before use
        except (ExtractError, UnicodeError) as exc:
            st.error(ds.error_text(exc) if isinstance(exc, ExtractError) else t("interv.bad_json"))
        else:
            st.session_state["interv_upload_done"] = uploaded.file_id
            ui_iv.store([scenario_to_dict(s) for s in loaded][:MAX_SCENARIOS])
            st.rerun()
