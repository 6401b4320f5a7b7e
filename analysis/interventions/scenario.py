"""Retention levers sized in policies, premium and money: scenario, projection, economics, uncertainty.

A **scenario** (:class:`Scenario`, JSON round-trip through :func:`scenario_to_dict` /
:func:`scenario_from_dict`) is one lever applied to one target:

* **target** — a named cohort and/or filter conditions (:class:`Target`; none = the whole
  book). Regular-premium policies only: a single-premium policy has no premium left to keep.
* **population** — ``in_force``: the target's policies in force on the study date (in
  grace, APL and reinstated included); ``new_business``: a cohort of new policies of the
  target starting at month 0 (``new_policies`` of them; by default as many as the target
  issued in the 12 months up to the study date). A low-premium product is sold to new
  business; education, reminders, flexible payment and auto-debit reach the book in force.
* **lever** — ``low_premium``, ``education``, ``reminder``, ``flexible_payment``, ``auto_debit``.
* **effect** (:class:`Effect`) — a hazard ratio on voluntary exits, one of:

  - ``hazard_ratio``: entered, with an optional 95 % interval;
  - ``relative_reduction``: r = relative reduction of the 12-month lapse probability q,
    turned into ``HR = ln(1 − (1 − r)·q) / ln(1 − q)`` (exact for a hazard constant over the
    year) with q the projected policies' baseline 12-month lapse probability;
  - ``measured``: the Cox hazard ratio and interval of a campaign evaluated on the data
    (:func:`analysis.interventions.campaign.evaluate_campaign`);
  - low premium only — ``model``: the lapse model's response to the premium cut x
    (:func:`premium_response`: the target's in-force policies scored with
    ``annual_premium × (1 − x)`` and as they are; ``HR = Σ ln(1 − p_cut) / Σ ln(1 − p_now)``,
    the ratio of their summed 12-month cumulative hazards); or ``elasticity`` ε: the relative
    change in lapse per relative change in premium, so the cut x lowers q by ``r = ε·x``.
    The model's response is an association learnt from the book, not a measured effect, and
    it has no interval; say so on the page.

* **economics** (:class:`Economics`) — take-up u, cost per contact (every targeted policy),
  cost per participant (the u share), fixed cost, horizon, annual discount rate, and the value
  of a retained policy: a profit ``margin`` on premium, or a ``value_per_policy`` the user enters.

**Baseline** (:func:`baseline_for`, the expensive part: compute once per target and cache).
The Kaplan–Meier curve of voluntary exits of the target's policies by months since issue
(:func:`analysis.survival.curves.survival_data`, :func:`analysis.survival.curves.km_curves`), read at
whole months while at least 30 policies are at risk; beyond that it goes on at the constant
hazard of its last 12 reliable months. Each projected policy follows the curve's conditional
survival from its current duration d: ``c(t) = S(d + t) / S(d)`` (new business: d = 0). The
policies are grouped by whole months in force, so the projection costs (durations × months),
never (policies × months).

**Projection** (:func:`project`, cheap). With take-up u and hazard ratio HR, a policy's
scenario survival is ``(1 − u)·c(t) + u·c(t)^HR`` (DOMAIN.md §5), averaged over the
projected policies (N of them) month by month to the horizon T. Figures, with
``v = (1 + i)^(−1/12)`` and a policy counted in force for month t when it is in force at the
month's end (premium P = the projected policies' mean annual premium, collected monthly):

* ``retained_policies`` = N·(S_scen(T) − S(T)), extra policies in force at the horizon;
  ``policy_years`` = N·Σ_t (S_scen(t) − S(t)) / 12;
* ``retained_premium`` = N·P/12·Σ_t v^t·u·(c̄^HR(t) − c̄(t)), premium of the policies kept
  (discounted); ``premium_given_up`` (low premium) = N·P/12·Σ_t v^t·u·x·c̄^HR(t): the cut on
  every taken-up policy in force under the scenario, the ones that would have stayed anyway
  included;
* ``value`` = margin·(retained_premium − premium_given_up) — profit is taken to scale with
  premium, so a cheaper product earns the same margin on less premium; or, with a
  ``value_per_policy`` V (the present value of a saved policy), ``value`` = V·N·(S_pay(T) −
  S(T)) with ``S_pay = (1 − u)·c̄ + u·(1 − x)·c̄^HR`` (each taken-up low-premium policy is
  worth (1 − x)·V);
* ``cost`` C = fixed + cost_per_contact·N + cost_per_participant·u·N; ``npv`` = value − C;
  ``roi`` = npv / C (NaN without cost);
* ``break_even_hazard_ratio``: the HR at which npv = 0 (bisection on log HR; value falls as
  HR rises, so it is unique; NaN when even HR → 0 does not pay, 1 when any HR ≤ 1 pays),
  with the matching ``break_even_relative_reduction`` and ``break_even_uplift``: extra
  in-force share per contacted policy at the horizon — equal to DOMAIN.md's ``cost per
  contacted policy / V`` in the value-per-policy basis.

**Uncertainty** (``draws``, default 1,000). log HR is drawn from a normal centred on the
log point estimate with sd = (ln upper − ln lower) / (2·1.96), the log-normal the 95 %
interval implies; each figure's 95 % interval is its 2.5–97.5 % quantiles over the draws,
and the scenario curve gets a band the same way. Every figure is monotone in HR, so these
intervals are the figures at the ends of the HR interval (up to the draws' noise); without
an interval every draw is the point estimate. ``probability_positive`` is the share of
draws with npv > 0.

All money is in the extract's currency; nothing here knows today's date.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.report.catalogue import translate
from analysis.study.calendar import as_days
from analysis.study.cohorts import Condition, NamedCohort, cohort_from_dict, filter_mask
from analysis.survival.curves import DAYS_PER_MONTH, km_curves, survival_data

LEVERS = ("low_premium", "education", "reminder", "flexible_payment", "auto_debit")
SOURCES = ("hazard_ratio", "relative_reduction", "measured", "model", "elasticity")
#: The effect sources each lever accepts.
LEVER_SOURCES = {
    "low_premium": ("model", "elasticity", "hazard_ratio", "relative_reduction"),
    **{lever: ("hazard_ratio", "relative_reduction", "measured") for lever in LEVERS[1:]},
}
POPULATIONS = ("in_force", "new_business")
#: The page compares at most this many scenarios.
MAX_SCENARIOS = 4
DRAWS = 1000
#: The Kaplan–Meier curve is read while at least this many policies are at risk.
MIN_AT_RISK = 30
#: The tail beyond that goes on at the hazard of this many last reliable months.
TAIL_MONTHS = 12
MAX_HORIZON_YEARS = 30
Z95 = float(stats.norm.ppf(0.975))
#: Statuses of policies projected forward (paid-up policies pay no premium).
PROJECTED_STATUSES = frozenset(S.ACTIVE_STATUSES - {S.PAID_UP})
#: Figures of a scenario, in the comparison table's order.
FIGURES = (
    "policies",
    "participants",
    "hazard_ratio",
    "hazard_ratio_lower",
    "hazard_ratio_upper",
    "baseline_lapse_12m",
    "baseline_in_force",
    "retained_policies",
    "retained_policies_lower",
    "retained_policies_upper",
    "policy_years",
    "policy_years_lower",
    "policy_years_upper",
    "retained_premium",
    "premium_given_up",
    "value",
    "value_lower",
    "value_upper",
    "cost",
    "npv",
    "npv_lower",
    "npv_upper",
    "roi",
    "roi_lower",
    "roi_upper",
    "probability_positive",
    "break_even_hazard_ratio",
    "break_even_relative_reduction",
    "break_even_uplift",
)
#: Figures that vary with the hazard ratio and get a 95 % interval from the draws.
UNCERTAIN = ("retained_policies", "policy_years", "value", "npv", "roi")


def _bad(message: str, detail: str) -> ExtractError:
    return ExtractError(message, code="bad_scenario", detail=detail)


# --- the scenario --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Whom a lever reaches: a named cohort and/or conditions, combined with AND (neither: the whole book)."""

    cohort: NamedCohort | None = None
    conditions: tuple[Condition, ...] = ()

    def mask(self, policies: pd.DataFrame) -> pd.Series:
        """True for the target's policies (raises ``missing_column`` for a condition on a column the data lacks)."""
        mask = filter_mask(policies, self.cohort.conditions) if self.cohort is not None else pd.Series(True, index=policies.index)
        return mask & filter_mask(policies, self.conditions)

    def text(self, language: str = "en") -> str:
        """The target in words: the cohort's name, then the conditions."""
        parts = [self.cohort.label(language)] if self.cohort is not None else []
        parts += [c.text(language) for c in self.conditions]
        return (" AND " if language == "en" else translate("cohort.and", language)).join(parts) or translate("interv.whole_book", language)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"cohort": {...} or null, "all": [{"column", "op", "value"}]}``."""
        return {"cohort": self.cohort.to_dict() if self.cohort is not None else None, "all": [asdict(c) for c in self.conditions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """The inverse of :meth:`to_dict`, checking every operator."""
        cohort = cohort_from_dict(data["cohort"]) if data.get("cohort") else None
        conditions = cohort_from_dict({"key": "target", "name": {}, "all": data.get("all", [])}).conditions
        return cls(cohort, conditions)


@dataclass(frozen=True)
class Effect:
    """What the lever does to voluntary exits (see the module docstring for each ``source``).

    ``value``, ``lower`` and ``upper`` are on the source's own scale: a hazard ratio, a
    relative reduction of the 12-month lapse probability (0.2 = a fifth fewer lapses), an
    elasticity, or — for ``measured`` — a saved copy of the campaign's hazard ratio used
    when the campaign is not re-evaluated. ``premium_cut`` is the low-premium lever's cut
    as a fraction (0.3 = 30 % cheaper). ``treatment``, ``campaign_start`` and
    ``window_months`` name the measured campaign.
    """

    source: str = "hazard_ratio"
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    premium_cut: float = 0.0
    treatment: str | None = None
    campaign_start: str | None = None
    window_months: int = 12


@dataclass(frozen=True)
class Economics:
    """Take-up, costs, horizon, discounting and the value of a retained policy (defaults are assumptions to state)."""

    take_up: float = 1.0
    cost_per_contact: float = 0.0
    cost_per_participant: float = 0.0
    fixed_cost: float = 0.0
    horizon_years: float = 5.0
    discount_rate: float = 0.03
    margin: float = 0.10
    value_per_policy: float | None = None

    @property
    def horizon_months(self) -> int:
        """The horizon in whole months."""
        return int(round(self.horizon_years * 12))


@dataclass(frozen=True)
class Scenario:
    """One lever on one target, with its effect and economics; checked when built (``bad_scenario``)."""

    name: str
    lever: str
    effect: Effect
    target: Target = field(default_factory=Target)
    population: str = "in_force"
    new_policies: int | None = None
    economics: Economics = field(default_factory=Economics)

    def __post_init__(self) -> None:
        check_scenario(self)


def check_scenario(scenario: Scenario) -> None:
    """Raise ``ExtractError(code="bad_scenario")`` naming the first setting that cannot be used."""
    e, m = scenario.effect, scenario.economics
    if scenario.lever not in LEVERS:
        raise _bad(f"Unknown lever {scenario.lever!r}; use one of {', '.join(LEVERS)}.", "lever")
    allowed = LEVER_SOURCES[scenario.lever]
    if e.source not in allowed:
        raise _bad(f"The {scenario.lever} lever takes its effect from {', '.join(allowed)}, not {e.source!r}.", "effect source")
    if scenario.lever == "low_premium" and not 0 < e.premium_cut < 1:
        raise _bad(f"The premium cut must be between 0 and 1 (0.3 = 30 % cheaper), got {e.premium_cut}.", "premium_cut")
    if scenario.lever != "low_premium" and e.premium_cut != 0:
        raise _bad(
            f"Only the low-premium lever cuts the premium; the {scenario.lever} lever has premium_cut {e.premium_cut}.", "premium_cut"
        )
    if e.source in ("hazard_ratio", "relative_reduction", "elasticity") and e.value is None:
        raise _bad(f"The effect source {e.source!r} needs a value.", "effect value")
    if e.source == "measured" and e.value is None and not e.treatment:
        raise _bad("A measured effect needs the campaign's treatment column (or a saved hazard ratio).", "treatment")
    numbers = {
        "value": e.value,
        "lower": e.lower,
        "upper": e.upper,
        "premium_cut": e.premium_cut,
        "take_up": m.take_up,
        "cost_per_contact": m.cost_per_contact,
        "cost_per_participant": m.cost_per_participant,
        "fixed_cost": m.fixed_cost,
        "horizon_years": m.horizon_years,
        "discount_rate": m.discount_rate,
        "margin": m.margin,
        "value_per_policy": m.value_per_policy,
    }
    for name, number in numbers.items():
        if number is not None and not (isinstance(number, (int, float)) and math.isfinite(number)):
            raise _bad(f"{name} must be a finite number, got {number!r}.", name)
    if e.lower is not None and e.upper is not None and e.lower > e.upper:
        raise _bad(f"The effect's interval runs from {e.lower} to {e.upper}: the lower end must come first.", "effect interval")
    if e.value is not None and ((e.lower is not None and e.value < e.lower) or (e.upper is not None and e.value > e.upper)):
        raise _bad(f"The effect {e.value} lies outside its own interval {e.lower} to {e.upper}.", "effect interval")
    if e.source == "relative_reduction":
        for name, number in (("value", e.value), ("lower", e.lower), ("upper", e.upper)):
            if number is not None and number < 0:
                raise _bad(f"A relative reduction cannot be negative (that is a rise in lapse), got {name} {number}.", "relative reduction")
    if e.campaign_start is not None:
        try:
            pd.Timestamp(e.campaign_start)
        except (ValueError, TypeError) as exc:
            raise _bad(f"campaign_start {e.campaign_start!r} is not a date (YYYY-MM-DD).", "campaign_start") from exc
    if scenario.new_policies is not None and (not isinstance(scenario.new_policies, int) or isinstance(scenario.new_policies, bool)):
        raise _bad(f"new_policies must be a whole number of policies, got {scenario.new_policies!r}.", "new_policies")
    if e.source in ("hazard_ratio", "measured"):
        for name, number in (("value", e.value), ("lower", e.lower), ("upper", e.upper)):
            if number is not None and not number > 0:
                raise _bad(f"A hazard ratio must be above 0, got {name} {number}.", "hazard ratio")
    if e.source == "relative_reduction":
        for name, number in (("value", e.value), ("lower", e.lower), ("upper", e.upper)):
            if number is not None and not number < 1:
                raise _bad(f"A relative reduction must be below 1 (1 = no lapses at all), got {name} {number}.", "relative reduction")
    if e.source == "elasticity":
        for name, number in (("value", e.value), ("lower", e.lower), ("upper", e.upper)):
            if number is not None and not number * e.premium_cut < 1:
                raise _bad(f"An elasticity of {number} with a cut of {e.premium_cut} would remove every lapse ({name}).", "elasticity")
    if e.window_months < 1:
        raise _bad(f"The campaign window must be at least one month, got {e.window_months}.", "window_months")
    if not 0 <= m.take_up <= 1:
        raise _bad(f"Take-up is a share between 0 and 1, got {m.take_up}.", "take_up")
    for name in ("cost_per_contact", "cost_per_participant", "fixed_cost", "margin"):
        if getattr(m, name) < 0:
            raise _bad(f"{name} cannot be negative, got {getattr(m, name)}.", name)
    if m.value_per_policy is not None and m.value_per_policy < 0:
        raise _bad(f"value_per_policy cannot be negative, got {m.value_per_policy}.", "value_per_policy")
    if not 0 < m.horizon_years <= MAX_HORIZON_YEARS or m.horizon_months < 1:
        raise _bad(f"The horizon must be from one month to {MAX_HORIZON_YEARS} years, got {m.horizon_years} years.", "horizon_years")
    if not m.discount_rate > -1:
        raise _bad(f"The discount rate must be above −100 %, got {m.discount_rate}.", "discount_rate")
    if scenario.population not in POPULATIONS:
        raise _bad(f"Population must be one of {', '.join(POPULATIONS)}, got {scenario.population!r}.", "population")
    if scenario.new_policies is not None and scenario.new_policies < 1:
        raise _bad(f"new_policies must be a positive number of policies, got {scenario.new_policies}.", "new_policies")


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The JSON-ready form of a scenario (the inverse of :func:`scenario_from_dict`)."""
    return {
        "name": scenario.name,
        "lever": scenario.lever,
        "target": scenario.target.to_dict(),
        "population": scenario.population,
        "new_policies": scenario.new_policies,
        "effect": asdict(scenario.effect),
        "economics": asdict(scenario.economics),
    }


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Build and check a scenario from its JSON-ready form; unknown keys are an error, missing ones take defaults."""
    try:
        effect = Effect(**data.get("effect", {}))
        economics = Economics(**data.get("economics", {}))
        target = Target.from_dict(data.get("target") or {})
        unknown = set(data) - {"name", "lever", "target", "population", "new_policies", "effect", "economics"}
        if unknown:
            raise TypeError(f"unknown keys {sorted(unknown)}")
        return Scenario(
            name=str(data["name"]),
            lever=str(data["lever"]),
            effect=effect,
            target=target,
            population=str(data.get("population", "in_force")),
            new_policies=data.get("new_policies"),
            economics=economics,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad(f"A scenario needs 'name', 'lever' and 'effect' with known keys: {exc}.", "scenario_keys") from exc


def scenarios_to_json(scenarios: Sequence[Scenario]) -> str:
    """Scenarios as a JSON array (UTF-8 text, Chinese kept as it is)."""
    return json.dumps([scenario_to_dict(s) for s in scenarios], ensure_ascii=False, indent=2)


def scenarios_from_json(text: str) -> list[Scenario]:
    """Scenarios from JSON text: one scenario object or an array of them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"The scenario file is not JSON: {exc}.", "not_json") from exc
    items = data if isinstance(data, list) else [data]
    if not items:
        raise _bad("The scenario file holds no scenario.", "empty")
    if not all(isinstance(item, dict) for item in items):
        raise _bad("A scenario file holds one scenario object or an array of them.", "shape")
    return [scenario_from_dict(item) for item in items]


# --- the baseline (expensive: compute once per target and population) ---------------------


@dataclass(frozen=True)
class Baseline:
    """The target's persistency curve and the policies to project; see the module docstring.

    Attributes
    ----------
    survival : ndarray
        S(m) for m = 0, 1, … months since issue: Kaplan–Meier of voluntary exits of the
        target, read directly up to ``reliable_months`` and extended at a constant hazard.
    durations, weights : ndarray
        Whole months in force of the projected policies, and how many are at each.
    mean_premium : float
        Their mean annual premium (NaN without an ``annual_premium`` column).
    target_policies : int
        Regular-premium policies of the target behind the curve.
    """

    survival: np.ndarray
    durations: np.ndarray
    weights: np.ndarray
    mean_premium: float
    reliable_months: int
    population: str
    target_policies: int

    @property
    def policies(self) -> int:
        """Policies projected (N)."""
        return int(round(float(self.weights.sum())))

    def conditional(self, months: int) -> np.ndarray:
        """Conditional survival ``S(d + t) / S(d)`` per duration d (rows), t = 0..months (columns)."""
        if int(self.durations.max()) + months >= len(self.survival):
            raise _bad(
                "The baseline was built for horizons up to "
                f"{len(self.survival) - int(self.durations.max()) - 1} months; rebuild it for {months}.",
                "horizon",
            )
        index = self.durations[:, None] + np.arange(months + 1)[None, :]
        start = self.survival[self.durations][:, None]
        return np.asarray(self.survival[index] / start)

    def curve(self, months: int) -> np.ndarray:
        """The share of the projected policies still in force at t = 0..months without the lever."""
        return np.asarray(self.weights @ self.conditional(months) / self.weights.sum())

    @property
    def lapse_12m(self) -> float:
        """The projected policies' baseline probability of a voluntary exit within 12 months."""
        return float(1 - self.curve(12)[12])


def survival_by_month(curves: pd.DataFrame, months: int) -> tuple[np.ndarray, int]:
    """A Kaplan–Meier table (one cohort) read at whole months 0..months, and the last reliable month.

    The curve is read while at least :data:`MIN_AT_RISK` policies are at risk; after that
    month it continues at the constant monthly hazard of its last :data:`TAIL_MONTHS`
    reliable months.
    """
    times = curves["month"].to_numpy(dtype=float)
    survival = curves["survival"].to_numpy(dtype=float)
    at_risk = curves["at_risk"].to_numpy(dtype=float)
    grid = np.arange(months + 1, dtype=float)
    read = survival[np.clip(np.searchsorted(times, grid, side="right") - 1, 0, None)]
    after = np.searchsorted(times, grid, side="left")
    risk = np.where(after < len(times), at_risk[np.minimum(after, len(times) - 1)], 0.0)
    reliable_months = np.flatnonzero(risk >= MIN_AT_RISK)
    if len(reliable_months) == 0 or reliable_months[-1] < 1:
        raise ExtractError(
            f"Too few policies to draw the target's persistency curve (fewer than {MIN_AT_RISK} at risk after month 0); widen the target.",
            code="no_policies",
            detail="at_risk",
        )
    last = int(reliable_months[-1])
    first = max(last - TAIL_MONTHS, 0)
    with np.errstate(divide="ignore"):
        hazard = float(np.log(read[first] / read[last]) / (last - first)) if read[last] > 0 else np.inf
    tail = read[last] * np.exp(-hazard * (grid - last))
    return np.where(grid <= last, read, tail), last


def baseline_for(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    target: Target | None = None,
    population: str = "in_force",
    new_policies: int | None = None,
    max_horizon_years: float = MAX_HORIZON_YEARS,
) -> Baseline:
    """The target's baseline persistency and the policies a scenario projects (cache this).

    Parameters
    ----------
    policies : DataFrame
        Canonical policies (``issue_date``, ``status`` and the exit dates; ``annual_premium``
        for premium figures, ``payment_frequency`` to leave single premiums out).
    study_date : Timestamp
        The extract's study date: the projection starts there.
    target : Target, optional
        Whom the lever reaches (whole book when omitted).
    population : str
        ``in_force`` or ``new_business`` (see the module docstring).
    new_policies : int, optional
        New-business cohort size; by default the target's issues in the last 12 months.
    max_horizon_years : float
        The longest horizon the baseline serves.
    """
    if population not in POPULATIONS:
        raise _bad(f"Population must be one of {', '.join(POPULATIONS)}, got {population!r}.", "population")
    mask = (target or Target()).mask(policies)
    if S.PAYMENT_FREQUENCY in policies.columns:
        mask &= (pd.to_numeric(policies[S.PAYMENT_FREQUENCY], errors="coerce") != 0).fillna(True).astype(bool)
    chosen = policies.loc[mask]
    if chosen.empty:
        raise ExtractError("No regular-premium policy is in the target; widen the target.", code="no_policies", detail="regular_premium")
    study_day = np.datetime64(pd.Timestamp(study_date).date(), "D")
    issue = as_days(chosen[S.ISSUE_DATE])
    premium = (
        pd.to_numeric(chosen[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float)
        if S.ANNUAL_PREMIUM in chosen
        else np.full(len(chosen), np.nan)
    )
    if population == "in_force":
        projected = chosen[S.STATUS].isin(list(PROJECTED_STATUSES)).to_numpy(dtype=bool) & (issue <= study_day)
        if not projected.any():
            raise ExtractError("No policy of the target is in force on the study date.", code="no_policies", detail="in_force")
        months_in_force = np.floor((study_day - issue[projected]).astype(np.int64) / DAYS_PER_MONTH).astype(np.int64)
        durations, counts = np.unique(months_in_force, return_counts=True)
        weights = counts.astype(float)
        premiums = premium[projected]
    else:
        recent = (issue > study_day - np.timedelta64(365, "D")) & (issue <= study_day)
        size = new_policies if new_policies is not None else int(recent.sum())
        if size < 1:
            raise ExtractError(
                "The target issued no policy in the last 12 months; give the number of new policies.",
                code="no_policies",
                detail="new_business",
            )
        durations, weights = np.array([0]), np.array([float(size)])
        premiums = premium[recent] if recent.any() else premium
    mean_premium = float(np.nanmean(premiums)) if np.isfinite(premiums).any() else float("nan")
    curves = km_curves(survival_data(chosen, study_date=study_date))
    horizon = int(round(max_horizon_years * 12))
    survival, reliable = survival_by_month(curves, int(durations.max()) + horizon)
    return Baseline(survival, durations.astype(np.int64), weights, mean_premium, reliable, population, len(chosen))


# --- effects -------------------------------------------------------------------------------


class LapseScorer(Protocol):
    """Anything that gives P(voluntary exit within 12 months) for feature rows (a fitted ``RiskModel``)."""

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        """One probability per row."""
        ...


@dataclass(frozen=True)
class PremiumResponse:
    """The lapse model's response to a premium cut on the target's in-force policies."""

    premium_cut: float
    policies: int
    lapse_now: float
    lapse_cut: float
    hazard_ratio: float

    @property
    def relative_change(self) -> float:
        """Relative change of the mean 12-month lapse probability (negative: fewer lapses)."""
        return self.lapse_cut / self.lapse_now - 1 if self.lapse_now > 0 else 0.0


#: Feature columns that scale with the premium.
PREMIUM_FEATURES = (S.ANNUAL_PREMIUM, "premium_to_income")


def premium_response(model: LapseScorer, rows: pd.DataFrame, *, premium_cut: float, mask: pd.Series | None = None) -> PremiumResponse:
    """Score the rows as they are and with the premium cut; the implied hazard ratio (cache this per target and cut).

    Parameters
    ----------
    model : LapseScorer
        The fitted lapse model (``RiskResult.model``).
    rows : DataFrame
        Its scoring rows (``RiskResult.scores`` or :func:`analysis.risk.model.scoring_rows`):
        features of the policies in force on the study date, indexed like the policies.
    premium_cut : float
        The cut as a fraction (0.3 = 30 % cheaper): ``annual_premium`` (and
        ``premium_to_income``) are multiplied by ``1 − premium_cut``.
    mask : Series, optional
        The target (a boolean Series on the policies' index); all rows when omitted.
        Single-premium rows are left out, as in :func:`baseline_for`.
    """
    if not 0 < premium_cut < 1:
        raise _bad(f"The premium cut must be between 0 and 1, got {premium_cut}.", "premium_cut")
    if S.ANNUAL_PREMIUM not in rows.columns:
        raise ExtractError(
            "The lapse model has no premium to respond to (no annual_premium column).", code="missing_column", column=S.ANNUAL_PREMIUM
        )
    if mask is not None:
        rows = rows.loc[mask.reindex(rows.index, fill_value=False).to_numpy(dtype=bool)]
    if S.PAYMENT_FREQUENCY in rows.columns:  # regular premiums only, as in the baseline
        rows = rows.loc[(pd.to_numeric(rows[S.PAYMENT_FREQUENCY], errors="coerce") != 0).fillna(True).to_numpy(dtype=bool)]
    if rows.empty:
        raise ExtractError("No policy of the target is in force on the study date.", code="no_policies", detail="in_force")
    cut = rows.copy()
    for column in PREMIUM_FEATURES:
        if column in cut.columns:
            cut[column] = pd.to_numeric(cut[column], errors="coerce") * (1 - premium_cut)
    now = np.clip(model.probability(rows), 0.0, 1 - 1e-12)
    after = np.clip(model.probability(cut), 0.0, 1 - 1e-12)
    hazard_now = -np.log1p(-now).sum()
    hazard_ratio = float(-np.log1p(-after).sum() / hazard_now) if hazard_now > 0 else 1.0
    return PremiumResponse(premium_cut, len(rows), float(now.mean()), float(after.mean()), hazard_ratio)


def hazard_ratio_from_reduction(reduction: float, lapse: float) -> float:
    """The HR that lowers a 12-month lapse probability ``lapse`` by the relative ``reduction``: ``ln(1 − (1 − r)q) / ln(1 − q)``."""
    if not 0 < lapse < 1:
        return 1 - reduction  # the limit as q → 0
    target = (1 - reduction) * lapse
    if target >= 1:
        raise _bad(f"A relative change of {-reduction:+.0%} on a {lapse:.1%} lapse probability would exceed 100 %.", "relative reduction")
    return float(np.log1p(-target) / np.log1p(-lapse))


def reduction_from_hazard_ratio(hazard_ratio: float, lapse: float) -> float:
    """The relative reduction of a 12-month lapse probability ``lapse`` that a hazard ratio gives (inverse of the above)."""
    if not 0 < lapse < 1:
        return 1 - hazard_ratio
    return float(1 - (1 - (1 - lapse) ** hazard_ratio) / lapse)


class MeasuredEffect(Protocol):
    """A measured campaign's hazard ratio and interval (``analysis.interventions.campaign.CampaignResult``)."""

    @property
    def hazard_ratio(self) -> float: ...  # noqa: D102

    @property
    def hazard_ratio_lower(self) -> float: ...  # noqa: D102

    @property
    def hazard_ratio_upper(self) -> float: ...  # noqa: D102


@dataclass(frozen=True)
class ResolvedEffect:
    """The effect as a hazard ratio on voluntary exits, with its 95 % interval (NaN ends: no interval)."""

    hazard_ratio: float
    lower: float
    upper: float
    source: str

    @property
    def has_interval(self) -> bool:
        """Whether there is an interval to draw from."""
        return bool(np.isfinite(self.lower) and np.isfinite(self.upper) and self.upper > self.lower)


def resolve_effect(
    scenario: Scenario, baseline: Baseline, *, response: PremiumResponse | None = None, campaign: MeasuredEffect | None = None
) -> ResolvedEffect:
    """The scenario's effect as a hazard ratio with its interval.

    ``response`` (from :func:`premium_response` with the scenario's cut) is needed for the
    ``model`` source, ``campaign`` (an evaluated campaign) for ``measured`` unless the
    scenario carries a saved hazard ratio.
    """
    e = scenario.effect
    nan = float("nan")

    def scaled(convert: Any) -> ResolvedEffect:
        point = convert(e.value)
        ends = sorted(convert(v) for v in (e.lower, e.upper)) if e.lower is not None and e.upper is not None else [nan, nan]
        return ResolvedEffect(point, ends[0], ends[1], e.source)

    if e.source == "hazard_ratio":
        return scaled(float)
    if e.source == "relative_reduction":
        return scaled(lambda r: hazard_ratio_from_reduction(float(r), baseline.lapse_12m))
    if e.source == "elasticity":
        return scaled(lambda eps: hazard_ratio_from_reduction(float(eps) * e.premium_cut, baseline.lapse_12m))
    if e.source == "model":
        if response is None:
            raise ExtractError(
                "This scenario takes its effect from the lapse model: fit the model and pass its premium response.",
                code="needs_input",
                detail="model",
            )
        if abs(response.premium_cut - e.premium_cut) > 1e-12:
            raise _bad(
                f"The model's response was computed for a cut of {response.premium_cut}, the scenario cuts {e.premium_cut}.", "premium_cut"
            )
        return ResolvedEffect(response.hazard_ratio, nan, nan, e.source)
    if campaign is not None:
        return ResolvedEffect(
            float(campaign.hazard_ratio), float(campaign.hazard_ratio_lower), float(campaign.hazard_ratio_upper), e.source
        )
    if e.value is None:
        raise ExtractError(
            "This scenario takes its effect from a measured campaign: evaluate the campaign and pass its result.",
            code="needs_input",
            detail="campaign",
        )
    return scaled(float)


def with_measured_effect(scenario: Scenario, campaign: MeasuredEffect) -> Scenario:
    """The scenario with the campaign's hazard ratio and interval saved in it (so its JSON carries them)."""
    effect = replace(
        scenario.effect,
        value=float(campaign.hazard_ratio),
        lower=float(campaign.hazard_ratio_lower),
        upper=float(campaign.hazard_ratio_upper),
    )
    return replace(scenario, effect=effect)


# --- projection and economics (cheap: per scenario and per draw) --------------------------


@dataclass(frozen=True)
class ScenarioResult:
    """A projected scenario.

    Attributes
    ----------
    scenario : Scenario
    effect : ResolvedEffect
    figures : dict of str to float
        :data:`FIGURES` (see the module docstring; ``_lower``/``_upper`` are 95 % intervals
        over the draws).
    curve : DataFrame
        ``[month, baseline, scenario, scenario_lower, scenario_upper]``: share of the
        projected policies in force, month 0..horizon.
    draws : DataFrame
        ``[hazard_ratio, retained_policies, policy_years, value, npv]`` per draw.
    """

    scenario: Scenario
    effect: ResolvedEffect
    figures: dict[str, float]
    curve: pd.DataFrame
    draws: pd.DataFrame


def _mean_powers(log_conditional: np.ndarray, weights: np.ndarray, hazard_ratios: np.ndarray, *, chunk: int = 100) -> np.ndarray:
    """``Σ_d w_d · c_d(t)^HR / Σ w`` for each HR (rows) and month (columns), in chunks of draws."""
    share = weights / weights.sum()
    out = np.empty((len(hazard_ratios), log_conditional.shape[1]))
    for first in range(0, len(hazard_ratios), chunk):
        hr = hazard_ratios[first : first + chunk]
        out[first : first + chunk] = np.einsum("d,hdt->ht", share, np.exp(hr[:, None, None] * log_conditional[None, :, :]))
    return out


def _economics(
    base: np.ndarray, powered: np.ndarray, *, policies: int, premium: float, economics: Economics, cut: float
) -> dict[str, np.ndarray]:
    """The HR-dependent figures for each row of ``powered`` (c̄^HR by month), as arrays."""
    u, n = economics.take_up, float(policies)
    months = len(base) - 1
    discount = (1 + economics.discount_rate) ** (-np.arange(1, months + 1) / 12)
    extra = u * (powered - base[None, :])
    kept = np.asarray((extra[:, 1:] * discount).sum(axis=1) * n * premium / 12)
    given_up = np.asarray((u * cut * powered[:, 1:] * discount).sum(axis=1) * n * premium / 12)
    if economics.value_per_policy is None:
        value = economics.margin * (kept - given_up)
    else:
        paying = u * ((1 - cut) * powered[:, -1] - base[-1])
        value = economics.value_per_policy * n * paying
    cost = economics.fixed_cost + economics.cost_per_contact * n + economics.cost_per_participant * u * n
    npv = value - cost
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = npv / cost if cost > 0 else np.full(len(npv), np.nan)
    return {
        "retained_policies": n * extra[:, -1],
        "policy_years": n * extra[:, 1:].sum(axis=1) / 12,
        "retained_premium": kept,
        "premium_given_up": given_up,
        "value": value,
        "npv": npv,
        "roi": roi,
        "cost": np.full(len(npv), cost),
    }


def _break_even(
    log_conditional: np.ndarray, weights: np.ndarray, base: np.ndarray, *, policies: int, premium: float, economics: Economics, cut: float
) -> float:
    """The hazard ratio at which npv = 0 (bisection on log HR over [1e-6, 1])."""

    def npv(log_hr: float) -> float:
        powered = _mean_powers(log_conditional, weights, np.array([np.exp(log_hr)]))
        return float(_economics(base, powered, policies=policies, premium=premium, economics=economics, cut=cut)["npv"][0])

    low, high = np.log(1e-6), 0.0
    if npv(high) >= 0:
        return 1.0
    if npv(low) < 0:
        return float("nan")
    for _ in range(60):
        middle = (low + high) / 2
        if npv(middle) >= 0:
            low = middle
        else:
            high = middle
    return float(np.exp((low + high) / 2))


def project(
    scenario: Scenario,
    baseline: Baseline,
    *,
    response: PremiumResponse | None = None,
    campaign: MeasuredEffect | None = None,
    draws: int = DRAWS,
    random_state: int = 0,
) -> ScenarioResult:
    """Baseline vs scenario persistency, the scenario's figures, and their intervals over ``draws`` effect draws.

    Parameters
    ----------
    scenario : Scenario
    baseline : Baseline
        From :func:`baseline_for` with the scenario's target and population (cached by the caller).
    response, campaign
        The model's premium response or the evaluated campaign, for those effect sources
        (see :func:`resolve_effect`).
    draws : int
        Effect draws for the intervals (0: point figures only, intervals NaN).
    random_state : int
        Seed of the draws.
    """
    economics = scenario.economics
    if economics.value_per_policy is None and not np.isfinite(baseline.mean_premium):
        raise ExtractError(
            "The value of a retained policy is a margin on premium, but the data "
            "has no annual premium; enter a value per retained policy instead.",
            code="needs_input",
            detail="premium",
        )
    effect = resolve_effect(scenario, baseline, response=response, campaign=campaign)
    months = economics.horizon_months
    cut = scenario.effect.premium_cut if scenario.lever == "low_premium" else 0.0
    conditional = baseline.conditional(months)
    with np.errstate(divide="ignore"):
        log_conditional = np.log(conditional)
    weights, n, premium = baseline.weights, baseline.policies, baseline.mean_premium
    base = np.asarray(weights @ conditional / weights.sum())
    point_powered = _mean_powers(log_conditional, weights, np.array([effect.hazard_ratio]))
    point = _economics(base, point_powered, policies=n, premium=premium, economics=economics, cut=cut)
    u = economics.take_up
    scenario_curve = (1 - u) * base + u * point_powered[0]
    figures: dict[str, float] = {name: float(values[0]) for name, values in point.items()}
    sigma = (np.log(effect.upper) - np.log(effect.lower)) / (2 * Z95) if effect.has_interval else 0.0
    rng = np.random.default_rng(random_state)
    drawn_hr = np.exp(np.log(effect.hazard_ratio) + sigma * rng.standard_normal(draws)) if draws > 0 else np.array([])
    if draws > 0:
        powered = _mean_powers(log_conditional, weights, drawn_hr)
        drawn = _economics(base, powered, policies=n, premium=premium, economics=economics, cut=cut)
        band = np.quantile((1 - u) * base[None, :] + u * powered, [0.025, 0.975], axis=0)
        for name in UNCERTAIN:
            finite = drawn[name][np.isfinite(drawn[name])]
            low, high = np.quantile(finite, [0.025, 0.975]) if len(finite) else (np.nan, np.nan)
            figures[f"{name}_lower"], figures[f"{name}_upper"] = float(low), float(high)
        figures["probability_positive"] = float((drawn["npv"] > 0).mean())
    else:
        drawn = {name: np.array([]) for name in point}
        band = np.full((2, len(base)), np.nan)
        for name in UNCERTAIN:
            figures[f"{name}_lower"] = figures[f"{name}_upper"] = float("nan")
        figures["probability_positive"] = float(point["npv"][0] > 0)
    lapse_12m = baseline.lapse_12m
    break_even = _break_even(log_conditional, weights, base, policies=n, premium=premium, economics=economics, cut=cut)
    if np.isfinite(break_even):
        powered_even = _mean_powers(log_conditional, weights, np.array([break_even]))[0]
        figures["break_even_uplift"] = float(u * ((1 - cut) * powered_even[-1] - base[-1]))
        figures["break_even_relative_reduction"] = reduction_from_hazard_ratio(break_even, lapse_12m)
    else:
        figures["break_even_uplift"] = figures["break_even_relative_reduction"] = float("nan")
    figures.update(
        policies=float(n),
        participants=float(u * n),
        hazard_ratio=effect.hazard_ratio,
        hazard_ratio_lower=effect.lower,
        hazard_ratio_upper=effect.upper,
        baseline_lapse_12m=lapse_12m,
        baseline_in_force=float(n * base[-1]),
        break_even_hazard_ratio=break_even,
    )
    curve = pd.DataFrame(
        {"month": np.arange(months + 1), "baseline": base, "scenario": scenario_curve, "scenario_lower": band[0], "scenario_upper": band[1]}
    )
    table = pd.DataFrame({"hazard_ratio": drawn_hr, **{k: drawn[k] for k in ("retained_policies", "policy_years", "value", "npv")}})
    return ScenarioResult(scenario, effect, {name: figures[name] for name in FIGURES}, curve, table)


def compare_scenarios(results: Sequence[ScenarioResult], *, language: str = "en") -> pd.DataFrame:
    """One row per scenario: ``[name, lever, target, population, effect_source, *FIGURES]`` (ranked as given)."""
    rows = [
        {
            "name": r.scenario.name,
            "lever": r.scenario.lever,
            "target": r.scenario.target.text(language),
            "population": r.scenario.population,
            "effect_source": r.effect.source,
            **r.figures,
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=["name", "lever", "target", "population", "effect_source", *FIGURES])


def comparison_curves(results: Sequence[ScenarioResult]) -> pd.DataFrame:
    """The scenarios' curves in one long table for one chart: ``[name, month, baseline, scenario, scenario_lower, scenario_upper]``."""
    frames = [r.curve.assign(name=r.scenario.name) for r in results]
    columns = ["name", "month", "baseline", "scenario", "scenario_lower", "scenario_upper"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


# --- planning a test ------------------------------------------------------------------------


def sample_size_per_arm(lapse_control: float, lapse_treated: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Policies per arm to tell two lapse probabilities apart (two-sided test of two proportions).

    ``n = (z_{α/2} + z_β)² · (p1(1 − p1) + p2(1 − p2)) / (p1 − p2)²``, rounded up
    (DOMAIN.md §5: 12 % → 10 % at α = 5 %, power 80 % needs about 3,840 per arm).
    """
    p1, p2 = float(lapse_control), float(lapse_treated)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ExtractError(
            f"Give two different lapse probabilities between 0 and 1, got {p1} and {p2}.", code="bad_option", detail="lapse probabilities"
        )
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ExtractError(f"alpha and power must be between 0 and 1, got {alpha} and {power}.", code="bad_option", detail="alpha, power")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return int(np.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2))


def detectable_lapse(lapse_control: float, policies_per_arm: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The treated lapse probability closest below the control's that ``policies_per_arm`` per arm detects.

    The inverse of :func:`sample_size_per_arm` (the minimum detectable effect is
    ``lapse_control`` minus this); NaN when even no lapses at all could not be told apart.
    """
    if policies_per_arm < 2 or not 0 < lapse_control < 1:
        raise ExtractError("Give a lapse probability between 0 and 1 and at least 2 policies per arm.", code="bad_option", detail="planner")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    low, high = 1e-9, lapse_control
    if z**2 * (lapse_control * (1 - lapse_control) + low) / (lapse_control - low) ** 2 > policies_per_arm:
        return float("nan")
    for _ in range(80):  # n(p2) falls as p2 moves away from p1: bisect for n(p2) = policies_per_arm
        middle = (low + high) / 2
        needed = z**2 * (lapse_control * (1 - lapse_control) + middle * (1 - middle)) / (lapse_control - middle) ** 2
        if needed > policies_per_arm:
            high = middle
        else:
            low = middle
    return float(low)
