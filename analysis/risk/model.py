"""The lapse-risk model: training rows at past as-of dates, LightGBM, SHAP explanations.

**Target** (stated on the page): the probability that a policy in force at a date leaves
by a voluntary exit — lapse (suspension for non-payment), surrender, or termination after
lapse; a reinstated policy's lapse episode counts — within the ``horizon`` months after
that date (12 by default).

**Training rows.** For an as-of date A, the rows are the policies in force at A (issued
by A, not yet exited, not suspended at A). A policy that leaves by a competing exit
(death, maturity, free-look cancellation) inside the horizon is left out of that as-of
date: its outcome is unknown. Features are those known at A: the policy year at A, the
age at A, premium, premium to income (when income is a number), payment frequency,
auto-debit, channel, product, income, occupation, gender, branch, whether the policy was
and the user's own columns. (Whether a policy was reinstated before A is not a feature: a
snapshot extract keeps the reinstatement date only for policies still reinstated on the
study date, so it would leak that they did not lapse again.) Nothing dated after A (status, status
date, paid-to date) is a feature, which the tests check by changing the future.

**Validation.** The latest as-of date is held out (a time-based holdout); the model
trains on the earlier ones, with early stopping on 15 % of the *policies* of the
training dates (grouped by policy, so a policy seen at two dates never sits on both
sides). A plain logistic regression on the same features is the honest baseline.

**Explanations** are SHAP values from LightGBM's own ``pred_contrib`` (TreeSHAP, equal to
``shap.TreeExplainer`` and faster), in log-odds; each row's values plus the base value
equal the model's raw score. For reading, they are converted to probability points by
one common factor per policy, ``(p − p_base) / (raw − base)``, so the points add up
exactly to ``p − p_base`` and keep each feature's sign and share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.study.calendar import add_months, as_days, whole_months
from analysis.study.exposure import event_dates

#: Static features taken as they are (when the extract has them).
STATIC_FEATURES = (S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.INCOME, S.OCCUPATION, S.GENDER, S.BRANCH)
ALL_EXITS = frozenset(S.EXIT_STATUSES)
#: Features computed at the as-of date.
POLICY_YEAR = "policy_year"
PREMIUM_TO_INCOME = "premium_to_income"
TARGET = "lapsed_within"
#: Columns of the training rows that are not features.
ROW_KEYS = ("policy_id", "as_of", TARGET)
#: Codes that are categories, not quantities (a payment every 12 months is not "more" than every 1).
CATEGORICAL_CODES = frozenset({S.PAYMENT_FREQUENCY})
#: A user column is offered as a feature when it has at most this many distinct values.
MAX_LEVELS = 50

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RiskOptions:
    """How the model is built; every default is stated on the page.

    ``max_training_rows`` caps the rows (policy × as-of date) the trees learn from, drawn
    at random with ``random_state``; ``explain_sample`` is the number of in-force policies
    whose SHAP values feed the global views.
    """

    horizon_months: int = 12
    step_months: int = 6
    as_of_count: int = 8
    extra_features: tuple[str, ...] = ()
    max_training_rows: int = 500_000
    explain_sample: int = 20_000
    threads: int = 2
    random_state: int = 0


def as_of_dates(study_date: pd.Timestamp, *, horizon_months: int = 12, step_months: int = 6, count: int = 8) -> list[pd.Timestamp]:
    """Past as-of dates whose whole horizon is observed by the study date, latest first."""
    latest = pd.Timestamp(study_date) - pd.DateOffset(months=horizon_months)
    return [latest - pd.DateOffset(months=step_months * k) for k in range(count)]


def observation_end(policies: pd.DataFrame, study_date: pd.Timestamp) -> pd.Timestamp:
    """The last day by which (nearly) the whole book is observed: the study date, or earlier.

    Experience-study extracts (such as the CASdatasets books) censor in-force policies at
    their own observation end (``observed_to``), spread over a few weeks; the as-of dates
    count back from the day 95 % of those policies are still observed, so the latest
    window does not lose its in-force policies to censoring.
    """
    if S.OBSERVED_TO in policies and policies[S.OBSERVED_TO].notna().any():
        return min(pd.Timestamp(study_date), pd.Timestamp(policies[S.OBSERVED_TO].quantile(0.05)).normalize())
    return pd.Timestamp(study_date)


def candidate_features(policies: pd.DataFrame) -> list[str]:
    """The user's own columns that can be features: kept attributes with 2..50 distinct values."""
    known = {*S.CANONICAL_COLUMNS, "status_source", "source_row", S.LAPSE_DATE, "coverage"}
    out = []
    for column in policies.columns:
        if column in known or pd.api.types.is_datetime64_any_dtype(policies[column]):
            continue
        levels = policies[column].nunique(dropna=True)
        if 2 <= levels <= MAX_LEVELS:
            out.append(str(column))
    return out


def suspected_leaks(
    policies: pd.DataFrame, study_date: pd.Timestamp, columns: Sequence[str], options: RiskOptions = RiskOptions()
) -> list[str]:
    """User columns whose values look recorded after the fact, so they would leak the future.

    A column is suspect when one of its values (blank included) is held by at least 10 %
    of the policies still in force at the latest as-of date but by under a fifth as many,
    proportionally, of the policies that had already left by a voluntary exit before the
    earliest one ("any non-blank value" counts as a value) — a value only survivors get, such as a campaign
    arm assigned to the policies in force on a later day — or the other way round, a value
    only the early exits hold (an outcome flag such as ``surrender = 1``). A real driver
    shifts the mix; it does not vanish from one side. A column is also suspect when one of
    its values, held by at least 200 training rows and 1 % of them, is never (or always)
    followed by a lapse within the horizon while the book does lapse: an outcome in disguise
    (``death = 1``).
    """
    dates = as_of_dates(
        observation_end(policies, study_date),
        horizon_months=options.horizon_months,
        step_months=options.step_months,
        count=options.as_of_count,
    )
    book = _Book.of(policies)
    earliest = np.datetime64(min(dates).date(), "D")
    latest = np.datetime64(max(dates).date(), "D")
    early_exits = book.voluntary & ~np.isnat(book.voluntary_day) & (book.voluntary_day <= earliest) & ~book.is_reinstated
    survivors = book.in_force(latest) & (book.issue <= earliest)
    if early_exits.sum() < 30 or survivors.sum() < 30:
        return []
    suspects = []
    for column in columns:
        text = policies[column].astype("string").fillna("(blank)")
        among_survivors = text[survivors].value_counts(normalize=True)
        among_exits = text[early_exits].value_counts(normalize=True)
        # Any non-blank value counts as one more level: a flag set only for survivors.
        among_survivors["(any value)"] = 1.0 - among_survivors.get("(blank)", 0.0)
        among_exits["(any value)"] = 1.0 - among_exits.get("(blank)", 0.0)
        # Either way round: a value only survivors hold, or one only the early exits hold
        # (an outcome flag such as "surrender = 1").
        one_sided = any(share >= 0.1 and among_exits.get(level, 0.0) < share / 5 for level, share in among_survivors.items())
        one_sided |= any(share >= 0.1 and among_survivors.get(level, 0.0) < share / 5 for level, share in among_exits.items())
        if one_sided:
            suspects.append(column)
    # A value whose policies never (or always) lapse in the training windows, though the
    # book lapses: an outcome in disguise (a "death = 1" flag is never followed by a lapse).
    rest = [c for c in columns if c not in suspects]
    if rest:
        rows = training_rows(
            policies,
            as_of=dates,
            horizon_months=options.horizon_months,
            extra_features=rest,
            max_rows=200_000,
            random_state=options.random_state,
        )
        overall = float(rows[TARGET].mean()) if len(rows) else 0.0
        if 0.01 <= overall <= 0.99:
            for column in rest:
                by_level = rows.groupby(rows[column].astype("string").fillna("(blank)"), observed=True)[TARGET].agg(["size", "mean"])
                pure = by_level[(by_level["size"] >= max(200, 0.01 * len(rows))) & ((by_level["mean"] == 0.0) | (by_level["mean"] == 1.0))]
                if len(pure) and len(by_level) > 1:
                    suspects.append(column)
    return [c for c in columns if c in suspects]


@dataclass(frozen=True)
class _Book:
    """Per-policy day arrays the row builders share."""

    issue: np.ndarray
    exit_day: np.ndarray
    voluntary_day: np.ndarray
    voluntary: np.ndarray
    reinstated_day: np.ndarray
    lapse_day: np.ndarray
    is_reinstated: np.ndarray
    age: np.ndarray
    observed: np.ndarray

    @classmethod
    def of(cls, policies: pd.DataFrame) -> _Book:
        nat = np.full(len(policies), np.datetime64("NaT"), dtype="datetime64[D]")
        exit_day, _ = event_dates(policies, ALL_EXITS)
        voluntary_day, voluntary = event_dates(policies, S.VOLUNTARY_EXITS)
        age = pd.to_numeric(policies[S.AGE], errors="coerce").to_numpy(dtype=float) if S.AGE in policies else np.full(len(policies), np.nan)
        return cls(
            issue=as_days(policies[S.ISSUE_DATE]),
            exit_day=exit_day,
            voluntary_day=voluntary_day,
            voluntary=voluntary,
            reinstated_day=as_days(policies[S.REINSTATEMENT_DATE]) if S.REINSTATEMENT_DATE in policies else nat,
            lapse_day=as_days(policies[S.LAPSE_DATE]) if S.LAPSE_DATE in policies else nat,
            is_reinstated=(policies[S.STATUS] == S.REINSTATED).to_numpy(dtype=bool),
            age=age,
            observed=as_days(policies[S.OBSERVED_TO]) if S.OBSERVED_TO in policies else nat,
        )

    def in_force(self, day: np.datetime64) -> np.ndarray:
        """Issued by ``day``, not exited by it, not inside a lapse episode on it, and observed on it.

        A policy whose observation ends (``observed_to``, a right-censoring date) before
        ``day`` is not known to be in force then.
        """
        gone = ~np.isnat(self.exit_day) & (self.exit_day <= day) & ~self.is_reinstated  # reinstated: in force again
        suspended = (
            self.is_reinstated
            & ~np.isnat(self.lapse_day)
            & (self.lapse_day <= day)
            & (np.isnat(self.reinstated_day) | (self.reinstated_day > day))
        )
        unobserved = ~np.isnat(self.observed) & (self.observed < day)
        return np.asarray((self.issue <= day) & ~gone & ~suspended & ~unobserved)


def _features(policies: pd.DataFrame, book: _Book, positions: np.ndarray, days: np.ndarray, extra_features: Sequence[str]) -> pd.DataFrame:
    """The known-then features of the policies at ``positions`` on ``days`` (one day per row)."""
    years = whole_months(book.issue[positions], days) // 12
    out = pd.DataFrame(
        {"policy_id": policies[S.POLICY_ID].to_numpy()[positions], POLICY_YEAR: years + 1, S.AGE: book.age[positions] + years}
    )
    for column in (*(c for c in STATIC_FEATURES if c in policies.columns), *extra_features):
        out[column] = policies[column].iloc[positions].reset_index(drop=True)
    if S.ANNUAL_PREMIUM in policies and S.INCOME in policies and pd.api.types.is_numeric_dtype(policies[S.INCOME]):
        income = pd.to_numeric(policies[S.INCOME], errors="coerce").to_numpy(dtype=float)[positions]
        premium = policies[S.ANNUAL_PREMIUM].to_numpy(dtype=float)[positions]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[PREMIUM_TO_INCOME] = np.where(income > 0, premium / income, np.nan)
    # No "reinstated before" feature: a snapshot extract keeps the reinstatement date only
    # for policies still reinstated on the study date, so the flag would mean "did not lapse again".
    return out


def training_rows(
    policies: pd.DataFrame,
    *,
    as_of: Sequence[pd.Timestamp],
    horizon_months: int = 12,
    extra_features: Sequence[str] = (),
    max_rows: int | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per policy in force at each as-of date, with its features then and its outcome.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    as_of : sequence of Timestamp
        The dates the rows are taken at (see :func:`as_of_dates`).
    horizon_months : int
        The target window after each as-of date.
    extra_features : sequence of str
        The user's own columns to add as features; only columns whose values were known
        at the as-of date belong here (the caller's responsibility).
    max_rows : int, optional
        Keep at most this many rows, drawn at random (``random_state``) before the
        features are built.

    Returns
    -------
    DataFrame
        ``[policy_id, policy_year, age, *features, as_of, lapsed_within]``.
    """
    missing = [c for c in extra_features if c not in policies.columns]
    if missing:
        raise ExtractError(f"No column {missing[0]!r} in the policies.", code="missing_column", column=missing[0])
    book = _Book.of(policies)
    positions, days, targets = [], [], []
    for date in as_of:
        day = np.datetime64(pd.Timestamp(date).date(), "D")
        end = add_months(np.array([day]), horizon_months)[0]
        # A reinstated policy whose lapse episode started after A "exits" then, for the target.
        target = book.voluntary & ~np.isnat(book.voluntary_day) & (book.voluntary_day > day) & (book.voluntary_day <= end)
        competing = ~np.isnat(book.exit_day) & (book.exit_day > day) & (book.exit_day <= end) & ~target
        # Observation ending inside the window without a lapse: the outcome is unknown.
        censored = ~np.isnat(book.observed) & (book.observed < end) & ~target
        keep = np.flatnonzero(book.in_force(day) & ~competing & ~censored)
        positions.append(keep)
        days.append(np.full(len(keep), day))
        targets.append(target[keep])
    position = np.concatenate(positions) if positions else np.array([], dtype=int)
    day_of = np.concatenate(days) if days else np.array([], dtype="datetime64[D]")
    outcome = np.concatenate(targets) if targets else np.array([], dtype=bool)
    if max_rows is not None and len(position) > max_rows:
        chosen = np.sort(np.random.default_rng(random_state).choice(len(position), size=max_rows, replace=False))
        position, day_of, outcome = position[chosen], day_of[chosen], outcome[chosen]
    rows = _features(policies, book, position, day_of, extra_features)
    rows["as_of"] = pd.to_datetime(day_of).astype("datetime64[ns]")
    rows[TARGET] = outcome
    return rows


def scoring_rows(policies: pd.DataFrame, study_date: pd.Timestamp, *, extra_features: Sequence[str] = ()) -> pd.DataFrame:
    """The features of every policy in force on the study date (in grace, APL and reinstated included).

    The index is the policies' index, so scores join back to the policies.
    """
    book = _Book.of(policies)
    day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    positions = np.flatnonzero(book.in_force(day))
    rows = _features(policies, book, positions, np.full(len(positions), day), extra_features)
    rows.index = policies.index[positions]
    return rows


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
        """P(voluntary exit within the horizon) for each row."""
        if rows.empty:
            return np.array([], dtype=float)
        return np.asarray(self.model.predict_proba(self.matrix(rows), num_threads=self.threads))[:, 1]


def model_matrix(
    rows: pd.DataFrame, features: Sequence[str], categories: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Features for LightGBM: numbers as floats, everything else as categoricals with fixed levels.

    Levels unseen in training become missing (LightGBM sends them down the default branch).
    """
    out = pd.DataFrame(index=rows.index)
    levels: dict[str, list[str]] = dict(categories or {})
    for feature in features:
        values = rows[feature]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and feature not in CATEGORICAL_CODES
        if feature not in levels and numeric:
            out[feature] = pd.to_numeric(values, errors="coerce").astype(float)
            continue
        text = values.astype("string").fillna("(blank)").astype(str)
        if feature not in levels:
            levels[feature] = sorted(text.unique().tolist())
        out[feature] = pd.Categorical(text, categories=levels[feature])
    return out, levels


def fit_lapse_model(
    rows: pd.DataFrame,
    *,
    random_state: int = 0,
    threads: int = 1,
    progress: Progress | None = None,
    max_trees: int = 300,
) -> RiskModel:
    """Gradient-boosted trees (LightGBM, native categoricals) with a time-based holdout.

    The latest as-of date is held out; the model trains on the earlier ones and stops
    adding trees when the log-loss on 15 % of the training policies (grouped by policy)
    stops improving for 50 rounds. Thread counts are explicit for training and
    prediction (all sessions share one process).
    """
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score

    report = progress or (lambda fraction, stage: None)
    if rows.empty or rows["as_of"].nunique() < 2:
        raise ExtractError(
            "The risk model needs policies at two or more as-of dates (a longer history).", code="bad_option", detail="as-of dates"
        )
    # A feature with no values or a single value carries no information.
    features = tuple(c for c in rows.columns if c not in ROW_KEYS and rows[c].nunique(dropna=True) > 1)
    if not features:
        raise ExtractError(
            "No column varies between policies, so there is nothing to learn lapse risk from.", code="bad_option", detail="features"
        )
    holdout_date = rows["as_of"].max()
    test = (rows["as_of"] == holdout_date).to_numpy()
    matrix, levels = model_matrix(rows, features)
    target = rows[TARGET].astype(int).to_numpy()
    if target[~test].sum() == 0 or target[test].sum() == 0 or target[test].all() or target[~test].all():
        raise ExtractError(
            "The training or the holdout period has only lapses or no lapses at all, so the model cannot be learned or checked.",
            code="bad_option",
            detail="no events",
        )
    bucket = pd.util.hash_array(rows["policy_id"].astype(str).to_numpy(dtype=object)) % 100
    validation = ~test & (bucket < 15)
    train = ~test & ~validation
    if target[validation].sum() == 0 or target[train].sum() == 0:
        validation, train = np.zeros_like(test), ~test

    def tick(env: Any) -> None:
        report(0.1 + 0.7 * (env.iteration + 1) / max_trees, "training")

    model = lgb.LGBMClassifier(
        n_estimators=max_trees,
        learning_rate=0.07,
        num_leaves=15,
        max_depth=6,
        min_child_samples=200,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.9,
        random_state=random_state,
        n_jobs=threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    callbacks: list[Any] = [tick]
    fit_kwargs: dict[str, Any] = {}
    if validation.any():
        callbacks.append(lgb.early_stopping(50, verbose=False))
        fit_kwargs = {"eval_X": (matrix[validation],), "eval_y": (target[validation],)}
    model.fit(matrix[train], target[train], callbacks=callbacks, **fit_kwargs)
    report(0.8, "validating")
    probability = np.asarray(model.predict_proba(matrix[test], num_threads=threads))[:, 1]
    observed = target[test]
    numeric = [f for f in features if f not in levels]
    baseline_x = pd.get_dummies(matrix[[f for f in features if f in levels]], dummy_na=False).astype(float)
    for f in numeric:
        column = matrix[f]
        if column.notna().sum() == 0:
            continue  # nothing known: no information for the baseline
        std = column.std()
        filled = column.fillna(column.median())
        baseline_x[f] = (filled - filled.mean()) / (std if std and np.isfinite(std) else 1.0)
    baseline = LogisticRegression(max_iter=500).fit(baseline_x[~test], target[~test])
    baseline_probability = baseline.predict_proba(baseline_x[test])[:, 1]
    metrics = {
        "auc": float(roc_auc_score(observed, probability)),
        "pr_auc": float(average_precision_score(observed, probability)),
        "baseline_auc": float(roc_auc_score(observed, baseline_probability)),
        "baseline_pr_auc": float(average_precision_score(observed, baseline_probability)),
        "base_rate": float(observed.mean()),
        "train_rows": float(train.sum()),
        "validation_rows": float(validation.sum()),
        "holdout_rows": float(test.sum()),
        "trees": float(model.booster_.num_trees()),
    }
    decile = pd.qcut(pd.Series(probability).rank(method="first"), 10, labels=False) + 1
    by_decile = pd.DataFrame({"decile": decile, "predicted": probability, "observed": observed}).groupby("decile").mean().reset_index()
    calibration = by_decile[["decile", "predicted", "observed"]]
    lift = by_decile.assign(lift=by_decile["observed"] / max(observed.mean(), 1e-12))[["decile", "observed", "lift"]].sort_values(
        "decile", ascending=False
    )
    report(0.85, "validating")
    return RiskModel(
        model,
        features,
        levels,
        metrics,
        calibration.reset_index(drop=True),
        lift.reset_index(drop=True),
        pd.Timestamp(holdout_date),
        threads,
    )


def explain(model: Any, matrix: pd.DataFrame, *, threads: int = 1) -> pd.DataFrame:
    """SHAP values (log-odds) per feature and the base value, from LightGBM's own contributions.

    LightGBM's ``pred_contrib`` gives the same TreeSHAP values as ``shap.TreeExplainer``,
    faster; each row's values plus the base value add up to the model's raw score.
    """
    if matrix.empty:
        return pd.DataFrame(columns=[*matrix.columns, "base_value"], dtype=float)
    values = model.predict(matrix, pred_contrib=True, num_threads=threads)
    frame = pd.DataFrame(values[:, :-1], columns=list(matrix.columns), index=matrix.index)
    frame["base_value"] = values[:, -1]
    return frame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def probability_points(contributions: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """SHAP log-odds turned into probability points that add up exactly.

    Returns ``(points, base_probability, probability)``: per row, ``base_probability +
    points.sum(axis=1) == probability``. Each row's log-odds values are scaled by one
    factor ``(p − p_base) / (raw − base)`` (the sigmoid's slope where the raw score equals
    the base, when they coincide).
    """
    values = contributions.drop(columns="base_value")
    base = contributions["base_value"].to_numpy(dtype=float)
    raw = base + values.sum(axis=1).to_numpy(dtype=float)
    p_base, p = _sigmoid(base), _sigmoid(raw)
    gap = raw - base
    slope = p_base * (1 - p_base)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(np.abs(gap) > 1e-9, (p - p_base) / gap, slope)
    return values.mul(scale, axis=0), p_base, p


@dataclass(frozen=True)
class Explained:
    """SHAP values for a sample of policies: the features as the model saw them and their contributions."""

    matrix: pd.DataFrame
    contributions: pd.DataFrame
    importance: pd.DataFrame


def explain_rows(model: RiskModel, rows: pd.DataFrame, *, sample: int | None = 20_000, random_state: int = 0) -> Explained:
    """SHAP values for (a random sample of) ``rows`` and the global importance they give."""
    chosen = rows if sample is None or len(rows) <= sample else rows.sample(n=sample, random_state=random_state)
    matrix = model.matrix(chosen)
    contributions = explain(model.model, matrix, threads=model.threads)
    return Explained(matrix, contributions, importance(contributions, matrix))


def importance(contributions: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """``[feature, mean_abs_shap, direction, direction_kind, direction_level]`` by mean |SHAP| (log-odds).

    ``direction`` is ``higher raises risk`` / ``higher lowers risk`` for numbers (the sign of
    the correlation of value and SHAP value) and ``highest for <level>`` for categories,
    empty for a feature the model does not use; ``direction_kind`` (up, down, level, none)
    and ``direction_level`` say the same for translation.
    """
    rows = []
    for feature in contributions.columns:
        if feature == "base_value":
            continue
        shap_values = contributions[feature].to_numpy()
        values = matrix[feature]
        kind, level = "none", ""
        if not np.any(shap_values):
            pass  # the model does not use it: no direction to state
        elif isinstance(values.dtype, pd.CategoricalDtype):
            means = pd.Series(shap_values, index=values.index).groupby(values.astype(str), observed=True).mean()
            if len(means):
                kind, level = "level", str(means.idxmax())
        else:
            numbers = values.to_numpy(dtype=float)
            ok = ~np.isnan(numbers)
            corr = (
                np.corrcoef(numbers[ok], shap_values[ok])[0, 1]
                if ok.sum() > 2 and np.std(numbers[ok]) > 0 and np.std(shap_values[ok]) > 0
                else 0.0
            )
            kind = "up" if corr > 0 else "down"
        direction = {"none": "", "level": f"highest for {level}", "up": "higher raises risk", "down": "higher lowers risk"}[kind]
        rows.append(
            {
                "feature": feature,
                "mean_abs_shap": float(np.abs(shap_values).mean()),
                "direction": direction,
                "direction_kind": kind,
                "direction_level": level,
            }
        )
    columns = ["feature", "mean_abs_shap", "direction", "direction_kind", "direction_level"]
    return pd.DataFrame(rows, columns=columns).sort_values("mean_abs_shap", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class PolicyExplanation:
    """One policy's risk and why: ``table`` is ``[feature, value, shap, points]`` by |points|."""

    policy_id: str
    probability: float
    base_probability: float
    table: pd.DataFrame


def explain_policy(result: RiskResult, policy_id: str) -> PolicyExplanation:
    """The waterfall of one in-force policy, on demand (one row through ``pred_contrib``)."""
    rows = result.scores[result.scores["policy_id"].astype(str) == str(policy_id)]
    if rows.empty:
        raise ExtractError(f"Policy {policy_id!r} is not in force on the study date.", code="not_in_force", policy=str(policy_id))
    row = rows.iloc[[0]]
    matrix = result.model.matrix(row)
    contributions = explain(result.model.model, matrix, threads=1)
    points, p_base, p = probability_points(contributions)
    table = pd.DataFrame(
        {
            "feature": list(matrix.columns),
            "value": [row.iloc[0][f] for f in matrix.columns],
            "shap": contributions.drop(columns="base_value").iloc[0].to_numpy(),
            "points": points.iloc[0].to_numpy(),
        }
    )
    table = table.reindex(table["points"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    return PolicyExplanation(str(policy_id), float(p[0]), float(p_base[0]), table)


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


def build_risk(
    policies: pd.DataFrame, study_date: pd.Timestamp, options: RiskOptions = RiskOptions(), progress: Progress | None = None
) -> RiskResult:
    """Training rows → model → today's scores → SHAP on a sample, reporting progress from 0 to 1."""
    report = progress or (lambda fraction, stage: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report(0.0, "rows")
    dates = as_of_dates(
        observation_end(policies, study_date),
        horizon_months=options.horizon_months,
        step_months=options.step_months,
        count=options.as_of_count,
    )
    rows = training_rows(
        policies,
        as_of=dates,
        horizon_months=options.horizon_months,
        extra_features=options.extra_features,
        max_rows=options.max_training_rows,
        random_state=options.random_state,
    )
    timings["rows"] = time.perf_counter() - started
    report(0.1, "training")
    mark = time.perf_counter()
    model = fit_lapse_model(rows, random_state=options.random_state, threads=options.threads, progress=report)
    timings["training"] = time.perf_counter() - mark
    mark = time.perf_counter()
    scores = scoring_rows(policies, study_date, extra_features=options.extra_features)
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
    return RiskResult(model, scores, explained, options, pd.Timestamp(study_date), timings, population)


def shap_by_cohort(explained: Explained, member: pd.Series) -> pd.DataFrame:
    """Mean SHAP value per feature, in probability points, inside a cohort and outside it.

    ``member`` is a boolean Series on the policies' index; returns ``[feature, in, rest,
    difference]`` sorted by the size of the difference, with the policy counts in ``attrs``.
    """
    points, _, _ = probability_points(explained.contributions)
    inside = member.reindex(points.index).fillna(False).astype(bool).to_numpy()
    table = pd.DataFrame({"feature": points.columns, "in": points[inside].mean().to_numpy(), "rest": points[~inside].mean().to_numpy()})
    table["difference"] = table["in"] - table["rest"]
    table = table.reindex(table["difference"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    table.attrs["counts"] = (int(inside.sum()), int((~inside).sum()))
    return table
