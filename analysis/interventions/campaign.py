"""Campaign evaluation: whether a retention campaign with a control group reduced lapses.

The arms come from a treatment column (:mod:`analysis.interventions.arms`: its words, the
columns that are campaigns, the proposed start date).

**Population.** The campaign's policies in force on the start date: issued on or before it
and not yet gone by a voluntary or a competing exit (the late-entry rule of
:func:`analysis.survival.curves.survival_data`). In grace and APL count as in force; a policy
suspended on the start date does not; a policy reinstated on or before the start counts
as in force from then on (its lapse before the start is not an outcome; the extract records
no later exit for it). Time runs in months from the start.

**Outcomes.**

* *Lapse within the window* (default 12 months): a voluntary exit (lapse, surrender,
  termination after lapse) dated after the start and no later than start + window months.
  A policy that leaves by a competing exit (death, maturity) inside the window without
  lapsing first has an unknown outcome and is left out of these proportions (as in the
  risk model's target); the whole window must lie before the study date. The 95 % interval
  of each arm is Wilson's; the interval of the difference ``control − treated`` is
  Newcombe's (:func:`analysis.interventions.uplift.newcombe_difference`).
* *Kaplan–Meier curves* of each arm from the start, with the log-rank test.
* *Cox hazard ratio* treated vs control, adjusted for the covariates the extract has (age at
  the start, months in force at the start, payment frequency, auto-debit, channel, product,
  branch, gender, income), with its proportional-hazards check.
* *Balance*: the standardised mean difference of every covariate (each level of a category
  as a proportion); ``|SMD| > 0.1`` is flagged (:data:`SMD_LIMIT`). Randomisation should
  leave every covariate balanced; a flagged one says the arms were not assigned at random,
  or by chance differ.
* *Uplift by segment* (:mod:`analysis.interventions.uplift`).

:func:`evaluate_campaign` refuses a campaign without a control arm: before/after is not
evidence (DOMAIN.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.interventions.arms import CONTROL, MIN_ARM, TREATED, WINDOW_MONTHS, default_start, has_concurrent_control, treatment_arms
from analysis.interventions.uplift import UpliftResult, newcombe_difference, uplift_t_learner
from analysis.study.calendar import add_months, as_days, whole_years
from analysis.study.rates import wilson_interval
from analysis.survival.cox import CoxResult, fit_cox
from analysis.survival.curves import DAYS_PER_MONTH, km_curves, survival_data
from analysis.survival.logrank import logrank_tests

#: Columns derived at the start date.
AGE_AT_START = "age_at_start"
MONTHS_IN_FORCE = "months_in_force"
#: Covariates used when they exist, in this order.
COVARIATES = (AGE_AT_START, MONTHS_IN_FORCE, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.BRANCH, S.GENDER, S.INCOME)
#: |standardised mean difference| above this is flagged as imbalance.
SMD_LIMIT = 0.1
#: Values of a treatment column quoted when it has no usable arms.
QUOTED_VALUES = 10


def campaign_data(
    policies: pd.DataFrame,
    arms: pd.Series,
    *,
    start: pd.Timestamp,
    study_date: pd.Timestamp,
    window_months: int = WINDOW_MONTHS,
) -> pd.DataFrame:
    """One row per campaign policy in force on the start date, with its outcome and covariates.

    Returns
    -------
    DataFrame
        ``[arm, duration, event, entry, lapsed_within, known_within, *covariates]`` on the
        policies' index: ``duration`` is months from the start to the voluntary exit or
        censoring (``entry`` is 0), ``event`` whether it ended by a voluntary exit,
        ``lapsed_within`` a voluntary exit inside the window, ``known_within`` whether the
        window's outcome is known (no competing exit inside it before a lapse). Covariates
        are those of :data:`COVARIATES` the extract has: age and months in force at the
        start, payment frequency as a category, and the others as they are.
    """
    start = pd.Timestamp(start).normalize()
    window_end = pd.Timestamp(add_months(np.array([np.datetime64(start.date(), "D")]), window_months)[0])
    if window_end > pd.Timestamp(study_date):
        raise ExtractError(
            "window_not_observed",
            window=window_months,
            start=start.date(),
            window_end=window_end.date(),
            study_date=pd.Timestamp(study_date).date(),
        )
    in_campaign = arms.notna().to_numpy() & (policies[S.ISSUE_DATE] <= start).fillna(False).to_numpy(dtype=bool)
    chosen = policies.loc[in_campaign]
    if S.REINSTATEMENT_DATE in chosen.columns:
        # Reinstated by the start: in force from then on, and the extract records no later exit.
        back = ((chosen[S.STATUS] == S.REINSTATED) & (chosen[S.REINSTATEMENT_DATE] <= start)).fillna(False).astype(bool)
        chosen = chosen.assign(**{S.STATUS: chosen[S.STATUS].astype(object).mask(back, S.IN_FORCE)})  # as text: in_force may be no category
    present = [c for c in (S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.BRANCH, S.GENDER, S.INCOME) if c in chosen.columns]
    data = survival_data(chosen.assign(arm=arms[in_campaign]), study_date=study_date, study_start=start, by=["arm", *present])
    entry = data["entry"].to_numpy(dtype=float)
    days = np.rint((data["duration"].to_numpy(dtype=float) - entry) * DAYS_PER_MONTH)
    window_days = (window_end - start).days
    event = data["event"].to_numpy(dtype=bool)
    out = pd.DataFrame({"arm": data["arm"].astype(str)}, index=data.index)
    out["duration"] = days / DAYS_PER_MONTH
    out["event"] = event
    out["entry"] = 0.0
    out["lapsed_within"] = event & (days <= window_days)
    out["known_within"] = out["lapsed_within"].to_numpy() | (days >= window_days)
    if S.AGE in chosen.columns:
        issue = as_days(chosen.loc[data.index, S.ISSUE_DATE])
        years = whole_years(issue, np.full(len(issue), np.datetime64(start.date(), "D")))
        out[AGE_AT_START] = pd.to_numeric(chosen.loc[data.index, S.AGE], errors="coerce").to_numpy(dtype=float) + years
    out[MONTHS_IN_FORCE] = entry
    for column in present:
        values = data[column]
        out[column] = values.astype("string").fillna("(blank)").astype(str) if column == S.PAYMENT_FREQUENCY else values
    return out


def lapse_within_window(data: pd.DataFrame) -> pd.DataFrame:
    """Lapse within the window by arm: ``[arm, policies, lapses, lapse, lower, upper]`` (Wilson 95 %).

    ``policies`` counts only policies whose window outcome is known.
    """
    known = data[data["known_within"]]
    rows = []
    for arm in (TREATED, CONTROL):
        group = known[known["arm"] == arm]
        lapses, n = int(group["lapsed_within"].sum()), len(group)
        lower, upper = wilson_interval(np.array([lapses]), np.array([n]))
        rows.append(
            {
                "arm": arm,
                "policies": n,
                "lapses": lapses,
                "lapse": lapses / n if n else np.nan,
                "lower": float(lower[0]),
                "upper": float(upper[0]),
            }
        )
    return pd.DataFrame(rows)


def balance_table(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Standardised mean differences treated vs control: ``[covariate, level, treated, control, smd, imbalanced]``.

    Numbers: ``(mean_t − mean_c) / sqrt((var_t + var_c) / 2)``; each level of a category is
    a proportion p with variance p(1 − p). ``imbalanced`` is ``|smd| >`` :data:`SMD_LIMIT`.
    """
    treated = (data["arm"] == TREATED).to_numpy()
    rows = []
    for covariate in covariates:
        values = data[covariate]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric:
            x = values.astype(float)
            parts = [("", x[treated], x[~treated])]
        else:
            text = values.astype("string").fillna("(blank)").astype(str)
            parts = [
                (str(level), (text[treated] == level).astype(float), (text[~treated] == level).astype(float))
                for level in sorted(text.unique())
            ]
        for level, a, b in parts:
            mean_a, mean_b = float(a.mean()), float(b.mean())
            spread = np.sqrt((float(a.var(ddof=1)) + float(b.var(ddof=1))) / 2) if len(a) > 1 and len(b) > 1 else 0.0
            smd = (mean_a - mean_b) / spread if spread > 0 else 0.0
            rows.append(
                {
                    "covariate": covariate,
                    "level": level,
                    "treated": mean_a,
                    "control": mean_b,
                    "smd": smd,
                    "imbalanced": abs(smd) > SMD_LIMIT,
                }
            )
    return pd.DataFrame(rows, columns=["covariate", "level", "treated", "control", "smd", "imbalanced"])


@dataclass(frozen=True)
class CampaignResult:
    """Everything the campaign evaluation shows.

    Attributes
    ----------
    treatment, start, window_months
        What was evaluated.
    treated, control : int
        Campaign policies of each arm in force on the start date.
    window : DataFrame
        Lapse within the window by arm (:func:`lapse_within_window`).
    difference, difference_lower, difference_upper : float
        ``lapse_control − lapse_treated`` within the window, Newcombe 95 % interval.
    hazard_ratio, hazard_ratio_lower, hazard_ratio_upper : float
        Cox hazard ratio treated vs control adjusted for ``covariates``, 95 % interval.
    curves : DataFrame
        Kaplan–Meier curves per arm (``cohort`` = arm) in months from the start.
    logrank : DataFrame
        ``[test_statistic, p_value, degrees_of_freedom]``.
    cox : CoxResult
        The whole fit (all hazard ratios, the proportional-hazards check).
    balance : DataFrame
        :func:`balance_table`.
    uplift : UpliftResult or None
        The T-learner (None when not asked for).
    """

    treatment: str
    start: pd.Timestamp
    window_months: int
    treated: int
    control: int
    window: pd.DataFrame
    difference: float
    difference_lower: float
    difference_upper: float
    hazard_ratio: float
    hazard_ratio_lower: float
    hazard_ratio_upper: float
    curves: pd.DataFrame
    logrank: pd.DataFrame
    cox: CoxResult
    balance: pd.DataFrame
    covariates: tuple[str, ...]
    uplift: UpliftResult | None = None

    @property
    def imbalanced_covariates(self) -> list[str]:
        """The covariates with at least one level whose standardised mean difference is flagged (each once, in order)."""
        if "imbalanced" not in self.balance:
            return []
        return list(dict.fromkeys(self.balance.loc[self.balance["imbalanced"].astype(bool), "covariate"].astype(str)))

    def summary(self) -> dict[str, float | int]:
        """The command line's object: counts, window lapse, difference and hazard ratio with intervals."""
        rates = self.window.set_index("arm")["lapse"]
        return {
            "treated": self.treated,
            "control": self.control,
            "lapse_treated": float(rates[TREATED]),
            "lapse_control": float(rates[CONTROL]),
            "difference": self.difference,
            "difference_lower": self.difference_lower,
            "difference_upper": self.difference_upper,
            "hazard_ratio": self.hazard_ratio,
            "hazard_ratio_lower": self.hazard_ratio_lower,
            "hazard_ratio_upper": self.hazard_ratio_upper,
        }


def _campaign_arms(
    policies: pd.DataFrame,
    treatment: str,
    window_months: int,
    treated_values: Sequence[str] | None,
    control_values: Sequence[str] | None,
) -> pd.Series:
    """The arms of column ``treatment``, refused without the column, a window or a concurrent control arm."""
    if treatment not in policies.columns:
        raise ExtractError("missing_column", reason="treatment", column=treatment, columns=", ".join(map(str, policies.columns[:40])))
    if window_months < 1:
        raise ExtractError("bad_option", reason="campaign_window", months=window_months)
    arms = treatment_arms(policies[treatment], treated_values=treated_values, control_values=control_values)
    if not has_concurrent_control(arms):
        found = ", ".join(f"{v!r}" for v in policies[treatment].dropna().astype(str).value_counts().index[:QUOTED_VALUES])
        if not found:
            raise ExtractError("no_control", reason="blank", column=treatment, minimum=MIN_ARM)
        raise ExtractError("no_control", reason="arms", column=treatment, minimum=MIN_ARM, found=found)
    return arms


def _in_force_at_start(data: pd.DataFrame, *, treatment: str, start: pd.Timestamp) -> pd.Series:
    """Policies per arm in force on the start date, refused (``no_control``) when an arm has fewer than :data:`MIN_ARM`."""
    counts = data["arm"].value_counts()
    treated, control = int(counts.get(TREATED, 0)), int(counts.get(CONTROL, 0))
    if treated < MIN_ARM or control < MIN_ARM:
        raise ExtractError(
            "no_control", reason="start", column=treatment, start=start.date(), treated=treated, control=control, minimum=MIN_ARM
        )
    return counts


def _adjustment(data: pd.DataFrame, covariates: Sequence[str], treatment: str) -> tuple[str, ...]:
    """The covariates the campaign data has and that vary; never the treatment column itself (collinear with the arm)."""
    return tuple(c for c in covariates if c != treatment and c in data.columns and data[c].nunique(dropna=False) > 1)


def _window_difference(data: pd.DataFrame) -> tuple[pd.DataFrame, tuple[float, float, float]]:
    """Lapse within the window by arm, and ``control − treated`` with Newcombe's interval."""
    window = lapse_within_window(data)
    lapses = dict(zip(window["arm"], window["lapses"].astype(int)))
    known = dict(zip(window["arm"], window["policies"].astype(int)))
    return window, newcombe_difference(lapses[CONTROL], known[CONTROL], lapses[TREATED], known[TREATED])


def _arm_hazard_ratio(
    data: pd.DataFrame, covariates: Sequence[str], *, treatment: str, random_state: int
) -> tuple[CoxResult, float, float, float]:
    """The Cox fit of the arm adjusted for ``covariates``, and the hazard ratio treated vs control with its interval."""
    try:
        cox = fit_cox(data, ["arm", *covariates], random_state=random_state)
    except ExtractError:
        raise
    except Exception as exc:  # lifelines' ConvergenceError and numerical failures: a clear message, not a crash
        raise ExtractError("bad_option", reason="campaign_cox", column=treatment, error=type(exc).__name__) from exc
    row = cox.hazard_ratios[cox.hazard_ratios["covariate"] == "arm"].iloc[0]
    hr, lower, upper = float(row["hazard_ratio"]), float(row["lower"]), float(row["upper"])
    if row["level"] != TREATED:  # the reference is the larger arm: turn control-vs-treated round
        hr, lower, upper = 1 / hr, 1 / upper, 1 / lower
    return cox, hr, lower, upper


def evaluate_campaign(
    policies: pd.DataFrame,
    *,
    treatment: str,
    study_date: pd.Timestamp,
    start: pd.Timestamp | str | None = None,
    window_months: int = WINDOW_MONTHS,
    covariates: Sequence[str] | None = None,
    treated_values: Sequence[str] | None = None,
    control_values: Sequence[str] | None = None,
    uplift: bool = True,
    random_state: int = 0,
) -> CampaignResult:
    """Treated vs control: lapse within the window, KM and log-rank, adjusted Cox HR, balance, uplift.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies with the treatment column.
    treatment : str
        The treatment column (see :func:`analysis.interventions.arms.treatment_arms` for its values).
    study_date : Timestamp
        The extract's study date; the window must end on or before it.
    start : Timestamp or str, optional
        The campaign's start (``YYYY-MM-DD``); :func:`analysis.interventions.arms.default_start` when omitted.
    window_months : int
        The outcome window after the start (12 by default), fixed in advance.
    covariates : sequence of str, optional
        Adjustment covariates; by default those of :data:`COVARIATES` the extract has.
    treated_values, control_values : sequence of str, optional
        The treatment column's own words for the arms.
    uplift : bool
        Also fit the T-learner (a few seconds on large campaigns).
    random_state : int
        Seed of the Cox fit's sampling and of the uplift's folds.

    Raises
    ------
    ExtractError
        ``missing_column`` without the treatment column, ``no_control`` when an arm has fewer
        than 30 policies (a before/after comparison is not evidence), ``window_not_observed``
        when the window ends after the study date.
    """
    arms = _campaign_arms(policies, treatment, window_months, treated_values, control_values)
    start = default_start(policies, arms) if start is None else pd.Timestamp(start).normalize()
    data = campaign_data(policies, arms, start=start, study_date=study_date, window_months=window_months)
    counts = _in_force_at_start(data, treatment=treatment, start=start)
    chosen = _adjustment(data, covariates if covariates is not None else COVARIATES, treatment)
    window, difference = _window_difference(data)
    curves = km_curves(data, by="arm")
    logrank, _ = logrank_tests(data, by="arm")
    cox, hr, lower, upper = _arm_hazard_ratio(data, chosen, treatment=treatment, random_state=random_state)
    return CampaignResult(
        treatment=treatment,
        start=start,
        window_months=window_months,
        treated=int(counts.get(TREATED, 0)),
        control=int(counts.get(CONTROL, 0)),
        window=window,
        difference=difference[0],
        difference_lower=difference[1],
        difference_upper=difference[2],
        hazard_ratio=hr,
        hazard_ratio_lower=lower,
        hazard_ratio_upper=upper,
        curves=curves,
        logrank=logrank,
        cox=cox,
        balance=balance_table(data, chosen),
        covariates=chosen,
        uplift=uplift_t_learner(data, chosen, random_state=random_state) if uplift and chosen else None,
    )
