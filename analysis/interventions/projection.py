"""A scenario projected: baseline vs scenario persistency, its figures and their uncertainty; the one pipeline.

:func:`project_scenario` is the pipeline the page and the command line share: the target's
baseline (:func:`analysis.interventions.baseline.baseline_for`), the effect's input (the
lapse model's response to the premium cut, or the campaign evaluated again), then
:func:`project`. Inputs a caller has cached are passed in; the others are computed.

**Projection** (:func:`project`, cheap). The figures are those of
:mod:`analysis.interventions.economics` at the effect's hazard ratio, with the
``break_even_relative_reduction`` and ``break_even_uplift`` matching the break-even hazard
ratio (the extra in-force share per contacted policy at the horizon — equal to DOMAIN.md's
``cost per contacted policy / V`` in the value-per-policy basis).

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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from analysis.errors import ExtractError
from analysis.interventions.baseline import Baseline, baseline_for
from analysis.interventions.economics import Book, break_even_hazard_ratio, economic_figures
from analysis.interventions.effects import (
    MeasuredEffect,
    PremiumResponse,
    ResolvedEffect,
    premium_response,
    reduction_from_hazard_ratio,
    resolve_effect,
)
from analysis.interventions.scenario import Scenario, Target
from analysis.study.rates import Z95

if TYPE_CHECKING:
    from analysis.risk.model import RiskResult

DRAWS = 1000
#: The 95 % interval of a figure over the draws.
QUANTILES = (0.025, 0.975)
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
#: Columns of the draws table.
DRAWN = ("retained_policies", "policy_years", "value", "npv")


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


def _book(scenario: Scenario, baseline: Baseline) -> Book:
    """The projected policies' conditional survival to the scenario's horizon, and what their economics need."""
    conditional = baseline.conditional(scenario.economics.horizon_months)
    with np.errstate(divide="ignore"):
        log_conditional = np.log(conditional)
    weights = baseline.weights
    base = np.asarray(weights @ conditional / weights.sum())
    cut = scenario.effect.premium_cut if scenario.lever == "low_premium" else 0.0
    return Book(log_conditional, weights, base, baseline.policies, baseline.mean_premium, scenario.economics, cut)


@dataclass(frozen=True)
class _Draws:
    """The effect's draws: the hazard ratios, the figures at each, the curve's band and the figures' intervals."""

    hazard_ratios: np.ndarray
    figures: dict[str, np.ndarray]
    band: np.ndarray
    intervals: dict[str, float]


def _draws(book: Book, effect: ResolvedEffect, point_npv: float, *, draws: int, random_state: int) -> _Draws:
    """Log-normal draws of the hazard ratio around the point estimate (its interval's spread), and what they give."""
    u = book.economics.take_up
    if draws <= 0:
        intervals = {f"{name}_{end}": float("nan") for name in UNCERTAIN for end in ("lower", "upper")}
        intervals["probability_positive"] = float(point_npv > 0)
        return _Draws(np.array([]), {name: np.array([]) for name in DRAWN}, np.full((2, len(book.base)), np.nan), intervals)
    sigma = (np.log(effect.upper) - np.log(effect.lower)) / (2 * Z95) if effect.has_interval else 0.0
    rng = np.random.default_rng(random_state)
    drawn_hr = np.exp(np.log(effect.hazard_ratio) + sigma * rng.standard_normal(draws))
    powered = book.powered(drawn_hr)
    drawn = economic_figures(book, powered)
    band = np.quantile((1 - u) * book.base[None, :] + u * powered, QUANTILES, axis=0)
    intervals = {}
    for name in UNCERTAIN:
        finite = drawn[name][np.isfinite(drawn[name])]
        low, high = np.quantile(finite, QUANTILES) if len(finite) else (np.nan, np.nan)
        intervals[f"{name}_lower"], intervals[f"{name}_upper"] = float(low), float(high)
    intervals["probability_positive"] = float((drawn["npv"] > 0).mean())
    return _Draws(drawn_hr, drawn, band, intervals)


def _break_even(book: Book, lapse_12m: float) -> dict[str, float]:
    """The break-even hazard ratio, and the relative reduction and uplift it means."""
    break_even = break_even_hazard_ratio(book)
    if not np.isfinite(break_even):
        return {"break_even_hazard_ratio": break_even, "break_even_uplift": float("nan"), "break_even_relative_reduction": float("nan")}
    powered_even = book.powered(np.array([break_even]))[0]
    return {
        "break_even_hazard_ratio": break_even,
        "break_even_uplift": float(book.economics.take_up * ((1 - book.cut) * powered_even[-1] - book.base[-1])),
        "break_even_relative_reduction": reduction_from_hazard_ratio(break_even, lapse_12m),
    }


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
        From :func:`analysis.interventions.baseline.baseline_for` with the scenario's
        target and population (cached by the caller).
    response, campaign
        The model's premium response or the evaluated campaign, for those effect sources
        (see :func:`analysis.interventions.effects.resolve_effect`).
    draws : int
        Effect draws for the intervals (0: point figures only, intervals NaN).
    random_state : int
        Seed of the draws.
    """
    if scenario.economics.value_per_policy is None and not np.isfinite(baseline.mean_premium):
        raise ExtractError("needs_input", reason="premium")
    effect = resolve_effect(scenario, baseline, response=response, campaign=campaign)
    book = _book(scenario, baseline)
    u, n = scenario.economics.take_up, book.policies
    point_powered = book.powered(np.array([effect.hazard_ratio]))
    figures: dict[str, float] = {name: float(values[0]) for name, values in economic_figures(book, point_powered).items()}
    drawn = _draws(book, effect, figures["npv"], draws=draws, random_state=random_state)
    figures.update(drawn.intervals)
    figures.update(_break_even(book, baseline.lapse_12m))
    figures.update(
        policies=float(n),
        participants=float(u * n),
        hazard_ratio=effect.hazard_ratio,
        hazard_ratio_lower=effect.lower,
        hazard_ratio_upper=effect.upper,
        baseline_lapse_12m=baseline.lapse_12m,
        baseline_in_force=float(n * book.base[-1]),
    )
    curve = pd.DataFrame(
        {
            "month": np.arange(scenario.economics.horizon_months + 1),
            "baseline": book.base,
            "scenario": (1 - u) * book.base + u * point_powered[0],
            "scenario_lower": drawn.band[0],
            "scenario_upper": drawn.band[1],
        }
    )
    table = pd.DataFrame({"hazard_ratio": drawn.hazard_ratios, **{k: drawn.figures[k] for k in DRAWN}})
    return ScenarioResult(scenario, effect, {name: figures[name] for name in FIGURES}, curve, table)


def model_response(policies: pd.DataFrame, risk: RiskResult, *, target: Target, premium_cut: float) -> PremiumResponse:
    """The lapse model's response to a premium cut on a target's in-force policies (cache this per target and cut)."""
    return premium_response(risk.model, risk.scores, premium_cut=premium_cut, mask=target.mask(policies))


def project_scenario(
    policies: pd.DataFrame,
    scenario: Scenario,
    *,
    study_date: pd.Timestamp,
    baseline: Baseline | None = None,
    risk: RiskResult | None = None,
    response: PremiumResponse | None = None,
    campaign: MeasuredEffect | None = None,
    remeasure: bool = False,
    draws: int = DRAWS,
    random_state: int = 0,
) -> ScenarioResult:
    """One scenario on the policies: its target's baseline, its effect's input, and the projection.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    scenario : Scenario
    study_date : Timestamp
        The extract's study date.
    baseline, response, campaign
        Inputs the caller already has (cached); a missing baseline is built here, a missing
        response is computed from ``risk`` when the effect needs one.
    risk : RiskResult, optional
        The fitted lapse model, for a ``model`` effect.
    remeasure : bool
        Evaluate a ``measured`` effect's campaign again on these policies (the command
        line does); otherwise the hazard ratio saved in the scenario is used.
    draws, random_state
        As in :func:`project`.
    """
    if baseline is None:
        baseline = baseline_for(
            policies, study_date=study_date, target=scenario.target, population=scenario.population, new_policies=scenario.new_policies
        )
    if scenario.needs_model and response is None and risk is not None:
        response = model_response(policies, risk, target=scenario.target, premium_cut=scenario.effect.premium_cut)
    if scenario.measures_campaign and campaign is None and remeasure:
        from analysis.interventions.campaign import evaluate_campaign

        effect = scenario.effect
        campaign = evaluate_campaign(
            policies,
            treatment=str(effect.treatment),
            study_date=study_date,
            start=effect.campaign_start,
            window_months=effect.window_months,
            uplift=False,
        )
    return project(scenario, baseline, response=response, campaign=campaign, draws=draws, random_state=random_state)


def project_scenarios(
    policies: pd.DataFrame,
    scenarios: Sequence[Scenario],
    *,
    study_date: pd.Timestamp,
    risk: RiskResult | None = None,
    remeasure: bool = True,
    draws: int = DRAWS,
    random_state: int = 0,
) -> list[ScenarioResult]:
    """Every scenario through :func:`project_scenario`; the default lapse model is trained once if a scenario needs it."""
    results = []
    for scenario in scenarios:
        baseline = baseline_for(
            policies, study_date=study_date, target=scenario.target, population=scenario.population, new_policies=scenario.new_policies
        )
        if scenario.needs_model and risk is None:
            from analysis.risk.model import default_risk

            risk = default_risk(policies, study_date)
        results.append(
            project_scenario(
                policies,
                scenario,
                study_date=study_date,
                baseline=baseline,
                risk=risk,
                remeasure=remeasure,
                draws=draws,
                random_state=random_state,
            )
        )
    return results


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


def best_scenario(table: pd.DataFrame) -> pd.Series | None:
    """The row of :func:`compare_scenarios`' table with the highest NPV (None when no NPV is known)."""
    if not table["npv"].notna().any():
        return None
    return table.iloc[int(np.argmax(table["npv"].fillna(-np.inf).to_numpy()))]


def comparison_curves(results: Sequence[ScenarioResult]) -> pd.DataFrame:
    """The scenarios' curves in one long table for one chart: ``[name, month, baseline, scenario, scenario_lower, scenario_upper]``."""
    frames = [r.curve.assign(name=r.scenario.name) for r in results]
    columns = ["name", "month", "baseline", "scenario", "scenario_lower", "scenario_upper"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
