"""The lapse-risk model: LightGBM with a time-based holdout, a logistic baseline, and the one pipeline.

**Validation.** The latest as-of date is held out (a time-based holdout); the model
trains on the earlier ones, with early stopping on 15 % of the *policies* of the
training dates (grouped by policy, so a policy seen at two dates never sits on both
sides). A plain logistic regression on the same features is the honest baseline.

**The pipeline.** :func:`build_risk` goes training rows → model → today's scores → SHAP
on a sample and returns a :class:`RiskResult`; :func:`default_risk` first picks the
features (:func:`analysis.risk.rows.feature_choices`), as the command line does and as the
pages do until the user chooses otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, cast

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.payments.features import Payments
from analysis.risk.draw import TrainingDraw
from analysis.risk.explain import Explained, explain_rows
from analysis.risk.rows import (
    CATEGORICAL_CODES,
    DEFAULT_OPTIONS,
    ROW_KEYS,
    TARGET,
    RiskOptions,
    check_training_size,
    feature_choices,
    scoring_rows,
    training_dates,
    training_rows,
)
from analysis.risk.trees import predict_probability

Progress = Callable[[float, str], None]

#: Early stopping watches the log-loss on this share (in per cent) of the training policies ...
VALIDATION_PERCENT = 15
#: ... and stops after this many rounds without improvement.
EARLY_STOPPING_ROUNDS = 50
MAX_TREES = 300
#: LightGBM's settings (besides the seed, threads and tree count).
TREE_PARAMS: dict[str, Any] = {
    "learning_rate": 0.07,
    "num_leaves": 15,
    "max_depth": 6,
    "min_child_samples": 200,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.9,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
#: Calibration and lift are read by this many groups of predicted risk.
DECILES = 10
#: The model's holdout AUC against the baseline's: "beats" it by this much, "below" it by as much.
BASELINE_MARGIN = 0.02
#: The verdicts of :func:`baseline_verdict`.
VERDICTS = ("beats_baseline", "close_to_baseline", "below_baseline")
#: Rows scored at a time (their model features, as LightGBM reads them, are built per block).
SCORE_BLOCK = 250_000
#: How a missing value of a categorical feature reads (a level of its own).
BLANK = "(blank)"


@dataclass(frozen=True)
class RiskModel:
    """A fitted lapse-risk model with its honest holdout metrics.

    Attributes
    ----------
    metrics : dict
        ``auc``, ``pr_auc`` (average precision) and ``baseline_auc`` (a plain logistic
        regression on the same features) on the latest as-of date, held out of training;
        ``base_rate`` is the holdout's observed lapse rate; row counts and the number of trees.
    calibration, lift : DataFrame
        By decile of predicted risk on the holdout: mean predicted vs observed, and the
        observed rate relative to the base rate.
    """

    model: Any
    features: tuple[str, ...]
    categories: dict[str, list[str]]
    metrics: dict[str, float]
    calibration: pd.DataFrame
    lift: pd.DataFrame
    holdout_as_of: pd.Timestamp
    threads: int = 1

    def matrix(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The model's features for ``rows`` (same levels as in training)."""
        return model_matrix(rows, self.features, self.categories)[0]

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        """P(voluntary exit within the horizon) for each row (LightGBM's ``predict_proba``, to the last bit).

        Scored :data:`SCORE_BLOCK` rows at a time through :func:`analysis.risk.trees.predict_probability`,
        so a large book never has all its features copied at once.
        """
        out = np.empty(len(rows), dtype=float)
        for start in range(0, len(rows), SCORE_BLOCK):
            block = rows.iloc[start : start + SCORE_BLOCK]
            out[start : start + len(block)] = predict_probability(self.model, self.matrix(block), threads=self.threads)
        return out


def model_matrix(
    rows: pd.DataFrame, features: Sequence[str], categories: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Features for LightGBM: numbers as floats, everything else as categoricals with fixed levels.

    A category's level is its value as text (``astype("string")``; missing reads :data:`BLANK`),
    converted once per distinct value. Levels unseen in training become missing (LightGBM
    sends them down the default branch).
    """
    out = pd.DataFrame(index=rows.index)
    levels: dict[str, list[str]] = dict(categories or {})
    for feature in features:
        values = rows[feature]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and feature not in CATEGORICAL_CODES
        if feature not in levels and numeric:
            out[feature] = pd.to_numeric(values, errors="coerce").astype(float)
            continue
        out[feature], levels[feature] = _as_levels(values, levels.get(feature))
    return out, levels


def _as_levels(values: pd.Series, levels: list[str] | None) -> tuple[pd.Categorical, list[str]]:
    """``values`` as a categorical of their text (``levels``, or the sorted texts found), each distinct value converted once.

    The same as ``pd.Categorical(values.astype("string").fillna(BLANK).astype(str), categories=levels)``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").fillna(BLANK).astype(str).tolist() + [BLANK]  # the last one: code -1
    if levels is None:
        levels = sorted(set(text[:-1] + ([BLANK] if (codes < 0).any() else [])))
    position = pd.Index(levels).get_indexer(pd.Index(text, dtype=object))
    return pd.Categorical.from_codes(cast(Sequence[int], position[codes]), categories=pd.Index(levels, dtype=object)), levels


@dataclass(frozen=True)
class _Split:
    """Which rows train the trees, which stop them early, and which are held out."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def _split(rows: pd.DataFrame, target: np.ndarray) -> _Split:
    """The latest as-of date held out; :data:`VALIDATION_PERCENT` of the other policies for early stopping."""
    test = (rows["as_of"] == rows["as_of"].max()).to_numpy()
    if target[~test].sum() == 0 or target[test].sum() == 0 or target[test].all() or target[~test].all():
        raise ExtractError("bad_option", reason="risk_events")
    bucket = pd.util.hash_array(rows["policy_id"].astype(str).to_numpy(dtype=object)) % 100
    validation = ~test & (bucket < VALIDATION_PERCENT)
    train = ~test & ~validation
    if target[validation].sum() == 0 or target[train].sum() == 0:
        validation, train = np.zeros_like(test), ~test
    return _Split(train, validation, test)


def _fit_trees(
    matrix: pd.DataFrame, target: np.ndarray, split: _Split, *, random_state: int, threads: int, max_trees: int, report: Progress
) -> Any:
    """LightGBM on the training rows, stopping early on the validation rows when there are any."""
    import lightgbm as lgb

    def tick(env: Any) -> None:
        report(0.1 + 0.7 * (env.iteration + 1) / max_trees, "training")

    model = lgb.LGBMClassifier(n_estimators=max_trees, random_state=random_state, n_jobs=threads, **TREE_PARAMS)
    callbacks: list[Any] = [tick]
    fit_kwargs: dict[str, Any] = {}
    if split.validation.any():
        callbacks.append(lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False))
        fit_kwargs = {"eval_X": (matrix[split.validation],), "eval_y": (target[split.validation],)}
    model.fit(matrix[split.train], target[split.train], callbacks=callbacks, **fit_kwargs)
    return model


def _baseline_probability(matrix: pd.DataFrame, target: np.ndarray, test: np.ndarray, levels: dict[str, list[str]]) -> np.ndarray:
    """A plain logistic regression on the same features (dummies, standardised numbers), scored on the holdout."""
    from sklearn.linear_model import LogisticRegression

    features = list(matrix.columns)
    baseline_x = pd.get_dummies(matrix[[f for f in features if f in levels]], dummy_na=False).astype(float)
    for f in (f for f in features if f not in levels):
        column = matrix[f]
        if column.notna().sum() == 0:
            continue  # nothing known: no information for the baseline
        std = column.std()
        filled = column.fillna(column.median())
        baseline_x[f] = (filled - filled.mean()) / (std if std and np.isfinite(std) else 1.0)
    x = baseline_x.to_numpy(dtype=float)  # one array: sklearn would copy each frame it is handed
    baseline = LogisticRegression(max_iter=500).fit(x[~test], target[~test])
    return np.asarray(baseline.predict_proba(x[test])[:, 1])


def _by_decile(probability: np.ndarray, observed: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibration ``[decile, predicted, observed]`` and lift ``[decile, observed, lift]`` (top decile first)."""
    decile = pd.qcut(pd.Series(probability).rank(method="first"), DECILES, labels=False) + 1
    by_decile = pd.DataFrame({"decile": decile, "predicted": probability, "observed": observed}).groupby("decile").mean().reset_index()
    calibration = by_decile[["decile", "predicted", "observed"]]
    lift = by_decile.assign(lift=by_decile["observed"] / max(observed.mean(), 1e-12))[["decile", "observed", "lift"]].sort_values(
        "decile", ascending=False
    )
    return calibration.reset_index(drop=True), lift.reset_index(drop=True)


def fit_lapse_model(
    rows: pd.DataFrame,
    *,
    random_state: int = 0,
    threads: int = 1,
    progress: Progress | None = None,
    max_trees: int = MAX_TREES,
) -> RiskModel:
    """Gradient-boosted trees (LightGBM, native categoricals) with a time-based holdout.

    The latest as-of date is held out; the model trains on the earlier ones and stops
    adding trees when the log-loss on 15 % of the training policies (grouped by policy)
    stops improving for 50 rounds. Thread counts are explicit for training and
    prediction (all sessions share one process).

    Raises
    ------
    ExtractError
        ``bad_option`` with reason ``risk_as_of_dates`` (fewer than two as-of dates),
        ``risk_features`` (no feature varies) or ``risk_events`` (no lapses, or only lapses,
        in the training or the holdout period).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    report = progress or (lambda fraction, stage: None)
    if rows.empty or rows["as_of"].nunique() < 2:
        raise ExtractError("bad_option", reason="risk_as_of_dates")
    # A feature with no values or a single value carries no information.
    features = tuple(c for c in rows.columns if c not in ROW_KEYS and rows[c].nunique(dropna=True) > 1)
    if not features:
        raise ExtractError("bad_option", reason="risk_features")
    matrix, levels = model_matrix(rows, features)
    target = rows[TARGET].astype(int).to_numpy()
    split = _split(rows, target)
    model = _fit_trees(matrix, target, split, random_state=random_state, threads=threads, max_trees=max_trees, report=report)
    report(0.8, "validating")
    probability = predict_probability(model, matrix[split.test], threads=threads)
    observed = target[split.test]
    baseline_probability = _baseline_probability(matrix, target, split.test, levels)
    metrics = {
        "auc": float(roc_auc_score(observed, probability)),
        "pr_auc": float(average_precision_score(observed, probability)),
        "baseline_auc": float(roc_auc_score(observed, baseline_probability)),
        "baseline_pr_auc": float(average_precision_score(observed, baseline_probability)),
        "base_rate": float(observed.mean()),
        "train_rows": float(split.train.sum()),
        "validation_rows": float(split.validation.sum()),
        "holdout_rows": float(split.test.sum()),
        "trees": float(model.booster_.num_trees()),
    }
    calibration, lift = _by_decile(probability, observed)
    report(0.85, "validating")
    return RiskModel(model, features, levels, metrics, calibration, lift, pd.Timestamp(rows["as_of"].max()), threads)


def baseline_verdict(metrics: dict[str, float]) -> str:
    """How the model's holdout AUC compares with the logistic baseline's, as a code of :data:`VERDICTS`.

    ``beats_baseline`` when it is at least :data:`BASELINE_MARGIN` higher,
    ``below_baseline`` when it is that much lower or more, ``close_to_baseline`` between.
    """
    gap = metrics["auc"] - metrics["baseline_auc"]
    if gap >= BASELINE_MARGIN:
        return "beats_baseline"
    return "close_to_baseline" if gap > -BASELINE_MARGIN else "below_baseline"


@dataclass(frozen=True)
class RiskResult:
    """Everything the risk pages show: the model, today's scores and the explained sample.

    ``scores`` holds the in-force policies' features and ``probability`` (index = the
    policies' index); ``explained`` is a random sample of them (``options.explain_sample``).
    """

    model: RiskModel
    scores: pd.DataFrame
    explained: Explained
    options: RiskOptions
    study_date: pd.Timestamp
    timings: dict[str, float] = field(default_factory=dict)
    #: ``in_force`` (the policies in force on the study date) or ``holdout`` (the latest
    #: as-of date's rows, when no policy is known to be in force on the study date).
    explained_population: str = "in_force"
    #: Whether the model learned from a payment history (the payment features of
    #: :mod:`analysis.payments.features` are among its features).
    with_payments: bool = False


def build_risk(
    policies: pd.DataFrame,
    study_date: pd.Timestamp,
    options: RiskOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
    *,
    payments: Payments | None = None,
    draw: TrainingDraw | None = None,
) -> RiskResult:
    """Training rows → model → today's scores → SHAP on a sample, reporting progress from 0 to 1.

    With ``payments`` (a payment history matched with the book), the payment behaviour known
    at each as-of date joins the features (:mod:`analysis.payments.features`); without it the
    model is the same as before. ``draw``: the book's training rows drawn already
    (:attr:`analysis.risk.rows.FeatureChoices.draw`), taken when it holds the rows these
    options draw, so the engine is not asked twice; the model is the same either way.

    A book too small to learn from is refused before anything is fitted
    (:func:`analysis.risk.rows.check_training_size`: at least
    :data:`~analysis.risk.rows.MIN_TRAINING_POLICIES` distinct policies in the training rows and
    :data:`~analysis.risk.rows.MIN_TRAINING_EVENTS` of them leaving within the horizon), so a
    handful of policies never yields a one-tree model whose SHAP values and scores mean nothing.

    Raises
    ------
    ExtractError
        ``too_small`` (reason ``risk_model``) below either minimum; the errors of
        :func:`fit_lapse_model` otherwise.
    """
    report = progress or (lambda fraction, stage: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report(0.0, "rows")
    rows = training_rows(
        policies,
        as_of=training_dates(policies, study_date, options),
        horizon_months=options.horizon_months,
        extra_features=options.extra_features,
        max_rows=options.max_training_rows,
        random_state=options.random_state,
        payments=payments,
        draw=draw,
    )
    timings["rows"] = time.perf_counter() - started
    check_training_size(rows, horizon_months=options.horizon_months)
    report(0.1, "training")
    mark = time.perf_counter()
    model = fit_lapse_model(rows, random_state=options.random_state, threads=options.threads, progress=report)
    timings["training"] = time.perf_counter() - mark
    mark = time.perf_counter()
    scores = scoring_rows(policies, study_date, extra_features=options.extra_features, payments=payments)
    scores["probability"] = model.probability(scores)
    timings["scoring"] = time.perf_counter() - mark
    report(0.9, "explaining")
    mark = time.perf_counter()
    population = "in_force" if len(scores) else "holdout"
    explained_rows = scores if len(scores) else rows[rows["as_of"] == rows["as_of"].max()]
    explained = explain_rows(model, explained_rows, sample=options.explain_sample, random_state=options.random_state)
    timings["explaining"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    report(1.0, "done")
    return RiskResult(model, scores, explained, options, pd.Timestamp(study_date), timings, population, payments is not None)


def default_risk(
    policies: pd.DataFrame, study_date: pd.Timestamp, progress: Progress | None = None, *, payments: Payments | None = None
) -> RiskResult:
    """The risk model with every user column that does not look recorded after the fact (the default features).

    ``payments``: a payment history whose behaviour joins the features (:func:`build_risk`).
    """
    # Without payments no payments argument (callers that stand in for build_risk need not take one).
    extra: dict[str, Payments] = {} if payments is None else {"payments": payments}
    choices = feature_choices(policies, study_date)
    return build_risk(policies, study_date, choices.options(), progress, draw=choices.draw, **extra)
