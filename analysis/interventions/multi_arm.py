"""Several arms against a control: window lapse, hazard ratios with a multiplicity correction, value per contact.

The data is one row per enrolled policy on its own clock (time since enrolment,
:func:`analysis.interventions.staggered.enrolled_data`). :func:`evaluate_arms` compares every
treated arm with the control (and, when asked, every pair of treated arms):

* *Lapse within the window* per arm (Wilson 95 %), and the difference ``reference − arm``
  with Newcombe's 95 % interval (:func:`~analysis.interventions.uplift.newcombe_difference`):
  positive when the arm lapses less.
* *Hazard ratio* arm vs reference from a Cox model (lifelines) fitted on the two arms'
  policies, adjusted for the covariates the data has (age and months in force at enrolment,
  payment frequency, auto-debit, channel, product, branch, gender, income), with its 95 %
  interval and Wald p-value.
* *Multiplicity*: with m comparisons, the p-values are **Holm**-adjusted (step-down,
  family-wise error rate 5 %), and each hazard ratio also gets a **Bonferroni** simultaneous
  interval (level 1 − 0.05/m), which holds for all m comparisons at once. With one
  comparison both equal the plain ones.
* *Kaplan–Meier curves* of every arm, the k-sample log-rank test and the pairwise tests
  (Holm), balance of every arm against the control (standardised mean differences) and, when
  asked, the uplift T-learner per arm.
* *Ranking*: arms by effect (hazard ratio, lowest first) and by value per contact:
  ``value_per_contact = difference × value_per_retained − cost_per_contact``, the window's
  lapses prevented per contacted policy, valued at what a retained policy is worth, less the
  cost of the contact. The cost per contact is the caller's (per arm, or one figure), else
  the mean of the list's ``cost`` column for the arm; without one the value is not stated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ExtractError
from analysis.interventions.arms import CONTROL, MIN_ARM, TREATED
from analysis.interventions.campaign import COVARIATES, balance_table
from analysis.interventions.campaign_list import ARM, COST
from analysis.interventions.uplift import UpliftResult, newcombe_difference, uplift_t_learner
from analysis.study.rates import Z95, wilson_interval
from analysis.survival.cox import fit_cox
from analysis.survival.curves import km_curves
from analysis.survival.logrank import logrank_tests

#: Family-wise error rate of the corrections.
ALPHA: Final = 0.05
#: The Cox fit's proportional-hazards check (a refit and Schoenfeld residuals) is not reported here, so it runs on a
#: small sample: a 40,000-policy list's two fits took 7.4 s each with the default 20,000, 2.6 s with this; the HR is the same.
PH_SAMPLE: Final = 2_000
#: The columns of :attr:`ArmsResult.comparisons`.
COMPARISON_COLUMNS: Final = (
    "arm",
    "reference",
    "policies",
    "reference_policies",
    "known",
    "reference_known",
    "lapses",
    "reference_lapses",
    "lapse",
    "reference_lapse",
    "difference",
    "difference_lower",
    "difference_upper",
    "hazard_ratio",
    "hazard_ratio_lower",
    "hazard_ratio_upper",
    "p_value",
    "p_value_holm",
    "hazard_ratio_lower_adjusted",
    "hazard_ratio_upper_adjusted",
)


@dataclass(frozen=True)
class ArmEffect:
    """One arm's measured hazard ratio against its reference with the 95 % interval.

    It has the attributes of :class:`analysis.interventions.effects.MeasuredEffect`, so an
    arm's effect can be a scenario's measured effect.
    """

    arm: str
    reference: str
    hazard_ratio: float
    hazard_ratio_lower: float
    hazard_ratio_upper: float


@dataclass(frozen=True)
class ArmsResult:
    """Every arm against the control (and pairwise when asked).

    Attributes
    ----------
    control : str
        The control arm.
    arms : DataFrame
        Per arm: ``[arm, policies, known, lapses, lapse, lower, upper, events]`` (window lapse, Wilson 95 %).
    comparisons : DataFrame
        One row per comparison, :data:`COMPARISON_COLUMNS` (see the module docstring).
    ranking : DataFrame
        Treated arms vs control: ``[arm, hazard_ratio, difference, cost_per_contact,
        value_per_contact, rank_effect, rank_value]`` (rank 1 = best).
    curves, logrank, pairwise : DataFrame
        Kaplan–Meier per arm (``cohort`` = arm) on time since enrolment; the k-sample test; the pairwise tests (Holm).
    balance : DataFrame
        ``[arm, covariate, level, treated, control, smd, imbalanced]``: each arm against the control.
    covariates : tuple of str
        The Cox models' adjustment.
    uplift : dict
        Arm → T-learner result (empty when not asked).
    correction : str
        ``"holm"`` for the p-values; the adjusted intervals are Bonferroni's.
    """

    control: str
    arms: pd.DataFrame
    comparisons: pd.DataFrame
    ranking: pd.DataFrame
    curves: pd.DataFrame
    logrank: pd.DataFrame
    pairwise: pd.DataFrame
    balance: pd.DataFrame
    covariates: tuple[str, ...]
    uplift: dict[str, UpliftResult]
    correction: str = "holm"

    def effect(self, arm: str) -> ArmEffect:
        """``arm``'s hazard ratio against the control (the plain 95 % interval).

        Raises
        ------
        ExtractError
            ``campaign_list.unknown_arm`` when ``arm`` is not compared with the control.
        """
        row = self.comparisons[(self.comparisons["arm"] == arm) & (self.comparisons["reference"] == self.control)]
        if row.empty:
            raise ExtractError("campaign_list", reason="unknown_arm", arm=arm, arms=", ".join(map(str, self.ranking["arm"])))
        first = row.iloc[0]
        return ArmEffect(
            arm, self.control, float(first["hazard_ratio"]), float(first["hazard_ratio_lower"]), float(first["hazard_ratio_upper"])
        )

    @property
    def best_value_arm(self) -> str | None:
        """The treated arm with the best value per contact (None when no value is stated)."""
        valued = self.ranking.dropna(subset=["value_per_contact"])
        return None if valued.empty else str(valued.sort_values("rank_value").iloc[0]["arm"])

    @property
    def best_effect_arm(self) -> str:
        """The treated arm with the strongest effect against the control (the lowest hazard ratio)."""
        return str(self.ranking.sort_values("rank_effect", kind="stable").iloc[0]["arm"])

    @property
    def imbalanced_covariates(self) -> list[str]:
        """Covariates imbalanced (|SMD| above the limit) between some arm and the control, in sorted order."""
        return sorted({str(c) for c in self.balance.loc[self.balance["imbalanced"].astype(bool), "covariate"]})


def arm_window(data: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Lapse within the window per arm: ``[arm, policies, known, lapses, lapse, lower, upper, events]`` (Wilson 95 %).

    ``policies`` counts every enrolled policy in force at enrolment, ``known`` those whose
    window outcome is known (the proportion's denominator), ``events`` the voluntary exits seen.
    """
    group = data.groupby(ARM, sort=False)
    names = pd.Index([str(a) for a in arms])
    policies = group.size().reindex(names, fill_value=0)
    known = group["known_within"].sum().reindex(names, fill_value=0).astype(int)
    lapses = group["lapsed_within"].sum().reindex(names, fill_value=0).astype(int)
    events = group["event"].sum().reindex(names, fill_value=0).astype(int)
    lower, upper = wilson_interval(lapses.to_numpy(), known.to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        lapse = np.where(known > 0, lapses / known.replace(0, 1), np.nan)
    return pd.DataFrame(
        {
            "arm": list(arms),
            "policies": policies.to_numpy(dtype=int),
            "known": known.to_numpy(),
            "lapses": lapses.to_numpy(),
            "lapse": lapse,
            "lower": lower,
            "upper": upper,
            "events": events.to_numpy(),
        }
    )


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def pair_hazard_ratio(
    data: pd.DataFrame, arm: str, reference: str, covariates: Sequence[str], *, random_state: int = 0
) -> tuple[float, float, float]:
    """Cox hazard ratio ``arm`` vs ``reference`` adjusted for ``covariates``: ``(hr, standard error of log hr, p)``.

    Fitted on the two arms' policies only (lifelines, through :func:`analysis.survival.cox.fit_cox`).
    """
    pair = data[data[ARM].isin([arm, reference])].assign(**{ARM: lambda d: np.where(d[ARM] == arm, TREATED, CONTROL)})
    usable = [c for c in covariates if pair[c].nunique(dropna=False) > 1]
    try:
        cox = fit_cox(pair, [ARM, *usable], ph_sample=PH_SAMPLE, random_state=random_state)
    except ExtractError:
        raise
    except Exception as exc:  # lifelines' ConvergenceError and numerical failures: a clear refusal, not a crash
        raise ExtractError("bad_option", reason="campaign_cox", column=arm, error=type(exc).__name__) from exc
    row = cox.hazard_ratios[cox.hazard_ratios["covariate"] == ARM].iloc[0]
    log_hr = float(np.log(row["hazard_ratio"]))
    se = (float(np.log(row["upper"])) - float(np.log(row["lower"]))) / (2 * Z95)
    if row["level"] != TREATED:  # the reference level is the larger arm: turn it round
        log_hr = -log_hr
    return float(np.exp(log_hr)), se, float(row["p_value"])


def _comparison(
    data: pd.DataFrame, window: pd.DataFrame, arm: str, reference: str, covariates: Sequence[str], random_state: int
) -> dict[str, object]:
    """One comparison's row (before the corrections)."""
    a, r = window.set_index("arm").loc[arm], window.set_index("arm").loc[reference]
    difference = newcombe_difference(int(r["lapses"]), int(r["known"]), int(a["lapses"]), int(a["known"]))
    hr, se, p = pair_hazard_ratio(data, arm, reference, covariates, random_state=random_state)
    return {
        "arm": arm,
        "reference": reference,
        "policies": int(a["policies"]),
        "reference_policies": int(r["policies"]),
        "known": int(a["known"]),
        "reference_known": int(r["known"]),
        "lapses": int(a["lapses"]),
        "reference_lapses": int(r["lapses"]),
        "lapse": float(a["lapse"]),
        "reference_lapse": float(r["lapse"]),
        "difference": difference[0],
        "difference_lower": difference[1],
        "difference_upper": difference[2],
        "hazard_ratio": hr,
        "hazard_ratio_lower": float(np.exp(np.log(hr) - Z95 * se)),
        "hazard_ratio_upper": float(np.exp(np.log(hr) + Z95 * se)),
        "p_value": p,
        "_se": se,
    }


def compare_arms(
    data: pd.DataFrame, *, control: str, covariates: Sequence[str], pairwise: bool = False, alpha: float = ALPHA, random_state: int = 0
) -> pd.DataFrame:
    """Every treated arm vs the control (then every pair of treated arms when ``pairwise``), corrected for multiplicity.

    Returns :data:`COMPARISON_COLUMNS`; see the module docstring.
    """
    arms = _arm_order(data, control)
    window = arm_window(data, arms)
    pairs = [(arm, control) for arm in arms[1:]]
    if pairwise:
        pairs += [(a, b) for i, b in enumerate(arms[1:]) for a in arms[i + 2 :]]
    rows = [_comparison(data, window, arm, reference, covariates, random_state) for arm, reference in pairs]
    table = pd.DataFrame(rows)
    table["p_value_holm"] = holm(table["p_value"].to_numpy())
    z = float(stats.norm.ppf(1 - alpha / (2 * len(table))))
    log_hr, se = np.log(table["hazard_ratio"].to_numpy()), table.pop("_se").to_numpy()
    table["hazard_ratio_lower_adjusted"] = np.exp(log_hr - z * se)
    table["hazard_ratio_upper_adjusted"] = np.exp(log_hr + z * se)
    return table[list(COMPARISON_COLUMNS)]


def rank_arms(
    comparisons: pd.DataFrame,
    data: pd.DataFrame,
    *,
    control: str,
    value_per_retained: float | None = None,
    cost_per_contact: float | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Treated arms vs control ranked by effect (hazard ratio) and by value per contact (see the module docstring)."""
    against = comparisons[comparisons["reference"] == control]
    if isinstance(cost_per_contact, Mapping):
        costs = [float(cost_per_contact.get(arm, np.nan)) for arm in against["arm"]]
    elif cost_per_contact is not None:
        costs = [float(cost_per_contact)] * len(against)
    else:
        listed = data.groupby(ARM)[COST].mean() if COST in data.columns else pd.Series(dtype=float)
        costs = [float(listed.get(arm, np.nan)) for arm in against["arm"]]
    table = pd.DataFrame(
        {
            "arm": against["arm"].to_numpy(),
            "hazard_ratio": against["hazard_ratio"].to_numpy(dtype=float),
            "difference": against["difference"].to_numpy(dtype=float),
            "cost_per_contact": costs,
        }
    )
    value = np.nan if value_per_retained is None else float(value_per_retained)
    table["value_per_contact"] = table["difference"] * value - table["cost_per_contact"]
    table["rank_effect"] = table["hazard_ratio"].rank(method="min").astype(int)
    table["rank_value"] = table["value_per_contact"].rank(method="min", ascending=False).astype("Int64")
    return table


def _arm_order(data: pd.DataFrame, control: str) -> list[str]:
    """The control first, then the other arms in sorted order; refused when the control or every other arm is too small."""
    counts = data[ARM].value_counts()
    others = sorted(str(a) for a, n in counts.items() if a != control and n >= MIN_ARM)
    if counts.get(control, 0) < MIN_ARM or not others:
        found = ", ".join(f"{a} {int(n)}" for a, n in counts.items())
        raise ExtractError("campaign_list", reason="small_arms", control=control, minimum=MIN_ARM, found=found or "-")
    # Arms below the minimum are left out of the comparisons; the arms table still shows them.
    return [control, *others]


def evaluate_arms(
    data: pd.DataFrame,
    *,
    control: str,
    covariates: Sequence[str] | None = None,
    pairwise: bool = False,
    value_per_retained: float | None = None,
    cost_per_contact: float | Mapping[str, float] | None = None,
    uplift: bool = False,
    random_state: int = 0,
) -> ArmsResult:
    """Every treated arm against the control on each policy's own clock (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        :func:`~analysis.interventions.staggered.enrolled_data`'s data (or any with ``arm``,
        ``duration``, ``event``, ``entry``, ``lapsed_within``, ``known_within`` and covariates).
    control : str
        The control arm.
    covariates : sequence of str, optional
        The Cox models' adjustment; by default those of
        :data:`analysis.interventions.campaign.COVARIATES` the data has.
    pairwise : bool
        Also compare every pair of treated arms (counted in the correction).
    value_per_retained, cost_per_contact : float, optional
        What a retained policy is worth and what a contact costs (one figure, or per arm).
    uplift : bool
        Also fit the T-learner of each arm against the control.
    random_state : int
        Seed of the Cox fits' sampling and the uplift's folds.

    Raises
    ------
    ExtractError
        ``campaign_list.small_arms`` when the control or every treated arm has fewer than 30 policies.
    """
    chosen = tuple(c for c in (COVARIATES if covariates is None else covariates) if c in data.columns and data[c].nunique(dropna=False) > 1)
    arms = [str(a) for a in dict.fromkeys([control, *sorted(data[ARM].astype(str).unique())])]
    comparisons = compare_arms(data, control=control, covariates=chosen, pairwise=pairwise, random_state=random_state)
    logrank, pairs = logrank_tests(data, by=ARM)
    treated = [str(a) for a in comparisons.loc[comparisons["reference"] == control, "arm"]]
    balance, lifts = [], {}
    for arm in treated:
        two = data[data[ARM].isin([arm, control])].assign(**{ARM: lambda d, a=arm: np.where(d[ARM] == a, TREATED, CONTROL)})
        balance.append(balance_table(two, chosen).assign(arm=arm))
        if uplift and chosen:
            lifts[arm] = uplift_t_learner(two, chosen, random_state=random_state)
    return ArmsResult(
        control=control,
        arms=arm_window(data, arms),
        comparisons=comparisons,
        ranking=rank_arms(comparisons, data, control=control, value_per_retained=value_per_retained, cost_per_contact=cost_per_contact),
        curves=km_curves(data, by=ARM),
        logrank=logrank,
        pairwise=pairs,
        balance=pd.concat(balance, ignore_index=True)[["arm", "covariate", "level", "treated", "control", "smd", "imbalanced"]],
        covariates=chosen,
        uplift=lifts,
    )
