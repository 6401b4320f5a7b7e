"""Risk drivers: a validated lapse-risk model, explained with SHAP globally and per policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis.errors import ExtractError
from analysis.risk.actions import policy_reasons
from analysis.risk.explain import explain_policy, shap_by_cohort
from analysis.risk.model import baseline_verdict
from analysis.risk.rows import training_dates
from analysis.risk.words import direction_text, feature_label, lever_text, reason_text, value_text
from analysis.study.cohorts import filter_mask
from ui import charts, filters, widgets
from ui import risk as ui_risk
from ui.i18n import language, md_escape, t, tm
from ui.study import dataset_key, named_cohort
from ui.tables import percent_config, show_table, translate_columns

BEESWARM_POINTS = 2000
BEESWARM_FEATURES = 12
#: The sentence for each verdict of analysis.risk.model.baseline_verdict.
VERDICT_KEYS = {
    "beats_baseline": "risk.beats_baseline",
    "close_to_baseline": "risk.close_to_baseline",
    "below_baseline": "risk.below_baseline",
}

st.title(t("risk.title"))
choice, result = filters.filtered_book()
policies = result.policies
lang = language()


def label(feature: str) -> str:
    return feature_label(feature, lang)


choices = ui_risk.choices_for(choice, result)
candidates, leaks = list(choices.candidates), list(choices.leaks)
with st.expander(t("risk.settings")):
    if candidates:
        st.multiselect(
            t("risk.extra_features"),
            candidates,
            default=list(choices.default),
            key=f"{ui_risk.FEATURES}_{dataset_key(choice)}",
            help=t("risk.extra_help"),
            placeholder=t("widget.choose"),
            select_all=widgets.select_all(),
        )
    if leaks:
        st.caption(tm("risk.leak_note", columns=md_escape("、".join(leaks) if lang == "zh" else ", ".join(leaks))))
options = ui_risk.options_for(choice, result)
dates = training_dates(policies, result.study_date, options)
st.caption(tm("risk.target_text", months=options.horizon_months))
st.caption(
    tm("risk.method", dates=len(dates), step=options.step_months, latest=dates[0].date().isoformat(), rows=options.max_training_rows)
)

risk = ui_risk.model_for(choice, result, options)
if risk is None:
    if ui_risk.too_small(choice, result, options):  # no model below the minimum: no SHAP views to read chance from
        st.caption(tm("risk.too_small_lists"))
    st.stop()

model, explained = risk.model, risk.explained
metrics = model.metrics
cols = st.columns(4)
cols[0].metric(t("risk.auc"), f"{metrics['auc']:.3f}")
cols[1].metric(t("risk.pr_auc"), f"{metrics['pr_auc']:.3f}")
cols[2].metric(t("risk.baseline_auc"), f"{metrics['baseline_auc']:.3f}")
cols[3].metric(t("risk.base_rate"), f"{metrics['base_rate']:.1%}")
st.markdown(tm(VERDICT_KEYS[baseline_verdict(metrics)], gap=metrics["auc"] - metrics["baseline_auc"]))
st.caption(
    tm(
        "risk.rows_line",
        train=int(metrics["train_rows"]),
        validation=int(metrics["validation_rows"]),
        holdout=int(metrics["holdout_rows"]),
        date=model.holdout_as_of.date().isoformat(),
        trees=int(metrics["trees"]),
    )
)

if risk.with_payments:
    st.caption(tm("risk.with_payments"))
if risk.explained_population == "holdout":
    st.caption(tm("risk.sample_note_holdout", n=len(explained.matrix), date=model.holdout_as_of.date().isoformat()))
else:
    st.caption(tm("risk.sample_note", n=len(explained.matrix), total=len(risk.scores)))
tabs = st.tabs(
    [
        t("risk.tab_validation"),
        t("risk.tab_importance"),
        t("risk.tab_beeswarm"),
        t("risk.tab_dependence"),
        t("risk.tab_cohorts"),
        t("risk.tab_policy"),
    ]
)

with tabs[0]:
    st.caption(tm("risk.calibration"))
    st.plotly_chart(
        charts.calibration(
            model.calibration, x_title=t("risk.predicted"), y_title=t("risk.observed"), names=(t("risk.model"), t("risk.perfect"))
        ),
        key="risk_calibration",
    )
    st.caption(tm("risk.lift"))
    lift = translate_columns(model.lift)
    show_table(data=lift, hide_index=True, column_config=percent_config(lift, ("observed",)))

importance = explained.importance

with tabs[1]:
    st.plotly_chart(
        charts.importance_bar(importance, labels=[label(f) for f in importance["feature"]], x_title=t("risk.mean_abs_shap")),
        key="risk_importance",
    )
    direction = [
        direction_text(k, value_text(f, v, lang) if v not in (None, "") else v, lang)
        for f, k, v in zip(importance["feature"], importance["direction_kind"], importance["direction_level"])
    ]
    shown = importance.assign(feature=importance["feature"].map(label), direction=direction)[["feature", "mean_abs_shap", "direction"]]
    show_table(data=translate_columns(shown), hide_index=True)

with tabs[2]:
    top = importance["feature"].head(BEESWARM_FEATURES).tolist()
    drawn = explained.contributions.index[: min(BEESWARM_POINTS, len(explained.contributions))]
    parts = []
    for feature in top:
        values = explained.matrix.loc[drawn, feature]
        numeric = not isinstance(values.dtype, pd.CategoricalDtype)
        colour = values.rank(pct=True) if numeric else pd.Series(np.nan, index=drawn)
        parts.append(
            pd.DataFrame(
                {
                    "label": label(feature),
                    "shap": explained.contributions.loc[drawn, feature],
                    "colour": colour,
                    "hover": [value_text(feature, v, lang) for v in values.astype(object)],
                }
            )
        )
    st.plotly_chart(
        charts.beeswarm(
            pd.concat(parts), x_title=t("risk.shap"), colour_title=t("risk.feature_value"), ends=(t("risk.low"), t("risk.high"))
        ),
        key="risk_beeswarm",
    )
    st.caption(tm("risk.beeswarm_note", n=len(drawn)))

with tabs[3]:
    feature = st.selectbox(t("risk.dependence_feature"), importance["feature"].tolist(), format_func=label, key="risk_dependence")
    values = explained.matrix[feature]
    numeric = not isinstance(values.dtype, pd.CategoricalDtype)
    words = [value_text(feature, v, lang) for v in values.cat.categories] if not numeric else []
    if words and len(set(words)) == len(words):  # categories in words: blanks, yes/no, payment modes
        values = values.cat.rename_categories(words)
    st.plotly_chart(
        charts.dependence(values, explained.contributions[feature], numeric=numeric, x_title=label(feature), y_title=t("risk.shap")),
        key="risk_dependence_plot",
    )

with tabs[4]:
    named, _ = named_cohort()
    if risk.explained_population == "holdout":
        st.info(tm("risk.cohort_holdout"))
    elif not named.conditions or any(c.column not in policies.columns for c in named.conditions):
        st.info(tm("risk.cohort_missing"))
    else:
        table = shap_by_cohort(explained, filter_mask(policies, named.conditions))
        names = (named.label(lang), t("cohort.rest"))
        st.plotly_chart(
            charts.cohort_comparison(table, labels=[label(f) for f in table["feature"]], names=names, x_title=t("risk.cohort_points")),
            key="risk_cohorts",
        )
        n_in, n_rest = table.attrs["counts"]
        st.caption(tm("risk.cohort_counts", inside=names[0], n_in=n_in, n_rest=n_rest))

with tabs[5]:
    ranked = risk.scores.sort_values("probability", ascending=False)
    top_ids = ranked["policy_id"].astype(str).head(200).tolist()
    left, right = st.columns(2)
    picked = left.selectbox(t("risk.pick_policy"), top_ids, key="risk_policy_pick") if top_ids else None
    typed = right.text_input(t("risk.policy_search"), key="risk_policy_search").strip()
    policy = typed or picked
    if policy:
        try:
            one = explain_policy(risk, policy)
        except ExtractError:
            st.warning(tm("risk.not_in_force", policy=policy))
        else:
            st.markdown(
                tm(
                    "risk.policy_line",
                    policy=md_escape(policy),
                    months=options.horizon_months,
                    p=one.probability,
                    base=one.base_probability,
                )
            )
            shown_rows = one.table.head(8)
            rest = float(one.table["points"].iloc[8:].sum())
            steps = [(f"{label(r.feature)}={value_text(r.feature, r.value, lang)}", float(r.points)) for r in shown_rows.itertuples()]
            if len(one.table) > 8:
                steps.append((t("risk.other_features"), rest))
            st.plotly_chart(
                charts.waterfall(
                    one.base_probability,
                    steps,
                    one.probability,
                    base_label=t("risk.base"),
                    final_label=t("risk.this_policy"),
                    y_title=t("risk.probability_points"),
                ),
                key="risk_waterfall",
            )
            why = policy_reasons(one)
            left, right = st.columns(2)
            with left:
                st.markdown("**" + tm("risk.raising") + "**")
                st.text("\n".join(reason_text(r.feature, r.value, r.points, lang) for r in why.raising.itertuples()) or t("risk.none"))
            with right:
                st.markdown("**" + tm("risk.lowering") + "**")
                st.text("\n".join(reason_text(r.feature, r.value, r.points, lang) for r in why.lowering.itertuples()) or t("risk.none"))
            st.success(tm("risk.suggested_lever", lever=lever_text(why.lever, lang)))
