"""SHAP explanations of the lapse-risk model: per row, global importance, one policy, a cohort against the rest.

Explanations are SHAP values from LightGBM's own ``pred_contrib`` (TreeSHAP, equal to
``shap.TreeExplainer`` and faster), in log-odds; each row's values plus the base value
equal the model's raw score. For reading, they are converted to probability points by
one common factor per policy, ``(p − p_base) / (raw − base)``, so the points add up
exactly to ``p − p_base`` and keep each feature's sign and share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.risk.trees import feature_array, split_patterns, trees_of

if TYPE_CHECKING:
    from analysis.risk.model import RiskModel, RiskResult

#: Codes of a feature's direction in :func:`importance`: higher values raise / lower risk,
#: one level is the riskiest, or the model does not use the feature.
DIRECTIONS = ("up", "down", "level", "none")
#: A row whose raw score is this close to the base value takes the sigmoid's slope there.
SAME_SCORE = 1e-9
#: From this many rows on, SHAP values are computed tree by tree, once per split pattern
#: (:func:`tree_by_tree`); below it (one policy, a day's calls) one ``pred_contrib`` call is quicker.
PATTERN_MIN_ROWS = 1000
#: Rows whose split patterns (rows × trees, 8 bytes each) are held at a time.
PATTERN_BLOCK = 20_000


def explain(model: Any, matrix: pd.DataFrame, *, threads: int = 1) -> pd.DataFrame:
    """SHAP values (log-odds) per feature and the base value, from LightGBM's own contributions.

    LightGBM's ``pred_contrib`` gives the same TreeSHAP values as ``shap.TreeExplainer``,
    faster; each row's values plus the base value add up to the model's raw score. From
    :data:`PATTERN_MIN_ROWS` rows on, each tree explains only one row per split pattern
    (:func:`tree_by_tree`).
    """
    if matrix.empty:
        return pd.DataFrame(columns=[*matrix.columns, "base_value"], dtype=float)
    values = tree_by_tree(model, matrix, threads=threads) if len(matrix) >= PATTERN_MIN_ROWS else None
    if values is None:
        values = model.predict(matrix, pred_contrib=True, num_threads=threads)
    frame = pd.DataFrame(values[:, :-1], columns=list(matrix.columns), index=matrix.index)
    frame["base_value"] = values[:, -1]
    return frame


def tree_by_tree(model: Any, matrix: pd.DataFrame, *, threads: int = 1) -> np.ndarray | None:
    """``pred_contrib`` tree by tree, TreeSHAP run once per split pattern; None when the trees cannot be read so.

    A tree's SHAP values for a row depend only on which way the row goes at each of its
    splits (TreeSHAP follows the row's branch at every split and weighs the other by the
    training counts), so rows with the same split pattern in a tree get the same values:
    LightGBM explains one row per pattern (``start_iteration=t, num_iteration=1``) and the
    values go to every row with that pattern. The 15-leaf trees of the risk model have about
    1,000 patterns among 20,000 policies, so TreeSHAP runs about 20 times less. The values
    are the same terms summed tree by tree rather than leaf by leaf: equal to
    ``pred_contrib``'s within 1e-14 (the tests check 1e-12).
    """
    trees = trees_of(model)
    x = None if trees is None else feature_array(matrix, model.booster_.pandas_categorical)
    if trees is None or x is None or x.shape[1] != trees.features:
        return None
    out = np.zeros((len(x), trees.features + 1))
    for start in range(0, len(x), PATTERN_BLOCK):
        block = x[start : start + PATTERN_BLOCK]
        masks = split_patterns(trees, block, threads=threads)
        if masks is None:
            return None
        for t in range(masks.shape[1]):
            _, first, inverse = np.unique(masks[:, t], return_index=True, return_inverse=True)
            # One thread: a few hundred rows per call, where a second thread costs more than it saves.
            found = model.booster_.predict(block[first], start_iteration=t, num_iteration=1, pred_contrib=True, num_threads=1)
            out[start : start + len(block)] += found[inverse]
    return out


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
        scale = np.where(np.abs(gap) > SAME_SCORE, (p - p_base) / gap, slope)
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


def _direction(values: pd.Series, shap_values: np.ndarray) -> tuple[str, str]:
    """``(kind, level)`` of one feature: see :func:`importance`."""
    if not np.any(shap_values):
        return "none", ""  # the model does not use it: no direction to state
    if isinstance(values.dtype, pd.CategoricalDtype):
        means = pd.Series(shap_values, index=values.index).groupby(values.astype(str), observed=True).mean()
        return ("level", str(means.idxmax())) if len(means) else ("none", "")
    numbers = values.to_numpy(dtype=float)
    ok = ~np.isnan(numbers)
    varies = ok.sum() > 2 and np.std(numbers[ok]) > 0 and np.std(shap_values[ok]) > 0
    corr = np.corrcoef(numbers[ok], shap_values[ok])[0, 1] if varies else 0.0
    return ("up" if corr > 0 else "down"), ""


def importance(contributions: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """``[feature, mean_abs_shap, direction_kind, direction_level]`` by mean |SHAP| (log-odds).

    ``direction_kind`` is a code of :data:`DIRECTIONS`: ``up`` / ``down`` for numbers
    (the sign of the correlation of value and SHAP value: higher raises / lowers risk),
    ``level`` for categories with the riskiest level in ``direction_level``, ``none`` for a
    feature the model does not use. The words are the caller's
    (:func:`analysis.risk.words.direction_text`).
    """
    rows = []
    for feature in contributions.columns:
        if feature == "base_value":
            continue
        shap_values = contributions[feature].to_numpy()
        kind, level = _direction(matrix[feature], shap_values)
        rows.append(
            {"feature": feature, "mean_abs_shap": float(np.abs(shap_values).mean()), "direction_kind": kind, "direction_level": level}
        )
    columns = ["feature", "mean_abs_shap", "direction_kind", "direction_level"]
    return pd.DataFrame(rows, columns=columns).sort_values("mean_abs_shap", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class PolicyExplanation:
    """One policy's risk and why: ``table`` is ``[feature, value, shap, points]`` by |points|."""

    policy_id: str
    probability: float
    base_probability: float
    table: pd.DataFrame


def explain_policy(result: RiskResult, policy_id: str) -> PolicyExplanation:
    """The waterfall of one in-force policy, on demand (one row through ``pred_contrib``).

    Raises
    ------
    ExtractError
        ``not_in_force`` when the policy is not among the scored (in-force) policies.
    """
    rows = result.scores[result.scores["policy_id"].astype(str) == str(policy_id)]
    if rows.empty:
        raise ExtractError("not_in_force", policy=str(policy_id))
    return explain_row(result, rows.iloc[[0]])


def explain_row(result: RiskResult, row: pd.DataFrame) -> PolicyExplanation:
    """The waterfall of one scored row (a one-row slice of ``result.scores``, found by its index: no scan)."""
    policy_id = row["policy_id"].iloc[0]
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
