"""Campaign evaluation: whether a retention campaign with a control group reduced lapses.

A campaign is read from a **treatment column** of the extract. Its values may be words or
codes: ``treated``/``control``, ``实验组``/``对照组``, ``是``/``否``, ``yes``/``no``, ``1``/``0``,
``True``/``False`` (see :data:`TREATED_WORDS`, :data:`CONTROL_WORDS`; the caller can name
its own values). Every other value, and a blank, means *not in the campaign*.

**Start date.** The campaign starts on a date the user gives (the sample's education campaign:
2024-03-01, stated in ``data/README.md``). Nothing in an extract records it reliably, so
nothing is inferred from outcomes. When the user gives none, :func:`default_start` proposes
the *latest issue date among the campaign's policies*: every policy in a randomised arm was
in force when it was assigned, so the assignment cannot have come before that day — it is
the earliest date from which the comparison makes sense. On the sample it is 2024-03-01,
the true date. The page should show it as an editable default.

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
  Newcombe's hybrid score interval (his method 10: the Wilson limits of each arm combined),
  which keeps its coverage near 95 % for small lapse rates where the Wald interval does not.
* *Kaplan–Meier curves* of each arm from the start, with the log-rank test
  (:func:`analysis.survival.curves.km_curves`, :func:`analysis.survival.curves.logrank_tests`).
* *Cox hazard ratio* treated vs control, adjusted for the covariates the extract has (age at
  the start, months in force at the start, payment frequency, auto-debit, channel, product,
  branch, gender, income), fitted by :func:`analysis.survival.curves.fit_cox` with its
  proportional-hazards check.
* *Balance*: the standardised mean difference of every covariate (each level of a category
  as a proportion); ``|SMD| > 0.1`` is flagged. Randomisation should leave every covariate
  balanced; a flagged one says the arms were not assigned at random, or by chance differ.
* *Uplift by segment*: a T-learner — one logistic regression of lapse within the window on
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

**Before/after is not evidence** (DOMAIN.md §5): cohort persistency drifts by several points
from one year to the next. :func:`has_concurrent_control` says whether a treatment column has
a control arm at all; :func:`is_before_after` whether two compared groups are only periods
of time. :func:`evaluate_campaign` refuses a campaign without a control arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.study.calendar import add_months, as_days, whole_years
from analysis.study.cohorts import quantile_band
from analysis.study.rates import Z95, wilson_interval
from analysis.survival.curves import DAYS_PER_MONTH, CoxResult, design_matrix, fit_cox, km_curves, logrank_tests, survival_data

#: Treatment-column values read as "treated" (compared after stripping and lower-casing).
TREATED_WORDS = frozenset(
    {"treated", "treatment", "test", "t", "实验组", "试验组", "处理组", "干预组", "参与", "是", "yes", "y", "true", "1", "1.0"}
)
#: Treatment-column values read as "control".
CONTROL_WORDS = frozenset({"control", "holdout", "c", "对照组", "控制组", "未参与", "否", "no", "n", "false", "0", "0.0"})
TREATED, CONTROL = "treated", "control"
#: Columns derived at the start date.
AGE_AT_START = "age_at_start"
MONTHS_IN_FORCE = "months_in_force"
#: Covariates used when they exist, in this order.
COVARIATES = (AGE_AT_START, MONTHS_IN_FORCE, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.BRANCH, S.GENDER, S.INCOME)
#: |standardised mean difference| above this is flagged as imbalance.
SMD_LIMIT = 0.1
#: An arm needs at least this many policies for the evaluation (and a segment per arm for the uplift table).
MIN_ARM = 30
MIN_SEGMENT = 100


def treatment_arms(
    values: pd.Series, *, treated_values: Sequence[str] | None = None, control_values: Sequence[str] | None = None
) -> pd.Series:
    """Each policy's arm: ``treated``, ``control`` or missing (not in the campaign).

    Parameters
    ----------
    values : Series
        The treatment column as the extract has it (words, codes or booleans).
    treated_values, control_values : sequence of str, optional
        The values that mean treated / control; by default :data:`TREATED_WORDS` and
        :data:`CONTROL_WORDS`. Compared after stripping blanks and lower-casing.
    """
    treated = {str(v).strip().lower() for v in treated_values} if treated_values is not None else TREATED_WORDS
    control = {str(v).strip().lower() for v in control_values} if control_values is not None else CONTROL_WORDS
    text = values.astype("string").str.strip().str.lower()
    arms = pd.Series(pd.NA, index=values.index, dtype="string")
    arms[text.isin(list(treated)).fillna(False).astype(bool)] = TREATED
    arms[text.isin(list(control)).fillna(False).astype(bool)] = CONTROL
    return arms


def has_concurrent_control(arms: pd.Series, *, minimum: int = MIN_ARM) -> bool:
    """Whether a campaign has a control arm of at least ``minimum`` policies beside its treated one.

    ``arms`` is the output of :func:`treatment_arms`. Without one, any comparison the user
    makes is before/after (or treated vs everyone else), which is not evidence of an effect.
    """
    counts = arms.value_counts()
    return bool(counts.get(TREATED, 0) >= minimum and counts.get(CONTROL, 0) >= minimum)


def is_before_after(first: tuple[pd.Timestamp, pd.Timestamp], second: tuple[pd.Timestamp, pd.Timestamp]) -> bool:
    """Whether two compared groups are only two periods of time (``(start, end)`` each) that do not overlap.

    Such a comparison has no concurrent control: the page must warn that it is not evidence.
    """
    a0, a1 = (pd.Timestamp(d) for d in first)
    b0, b1 = (pd.Timestamp(d) for d in second)
    return bool(a1 < b0 or b1 < a0)


def default_start(policies: pd.DataFrame, arms: pd.Series) -> pd.Timestamp:
    """The latest issue date among the campaign's policies: the earliest date the campaign can have started.

    See the module docstring; the user should confirm or change it.
    """
    issued = policies.loc[arms.notna().to_numpy(), S.ISSUE_DATE]
    if issued.empty or issued.isna().all():
        raise ExtractError("No policy is in the campaign, so there is no start date to propose.", code="no_campaign")
    return pd.Timestamp(issued.max()).normalize()


def campaign_data(
    policies: pd.DataFrame,
    arms: pd.Series,
    *,
    start: pd.Timestamp,
    study_date: pd.Timestamp,
    window_months: int = 12,
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
            f"The {window_months}-month window after {start.date()} ends on {window_end.date()}, after the study date "
            f"{pd.Timestamp(study_date).date()}; choose an earlier start or a shorter window.",
            code="window_not_observed",
            window_end=window_end.date(),
        )
    in_campaign = arms.notna().to_numpy() & (policies[S.ISSUE_DATE] <= start).fillna(False).to_numpy(dtype=bool)
    chosen = policies.loc[in_campaign]
    if S.REINSTATEMENT_DATE in chosen.columns:
        # Reinstated by the start: in force from then on, and the extract records no later exit.
        back = ((chosen[S.STATUS] == S.REINSTATED) & (chosen[S.REINSTATEMENT_DATE] <= start)).fillna(False).astype(bool)
        chosen = chosen.assign(**{S.STATUS: chosen[S.STATUS].mask(back, S.IN_FORCE)})
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


def balance_table(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Standardised mean differences treated vs control: ``[covariate, level, treated, control, smd, imbalanced]``.

    Numbers: ``(mean_t − mean_c) / sqrt((var_t + var_c) / 2)``; each level of a category is
    a proportion p with variance p(1 − p). ``imbalanced`` is ``|smd| > 0.1``.
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
    data: pd.DataFrame, covariates: Sequence[str], *, folds: int = 5, random_state: int = 0, min_segment: int = MIN_SEGMENT
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


def qini_curve(uplift: np.ndarray, lapsed: np.ndarray, treated: np.ndarray, *, points: int = 100) -> tuple[pd.DataFrame, float]:
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


def evaluate_campaign(
    policies: pd.DataFrame,
    *,
    treatment: str,
    study_date: pd.Timestamp,
    start: pd.Timestamp | str | None = None,
    window_months: int = 12,
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
        The treatment column (see :func:`treatment_arms` for its values).
    study_date : Timestamp
        The extract's study date; the window must end on or before it.
    start : Timestamp or str, optional
        The campaign's start (``YYYY-MM-DD``); :func:`default_start` when omitted.
    window_months : int
        The outcome window after the start (12 by default), fixed in advance.
    covariates : sequence of str, optional
        Adjustment covariates; by default those of :data:`COVARIATES` the extract has.
    uplift : bool
        Also fit the T-learner (a few seconds on large campaigns).

    Raises
    ------
    ExtractError
        ``missing_column`` without the treatment column, ``no_control`` when an arm has fewer
        than 30 policies (a before/after comparison is not evidence), ``window_not_observed``
        when the window ends after the study date.
    """
    if treatment not in policies.columns:
        raise ExtractError(
            f"No treatment column {treatment!r} in the policies; columns: {', '.join(map(str, policies.columns[:40]))}.",
            code="missing_column",
            column=treatment,
        )
    if window_months < 1:
        raise ExtractError(f"The window must be at least one month, got {window_months}.", code="bad_option", detail="window_months")
    arms = treatment_arms(policies[treatment], treated_values=treated_values, control_values=control_values)
    if not has_concurrent_control(arms):
        found = ", ".join(f"{v!r}" for v in policies[treatment].dropna().astype(str).value_counts().index[:10]) or "only blanks"
        raise ExtractError(
            f"Column {treatment!r} needs a treated and a control group of at least {MIN_ARM} policies each; its values: {found}. "
            "Treated values are words such as 实验组/treated/是/1, control values 对照组/control/否/0. "
            "Without a concurrent control group a before/after comparison is not evidence of an effect.",
            code="no_control",
            column=treatment,
        )
    start = default_start(policies, arms) if start is None else pd.Timestamp(start).normalize()
    data = campaign_data(policies, arms, start=start, study_date=study_date, window_months=window_months)
    counts = data["arm"].value_counts()
    if counts.get(TREATED, 0) < MIN_ARM or counts.get(CONTROL, 0) < MIN_ARM:
        raise ExtractError(
            f"On {start.date()} only {counts.get(TREATED, 0)} treated and {counts.get(CONTROL, 0)} control policies were in force; "
            f"each arm needs at least {MIN_ARM}. Check the start date.",
            code="no_control",
            column=treatment,
        )
    # The treatment column is never its own covariate (perfectly collinear with the arm).
    chosen = tuple(
        c
        for c in (covariates if covariates is not None else COVARIATES)
        if c != treatment and c in data.columns and data[c].nunique(dropna=False) > 1
    )
    window = lapse_within_window(data)
    lapses = dict(zip(window["arm"], window["lapses"].astype(int)))
    known = dict(zip(window["arm"], window["policies"].astype(int)))
    difference = newcombe_difference(lapses[CONTROL], known[CONTROL], lapses[TREATED], known[TREATED])
    curves = km_curves(data, by="arm")
    logrank, _ = logrank_tests(data, by="arm")
    try:
        cox = fit_cox(data, ["arm", *chosen], random_state=random_state)
    except ExtractError:
        raise
    except Exception as exc:  # lifelines' ConvergenceError and numerical failures: a clear message, not a crash
        raise ExtractError(
            f"The Cox model of {treatment!r} did not converge ({type(exc).__name__}); "
            "the arms may be separated perfectly by the outcome or a covariate.",
            code="bad_option",
            detail=f"{treatment}: Cox model did not converge",
        ) from exc
    row = cox.hazard_ratios[cox.hazard_ratios["covariate"] == "arm"].iloc[0]
    hr, lower, upper = float(row["hazard_ratio"]), float(row["lower"]), float(row["upper"])
    if row["level"] != TREATED:  # the reference is the larger arm: turn control-vs-treated round
        hr, lower, upper = 1 / hr, 1 / upper, 1 / lower
    result_uplift = uplift_t_learner(data, chosen, random_state=random_state) if uplift and chosen else None
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
        uplift=result_uplift,
    )
