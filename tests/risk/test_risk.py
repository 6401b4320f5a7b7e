"""Lapse-risk training rows: in force at the as-of date, known-then features, no leakage."""

from __future__ import annotations

import pandas as pd

from analysis import load_extract
from analysis.risk.rows import as_of_dates, training_rows


def book() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "policy_id": ["A", "B", "C", "D", "E", "F"],
            "issue_date": ["2018-01-01", "2018-01-01", "2018-01-01", "2020-06-01", "2018-01-01", "2018-01-01"],
            "status": ["in_force", "lapsed", "surrendered", "in_force", "death_claim", "reinstated"],
            "status_date": [None, "2019-09-01", "2021-03-01", None, "2019-08-01", "2020-01-01"],
            "lapse_date": [None, "2019-09-01", None, None, None, "2019-10-01"],
            "reinstatement_date": [None, None, None, None, None, "2020-01-01"],
            "age": [30.0, 40.0, 50.0, 25.0, 60.0, 35.0],
            "channel": ["个险", "银保", "个险", "电销", "个险", "个险"],
        }
    )
    for column in ("issue_date", "status_date", "lapse_date", "reinstatement_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_rows_at_one_as_of_date_hand_worked() -> None:
    # As of 2019-06-30, 12-month horizon (to 2020-06-30):
    # A in force, no exit → 0; B lapses 2019-09-01 → 1; C surrenders 2021 → 0 (after the horizon);
    # D not yet issued → no row; E dies 2019-08-01 inside the horizon → left out (competing);
    # F's lapse episode starts 2019-10-01 → 1.
    rows = training_rows(book(), as_of=[pd.Timestamp("2019-06-30")]).set_index("policy_id")
    assert sorted(rows.index) == ["A", "B", "C", "F"]
    assert rows["lapsed_within"].to_dict() == {"A": False, "B": True, "C": False, "F": True}
    assert rows.loc["A", "policy_year"] == 2 and rows.loc["A", "age"] == 31.0


def test_a_suspended_policy_is_not_in_force_until_reinstated() -> None:
    during = training_rows(book(), as_of=[pd.Timestamp("2019-12-01")]).set_index("policy_id")
    assert "F" not in during.index  # suspended 2019-10-01 .. 2020-01-01
    after = training_rows(book(), as_of=[pd.Timestamp("2020-02-01")]).set_index("policy_id")
    assert not after.loc["F", "lapsed_within"]


def test_features_do_not_change_when_the_future_does() -> None:
    base = book()
    changed = base.copy()
    changed.loc[changed["policy_id"] == "C", ["status", "status_date"]] = ["lapsed", pd.Timestamp("2019-12-01")]
    changed.loc[changed["policy_id"] == "C", "lapse_date"] = pd.Timestamp("2019-12-01")
    a = training_rows(base, as_of=[pd.Timestamp("2019-06-30")]).set_index("policy_id")
    b = training_rows(changed, as_of=[pd.Timestamp("2019-06-30")]).set_index("policy_id")
    features = [c for c in a.columns if c != "lapsed_within"]
    pd.testing.assert_frame_equal(a[features], b[features])
    assert not a.loc["C", "lapsed_within"] and b.loc["C", "lapsed_within"]


def test_as_of_dates_leave_the_horizon_observed_and_the_sample_has_signal(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    dates = as_of_dates(loaded.study_date, count=4)
    assert dates[0] == pd.Timestamp("2025-09-30") and dates[-1] == pd.Timestamp("2024-03-30")
    rows = training_rows(loaded.policies, as_of=dates)
    assert {"status", "status_date", "paid_to_date", "lapse_date"}.isdisjoint(rows.columns)
    rate = rows.groupby("auto_debit")["lapsed_within"].mean()
    assert rate[False] > 1.3 * rate[True]  # the sample's planted auto-debit effect


def planted(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "policy_id": np.arange(n).astype(str),
            "as_of": np.where(np.arange(n) < n * 2 // 3, pd.Timestamp("2023-01-01"), pd.Timestamp("2024-01-01")),
            "policy_year": rng.integers(1, 8, n),
            "age": rng.uniform(20, 60, n),
            "channel": rng.choice(["个险", "银保", "电销"], n),
            "auto_debit": rng.choice([True, False], n),
        }
    )
    # Only auto-debit drives lapse: 4 % with it, 25 % without.
    rows["lapsed_within"] = rng.random(n) < np.where(rows["auto_debit"], 0.04, 0.25)
    return rows


def test_a_planted_driver_ranks_first_and_shap_adds_up() -> None:
    from analysis.risk.explain import explain, explain_rows
    from analysis.risk.model import fit_lapse_model, model_matrix
    from analysis.risk.words import importance_words

    rows = planted()
    model = fit_lapse_model(rows)
    ranked = explain_rows(model, rows, sample=2000).importance
    assert ranked.iloc[0]["feature"] == "auto_debit"
    assert (ranked.iloc[0]["direction_kind"], ranked.iloc[0]["direction_level"]) == ("level", "False")
    assert importance_words(ranked, "en").iloc[0]["direction"] == "highest for False"
    assert model.metrics["auc"] > 0.65
    matrix, _ = model_matrix(rows.head(200), model.features, model.categories)
    contributions = explain(model.model, matrix)
    raw = model.model.predict(matrix, raw_score=True)
    assert abs(contributions.sum(axis=1).to_numpy() - raw).max() < 1e-6  # SHAP values + base value = model output


def test_shuffled_outcomes_collapse_the_metrics() -> None:
    from analysis.risk.model import fit_lapse_model

    rows = planted(seed=1)
    rows["lapsed_within"] = rows["lapsed_within"].sample(frac=1.0, random_state=3).to_numpy()
    assert abs(fit_lapse_model(rows).metrics["auc"] - 0.5) < 0.06


def test_lightgbm_contributions_equal_shap_tree_explainer() -> None:
    """The views use LightGBM's pred_contrib because it equals shap.TreeExplainer and is faster."""
    import numpy as np
    import shap

    from analysis.risk.explain import explain
    from analysis.risk.model import fit_lapse_model, model_matrix

    rows = planted(seed=2)
    model = fit_lapse_model(rows)
    matrix, _ = model_matrix(rows.head(300), model.features, model.categories)
    ours = explain(model.model, matrix)
    theirs = shap.TreeExplainer(model.model.booster_).shap_values(matrix)
    theirs = theirs[1] if isinstance(theirs, list) else theirs
    assert np.allclose(ours.drop(columns="base_value").to_numpy(), np.asarray(theirs), atol=1e-6)


def test_the_model_refuses_rows_it_cannot_learn_from() -> None:
    import pytest

    from analysis import ExtractError
    from analysis.risk.model import fit_lapse_model

    rows = planted(n=600)
    for broken, reason, words in (
        (rows.assign(as_of=pd.Timestamp("2024-01-01")), "risk_as_of_dates", "two or more as-of dates"),
        (rows.assign(lapsed_within=False), "risk_events", "no lapses at all"),
        (rows[["policy_id", "as_of", "lapsed_within"]].assign(channel="个险"), "risk_features", "No column varies"),
    ):
        with pytest.raises(ExtractError, match=words) as caught:
            fit_lapse_model(broken)
        assert (caught.value.code, caught.value.reason) == ("bad_option", reason)
        assert caught.value.text("zh") and "{" not in caught.value.text("zh")


def test_the_verdict_against_the_baseline_uses_one_margin() -> None:
    from analysis.risk.model import BASELINE_MARGIN, baseline_verdict

    assert BASELINE_MARGIN == 0.02
    assert baseline_verdict({"auc": 0.75, "baseline_auc": 0.70}) == "beats_baseline"
    assert baseline_verdict({"auc": 0.70, "baseline_auc": 0.69}) == "close_to_baseline"
    assert baseline_verdict({"auc": 0.69, "baseline_auc": 0.70}) == "close_to_baseline"
    assert baseline_verdict({"auc": 0.65, "baseline_auc": 0.70}) == "below_baseline"


def test_feature_choices_default_to_the_columns_not_suspected() -> None:
    from analysis.risk.rows import FeatureChoices

    choices = FeatureChoices(candidates=("首单客户", "教育活动", "短信提醒"), leaks=("教育活动",))
    assert choices.default == ("首单客户", "短信提醒")
    assert choices.options().extra_features == ("首单客户", "短信提醒")
    assert choices.options(["短信提醒", "no-such-column"]).extra_features == ("短信提醒",)
    assert choices.options([]).extra_features == ()


def test_scored_rows_hold_text_once_and_score_as_the_text_does(sample_risk) -> None:
    """Every in-force policy is kept with its features: text features as categoricals, policy numbers in the book's type, same scores."""
    loaded, _, risk = sample_risk
    scores = risk.scores
    text = [c for c in scores.columns if isinstance(scores[c].dtype, pd.CategoricalDtype)]
    assert {"channel", "product", "branch"} <= set(text)
    assert scores["policy_id"].dtype == loaded.policies["policy_id"].dtype != object
    book = loaded.policies.loc[scores.index]
    for column in text:
        assert scores[column].astype("string").equals(book[column].astype("string").rename(column)), column
    as_text = scores.drop(columns="probability").astype({c: "string" for c in text})
    assert (risk.model.probability(as_text) == scores["probability"].to_numpy()).all()
