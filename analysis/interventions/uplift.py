"""Who a campaign helped: uplift by a T-learner, its Qini curve, and measured uplift by segment.

*Uplift by segment*: a T-learner — one logistic regression of lapse within the window on
the covariates per arm — predicts each policy's uplift ``P(lapse | control) −
P(lapse | treated)`` out of fold (5-fold cross-fitting, so no policy is scored by a model
that saw it). The Qini curve orders policies by predicted uplift; segments (each level of
each covariate, numbers in quartiles) get their measured and predicted uplift and a
recommendation: ``target`` (persuadables: measured uplift whose 95 % interval is above 0),
``leave_alone`` (the measured and the predicted uplift are both zero or negative: contacts
there buy nothing, or even raise lapse), ``unclear`` otherwise. ``harmful`` marks the
sleeping dogs proper: segments whose whole interval is below 0. Segments need 100
policies in each arm; with a homogeneous effect (the sample's HR 0.75 everywhere) the
riskier segments show the larger uplift, and a segment called ``leave_alone`` on a
small negative point estimate is weak evidence — the interval says how weak.

The interval of a difference of two lapse proportions is Newcombe's hybrid score interval
(:func:`newcombe_difference`, his method 10: the Wilson limits of each arm combined), which
keeps its coverage near 95 % for small lapse rates where the Wald interval does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.interventions.arms import TREATED
from analysis.study.cohorts import quantile_band
from analysis.study.rates import Z95, wilson_interval
from analysis.survival.cox import design_matrix

#: A segment needs at least this many policies in each arm for the uplift table.
MIN_SEGMENT = 100
#: Cross-fitting folds of the T-learner.
FOLDS = 5
#: Points of the Qini curve (shares 0, 1/points, …, 1).
QINI_POINTS = 100
#: Recommendations of :func:`uplift_segments`.
RECOMMENDATIONS = ("target", "leave_alone", "unclear")


def newcombe_difference(lapses_a: int, n_a: int, lapses_b: int, n_b: int, *, z: float = Z95) -> tuple[float, float, float]:
    """``p_a − p_b`` with Newcombe's hybrid score interval (method 10, from the two Wilson intervals)."""
    if n_a == 0 or n_b == 0:
        return (np.nan, np.nan, np.nan)
    p_a, p_b = lapses_a / n_a, lapses_b / n_b
    (lo_a, lo_b), (hi_a, hi_b) = wilson_interval(np.array([lapses_a, lapses_b]), np.array([n_a, n_b]), z)
    difference = p_a - p_b
    lower = difference - np.sqrt((p_a - lo_a) ** 2 + (hi_b - p_b) ** 2)
    upper = difference + np.sqrt((hi_a - p_a) ** 2 + (p_b - lo_b) ** 2)
    return float(difference), float(lower), float(upper)


@dataclass(frozen=True)
class UpliftResult:
    """The T-learner's view of who the campaign helped.

    Attributes
    ----------
    scores : Series
        Each policy's out-of-fold predicted uplift ``P(lapse | control) − P(lapse | treated)``
        (positive: the campaign lowers its lapse), on the campaign data's index.
    qini : DataFrame
        ``[share_targeted, qini, random]``: lapses prevented per treated policy when the top
        share by predicted uplift is treated, and the same for a random order.
    qini_coefficient : float
        Area between the Qini curve and the random line (share 0..1 × lapses prevented per
        treated policy); above 0 when the ranking beats chance.
    segments : DataFrame
        ``[covariate, level, treated, control, lapse_treated, lapse_control, uplift, lower,
        upper, predicted_uplift, recommendation, harmful]`` sorted by predicted uplift.
    """

    scores: pd.Series
    qini: pd.DataFrame
    qini_coefficient: float
    segments: pd.DataFrame


def _design(data: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    """Covariates as a standardised numeric matrix for the logistic models."""
    matrix, _, _ = design_matrix(data, covariates)
    values = matrix.to_numpy(dtype=float)
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    return np.asarray((values - values.mean(axis=0)) / spread)


def uplift_t_learner(
    data: pd.DataFrame, covariates: Sequence[str], *, folds: int = FOLDS, random_state: int = 0, min_segment: int = MIN_SEGMENT
) -> UpliftResult:
    """Out-of-fold T-learner uplift, its Qini curve, and uplift by segment (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    known = data[data["known_within"]]
    x = _design(known, covariates)
    y = known["lapsed_within"].to_numpy(dtype=int)
    treated = (known["arm"] == TREATED).to_numpy()
    fold = np.random.default_rng(random_state).permutation(len(known)) % folds
    uplift = np.zeros(len(known))
    for k in range(folds):
        test = fold == k
        predictions = []
        for arm in (~treated, treated):  # control model first
            train = ~test & arm
            if len(np.unique(y[train])) < 2:
                predictions.append(np.full(test.sum(), y[train].mean() if train.any() else 0.0))
                continue
            model = LogisticRegression(max_iter=1000, C=1.0).fit(x[train], y[train])
            predictions.append(model.predict_proba(x[test])[:, 1])
        uplift[test] = predictions[0] - predictions[1]
    scores = pd.Series(uplift, index=known.index, name="uplift")
    qini, coefficient = qini_curve(uplift, y, treated)
    segments = uplift_segments(known, scores, covariates, min_segment=min_segment)
    return UpliftResult(scores, qini, coefficient, segments)


def qini_curve(uplift: np.ndarray, lapsed: np.ndarray, treated: np.ndarray, *, points: int = QINI_POINTS) -> tuple[pd.DataFrame, float]:
    """Qini curve for a lapse outcome and its coefficient.

    Policies ordered by predicted uplift (highest first); at each cut k, ``qini(k) =
    lapses_control(k) · n_treated(k) / n_control(k) − lapses_treated(k)``, the lapses the
    campaign prevented among the treated of the top k, divided here by all treated policies.
    The coefficient is the trapezoid area between it and the random line.
    """
    order = np.argsort(-uplift, kind="stable")
    t = treated[order].astype(float)
    y = lapsed[order].astype(float)
    n_t, n_c = np.cumsum(t), np.cumsum(1 - t)
    y_t, y_c = np.cumsum(y * t), np.cumsum(y * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(n_c > 0, y_c * n_t / n_c, 0.0) - y_t
    total_treated = max(float(t.sum()), 1.0)
    share = np.linspace(0.0, 1.0, points + 1)
    cut = np.rint(share * len(order)).astype(int)
    qini = np.concatenate([[0.0], gain])[cut] / total_treated
    random = share * qini[-1]
    coefficient = float(np.trapezoid(qini - random, share))
    return pd.DataFrame({"share_targeted": share, "qini": qini, "random": random}), coefficient


def uplift_segments(known: pd.DataFrame, scores: pd.Series, covariates: Sequence[str], *, min_segment: int = MIN_SEGMENT) -> pd.DataFrame:
    """Measured and predicted uplift per level of each covariate (numbers in quartiles), with a recommendation."""
    rows = []
    treated = (known["arm"] == TREATED).to_numpy()
    lapsed = known["lapsed_within"].to_numpy(dtype=bool)
    for covariate in covariates:
        values = known[covariate]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        levels = (quantile_band(values) if numeric else values).astype("string").fillna("(blank)").astype(str)
        for level in sorted(levels.unique()):
            inside = (levels == level).to_numpy()
            n_t, n_c = int((inside & treated).sum()), int((inside & ~treated).sum())
            if n_t < min_segment or n_c < min_segment:
                continue
            k_t, k_c = int((inside & treated & lapsed).sum()), int((inside & ~treated & lapsed).sum())
            uplift, lower, upper = newcombe_difference(k_c, n_c, k_t, n_t)
            predicted = float(scores[inside].mean())
            if lower > 0:
                recommendation = "target"
            elif uplift < 0 and predicted < 0:
                recommendation = "leave_alone"
            else:
                recommendation = "unclear"
            rows.append(
                {
                    "covariate": covariate,
                    "level": level,
                    "treated": n_t,
                    "control": n_c,
                    "lapse_treated": k_t / n_t,
                    "lapse_control": k_c / n_c,
                    "uplift": uplift,
                    "lower": lower,
                    "upper": upper,
                    "predicted_uplift": predicted,
                    "recommendation": recommendation,
                    "harmful": upper < 0,
                }
            )
    columns = [
        "covariate",
        "level",
        "treated",
        "control",
        "lapse_treated",
        "lapse_control",
        "uplift",
        "lower",
        "upper",
        "predicted_uplift",
        "recommendation",
        "harmful",
    ]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("predicted_uplift", ascending=False).reset_index(drop=True)
