"""Issue [5/7] on the bundled sample: true drivers, additivity, action lists, masked export, CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli

from analysis import load_extract
from analysis.risk.actions import IN_GRACE, LEVERS, action_lists, policy_reasons, reason_columns, reinstatable_list
from analysis.risk.explain import explain_policy, probability_points
from analysis.risk.model import build_risk
from analysis.risk.rows import candidate_features, suspected_leaks
from analysis.risk.words import importance_words, reasons_in_words, worklist_workbook


@pytest.fixture(scope="module")
def sample(sample_risk):
    loaded, choices, risk = sample_risk
    return loaded, list(choices.candidates), list(choices.leaks), risk


def mean_shap_by_level(risk, feature: str) -> pd.Series:
    explained = risk.explained
    return explained.contributions[feature].groupby(explained.matrix[feature].astype(str), observed=True).mean()


def test_the_campaign_arm_is_recognised_as_recorded_after_the_fact(sample) -> None:
    _, extras, leaks, _ = sample
    # 教育活动 was assigned on 2024-03-01 to policies in force then: only survivors carry it.
    assert set(extras) == {"首单客户", "教育活动", "短信提醒", "灵活缴费"}
    assert leaks == ["教育活动"]


def test_the_documented_true_drivers_appear_with_the_right_direction(sample) -> None:
    _, _, _, risk = sample
    ranked = importance_words(risk.explained.importance, "en").set_index("feature")
    assert set(ranked.index[:3]) >= {"policy_year", "auto_debit"}  # duration and auto-debit lead
    assert ranked.loc["policy_year", "direction"] == "higher lowers risk"  # hazards fall with policy year
    assert ranked.loc["age", "direction"] == "higher lowers risk"  # < 30: 1.3, 45+: 0.8
    assert ranked.loc["auto_debit", "direction"] == "highest for False"  # no auto-debit: HR 1.7
    channel = mean_shap_by_level(risk, "channel")
    assert channel["电销"] > channel["个险"] and channel["互联网"] > channel["个险"]  # 1.5 and 1.3 vs 1.0
    frequency = mean_shap_by_level(risk, "payment_frequency")
    assert frequency["1"] > frequency["12"]  # monthly 1.25 vs annual 1.0
    assert mean_shap_by_level(risk, "短信提醒")["否"] > mean_shap_by_level(risk, "短信提醒")["是"]  # SMS 0.85
    assert mean_shap_by_level(risk, "灵活缴费")["否"] > mean_shap_by_level(risk, "灵活缴费")["是"]  # flexible 0.80
    branch = mean_shap_by_level(risk, "branch")
    assert branch["四川分公司"] > branch["上海分公司"]  # 1.20 vs 0.85
    # Gender has no effect: it ranks near the bottom.
    assert list(ranked.index).index("gender") >= len(ranked) - 4


def test_honest_metrics_and_calibration(sample) -> None:
    _, _, _, risk = sample
    m = risk.model.metrics
    assert 0.62 < m["auc"] < 0.8 and 0.6 < m["baseline_auc"] < 0.8
    assert m["holdout_rows"] > 30_000 and m["trees"] >= 1
    calibration = risk.model.calibration
    assert calibration["observed"].iloc[-1] > 4 * calibration["observed"].iloc[0]  # top decile lapses far more than the bottom
    assert abs(calibration["predicted"].mean() - calibration["observed"].mean()) < 0.02


def test_probability_points_add_up_to_each_prediction(sample) -> None:
    _, _, _, risk = sample
    points, base, p = probability_points(risk.explained.contributions.head(500))
    assert np.allclose(base + points.sum(axis=1).to_numpy(), p, atol=1e-12)
    scored = risk.scores.loc[points.index, "probability"].to_numpy()
    assert np.allclose(p, scored, atol=1e-9)  # the explanation explains the score shown
    assert (np.sign(points.to_numpy()) == np.sign(risk.explained.contributions.head(500).drop(columns="base_value").to_numpy())).all()


def test_one_policy_explanation_matches_its_score(sample) -> None:
    _, _, _, risk = sample
    row = risk.scores.sort_values("probability").iloc[-1]
    one = explain_policy(risk, str(row["policy_id"]))
    assert one.probability == pytest.approx(float(row["probability"]), abs=1e-9)
    assert one.base_probability + one.table["points"].sum() == pytest.approx(one.probability, abs=1e-12)
    assert one.table["points"].abs().is_monotonic_decreasing
    why = policy_reasons(one)
    assert 1 <= len(why.raising) <= 3 and len(why.lowering) <= 3 and why.lever in LEVERS
    assert (why.raising["points"] >= 0.0005).all() and (why.lowering["points"] <= -0.0005).all()
    assert why.raising["points"].is_monotonic_decreasing


def test_due_list_on_the_sample(sample) -> None:
    loaded, _, _, risk = sample
    due, back = action_lists(loaded.policies, risk, days=30)
    study = loaded.study_date
    # Every 宽限期 policy in the sample has its missed due date within the last 60 days.
    assert (due["state"] == IN_GRACE).sum() == (loaded.policies["status"] == "grace").sum()
    assert (reasons_in_words(due, "en")["state"] == "in grace").sum() == (due["state"] == IN_GRACE).sum()
    assert due["days_to_due"].between(-60, 30).all()
    assert (due["days_left_in_grace"] == due["days_to_due"] + 60).all()
    assert due["premium_at_risk"].is_monotonic_decreasing
    assert np.allclose(due["premium_at_risk"], due["probability"] * due["annual_premium"])
    assert set(due["policy_id"]) <= set(risk.scores["policy_id"])  # only in-force policies
    book = loaded.policies[loaded.policies["status"].isin(["in_force", "reinstated", "apl"])]
    upcoming = book[(book["paid_to_date"] > study) & (book["paid_to_date"] <= study + pd.Timedelta(days=30))]
    assert len(upcoming) > 5000
    assert set(upcoming["policy_id"]) <= set(due["policy_id"])
    risky = due[due["probability"] > 0.1]  # well above the base: some feature must raise it
    assert len(risky) > 100 and (risky["reason_1_feature"] != "").all() and due["lever"].isin(LEVERS).all()
    assert (risky["reason_1_points"] >= 0.0005).all()
    worded = reasons_in_words(risky, "en")
    assert (worded["reason_1"] != "").all() and worded["reason_1"].str.contains(r"[+]\d+\.\d pp").all()
    assert not {c for k in (1, 2, 3) for c in reason_columns(k)} & set(worded.columns)
    # All 2,745 suspended (失效) policies in the sample are within two years of suspension.
    assert len(back) == (loaded.policies["status"] == "lapsed").sum() == 2745
    assert back["annual_premium"].is_monotonic_decreasing and (back["days_left"] > 0).all()


def test_reinstatable_window_hand_worked() -> None:
    policies = pd.DataFrame(
        {
            "policy_id": ["A", "B", "C", "D"],
            "status": ["lapsed", "lapsed", "in_force", "lapsed"],
            "lapse_date": pd.to_datetime(["2024-10-01", "2024-09-29", None, None]),
            "status_date": pd.to_datetime(["2024-10-01", "2024-09-29", None, "2026-01-01"]),
            "annual_premium": [1000.0, 5000.0, 9000.0, 3000.0],
        }
    )
    # Study date 2026-09-30: A's window ends 2026-10-01 (1 day left); B's ended 2026-09-29; D from its status date.
    out = reinstatable_list(policies, pd.Timestamp("2026-09-30")).set_index("policy_id")
    assert list(out.index) == ["D", "A"]
    assert out.loc["A", "days_left"] == 1 and out.loc["D", "reinstate_by"] == pd.Timestamp("2028-01-01")


def test_export_masks_identifiers_and_neutralises_formulas(sample) -> None:
    from openpyxl import load_workbook

    loaded, _, _, risk = sample
    policies = loaded.policies.copy()
    policies["name"] = "张三丰"
    policies["phone"] = "13812345678"
    due, back = action_lists(policies, risk, days=30)
    # Two hundred rows of each list carry every column; the whole book would only time the writer.
    due, back = due.head(200).copy(), back.head(200).copy()
    due.loc[due.index[0], "name"] = '=HYPERLINK("http://x")'
    masked = load_workbook(io.BytesIO(worklist_workbook(due, back, study_date=loaded.study_date, mask=True)), read_only=True)
    cells = [str(c) for ws in masked.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "13812345678" not in cells and "张三丰" not in cells and "138****5678" in cells
    assert not any(c.startswith("=") for c in cells)
    shown = load_workbook(io.BytesIO(worklist_workbook(due, back, study_date=loaded.study_date, mask=False)), read_only=True)
    cells = [str(c) for ws in shown.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "13812345678" in cells and "张三丰" in cells
    assert not any(c.startswith("=") for c in cells) and '\'=HYPERLINK("http://x")' in cells  # shown, and inert
    assert [ws.title for ws in shown.worksheets] == ["即将到期或宽限期", "可复效"]
    due_sheet = pd.read_excel(io.BytesIO(worklist_workbook(due, back, study_date=loaded.study_date)), sheet_name=0, header=None)
    cells = {str(c) for c in due_sheet.to_numpy().ravel()}
    assert {"原因一", "建议措施"} <= cells and any("个百分点" in c for c in cells)  # the codes in words


def test_cli_drivers_json_and_worklist(root, tmp_path, monkeypatch, sample, sample_risk) -> None:
    loaded, _, _, risk = sample
    choices = sample_risk[1]
    # The command's default model is the session's model: the same pipeline (default feature
    # choices of the loaded data) and seed; the fit itself is checked in tests/risk/test_risk.py.
    fitted = []

    def build_risk(policies, study_date, options, progress=None, *, draw=None):
        assert policies.equals(loaded.policies) and study_date == loaded.study_date and options == choices.options()
        fitted.append(options)
        return risk

    monkeypatch.setattr("analysis.risk.model.build_risk", build_risk)
    done = run_cli("drivers", str(root / "data" / "sample_policies.csv"), "--format", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"target", "metrics", "importance"} and set(out["metrics"]) == {"auc", "pr_auc", "baseline_auc"}
    features = [row["feature"] for row in out["importance"]]
    assert "policy_year" in features and "交费方式" in features and "销售渠道" in features  # source headers
    values = [row["mean_abs_shap"] for row in out["importance"]]
    assert values == sorted(values, reverse=True)
    assert len(fitted) == 1
    assert values == risk.explained.importance["mean_abs_shap"].tolist()
    assert out["metrics"]["auc"] == risk.model.metrics["auc"]
    target = tmp_path / "list.xlsx"
    done = run_cli("worklist", str(root / "data" / "sample_policies.csv"), "--days", "10", "-o", str(target), "--lang", "en")
    assert done.returncode == 0, done.stderr
    sheets = pd.read_excel(target, sheet_name=None, header=None)
    assert list(sheets) == ["Due soon or in grace", "Reinstatable"]
    bad = run_cli("worklist", str(root / "data" / "sample_policies.csv"), "--days", "-1", "-o", str(target))
    assert bad.returncode == 2 and bad.stderr == "error: --days -1 must be zero or more.\n"
    assert len(fitted) == 2  # drivers and the worklist; the refused one trains nothing


@pytest.mark.parametrize(
    ("name", "leaks"),
    [
        ("uslapseagent", {"surrender", "death", "other", "allcause"}),  # outcome flags
        (
            "eusavingULnoPS",
            {
                "rate1Y.relvar1qtr",
                "rate2Y.relvar1qtr",
                "rate10Y.relvar1qtr",
                "unemploy.relvar1qtr",
                "industry.relvar1qtr",
                "RTV.relvar1qtr",
            },
        ),
    ],
)
def test_the_real_data_sets_train_without_their_outcome_columns(root, shared_data, name, leaks) -> None:
    from analysis.ingest.presets import load_preset
    from analysis.risk.rows import RiskOptions

    loaded = load_extract(shared_data / f"{name}.csv", preset=load_preset(root / "data" / "presets" / f"{name}.toml"))
    extras = candidate_features(loaded.policies)
    found = set(suspected_leaks(loaded.policies, loaded.study_date, extras))
    assert found == leaks
    risk = build_risk(loaded.policies, loaded.study_date, RiskOptions(extra_features=tuple(c for c in extras if c not in found)))
    m = risk.model.metrics
    # In-force policies are censored at their own observation end: the latest window keeps them.
    assert m["holdout_rows"] > 10_000 and 0.02 < m["base_rate"] < 0.2
    assert 0.5 < m["auc"] < 0.8 and 0.5 < m["baseline_auc"] < 0.8
    assert np.isfinite(risk.explained.importance["mean_abs_shap"]).all() and len(risk.explained.matrix) > 0
