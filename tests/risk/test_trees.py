"""The compiled tree kernel scores exactly as LightGBM does, and the model's features are built as they always were."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.risk.model import BLANK, fit_lapse_model, model_matrix
from analysis.risk.trees import CATEGORY, MAX_SPLITS, NUMBER, OTHER, compile_trees, feature_array, predict_probability, raw_scores, trees_of


def odd_rows(n: int, seed: int) -> pd.DataFrame:
    """Numbers with missing values, exact zeros and values within 1e-35 of zero; categories with blanks and many levels."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 70, n)
    age[rng.random(n) < 0.1] = np.nan
    premium = rng.choice([0.0, 1e-40, -1e-40, 500.0, 1200.0, 3000.0], n) * rng.uniform(0.5, 1.5, n)
    premium[rng.random(n) < 0.05] = np.nan
    branch = rng.choice([f"branch{k:02d}" for k in range(45)], n).astype(object)  # more than 32 levels: two bitset words
    branch[rng.random(n) < 0.05] = None
    frame = pd.DataFrame(
        {
            "age": age,
            "annual_premium": premium,
            "branch": branch,
            "auto_debit": rng.choice([True, False], n),
            "payment_frequency": rng.choice([1, 3, 12], n),
        }
    )
    risk = 0.03 + 0.2 * (~frame["auto_debit"]) + 0.1 * np.nan_to_num(age < 30) + 0.05 * frame["branch"].isin(["branch03", "branch40"])
    frame["lapsed_within"] = rng.random(n) < risk
    return frame


def lightgbm_model(rows: pd.DataFrame, **params: object):
    import lightgbm as lgb

    matrix, levels = model_matrix(rows, ["age", "annual_premium", "branch", "auto_debit", "payment_frequency"])
    model = lgb.LGBMClassifier(n_estimators=60, min_child_samples=20, verbose=-1, random_state=0, **params)
    return model.fit(matrix, rows["lapsed_within"].astype(int)), levels


@pytest.mark.parametrize(
    "params",
    [{}, {"zero_as_missing": True}, {"use_missing": False}, {"max_cat_to_onehot": 64}, {"num_leaves": 15}, {"num_leaves": 100}],
)
def test_probabilities_and_raw_scores_equal_lightgbm_to_the_last_bit(params: dict) -> None:
    """Leaves found without a walk (up to 64 leaves a tree), or by walking the trees (more); every kind of split either way."""
    train = odd_rows(6000, seed=1)
    model, levels = lightgbm_model(train, **{"num_leaves": 31, **params})
    scored = odd_rows(3000, seed=2)
    scored.loc[scored.index[:50], "branch"] = "a branch unseen in training"
    matrix, _ = model_matrix(scored, ["age", "annual_premium", "branch", "auto_debit", "payment_frequency"], levels)
    trees = compile_trees(model.booster_)
    assert trees is not None
    assert (trees.walk is None) == (trees.splits.max() > MAX_SPLITS) == (params.get("num_leaves") == 100)
    x = feature_array(matrix, model.booster_.pandas_categorical)
    assert x is not None
    for threads in (1, 2):
        assert np.array_equal(raw_scores(trees, x, threads=threads), model.predict(matrix, raw_score=True))
        assert np.array_equal(predict_probability(model, matrix, threads=threads), model.predict_proba(matrix)[:, 1])


def test_every_kind_of_split_scores_as_lightgbm_without_a_walk() -> None:
    """Numbers without missing values, categories below the code cap and every other split, in one model, to the last bit."""
    rows = odd_rows(6000, seed=5)
    rows["channel"] = np.random.default_rng(5).choice(["个险", "银保", "电销", "网销"], len(rows))
    rows["term"] = np.arange(len(rows)) % 25 + 5  # a number never missing
    rows["lapsed_within"] |= rows["channel"].eq("电销") & (np.arange(len(rows)) % 3 == 0) | (rows["term"] < 8)
    features = ["age", "branch", "channel", "term"]
    matrix, levels = model_matrix(rows, features)
    model = lgb_fit(matrix, rows["lapsed_within"], num_leaves=15)
    trees = compile_trees(model.booster_)
    assert trees is not None and trees.walk is not None
    kinds = trees.walk[0]
    assert set(kinds.tolist()) == {NUMBER, CATEGORY, OTHER}
    scored = odd_rows(3000, seed=6).assign(
        channel=lambda f: np.where(np.arange(len(f)) % 5 == 0, None, "银保"), term=lambda f: np.arange(len(f)) % 31 + 0.5
    )
    x_matrix, _ = model_matrix(scored, features, levels)
    x = feature_array(x_matrix, model.booster_.pandas_categorical)
    assert np.array_equal(raw_scores(trees, x, threads=2), model.predict(x_matrix, raw_score=True))


def lgb_fit(matrix: pd.DataFrame, target: pd.Series, **params: object):
    import lightgbm as lgb

    return lgb.LGBMClassifier(n_estimators=40, min_child_samples=20, verbose=-1, random_state=0, **params).fit(matrix, target.astype(int))


def test_the_risk_model_scores_as_lightgbm_with_early_stopping() -> None:
    from tests.risk.test_risk import planted

    rows = planted(n=8000, seed=4)
    rows.loc[rows.index[::7], "age"] = np.nan
    model = fit_lapse_model(rows, max_trees=400)
    assert trees_of(model.model) is not None
    matrix = model.matrix(rows)
    assert np.array_equal(model.probability(rows), model.model.predict_proba(matrix)[:, 1])
    assert len(model.probability(rows.head(0))) == 0


def test_a_model_the_kernel_does_not_cover_keeps_lightgbm() -> None:
    import lightgbm as lgb

    rows = odd_rows(2000, seed=3)
    matrix, _ = model_matrix(rows, ["age", "annual_premium", "branch"])
    regression = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(matrix, rows["age"].fillna(0))
    assert compile_trees(regression.booster_) is None
    linear = lgb.LGBMClassifier(n_estimators=5, linear_tree=True, verbose=-1).fit(matrix[["age", "annual_premium"]], rows["lapsed_within"])
    assert compile_trees(linear.booster_) is None
    forest = lgb.LGBMClassifier(boosting_type="rf", n_estimators=5, subsample=0.8, subsample_freq=1, verbose=-1)
    forest.fit(matrix, rows["lapsed_within"].astype(int))  # averages its trees' outputs: LightGBM's own predict
    assert compile_trees(forest.booster_) is None
    assert np.array_equal(predict_probability(forest, matrix, threads=2), forest.predict_proba(matrix)[:, 1])
    assert np.array_equal(
        predict_probability(linear, matrix[["age", "annual_premium"]]), linear.predict_proba(matrix[["age", "annual_premium"]])[:, 1]
    )


def test_model_matrix_reads_each_value_as_its_text() -> None:
    rows = pd.DataFrame(
        {
            "flag": [True, None, False, True],
            "tier": pd.Series(["x", None, BLANK, "y"], dtype="category"),
            "payment_frequency": [12, 1, 12, 4],
            "score": pd.array([1.5, None, 3.0, 2.0], dtype="Float64"),
        }
    )
    features = ["flag", "tier", "payment_frequency", "score"]
    matrix, levels = model_matrix(rows, features)
    for feature in ("flag", "tier", "payment_frequency"):
        text = rows[feature].astype("string").fillna(BLANK).astype(str)
        assert levels[feature] == sorted(text.unique().tolist())
        assert matrix[feature].astype(str).tolist() == text.tolist()
    assert levels["tier"] == [BLANK, "x", "y"] and matrix["score"].dtype == float
    again, _ = model_matrix(rows.iloc[::-1], features, {"flag": ["True"], "tier": ["x", "z"], "payment_frequency": ["12", "4"]})
    assert again["flag"].isna().tolist() == [False, True, True, False]
    assert again["tier"].tolist()[::-1] == ["x", np.nan, np.nan, np.nan]
    assert list(again["tier"].cat.categories) == ["x", "z"]


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}])
def test_shap_values_tree_by_tree_equal_pred_contrib(params: dict) -> None:
    from analysis.risk.explain import PATTERN_MIN_ROWS, explain, importance, tree_by_tree

    model, levels = lightgbm_model(odd_rows(6000, seed=5), **params)
    scored = odd_rows(2 * PATTERN_MIN_ROWS, seed=6)
    scored.loc[scored.index[:40], "branch"] = "a branch unseen in training"
    matrix, _ = model_matrix(scored, ["age", "annual_premium", "branch", "auto_debit", "payment_frequency"], levels)
    theirs = model.predict(matrix, pred_contrib=True)
    ours = tree_by_tree(model, matrix, threads=2)
    assert ours is not None and ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-12
    assert np.abs(ours.sum(axis=1) - model.predict(matrix, raw_score=True)).max() < 1e-12
    frame = explain(model, matrix, threads=2)  # tree by tree: at least PATTERN_MIN_ROWS rows
    assert np.abs(frame.to_numpy() - theirs).max() < 1e-12
    reference = pd.DataFrame(theirs[:, :-1], columns=matrix.columns, index=matrix.index).assign(base_value=theirs[:, -1])
    assert importance(frame, matrix)["feature"].tolist() == importance(reference, matrix)["feature"].tolist()
    few = explain(model, matrix.head(5))  # below PATTERN_MIN_ROWS: LightGBM's one call, as it was
    assert np.array_equal(few.to_numpy(), theirs[:5])
