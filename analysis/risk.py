"""Lapse-risk training data: rows taken at past as-of dates, with only what was known then.

Issue [5/7] builds its model on this. For an as-of date A, the rows are the policies in
force at A (issued by A, not yet exited, not suspended at A). The target is a voluntary
exit (lapse, surrender, termination after lapse; a reinstated policy's lapse episode
counts) within the ``horizon`` months after A. A policy that leaves by a competing exit
(death, maturity) inside the horizon is left out of that as-of date: its outcome is
unknown. Features are those known at A: the policy year at A, the age at A, premium,
payment frequency, auto-debit, channel, product, income, occupation, gender, branch and
whether the policy was reinstated before A. Nothing dated after A (status, status date,
paid-to date) is a feature, which the tests check by changing the future.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.calendar import add_months, as_days, whole_months
from analysis.errors import ExtractError
from analysis.exposure import event_dates

#: Static features taken as they are (when the extract has them).
STATIC_FEATURES = (S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.INCOME, S.OCCUPATION, S.GENDER, S.BRANCH)
ALL_EXITS = frozenset(S.EXIT_STATUSES)


def as_of_dates(study_date: pd.Timestamp, *, horizon_months: int = 12, step_months: int = 6, count: int = 8) -> list[pd.Timestamp]:
    """Past as-of dates whose whole horizon is observed by the study date, latest first."""
    latest = pd.Timestamp(study_date) - pd.DateOffset(months=horizon_months)
    return [latest - pd.DateOffset(months=step_months * k) for k in range(count)]


def training_rows(
    policies: pd.DataFrame,
    *,
    as_of: Sequence[pd.Timestamp],
    horizon_months: int = 12,
    extra_features: Sequence[str] = (),
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

    Returns
    -------
    DataFrame
        ``[policy_id, as_of, policy_year, age, *features, reinstated_before, lapsed_within]``.
    """
    missing = [c for c in extra_features if c not in policies.columns]
    if missing:
        raise ExtractError(f"No column {missing[0]!r} in the policies.", code="missing_column", column=missing[0])
    issue = as_days(policies[S.ISSUE_DATE])
    exit_day, _ = event_dates(policies, ALL_EXITS)
    voluntary_day, voluntary = event_dates(policies, S.VOLUNTARY_EXITS)
    nat = np.full(len(policies), np.datetime64("NaT"), dtype="datetime64[D]")
    reinstated_day = as_days(policies[S.REINSTATEMENT_DATE]) if S.REINSTATEMENT_DATE in policies else nat
    lapse_day = as_days(policies[S.LAPSE_DATE]) if S.LAPSE_DATE in policies else nat
    is_reinstated = (policies[S.STATUS] == S.REINSTATED).to_numpy(dtype=bool)
    age = pd.to_numeric(policies[S.AGE], errors="coerce").to_numpy(dtype=float) if S.AGE in policies else np.full(len(policies), np.nan)
    frames = []
    for date in as_of:
        day = np.datetime64(pd.Timestamp(date).date(), "D")
        end = add_months(np.array([day]), horizon_months)[0]
        # In force at A: issued by A, not exited by A, and not inside a lapse episode at A.
        gone = ~np.isnat(exit_day) & (exit_day <= day) & ~is_reinstated  # reinstated: in force again
        suspended = is_reinstated & ~np.isnat(lapse_day) & (lapse_day <= day) & (np.isnat(reinstated_day) | (reinstated_day > day))
        in_force = (issue <= day) & ~gone & ~suspended
        # A reinstated policy whose lapse episode started after A "exits" then, for the target.
        target = voluntary & ~np.isnat(voluntary_day) & (voluntary_day > day) & (voluntary_day <= end)
        competing = ~np.isnat(exit_day) & (exit_day > day) & (exit_day <= end) & ~target
        keep = in_force & ~competing
        if not keep.any():
            continue
        years = whole_months(issue[keep], np.full(int(keep.sum()), day)) // 12
        row = pd.DataFrame(
            {
                "policy_id": policies[S.POLICY_ID].to_numpy()[keep],
                "as_of": pd.Timestamp(date),
                "policy_year": years + 1,
                "age": age[keep] + years,
            }
        )
        for column in (*(c for c in STATIC_FEATURES if c in policies.columns), *extra_features):
            row[column] = policies[column].to_numpy()[keep]
        row["reinstated_before"] = (~np.isnat(reinstated_day) & (reinstated_day <= day))[keep]
        row["lapsed_within"] = target[keep]
        frames.append(row)
    if not frames:
        return pd.DataFrame(columns=["policy_id", "as_of", "policy_year", "age", "reinstated_before", "lapsed_within"])
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class RiskModel:
    """A fitted lapse-risk model with its honest holdout metrics and explanations.

    Attributes
    ----------
    metrics : dict
        ``auc``, ``pr_auc`` (average precision) and ``baseline_auc`` (a plain logistic
        regression on the same features) on the latest as-of date, held out of training;
        ``base_rate`` is the holdout's observed lapse rate.
    calibration, lift : DataFrame
        By decile of predicted risk on the holdout: mean predicted vs observed, and the
        observed rate relative to the base rate.
    importance : DataFrame
        ``[feature, mean_abs_shap, direction]`` sorted by ``mean_abs_shap`` (log-odds).
    """

    model: Any
    features: tuple[str, ...]
    categories: dict[str, list[str]]
    metrics: dict[str, float]
    calibration: pd.DataFrame
    lift: pd.DataFrame
    importance: pd.DataFrame
    holdout_as_of: pd.Timestamp
    threads: int = 1


def model_matrix(rows: pd.DataFrame, features: Sequence[str], categories: dict[str, list[str]] | None = None) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Features for LightGBM: numbers as floats, everything else as categoricals with fixed levels."""
    out = pd.DataFrame(index=rows.index)
    levels: dict[str, list[str]] = dict(categories or {})
    for feature in features:
        values = rows[feature]
        if feature not in levels and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[feature] = pd.to_numeric(values, errors="coerce").astype(float)
            continue
        text = values.astype("string").fillna("(blank)").astype(str)
        if feature not in levels:
            levels[feature] = sorted(text.unique().tolist())
        out[feature] = pd.Categorical(text, categories=levels[feature])
    return out, levels


def fit_lapse_model(rows: pd.DataFrame, *, random_state: int = 0, threads: int = 1, explain_sample: int = 20_000) -> RiskModel:
    """Gradient-boosted trees (LightGBM, native categoricals) with a time-based holdout.

    The latest as-of date is held out; the model trains on the earlier ones. Thread
    counts are explicit for training, prediction and contributions (all sessions share
    one process).
    """
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score

    if rows.empty or rows["as_of"].nunique() < 2:
        raise ExtractError("The risk model needs policies at two or more as-of dates (a longer history).", code="bad_option", detail="as-of dates")
    features = tuple(c for c in rows.columns if c not in ("policy_id", "as_of", "lapsed_within"))
    holdout_date = rows["as_of"].max()
    test = rows["as_of"] == holdout_date
    matrix, levels = model_matrix(rows, features)
    target = rows["lapsed_within"].astype(int).to_numpy()
    if target[~test.to_numpy()].sum() == 0 or target[test.to_numpy()].sum() == 0:
        raise ExtractError("There are no lapses to learn from in the training or the holdout period.", code="bad_option", detail="no events")
    model = lgb.LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=50, subsample=0.8, subsample_freq=1,
        colsample_bytree=0.9, random_state=random_state, n_jobs=threads, deterministic=True, force_row_wise=True, verbose=-1,
    )
    model.fit(matrix[~test], target[~test.to_numpy()])
    probability = np.asarray(model.predict_proba(matrix[test], num_threads=threads))[:, 1]
    observed = target[test.to_numpy()]
    numeric = [f for f in features if f not in levels]
    baseline_x = pd.get_dummies(matrix[[f for f in features if f in levels]], dummy_na=False).astype(float)
    for f in numeric:
        column = matrix[f]
        baseline_x[f] = (column.fillna(column.median()) - column.mean()) / (column.std() or 1.0)
    baseline = LogisticRegression(max_iter=500).fit(baseline_x[~test], target[~test.to_numpy()])
    baseline_probability = baseline.predict_proba(baseline_x[test])[:, 1]
    metrics = {
        "auc": float(roc_auc_score(observed, probability)),
        "pr_auc": float(average_precision_score(observed, probability)),
        "baseline_auc": float(roc_auc_score(observed, baseline_probability)),
        "base_rate": float(observed.mean()),
        "train_rows": float((~test).sum()),
        "holdout_rows": float(test.sum()),
    }
    decile = pd.qcut(pd.Series(probability).rank(method="first"), 10, labels=False) + 1
    by_decile = pd.DataFrame({"decile": decile, "predicted": probability, "observed": observed}).groupby("decile").mean().reset_index()
    calibration = by_decile[["decile", "predicted", "observed"]]
    lift = by_decile.assign(lift=by_decile["observed"] / max(observed.mean(), 1e-12))[["decile", "observed", "lift"]].sort_values("decile", ascending=False)
    sample = matrix.sample(n=min(explain_sample, len(matrix)), random_state=random_state)
    contributions = explain(model, sample, threads=threads)
    importance = _importance(contributions.drop(columns="base_value"), sample)
    return RiskModel(model, features, levels, metrics, calibration.reset_index(drop=True), lift.reset_index(drop=True), importance, pd.Timestamp(holdout_date), threads)


def explain(model: Any, matrix: pd.DataFrame, *, threads: int = 1) -> pd.DataFrame:
    """SHAP values (log-odds) per feature and the base value, from LightGBM's own contributions.

    LightGBM's ``pred_contrib`` gives the same TreeSHAP values as ``shap.TreeExplainer``,
    faster; each row's values plus the base value add up to the model's raw score.
    """
    values = model.predict(matrix, pred_contrib=True, num_threads=threads)
    frame = pd.DataFrame(values[:, :-1], columns=list(matrix.columns), index=matrix.index)
    frame["base_value"] = values[:, -1]
    return frame


def _importance(contributions: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for feature in contributions.columns:
        shap_values = contributions[feature].to_numpy()
        values = matrix[feature]
        if isinstance(values.dtype, pd.CategoricalDtype):
            means = pd.Series(shap_values, index=values.index).groupby(values.astype(str), observed=True).mean()
            direction = f"highest for {means.idxmax()}" if len(means) else ""
        else:
            numbers = values.to_numpy(dtype=float)
            ok = ~np.isnan(numbers)
            corr = np.corrcoef(numbers[ok], shap_values[ok])[0, 1] if ok.sum() > 2 and np.std(numbers[ok]) > 0 else 0.0
            direction = "higher raises risk" if corr > 0 else "higher lowers risk"
        rows.append({"feature": feature, "mean_abs_shap": float(np.abs(shap_values).mean()), "direction": direction})
    return pd.DataFrame(rows).sort_values("mean_abs_shap", ascending=False).reset_index(drop=True)
