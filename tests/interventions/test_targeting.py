"""Targeting by value: the rule by hand, a planted signal found, the defaults."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.interventions.targeting import (
    DEFAULT_COST_PER_CONTACT,
    LEAVE_ALONE,
    VALUE_MARGIN,
    VALUE_YEARS,
    arm_predictions,
    arm_qini,
    costs_per_contact,
    targeting_rule,
    value_per_retained_default,
)
from analysis.interventions.uplift import qini_curve


def test_the_rule_by_hand() -> None:
    # Four policies; P(lapse) under control / SMS / seminar. Value 1,000, SMS costs 2, seminar 80.
    # p1: SMS 0.10×1000−2 = 98, seminar 0.15×1000−80 = 70  → SMS
    # p2: SMS 0.01×1000−2 = 8,  seminar 0.20×1000−80 = 120 → seminar
    # p3: SMS −0.05 → −52, seminar 0.05×1000−80 = −30      → left alone
    # p4: SMS 0.0015×1000−2 = −0.5 (costs more than it keeps), seminar −0.2×1000−80 → left alone
    predictions = pd.DataFrame(
        {
            S.POLICY_ID: ["p1", "p2", "p3", "p4"],
            "arm": ["对照组", "短信", "讲座", "对照组"],
            "lapsed_within": [True, False, False, False],
            "对照组": [0.30, 0.30, 0.10, 0.10],
            "短信": [0.20, 0.29, 0.15, 0.0985],
            "讲座": [0.15, 0.10, 0.05, 0.30],
        }
    )
    data = predictions[[S.POLICY_ID, "arm"]].assign(channel=["a", "b", "a", "b"])
    rule = targeting_rule(
        predictions, data, control="对照组", covariates=["channel"], value_per_retained=1_000, cost_per_contact={"短信": 2, "讲座": 80}
    )
    assert list(rule.scores["lever"]) == ["短信", "讲座", LEAVE_ALONE, LEAVE_ALONE]
    assert rule.scores["value_短信"].to_numpy() == pytest.approx([98, 8, -52, -0.5])
    assert rule.contacted == 2 and rule.left_alone == 2
    groups = rule.groups.set_index("lever")
    assert list(groups.index) == ["短信", "讲座", LEAVE_ALONE]  # the arms in the predictions' order, then those left alone
    assert groups.loc["短信", "predicted_return"] == pytest.approx(98)
    assert groups.loc["讲座", "predicted_return"] == pytest.approx(120)
    assert rule.predicted_return == pytest.approx(218)
    # The SMS group holds only a control policy: no measured uplift there, stated as missing, not invented.
    assert np.isnan(groups.loc["短信", "measured_uplift"])
    # Left alone: p3 (seminar, no lapse) against p4 (control, no lapse): difference 0, any contact costs 80 here.
    assert groups.loc[LEAVE_ALONE, "measured_uplift"] == pytest.approx(0.0)
    assert groups.loc[LEAVE_ALONE, "cost_per_contact"] == pytest.approx(80)
    assert groups.loc[LEAVE_ALONE, "measured_value"] == pytest.approx(-80)


def _planted(n: int = 6_000, seed: int = 7) -> pd.DataFrame:
    """Segment x: SMS halves lapse; segment y: the seminar halves it; segment z: nothing works (base lapse 30 %)."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["x", "y", "z"], n)
    arm = rng.choice(["control", "sms", "seminar"], n)
    p = np.full(n, 0.30)
    p[(segment == "x") & (arm == "sms")] = 0.15
    p[(segment == "y") & (arm == "seminar")] = 0.15
    lapsed = rng.random(n) < p
    return pd.DataFrame(
        {S.POLICY_ID: [f"P{i}" for i in range(n)], "arm": arm, "segment": segment, "lapsed_within": lapsed, "known_within": True}
    )


def test_a_planted_signal_gives_each_segment_its_lever_and_leaves_the_rest_alone() -> None:
    data = _planted()
    predictions = arm_predictions(data, arms=["control", "sms", "seminar"], covariates=["segment"], random_state=0)
    assert list(predictions.columns[-3:]) == ["control", "sms", "seminar"]
    rule = targeting_rule(
        predictions, data, control="control", covariates=["segment"], value_per_retained=1_000, cost_per_contact={"sms": 2, "seminar": 80}
    )
    lever = rule.scores.assign(segment=data["segment"].to_numpy()).groupby("segment")["lever"].agg(lambda s: s.value_counts().idxmax())
    assert lever.to_dict() == {"x": "sms", "y": "seminar", "z": LEAVE_ALONE}
    groups = rule.groups.set_index("lever")
    # Measured inside its group, each lever keeps about 15 points of lapse; its interval covers that and excludes 0.
    for arm in ("sms", "seminar"):
        assert groups.loc[arm, "lower"] < 0.15 < groups.loc[arm, "upper"] and groups.loc[arm, "lower"] > 0
    assert groups.loc[LEAVE_ALONE, "lower"] < 0 < groups.loc[LEAVE_ALONE, "upper"]
    # The rule measures better than giving either lever to everyone.
    assert rule.measured_return > rule.everyone["measured_return"].max()
    who = rule.profile.set_index("lever")
    assert who.loc["sms", "level"] == "x" and who.loc["seminar", "level"] == "y"
    # The scores rank better than chance for both levers; each Qini is the uplift module's curve of those very scores.
    qini = arm_qini(predictions, control="control")
    assert list(qini) == ["sms", "seminar"] and all(coefficient > 0 for _, coefficient in qini.values())
    rows = predictions[predictions["arm"].isin(["sms", "control"])]
    curve, coefficient = qini_curve(
        (rows["control"] - rows["sms"]).to_numpy(), rows["lapsed_within"].to_numpy(dtype=bool), (rows["arm"] == "sms").to_numpy()
    )
    assert coefficient == qini["sms"][1] and curve.equals(qini["sms"][0])


def test_defaults_from_premiums_and_the_lists_costs() -> None:
    policies = pd.DataFrame({S.POLICY_ID: ["a", "b", "c"], S.ANNUAL_PREMIUM: [1_000.0, 3_000.0, 99_000.0]})
    data = pd.DataFrame({S.POLICY_ID: ["a", "b"], "arm": ["control", "sms"], "cost": [0.0, np.nan]})
    assert value_per_retained_default(policies, data) == pytest.approx(VALUE_MARGIN * VALUE_YEARS * 2_000)  # c is not enrolled
    assert value_per_retained_default(policies.drop(columns=S.ANNUAL_PREMIUM), data) is None
    assert costs_per_contact(data, ["control", "sms"]) == {"control": 0.0, "sms": DEFAULT_COST_PER_CONTACT}
    assert costs_per_contact(data.drop(columns="cost"), ["sms"]) == {"sms": DEFAULT_COST_PER_CONTACT}


def test_the_best_single_lever_and_the_arms_summaries() -> None:
    from analysis.interventions.multi_arm import ArmsResult

    predictions = pd.DataFrame(
        {
            S.POLICY_ID: ["p1", "p2", "p3", "p4"],
            "arm": ["c", "a", "b", "c"],
            "lapsed_within": [True, False, True, True],
            "c": [0.3, 0.3, 0.3, 0.3],
            "a": [0.2, 0.2, 0.2, 0.2],
            "b": [0.1, 0.1, 0.1, 0.1],
        }
    )
    rule = targeting_rule(predictions, predictions, control="c", covariates=[], value_per_retained=100, cost_per_contact={"a": 1, "b": 1})
    # Measured over all four: control lapses 2/2; a 0/1 → +1.0 × 100 − 1 = 99 each; b 1/1 → 0 × 100 − 1 = −1 each.
    assert rule.best_for_everyone["lever"] == "a" and rule.best_for_everyone["measured_return"] == pytest.approx(4 * 99)
    ranking = pd.DataFrame({"arm": ["a", "b"], "value_per_contact": [np.nan, np.nan], "rank_effect": [2, 1], "rank_value": [pd.NA, pd.NA]})
    balance = pd.DataFrame({"arm": ["a", "b", "b"], "covariate": ["age", "gender", "age"], "imbalanced": [True, True, False]})
    empty = pd.DataFrame()
    arms = ArmsResult("c", empty, empty, ranking, empty, empty, empty, balance, (), {})
    assert arms.best_effect_arm == "b" and arms.best_value_arm is None
    assert arms.imbalanced_covariates == ["age", "gender"]
