"""Campaign evaluation: arms from words, the population at the start, Newcombe, and the sample's randomised campaign."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract
from clirun import run_cli

from analysis import ExtractError
from analysis.interventions.arms import (
    CONTROL,
    TREATED,
    campaign_columns,
    default_start,
    has_concurrent_control,
    is_before_after,
    proposed_start,
    treatment_arms,
)
from analysis.interventions.campaign import SMD_LIMIT, campaign_data, evaluate_campaign, lapse_within_window
from analysis.interventions.uplift import newcombe_difference, qini_curve

TRUE_HR = 0.75  # data/README.md: 教育活动 实验组 vs 对照组, HR 0.75 on both voluntary decrements from 2024-03-01


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


@pytest.fixture(scope="module")
def education(sample):
    return evaluate_campaign(sample.policies, treatment="教育活动", study_date=sample.study_date, start=pd.Timestamp("2024-03-01"))


def test_the_measured_education_effect_covers_the_truth(education) -> None:
    assert education.hazard_ratio_lower < TRUE_HR < education.hazard_ratio_upper
    assert education.hazard_ratio_upper < 1  # and it is a real effect
    # The difference in 12-month lapse the truth implies: control's probability q against 1 − (1 − q)^0.75.
    q = education.summary()["lapse_control"]
    implied = q - (1 - (1 - q) ** TRUE_HR)
    assert education.difference_lower > 0
    assert education.difference_lower < implied < education.difference_upper
    assert education.difference == pytest.approx(education.summary()["lapse_control"] - education.summary()["lapse_treated"])


def test_the_sample_population_is_every_policy_assigned(sample, education) -> None:
    # Every policy with an arm was in force on 2024-03-01 (data/README.md), reinstated ones included.
    counts = sample.policies["教育活动"].value_counts()
    assert (education.treated, education.control) == (counts["实验组"], counts["对照组"])
    assert education.start == pd.Timestamp("2024-03-01")
    assert default_start(sample.policies, treatment_arms(sample.policies["教育活动"])) == pd.Timestamp("2024-03-01")


def test_a_randomised_campaign_is_balanced_and_its_curves_part(education) -> None:
    assert not education.balance["imbalanced"].any()
    assert {"age_at_start", "channel", "auto_debit", "payment_frequency"} <= set(education.balance["covariate"])
    assert education.logrank.loc[0, "p_value"] < 0.001
    curves = education.curves
    at_12 = {arm: float(c.loc[c["month"] <= 12, "survival"].iloc[-1]) for arm, c in curves.groupby("cohort")}
    assert at_12[TREATED] > at_12[CONTROL]
    assert (education.cox.hazard_ratios["covariate"] == "arm").sum() == 1


def test_uplift_qini_ends_at_the_overall_difference_and_segments_are_named(education) -> None:
    uplift = education.uplift
    assert uplift is not None
    qini = uplift.qini
    assert qini["qini"].iloc[0] == 0 and qini["share_targeted"].iloc[-1] == 1
    # Treating everyone prevents (p_control − p_treated) lapses per treated policy.
    assert qini["qini"].iloc[-1] == pytest.approx(education.difference, abs=1e-12)
    assert np.isfinite(uplift.qini_coefficient)
    segments = uplift.segments
    assert set(segments["recommendation"]) <= {"target", "leave_alone", "unclear"}
    assert (segments["recommendation"] == "target").any()
    assert ((segments["treated"] >= 100) & (segments["control"] >= 100)).all()
    assert (segments.loc[segments["recommendation"] == "target", "lower"] > 0).all()


def test_qini_hand_worked() -> None:
    # Four policies by predicted uplift: T lapse=0, C lapse=1, T lapse=1, C lapse=0.
    # Top 2 (one T, one C): 1 control lapse × 1/1 − 0 treated lapses = 1; all 4: 1 × 2/2 − 1 = 0; per treated policy (2).
    table, _ = qini_curve(np.array([0.4, 0.3, 0.2, 0.1]), np.array([0, 1, 1, 0]), np.array([True, False, True, False]), points=2)
    np.testing.assert_allclose(table["qini"], [0.0, 0.5, 0.0])


@pytest.mark.parametrize(
    "values",
    [["实验组", "对照组"], ["treated", "control"], ["是", "否"], ["1", "0"], ["Yes", "NO"], [" treatment ", "Control"]],
)
def test_arm_words_are_mapped(values) -> None:
    arms = treatment_arms(pd.Series([values[0], values[1], "其他", None]))
    assert arms.tolist()[:2] == [TREATED, CONTROL]
    assert arms.isna().tolist()[2:] == [True, True]


def test_arms_from_numbers_booleans_and_own_values() -> None:
    assert treatment_arms(pd.Series([1, 0, pd.NA], dtype="Int64")).tolist()[:2] == [TREATED, CONTROL]
    assert treatment_arms(pd.Series([True, False])).tolist() == [TREATED, CONTROL]
    own = treatment_arms(pd.Series(["A", "B", "C"]), treated_values=["a"], control_values=["B"])
    assert own.tolist()[:2] == [TREATED, CONTROL] and pd.isna(own.iloc[2])


def test_newcombe_reproduces_the_paper() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10.
    for (a, m, b, n), (low, high) in {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (5, 56, 0, 29): (-0.0381, 0.1926),
    }.items():
        _, lower, upper = newcombe_difference(a, m, b, n)
        assert (round(lower, 4), round(upper, 4)) == (low, high)


def tiny_book() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "policy_id": list("ABCDEFGH"),
            "issue_date": ["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01", "2021-06-01", "2019-01-01", "2020-01-01"],
            "status": ["in_force", "lapsed", "death_claim", "surrendered", "reinstated", "in_force", "reinstated", "lapsed"],
            "status_date": [None, "2021-03-01", "2021-02-01", "2022-03-01", "2020-12-01", None, "2020-03-01", "2020-10-01"],
            "lapse_date": [None, "2021-03-01", None, None, "2020-10-01", None, "2021-05-01", "2020-10-01"],
            "reinstatement_date": [None, None, None, None, "2020-12-01", None, "2021-08-01", None],
            "arm": ["实验组", "实验组", "对照组", "对照组", "实验组", "对照组", "对照组", "实验组"],
        }
    )
    for column in ("issue_date", "status_date", "lapse_date", "reinstatement_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_population_and_window_hand_worked() -> None:
    # Start 2021-01-01, window 12 months (to 2022-01-01), study date 2023-01-01.
    # A in force → no lapse; B lapses 2021-03-01 → lapse; C dies 2021-02-01 → unknown (left out of the window);
    # D surrenders 2022-03-01 → after the window: no lapse; E reinstated 2020-12-01, before the start → in force, no lapse;
    # F issued after the start → not in the campaign; G suspended 2021-05-01 (reinstated later) → a lapse;
    # H suspended 2020-10-01 and never back → not in force at the start.
    book = tiny_book()
    data = campaign_data(book, treatment_arms(book["arm"]), start=pd.Timestamp("2021-01-01"), study_date=pd.Timestamp("2023-01-01"))
    ids = book.loc[data.index, "policy_id"].tolist()
    assert sorted(ids) == ["A", "B", "C", "D", "E", "G"]
    by_id = dict(zip(ids, data["lapsed_within"]))
    assert by_id == {"A": False, "B": True, "C": False, "D": False, "E": False, "G": True}
    known = dict(zip(ids, data["known_within"]))
    assert not known["C"] and all(known[i] for i in "ABDEG")
    window = lapse_within_window(data).set_index("arm")
    # Treated A, B, E: 1 of 3; control D, G (C unknown): 1 of 2.
    assert window.loc[TREATED, ["policies", "lapses"]].tolist() == [3, 1]
    assert window.loc[CONTROL, ["policies", "lapses"]].tolist() == [2, 1]
    b_months = data.loc[book.index[book["policy_id"] == "B"][0], "duration"]
    assert b_months == pytest.approx(59 / (365.25 / 12))  # 2021-01-01 → 2021-03-01 is 59 days


def test_a_book_of_categories_without_in_force_still_brings_its_reinstated_policies_back() -> None:
    """The door keeps statuses as categories: marking E in force must not need in_force among them."""
    book = tiny_book()
    book = book[book["status"] != "in_force"].reset_index(drop=True)
    book["status"] = book["status"].astype("category")
    assert "in_force" not in book["status"].cat.categories
    data = campaign_data(book, treatment_arms(book["arm"]), start=pd.Timestamp("2021-01-01"), study_date=pd.Timestamp("2023-01-01"))
    by_id = dict(zip(book.loc[data.index, "policy_id"], data["lapsed_within"]))
    assert by_id == {"B": True, "C": False, "D": False, "E": False, "G": True}


def test_before_after_is_refused_and_detected() -> None:
    book = pd.concat([tiny_book()] * 10, ignore_index=True).assign(arm="实验组")
    assert not has_concurrent_control(treatment_arms(book["arm"]))
    with pytest.raises(ExtractError, match="control group") as caught:
        evaluate_campaign(book, treatment="arm", study_date=pd.Timestamp("2023-01-01"))
    assert caught.value.code == "no_control"
    assert is_before_after(
        (pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31")), (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    )
    assert not is_before_after(
        (pd.Timestamp("2023-01-01"), pd.Timestamp("2024-06-30")), (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    )


def test_a_window_past_the_study_date_is_refused(sample) -> None:
    with pytest.raises(ExtractError, match="after the study date") as caught:
        evaluate_campaign(
            sample.policies, treatment="教育活动", study_date=sample.study_date, start=pd.Timestamp("2026-01-01"), uplift=False
        )
    assert caught.value.code == "window_not_observed"
    with pytest.raises(ExtractError, match="No treatment column"):
        evaluate_campaign(sample.policies, treatment="nope", study_date=sample.study_date)


def test_cli_campaign_prints_one_object(root) -> None:
    done = run_cli("campaign", "data/sample_policies.csv", "--treatment", "教育活动", "--start", "2024-03-01", "--format", "json", cwd=root)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result) == [
        "treated",
        "control",
        "lapse_treated",
        "lapse_control",
        "difference",
        "difference_lower",
        "difference_upper",
        "hazard_ratio",
        "hazard_ratio_lower",
        "hazard_ratio_upper",
    ]
    assert result["hazard_ratio_lower"] < TRUE_HR < result["hazard_ratio_upper"]
    assert result["difference"] == pytest.approx(result["lapse_control"] - result["lapse_treated"])


def test_cli_campaign_errors_exit_2(root) -> None:
    for extra in (
        ["--treatment", "没有这列"],
        ["--treatment", "教育活动", "--start", "2024-13-01"],
        ["--treatment", "教育活动", "--window-months", "0"],
    ):
        done = run_cli("campaign", "data/sample_policies.csv", *extra, cwd=root)
        assert done.returncode == 2, (extra, done.stderr)
        assert done.stderr.startswith("error:")


def test_campaign_refusals_translate(sample) -> None:
    from analysis.report.catalogue import translate

    errors = []
    # A window past the study date; a start before any policy was issued (nobody in force then); no control arm.
    for kwargs in ({"start": pd.Timestamp("2026-01-01")}, {"start": pd.Timestamp("2018-01-01")}):
        with pytest.raises(ExtractError) as caught:
            evaluate_campaign(sample.policies, treatment="教育活动", study_date=sample.study_date, uplift=False, **kwargs)
        errors.append(caught.value)
    with pytest.raises(ExtractError) as caught:
        evaluate_campaign(tiny_book().assign(arm="实验组"), treatment="arm", study_date=pd.Timestamp("2023-01-01"))
    errors.append(caught.value)
    assert [e.code for e in errors] == ["window_not_observed", "no_control", "no_control"]
    texts = [translate(e.key, language, **e.params) for e in errors for language in ("zh", "en")]
    assert all(not text.startswith("error.") and "{" not in text for text in texts)
    assert texts == [e.text(language) for e in errors for language in ("zh", "en")]


def test_campaign_columns_are_found_and_outcome_flags_left_out(sample) -> None:
    # The sample's 教育活动 names its arms (实验组/对照组) and comes first; yes/no and 1/0 columns follow in column order.
    found = campaign_columns(sample.policies)
    assert found[0] == "教育活动" and {"auto_debit", "短信提醒", "灵活缴费"} <= set(found[1:])
    # An outcome flag splits the book in two, but nearly all of one arm has already left: not a campaign.
    book = sample.policies.assign(surrender=sample.policies["status"].eq("surrendered").map({True: "1", False: "0"}))
    assert has_concurrent_control(treatment_arms(book["surrender"])) and campaign_columns(book) == found
    # Values that are neither arm (branches) or too many of them (policy numbers): no campaign.
    assert "branch" not in found and "policy_id" not in found
    assert proposed_start(sample.policies, "教育活动") == pd.Timestamp("2024-03-01")


def test_imbalance_is_flagged_by_the_one_limit(education) -> None:
    balance = education.balance
    assert (balance["imbalanced"] == (balance["smd"].abs() > SMD_LIMIT)).all()
    assert education.imbalanced_covariates == []
    skewed = balance.assign(smd=0.0, imbalanced=False)
    skewed.loc[skewed["covariate"] == "channel", "imbalanced"] = True
    assert replace(education, balance=skewed).imbalanced_covariates == ["channel"]  # each covariate once
