"""Targeting by value: which lever to offer each policy, what it returns, and who to leave alone.

The data is one row per enrolled policy on its own clock
(:func:`analysis.interventions.staggered.enrolled_data`), with the window's outcome.

**Lapse predicted under every arm** (:func:`arm_predictions`): a multi-arm T-learner — one
logistic regression of lapse within the window on the covariates per arm (control
included) — predicts each policy's probability of lapsing under each arm, out of fold
(5-fold cross-fitting: no policy is scored by a model that saw it). A policy's uplift of arm
``a`` is ``P(lapse | control) − P(lapse | a)``: the window's lapses a contact with ``a``
prevents, per contact (positive: fewer lapses).

**The targeting rule** (:func:`targeting_rule`): a contact with arm ``a`` is worth
``uplift_a × value_per_retained − cost_a`` (the same value per contact as the arms'
ranking, :func:`analysis.interventions.multi_arm.rank_arms`, policy by policy). Each policy
gets the lever worth most to it, and is **left alone** when no lever is worth more than
nothing (the contact costs more than the lapses it prevents are worth, or it raises lapse).

**What it returns** is stated twice. *Predicted*: the sum over contacted policies of their
lever's value. *Measured*: inside each group the rule forms (the policies given lever ``a``,
those left alone), the policies that were really in arm ``a`` are compared with those really
in the control (randomised, so within a group defined by out-of-fold scores the comparison
is fair): the lapse difference with Newcombe's 95 % interval, worth ``difference × value −
cost`` per contact. For the group left alone, every treated arm together is compared with
the control (what any contact would have done there). A rule whose measured groups do no
better than contacting everyone with the best arm adds nothing; the Qini curve per arm
(:mod:`analysis.interventions.uplift`) says whether the scores rank policies better than
chance at all (:func:`arm_qini`: the Qini curve of the very scores the rule uses).

**Who**, in words (:attr:`TargetingResult.profile`): for each group, the covariate levels
over-represented in it against all scored policies (share in the group ÷ share overall).

**Defaults** (:func:`value_per_retained_default`, :func:`costs_per_contact`): the value of a
retained policy is :data:`VALUE_MARGIN` of :data:`VALUE_YEARS` years of the enrolled
policies' mean annual premium, or :data:`DEFAULT_VALUE_PER_RETAINED` offered when the book
has no premium column; the cost per contact is the list's mean 成本 per arm, else
:data:`DEFAULT_COST_PER_CONTACT`. They are assumptions to state, editable on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.interventions.campaign_list import ARM, COST
from analysis.interventions.uplift import FOLDS, _design, newcombe_difference, qini_curve
from analysis.study.cohorts import quantile_band

#: The value of a retained policy offered when the book has no premium column (yuan).
DEFAULT_VALUE_PER_RETAINED: Final = 3_000.0
#: The cost of one contact offered when the list has no 成本 for an arm (yuan).
DEFAULT_COST_PER_CONTACT: Final = 5.0
#: The default value of a retained policy: this margin …
VALUE_MARGIN: Final = 0.10
#: … on this many years of its annual premium (undiscounted).
VALUE_YEARS: Final = 5
#: The group of policies the rule leaves alone.
LEAVE_ALONE: Final = "leave_alone"
#: Levels listed per group in the profile …
PROFILE_LEVELS: Final = 3
#: … each holding at least this share of the group.
MIN_PROFILE_SHARE: Final = 0.10
#: The columns of :attr:`TargetingResult.groups`.
GROUP_COLUMNS: Final = (
    "lever",
    "policies",
    "share",
    "predicted_uplift",
    "predicted_value",
    "predicted_return",
    "arm_policies",
    "control_policies",
    "measured_uplift",
    "lower",
    "upper",
    "cost_per_contact",
    "measured_value",
    "measured_return",
)


@dataclass(frozen=True)
class TargetingResult:
    """The targeting rule and what it returns.

    Attributes
    ----------
    scores : DataFrame
        One row per scored policy (window outcome known): ``[policy_id, arm, uplift_<arm>…,
        value_<arm>…, lever]`` — each treated arm's predicted uplift and value of a contact,
        and the rule's lever (:data:`LEAVE_ALONE` when none is worth it).
    groups : DataFrame
        One row per lever the rule uses, then :data:`LEAVE_ALONE`: :data:`GROUP_COLUMNS` —
        policies and share, the mean predicted uplift and value per contact and their sum
        (``predicted_return``), the measured uplift inside the group with its interval, the
        cost per contact, the measured value per contact and its total (``measured_return``).
    everyone : DataFrame
        ``[lever, policies, measured_value, measured_return]``: each treated arm given to every
        scored policy (its measured value per contact over the whole list), to set the rule against.
    profile : DataFrame
        ``[lever, covariate, level, share, overall_share, lift]``: who is in each group.
    value_per_retained : float
    costs : dict
        Arm → cost per contact used.
    """

    scores: pd.DataFrame
    groups: pd.DataFrame
    everyone: pd.DataFrame
    profile: pd.DataFrame
    value_per_retained: float
    costs: dict[str, float]

    @property
    def contacted(self) -> int:
        """Policies the rule contacts."""
        return int((self.scores["lever"] != LEAVE_ALONE).sum())

    @property
    def left_alone(self) -> int:
        """Policies the rule leaves alone."""
        return int((self.scores["lever"] == LEAVE_ALONE).sum())

    @property
    def predicted_return(self) -> float:
        """The rule's predicted value over the scored policies (yuan)."""
        return float(self.groups.loc[self.groups["lever"] != LEAVE_ALONE, "predicted_return"].sum())

    @property
    def best_for_everyone(self) -> pd.Series:
        """The row of :attr:`everyone` with the highest measured return: the single lever to set the rule against."""
        return self.everyone.sort_values("measured_return", ascending=False, kind="stable").iloc[0]

    @property
    def measured_return(self) -> float:
        """The rule's measured value over the scored policies: each contacted group's measured value per contact × its size."""
        return float(self.groups.loc[self.groups["lever"] != LEAVE_ALONE, "measured_return"].sum(min_count=1))


def value_per_retained_default(policies: pd.DataFrame, data: pd.DataFrame) -> float | None:
    """:data:`VALUE_MARGIN` × :data:`VALUE_YEARS` × the enrolled policies' mean annual premium, in whole yuan; None without premiums."""
    if S.ANNUAL_PREMIUM not in policies.columns:
        return None
    enrolled = policies[S.POLICY_ID].astype(str).isin(set(data[S.POLICY_ID].astype(str))).to_numpy()
    premium = pd.to_numeric(policies.loc[enrolled, S.ANNUAL_PREMIUM], errors="coerce")
    mean = float(premium.mean()) if premium.notna().any() else float("nan")
    return float(round(VALUE_MARGIN * VALUE_YEARS * mean)) if np.isfinite(mean) and mean > 0 else None


def costs_per_contact(data: pd.DataFrame, arms: Sequence[str]) -> dict[str, float]:
    """Each arm's mean 成本 on the list, else :data:`DEFAULT_COST_PER_CONTACT`."""
    listed = data.groupby(ARM)[COST].mean() if COST in data.columns else pd.Series(dtype=float)
    out = {}
    for arm in arms:
        cost = float(listed.get(arm, np.nan))
        out[str(arm)] = cost if np.isfinite(cost) and cost >= 0 else DEFAULT_COST_PER_CONTACT
    return out


def arm_predictions(
    data: pd.DataFrame, *, arms: Sequence[str], covariates: Sequence[str], folds: int = FOLDS, random_state: int = 0
) -> pd.DataFrame:
    """Out-of-fold P(lapse within the window) of each known policy under each arm (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        Enrolled data with ``policy_id``, ``arm``, ``known_within``, ``lapsed_within`` and ``covariates``.
    arms : sequence of str
        The arms, control first.

    Returns
    -------
    DataFrame
        ``[policy_id, arm, lapsed_within, <arm>…]`` on the known policies' index: one
        probability column per arm, each named by the arm.
    """
    from sklearn.linear_model import LogisticRegression

    known = data[data["known_within"].to_numpy(dtype=bool) & data[ARM].isin(list(arms)).to_numpy()]
    x = _design(known, covariates) if covariates else np.zeros((len(known), 1))
    y = known["lapsed_within"].to_numpy(dtype=int)
    fold = np.random.default_rng(random_state).permutation(len(known)) % folds
    out = known[[S.POLICY_ID, ARM, "lapsed_within"]].copy()
    for arm in arms:
        member = (known[ARM] == arm).to_numpy()
        predicted = np.zeros(len(known))
        for k in range(folds):
            test, train = fold == k, (fold != k) & member
            if len(np.unique(y[train])) < 2 or not covariates:
                predicted[test] = y[train].mean() if train.any() else 0.0
                continue
            model = LogisticRegression(max_iter=1000, C=1.0).fit(x[train], y[train])
            predicted[test] = model.predict_proba(x[test])[:, 1]
        out[str(arm)] = predicted
    return out


def arm_qini(predictions: pd.DataFrame, *, control: str) -> dict[str, tuple[pd.DataFrame, float]]:
    """Each treated arm's Qini curve and coefficient from :func:`arm_predictions`' scores.

    On the arm's and the control's known policies, ordered by the arm's predicted uplift
    (:func:`analysis.interventions.uplift.qini_curve`): whether the scores the targeting rule
    uses rank policies better than chance.
    """
    out = {}
    for arm in [c for c in predictions.columns if c not in (S.POLICY_ID, ARM, "lapsed_within", control)]:
        rows = predictions[predictions[ARM].isin([arm, control]).to_numpy()]
        uplift = rows[control].to_numpy() - rows[arm].to_numpy()
        out[str(arm)] = qini_curve(uplift, rows["lapsed_within"].to_numpy(dtype=bool), (rows[ARM] == arm).to_numpy())
    return out


def _scores(predictions: pd.DataFrame, control: str, treated: Sequence[str], value: float, costs: Mapping[str, float]) -> pd.DataFrame:
    """Each policy's uplift and value of a contact per treated arm, and its lever."""
    scores = predictions[[S.POLICY_ID, ARM, "lapsed_within"]].copy()
    values = np.empty((len(scores), len(treated)))
    for j, arm in enumerate(treated):
        uplift = predictions[control].to_numpy() - predictions[arm].to_numpy()
        scores[f"uplift_{arm}"] = uplift
        values[:, j] = uplift * value - float(costs[arm])
        scores[f"value_{arm}"] = values[:, j]
    best = values.argmax(axis=1)
    worth = values[np.arange(len(scores)), best] > 0
    scores["lever"] = np.where(worth, np.asarray(treated, dtype=object)[best], LEAVE_ALONE)
    return scores


def _measured(rows: pd.DataFrame, arms: Sequence[str], control: str) -> tuple[int, int, float, float, float]:
    """Inside a group: policies in ``arms`` and in the control, and the lapse difference control − arms (Newcombe)."""
    in_arm = rows[ARM].isin(list(arms)).to_numpy()
    in_control = (rows[ARM] == control).to_numpy()
    lapsed = rows["lapsed_within"].to_numpy(dtype=bool)
    n_a, n_c = int(in_arm.sum()), int(in_control.sum())
    difference = newcombe_difference(int((lapsed & in_control).sum()), n_c, int((lapsed & in_arm).sum()), n_a)
    return (n_a, n_c, *difference)


def _group_row(
    scores: pd.DataFrame, lever: str, control: str, treated: Sequence[str], value: float, costs: Mapping[str, float]
) -> dict[str, object]:
    """One group of the rule: its size, predicted and measured value."""
    rows = scores[scores["lever"] == lever]
    compared = list(treated) if lever == LEAVE_ALONE else [lever]
    arm_n, control_n, uplift, lower, upper = _measured(rows, compared, control)
    if lever == LEAVE_ALONE:
        treated_rows = rows[rows[ARM].isin(compared)]
        cost = float(np.mean([costs[a] for a in treated_rows[ARM]])) if len(treated_rows) else float(np.mean([costs[a] for a in compared]))
        predicted_uplift = predicted_value = predicted_return = float("nan")
    else:
        cost = float(costs[lever])
        predicted_uplift = float(rows[f"uplift_{lever}"].mean())
        predicted_value = float(rows[f"value_{lever}"].mean())
        predicted_return = float(rows[f"value_{lever}"].sum())
    measured_value = uplift * value - cost
    return {
        "lever": lever,
        "policies": len(rows),
        "share": len(rows) / len(scores) if len(scores) else float("nan"),
        "predicted_uplift": predicted_uplift,
        "predicted_value": predicted_value,
        "predicted_return": predicted_return,
        "arm_policies": arm_n,
        "control_policies": control_n,
        "measured_uplift": uplift,
        "lower": lower,
        "upper": upper,
        "cost_per_contact": cost,
        "measured_value": measured_value,
        "measured_return": measured_value * len(rows),
    }


def _profile(known: pd.DataFrame, levers: pd.Series, covariates: Sequence[str]) -> pd.DataFrame:
    """Per group, the covariate levels most over-represented in it (share in the group ÷ share overall)."""
    rows = []
    for covariate in covariates:
        values = known[covariate]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        levels = (quantile_band(values) if numeric else values).astype("string").fillna("(blank)").astype(str)
        overall = levels.value_counts(normalize=True).to_dict()
        inside = pd.crosstab(levers, levels, normalize="index")
        for lever, shares in inside.iterrows():
            for level, share in shares.items():
                rows.append((str(lever), covariate, str(level), float(share), float(overall[str(level)])))
    table = pd.DataFrame(rows, columns=["lever", "covariate", "level", "share", "overall_share"])
    table["lift"] = table["share"] / table["overall_share"]
    table = table[table["share"] >= MIN_PROFILE_SHARE].sort_values(["lever", "lift"], ascending=[True, False], kind="stable")
    return table.groupby("lever", sort=False).head(PROFILE_LEVELS).reset_index(drop=True)


def targeting_rule(
    predictions: pd.DataFrame,
    data: pd.DataFrame,
    *,
    control: str,
    covariates: Sequence[str],
    value_per_retained: float,
    cost_per_contact: Mapping[str, float],
) -> TargetingResult:
    """Who to contact with which lever, what it returns, and who to leave alone (see the module docstring).

    Parameters
    ----------
    predictions : DataFrame
        :func:`arm_predictions`' result (control first among the arm columns).
    data : DataFrame
        The enrolled data the predictions came from (for the profile's covariates).
    control : str
        The control arm.
    covariates : sequence of str
        The covariates the profile describes the groups by.
    value_per_retained : float
        What a retained policy is worth (yuan).
    cost_per_contact : mapping
        Treated arm → cost of one contact (yuan).
    """
    treated = [c for c in predictions.columns if c not in (S.POLICY_ID, ARM, "lapsed_within", control)]
    value = float(value_per_retained)
    costs = {arm: float(cost_per_contact[arm]) for arm in treated}
    scores = _scores(predictions, control, treated, value, costs)
    used = [arm for arm in treated if (scores["lever"] == arm).any()]
    groups = pd.DataFrame(
        [_group_row(scores, lever, control, treated, value, costs) for lever in (*used, LEAVE_ALONE)], columns=list(GROUP_COLUMNS)
    )
    everyone = []
    for arm in treated:
        _, _, uplift, _, _ = _measured(scores, [arm], control)
        everyone.append({"lever": arm, "policies": len(scores), "measured_value": uplift * value - costs[arm]})
    everyone_table = pd.DataFrame(everyone, columns=["lever", "policies", "measured_value"])
    everyone_table["measured_return"] = everyone_table["measured_value"] * everyone_table["policies"]
    known = data.loc[predictions.index]
    profile = _profile(known, scores["lever"], [c for c in covariates if c in known.columns])
    return TargetingResult(scores.reset_index(drop=True), groups, everyone_table, profile, value, costs)
