"""Scenarios: hand-worked economics, invariants, effect conversions, JSON round-trip, the planner, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract
from clirun import run_cli
from paths import ROOT

from analysis import ExtractError
from analysis.interventions.baseline import Baseline, baseline_for, survival_by_month
from analysis.interventions.design import ALPHA, POWER, detectable_lapse, sample_size_per_arm
from analysis.interventions.effects import (
    PremiumResponse,
    hazard_ratio_from_reduction,
    premium_response,
    reduction_from_hazard_ratio,
    resolve_effect,
    with_measured_effect,
)
from analysis.interventions.projection import (
    FIGURES,
    best_scenario,
    compare_scenarios,
    comparison_curves,
    project,
    project_scenario,
    project_scenarios,
)
from analysis.interventions.scenario import (
    Economics,
    Effect,
    Scenario,
    Target,
    scenario_from_dict,
    scenario_to_dict,
    scenarios_from_json,
    scenarios_to_json,
)
from analysis.study.cohorts import YOUNG_NEW_EARNERS, Condition


def tiny_baseline() -> Baseline:
    """100 new policies on a curve losing 10 % a month, annual premium 1,200 (100 a month)."""
    return Baseline(
        survival=0.9 ** np.arange(40.0),
        durations=np.array([0]),
        weights=np.array([100.0]),
        mean_premium=1200.0,
        reliable_months=39,
        population="new_business",
        target_policies=100,
    )


def two_months(**economics: float) -> Economics:
    return Economics(**{"horizon_years": 2 / 12, "discount_rate": 0.0, **economics})


def test_economics_hand_worked_on_margin() -> None:
    # S = 1, 0.9, 0.81 over two months; HR 0.5 for everyone: S^0.5 = 1, 0.948683, 0.9.
    # Extra share in force: 0.048683 (month 1), 0.09 (month 2) → 9 extra policies at the horizon,
    # 100 × 0.138683 / 12 = 1.155694 policy-years; premium kept 100 policies × 100 a month × 0.138683 = 1,386.83;
    # value at a 50 % margin 693.42; cost 100 fixed + 2 × 100 contacts = 300 → NPV 393.42, ROI 1.311389.
    # Break-even: 0.5 × 100 × 100 × ((a − 0.9) + (a² − 0.81)) = 300 with a = 0.9^h → a² + a − 1.77 = 0
    # → a = 0.921267 → h = ln a / ln 0.9 = 0.778331; uplift at the horizon a² − 0.81 = 0.038733.
    scenario = Scenario(
        "hand", "education", Effect("hazard_ratio", 0.5), economics=two_months(margin=0.5, fixed_cost=100, cost_per_contact=2)
    )
    f = project(scenario, tiny_baseline(), draws=0).figures
    assert f["retained_policies"] == pytest.approx(9.0)
    assert f["policy_years"] == pytest.approx(1.155694, abs=1e-6)
    assert f["retained_premium"] == pytest.approx(1386.83, abs=0.01)
    assert f["value"] == pytest.approx(693.42, abs=0.01)
    assert f["cost"] == 300
    assert f["npv"] == pytest.approx(393.42, abs=0.01)
    assert f["roi"] == pytest.approx(393.4165 / 300, abs=1e-5)
    assert f["break_even_hazard_ratio"] == pytest.approx(0.778331, abs=1e-6)
    assert f["break_even_uplift"] == pytest.approx(0.038733, abs=1e-6)
    # 12-month lapse q = 1 − 0.9^12; the break-even HR as a relative reduction of q.
    q = 1 - 0.9**12
    assert f["baseline_lapse_12m"] == pytest.approx(q)
    assert f["break_even_relative_reduction"] == pytest.approx(1 - (1 - (1 - q) ** 0.778331) / q, abs=1e-6)


def test_economics_hand_worked_on_value_per_policy() -> None:
    # Value 50 per policy kept at the horizon: 50 × 9 = 450, cost 300 → NPV 150, ROI 0.5.
    # Break-even 50 × 100 × (0.81^h − 0.81) = 300 → 0.81^h = 0.87 → h = ln 0.87 / ln 0.81 = 0.660884,
    # and the uplift needed is DOMAIN.md's cost per contacted policy / V = 3 / 50 = 0.06.
    scenario = Scenario(
        "hand", "reminder", Effect("hazard_ratio", 0.5), economics=two_months(value_per_policy=50, fixed_cost=100, cost_per_contact=2)
    )
    f = project(scenario, tiny_baseline(), draws=0).figures
    assert (f["value"], f["npv"], f["roi"]) == pytest.approx((450.0, 150.0, 0.5))
    assert f["break_even_hazard_ratio"] == pytest.approx(0.660884, abs=1e-6)
    assert f["break_even_uplift"] == pytest.approx(300 / 100 / 50)


def test_low_premium_counts_the_premium_given_up_hand_worked() -> None:
    # Cut 40 %, take-up 50 %, HR 0.5, margin 50 %, no cost.
    # Kept: 100 × 100 × 0.5 × 0.138683 = 693.42; given up on every taken-up policy in force under the scenario:
    # 100 × 100 × 0.5 × 0.4 × (0.948683 + 0.9) = 3,697.37; value 0.5 × (693.42 − 3,697.37) = −1,501.97.
    # Even HR → 0 keeps at most 0.6 − 0.9 + 0.6 − 0.81 < 0: no break-even.
    effect = Effect("hazard_ratio", 0.5, premium_cut=0.4)
    scenario = Scenario("cheap", "low_premium", effect, economics=two_months(margin=0.5, take_up=0.5))
    f = project(scenario, tiny_baseline(), draws=0).figures
    assert f["retained_policies"] == pytest.approx(4.5)
    assert f["retained_premium"] == pytest.approx(693.42, abs=0.01)
    assert f["premium_given_up"] == pytest.approx(3697.37, abs=0.01)
    assert f["value"] == pytest.approx(-1501.97, abs=0.01)
    assert np.isnan(f["break_even_hazard_ratio"])


def test_discounting_is_monthly() -> None:
    # 10 % a year: v = 1.1^(−1/12) a month; premium kept 100 × 100 × (0.048683·v + 0.09·v²).
    scenario = Scenario("hand", "education", Effect("hazard_ratio", 0.5), economics=two_months(discount_rate=0.1, margin=1.0))
    v = 1.1 ** (-1 / 12)
    expected = 100 * 100 * ((0.9**0.5 - 0.9) * v + 0.09 * v**2)
    assert project(scenario, tiny_baseline(), draws=0).figures["retained_premium"] == pytest.approx(expected)


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


@pytest.fixture(scope="module")
def young(sample) -> Baseline:
    return baseline_for(sample.policies, study_date=sample.study_date, target=Target(YOUNG_NEW_EARNERS))


def education(hr: float = 0.75, lower: float | None = 0.67, upper: float | None = 0.84, **economics: float) -> Scenario:
    spec = {"take_up": 0.6, "cost_per_participant": 80.0, "fixed_cost": 50_000.0, **economics}
    return Scenario(
        "edu", "education", Effect("hazard_ratio", hr, lower, upper), target=Target(YOUNG_NEW_EARNERS), economics=Economics(**spec)
    )


def test_baseline_on_the_sample(sample, young) -> None:
    policies = sample.policies
    member = Target(YOUNG_NEW_EARNERS).mask(policies) & (policies["payment_frequency"] != 0)
    in_force = member & policies["status"].isin(["in_force", "grace", "apl", "reinstated"])
    assert young.policies == int(in_force.sum())
    assert young.target_policies == int(member.sum())
    curve = young.curve(60)
    assert curve[0] == 1 and (np.diff(curve) <= 1e-12).all()
    assert 0.05 < young.lapse_12m < 0.2
    assert 1000 < young.mean_premium < 20_000
    everyone = baseline_for(policies, study_date=sample.study_date)
    assert everyone.lapse_12m < young.lapse_12m  # young new earners lapse more (data/README.md)


def test_invariants(young) -> None:
    neutral = project(education(1.0, None, None), young, draws=0).figures
    assert neutral["retained_policies"] == pytest.approx(0, abs=1e-9) and neutral["value"] == pytest.approx(0, abs=1e-6)
    assert neutral["npv"] == pytest.approx(-neutral["cost"])
    nobody = project(education(take_up=0.0), young, draws=0).figures
    assert nobody["retained_policies"] == pytest.approx(0, abs=1e-9) and nobody["participants"] == 0
    npvs = [project(education(hr, None, None), young, draws=0).figures["npv"] for hr in (0.5, 0.7, 0.9, 1.0, 1.2)]
    assert all(a > b for a, b in zip(npvs, npvs[1:]))
    result = project(education(), young, draws=500)
    f = result.figures
    for name in ("retained_policies", "policy_years", "value", "npv", "roi"):
        assert f[f"{name}_lower"] <= f[name] <= f[f"{name}_upper"]
    curve = result.curve
    assert (curve["scenario"] >= curve["baseline"] - 1e-12).all()
    assert ((curve["scenario_lower"] <= curve["scenario"] + 1e-12) & (curve["scenario"] <= curve["scenario_upper"] + 1e-12)).all()
    assert curve["month"].iloc[-1] == 60 and curve["baseline"].iloc[0] == 1
    # At the break-even HR the NPV is zero.
    even = project(education(f["break_even_hazard_ratio"], None, None), young, draws=0).figures
    assert even["npv"] == pytest.approx(0, abs=1e-3)


def test_draw_intervals_are_the_figures_at_the_ends_of_the_effect_interval(young) -> None:
    # Every figure is monotone in HR, so its 2.5–97.5 % quantiles are its values at the HR interval's ends.
    drawn = project(education(), young, draws=20_000).figures
    at_upper = project(education(0.84, None, None), young, draws=0).figures
    at_lower = project(education(0.67, None, None), young, draws=0).figures
    assert drawn["npv_lower"] == pytest.approx(at_upper["npv"], rel=0.02)
    assert drawn["npv_upper"] == pytest.approx(at_lower["npv"], rel=0.02)
    assert drawn["retained_policies_lower"] == pytest.approx(at_upper["retained_policies"], rel=0.02)


def test_without_an_interval_every_draw_is_the_point(young) -> None:
    f = project(education(0.8, None, None), young, draws=100).figures
    assert f["npv_lower"] == pytest.approx(f["npv"]) and f["npv_upper"] == pytest.approx(f["npv"])


def test_relative_reduction_and_hazard_ratio_convert_both_ways() -> None:
    # q = 20 %, r = 25 % → q' = 15 %: HR = ln 0.85 / ln 0.8 = 0.728317.
    assert hazard_ratio_from_reduction(0.25, 0.2) == pytest.approx(np.log(0.85) / np.log(0.8))
    assert reduction_from_hazard_ratio(hazard_ratio_from_reduction(0.25, 0.2), 0.2) == pytest.approx(0.25)
    assert hazard_ratio_from_reduction(0.25, 0.0) == 0.75  # the small-q limit


def test_each_effect_source_resolves(young) -> None:
    q = young.lapse_12m
    reduction = Scenario("r", "reminder", Effect("relative_reduction", 0.2, 0.1, 0.3))
    resolved = resolve_effect(reduction, young)
    assert resolved.hazard_ratio == pytest.approx(hazard_ratio_from_reduction(0.2, q))
    assert resolved.lower == pytest.approx(hazard_ratio_from_reduction(0.3, q)) and resolved.has_interval
    elastic = Scenario("e", "low_premium", Effect("elasticity", 0.5, premium_cut=0.4))
    assert resolve_effect(elastic, young).hazard_ratio == pytest.approx(hazard_ratio_from_reduction(0.2, q))
    model = Scenario("m", "low_premium", Effect("model", premium_cut=0.4))
    with pytest.raises(ExtractError) as caught:
        resolve_effect(model, young)
    assert caught.value.code == "needs_input"
    response = PremiumResponse(0.4, 10, 0.1, 0.08, 0.79)
    assert resolve_effect(model, young, response=response).hazard_ratio == 0.79
    measured = Scenario("c", "education", Effect("measured", treatment="教育活动"))
    with pytest.raises(ExtractError):
        resolve_effect(measured, young)

    class Campaign:
        hazard_ratio, hazard_ratio_lower, hazard_ratio_upper = 0.75, 0.67, 0.84

    assert resolve_effect(measured, young, campaign=Campaign()).upper == 0.84
    saved = with_measured_effect(measured, Campaign())
    assert resolve_effect(saved, young).hazard_ratio == 0.75  # carried in the spec when not re-evaluated


def test_premium_response_of_a_scorer_hand_worked() -> None:
    # A scorer whose 12-month lapse is premium / 10,000: premiums 1,000 and 3,000 → 0.1 and 0.3; cut 50 % → 0.05 and 0.15.
    # HR = (ln 0.95 + ln 0.85) / (ln 0.9 + ln 0.7) = 0.435810.
    class Scorer:
        def probability(self, rows: pd.DataFrame) -> np.ndarray:
            return rows["annual_premium"].to_numpy(dtype=float) / 10_000

    rows = pd.DataFrame({"annual_premium": [1000.0, 3000.0, 5000.0]}, index=[10, 11, 12])
    response = premium_response(Scorer(), rows, premium_cut=0.5, mask=pd.Series([True, True, False], index=[10, 11, 12]))
    assert response.policies == 2
    assert response.hazard_ratio == pytest.approx((np.log(0.95) + np.log(0.85)) / (np.log(0.9) + np.log(0.7)))
    assert response.relative_change == pytest.approx(-0.5)
    assert rows["annual_premium"].tolist() == [1000.0, 3000.0, 5000.0]  # the input is not changed


def test_scenarios_round_trip_through_json() -> None:
    scenarios = [
        education(),
        Scenario(
            "低保费",
            "low_premium",
            Effect("elasticity", 0.6, 0.3, 0.9, premium_cut=0.4),
            target=Target(YOUNG_NEW_EARNERS, (Condition("channel", "in", ["个险", "互联网"]),)),
            population="new_business",
            new_policies=1200,
            economics=Economics(
                take_up=0.35, fixed_cost=200_000, horizon_years=10, discount_rate=0.04, margin=0.12, value_per_policy=3000.0
            ),
        ),
        Scenario("campaign", "education", Effect("measured", treatment="教育活动", campaign_start="2024-03-01", window_months=12)),
    ]
    text = scenarios_to_json(scenarios)
    assert "刚入职场的年轻客户" in text  # Chinese kept readable
    assert scenarios_from_json(text) == scenarios
    assert scenarios_from_json(json.dumps(scenario_to_dict(scenarios[1]))) == [scenarios[1]]
    assert scenario_from_dict(scenario_to_dict(scenarios[2])) == scenarios[2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lever": "discount"}, "Unknown lever"),
        ({"effect": {"source": "model"}}, "takes its effect from"),
        ({"effect": {"source": "hazard_ratio", "value": -1}}, "above 0"),
        ({"effect": {"source": "hazard_ratio", "value": 0.8, "lower": 0.9, "upper": 0.7}}, "lower end must come first"),
        ({"economics": {"take_up": 1.5}}, "Take-up"),
        ({"economics": {"horizon_years": 0}}, "horizon"),
        ({"economics": {"colour": "red"}}, "known keys"),
        ({"population": "everyone"}, "Population"),
    ],
)
def test_bad_scenarios_are_refused(change, message) -> None:
    data = {**scenario_to_dict(education()), **change}
    with pytest.raises(ExtractError, match=message) as caught:
        scenario_from_dict(data)
    assert caught.value.code == "bad_scenario"
    with pytest.raises(ExtractError, match="not JSON"):
        scenarios_from_json("{")


def test_comparison_table_and_curves(young, sample) -> None:
    new = baseline_for(sample.policies, study_date=sample.study_date, target=Target(YOUNG_NEW_EARNERS), population="new_business")
    cheap = Scenario(
        "cheap",
        "low_premium",
        Effect("hazard_ratio", 0.7, 0.6, 0.8, premium_cut=0.6),
        target=Target(YOUNG_NEW_EARNERS),
        population="new_business",
    )
    results = [project(education(), young, draws=200), project(cheap, new, draws=200)]
    table = compare_scenarios(results)
    assert table["name"].tolist() == ["edu", "cheap"] and list(table.columns[5:]) == list(FIGURES)
    assert table.loc[1, "premium_given_up"] > 0 and table.loc[0, "premium_given_up"] == 0
    assert (
        table.loc[0, "target"] == "Young new earners" and compare_scenarios(results, language="zh").loc[0, "target"] == "刚入职场的年轻客户"
    )
    curves = comparison_curves(results)
    assert len(curves) == 2 * 61 and set(curves["name"]) == {"edu", "cheap"}


def test_survival_by_month_reads_the_steps_and_extends_the_tail() -> None:
    # 40 at risk to month 14 then 20 (below 30 from month 15); S drops 1 % a month at months 1..14.
    months = np.arange(0, 21.0)
    table = pd.DataFrame({"month": months, "survival": 0.99 ** np.minimum(months, 14), "at_risk": np.where(months <= 14, 40, 20)})
    survival, last = survival_by_month(table, 24)
    assert last == 14
    np.testing.assert_allclose(survival[:15], 0.99 ** np.arange(15))
    # Beyond month 14 the hazard of months 2..14 goes on: S(m) = 0.99^m.
    np.testing.assert_allclose(survival[15:], 0.99 ** np.arange(15, 25))


def test_sample_size_planner_textbook_case() -> None:
    # DOMAIN.md §5: 12 % → 10 %, α 5 % two-sided, power 80 %: (1.959964 + 0.841621)² × (0.1056 + 0.09) / 0.02² = 3,838.1 → 3,839.
    assert sample_size_per_arm(0.12, 0.10) == 3839 and (ALPHA, POWER) == (0.05, 0.8)
    assert abs(sample_size_per_arm(0.12, 0.10) - 3840) <= 1
    assert detectable_lapse(0.12, 3839) == pytest.approx(0.10, abs=1e-4)
    assert sample_size_per_arm(0.12, 0.10, power=0.9) > 3839
    with pytest.raises(ExtractError):
        sample_size_per_arm(0.1, 0.1)


def test_cli_scenario_prints_the_projection(root, tmp_path) -> None:
    spec = replace(education(), economics=Economics(horizon_years=3, take_up=0.5, cost_per_contact=20))
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario_to_dict(spec), ensure_ascii=False), encoding="utf-8")
    done = run_cli("scenario", "data/sample_policies.csv", "--spec", str(path), "--format", "json", "--draws", "200", cwd=root)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["name"] == "edu" and list(result["figures"]) == list(FIGURES)
    assert len(result["curve"]) == 37 and set(result["curve"][0]) == {"month", "baseline", "scenario", "scenario_lower", "scenario_upper"}
    assert result["figures"]["retained_policies"] > 0
    path.write_text('{"name": "x", "lever": "magic", "effect": {}}', encoding="utf-8")
    bad = run_cli("scenario", "data/sample_policies.csv", "--spec", str(path), cwd=root)
    assert bad.returncode == 2 and "Unknown lever" in bad.stderr


def test_every_refusal_translates(young) -> None:
    from analysis.report.catalogue import translate

    caught = []
    for work in (
        lambda: scenario_from_dict({"name": "x", "lever": "magic", "effect": {}}),
        lambda: resolve_effect(Scenario("m", "low_premium", Effect("model", premium_cut=0.4)), young),
        lambda: baseline_for(
            pd.DataFrame({"policy_id": ["A"], "issue_date": [pd.Timestamp("2020-01-01")], "status": ["in_force"], "age": [90.0]}),
            study_date=pd.Timestamp("2021-01-01"),
            target=Target(conditions=(Condition("age", "<", 18),)),
        ),
    ):
        with pytest.raises(ExtractError) as error:
            work()
        caught.append(error.value)
    assert [e.code for e in caught] == ["bad_scenario", "needs_input", "no_policies"]
    for error in caught:
        for language in ("zh", "en"):
            text = translate(error.key, language, **error.params)
            assert text != error.key and "{" not in text and text == error.text(language)


def test_target_in_words() -> None:
    assert Target().text("zh") == "全部保单" and Target().text("en") == "Whole book"
    both = Target(YOUNG_NEW_EARNERS, (Condition("channel", "==", "个险"),))
    assert both.text("en") == "Young new earners AND channel == 个险"


def test_no_policies_reasons_read_in_both_languages() -> None:
    """Each reason a scenario can have no policies is a catalogued phrase, filled into the message in 中文."""
    import re

    from analysis.report.catalogue import CATALOGUE, translate

    folder = ROOT / "analysis" / "interventions"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.py")))
    reasons = set(re.findall(r'"no_policies",\s*reason="(\w+)"', source))
    assert reasons == {"regular_premium", "in_force", "new_business", "at_risk"}
    for reason in reasons:
        entry = CATALOGUE[f"error.no_policies.{reason}"]
        assert entry["zh"] and entry["en"]
    message = ExtractError("no_policies", reason="regular_premium").text("zh")
    assert message == "目标客群中没有可推算的保单（目标中没有期缴保单），请放宽目标。"
    assert translate("error.no_policies.regular_premium", "zh") == message


def test_every_scenario_error_reason_reads_in_both_languages() -> None:
    """bad_scenario and needs_input name a field; each has a phrase in 中文 and English (no English words in the 中文 message)."""
    import re

    from analysis.report.catalogue import CATALOGUE

    folder = ROOT / "analysis" / "interventions"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.py")))
    keys = {f"error.bad_scenario.{r}" for r in re.findall(r'_bad\(\s*"(\w+)"', source)}
    keys |= {f"error.{code}.{r}" for code, r in re.findall(r'ExtractError\(\s*"(bad_scenario|needs_input)",\s*reason="(\w+)"', source)}
    # The fields a number check names, in words (ui/datasets.error_text fills them in).
    keys |= {
        f"error_detail.{field}"
        for field in (
            "value",
            "lower",
            "upper",
            "premium_cut",
            "take_up",
            "cost_per_contact",
            "cost_per_participant",
            "fixed_cost",
            "horizon_years",
            "discount_rate",
            "margin",
            "value_per_policy",
        )
    }
    expected = ("interval_order", "premium_cut_range", "not_finite", "not_json", "population", "horizon", "relative_change")
    assert {f"error.bad_scenario.{r}" for r in expected} | {"error.needs_input.model", "error.needs_input.premium"} <= keys
    for key in keys:
        entry = CATALOGUE[key]
        placeholders = [set(re.findall(r"\{(\w+)\}", entry[language])) for language in ("zh", "en")]
        words = re.sub(r"\{\w+\}", "", entry["zh"])  # the particulars are the file's own values
        words = re.sub(r"\b(name|lever|effect|JSON|YYYY-MM-DD)\b", "", words)  # the file's own keys and formats
        assert entry["zh"] and entry["en"] and placeholders[0] == placeholders[1] and not re.search(r"[A-Za-z]{3,}", words), key


def test_the_pipeline_builds_the_baseline_or_takes_the_cached_one(sample, young) -> None:
    """project_scenario is what the page (with its cached baseline) and the command line (without) both call."""
    direct = project(education(), young, draws=200)
    built = project_scenario(sample.policies, education(), study_date=sample.study_date, draws=200)
    cached = project_scenario(sample.policies, education(), study_date=sample.study_date, baseline=young, draws=200)
    assert built.figures == direct.figures == cached.figures
    pd.testing.assert_frame_equal(built.curve, direct.curve)


def test_a_model_effect_takes_the_lapse_models_response_to_the_cut(sample_risk) -> None:
    loaded, _, risk = sample_risk
    target = Target(YOUNG_NEW_EARNERS)
    cheap = Scenario("cheap", "low_premium", Effect("model", premium_cut=0.4), target=target, population="new_business")
    assert cheap.needs_model and not cheap.measures_campaign
    with pytest.raises(ExtractError) as caught:
        project_scenario(loaded.policies, cheap, study_date=loaded.study_date, draws=0)
    assert (caught.value.code, caught.value.reason) == ("needs_input", "model")
    [result] = project_scenarios(loaded.policies, [cheap], study_date=loaded.study_date, risk=risk, draws=0)
    response = premium_response(risk.model, risk.scores, premium_cut=0.4, mask=target.mask(loaded.policies))
    assert result.effect.source == "model" and result.effect.hazard_ratio == response.hazard_ratio
    assert 0 < response.hazard_ratio < 1  # a cheaper premium: fewer lapses, as the model learnt it


def test_a_measured_effect_is_evaluated_again_only_when_asked(sample) -> None:
    from analysis.interventions.campaign import evaluate_campaign

    measured = Scenario("edu", "education", Effect("measured", treatment="教育活动", campaign_start="2024-03-01"))
    assert measured.measures_campaign
    with pytest.raises(ExtractError) as caught:
        project_scenario(sample.policies, measured, study_date=sample.study_date, draws=0)
    assert (caught.value.code, caught.value.reason) == ("needs_input", "campaign")
    again = project_scenario(sample.policies, measured, study_date=sample.study_date, remeasure=True, draws=0)
    truth = evaluate_campaign(sample.policies, treatment="教育活动", study_date=sample.study_date, start="2024-03-01", uplift=False)
    assert (again.effect.hazard_ratio, again.effect.lower, again.effect.upper) == (
        truth.hazard_ratio,
        truth.hazard_ratio_lower,
        truth.hazard_ratio_upper,
    )


def test_the_best_scenario_has_the_highest_npv() -> None:
    table = pd.DataFrame({"name": ["a", "b", "c"], "npv": [1.0, 3.0, np.nan]})
    best = best_scenario(table)
    assert best is not None and best["name"] == "b"
    assert best_scenario(table.assign(npv=np.nan)) is None
