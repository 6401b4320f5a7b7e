"""A scenario's effect as a hazard ratio on voluntary exits, with its 95 % interval.

The sources (see :mod:`analysis.interventions.scenario`): an entered hazard ratio; a relative
reduction r of the 12-month lapse probability q, ``HR = ln(1 − (1 − r)·q) / ln(1 − q)``;
an elasticity ε with the premium cut x, ``r = ε·x``; a measured campaign's Cox hazard
ratio; or the lapse model's response to the premium cut (:func:`premium_response`: the
target's in-force policies scored with ``annual_premium × (1 − x)`` and as they are;
``HR = Σ ln(1 − p_cut) / Σ ln(1 − p_now)``, the ratio of their summed 12-month cumulative
hazards).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.interventions.baseline import Baseline, regular_premium
from analysis.interventions.scenario import Scenario
from analysis.risk.rows import PREMIUM_TO_INCOME

#: Feature columns that scale with the premium.
PREMIUM_FEATURES = (S.ANNUAL_PREMIUM, PREMIUM_TO_INCOME)
#: A scored probability is kept below 1 by this much, so its log-survival stays finite.
CLIP = 1e-12
#: The model's response must be for the scenario's own cut (up to rounding).
SAME_CUT = 1e-12


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


def premium_response(model: LapseScorer, rows: pd.DataFrame, *, premium_cut: float, mask: pd.Series | None = None) -> PremiumResponse:
    """Score the rows as they are and with the premium cut; the implied hazard ratio (cache this per target and cut).

    Parameters
    ----------
    model : LapseScorer
        The fitted lapse model (``RiskResult.model``).
    rows : DataFrame
        Its scoring rows (``RiskResult.scores`` or :func:`analysis.risk.rows.scoring_rows`):
        features of the policies in force on the study date, indexed like the policies.
    premium_cut : float
        The cut as a fraction (0.3 = 30 % cheaper): ``annual_premium`` (and
        ``premium_to_income``) are multiplied by ``1 − premium_cut``.
    mask : Series, optional
        The target (a boolean Series on the policies' index); all rows when omitted.
        Single-premium rows are left out, as in :func:`analysis.interventions.baseline.baseline_for`.
    """
    if not 0 < premium_cut < 1:
        raise ExtractError("bad_scenario", reason="premium_cut_range", cut=premium_cut)
    if S.ANNUAL_PREMIUM not in rows.columns:
        raise ExtractError("missing_column", reason="premium_response", column=S.ANNUAL_PREMIUM)
    if mask is not None:
        rows = rows.loc[mask.reindex(rows.index, fill_value=False).to_numpy(dtype=bool)]
    if S.PAYMENT_FREQUENCY in rows.columns:  # regular premiums only, as in the baseline
        rows = rows.loc[regular_premium(rows).to_numpy(dtype=bool)]
    if rows.empty:
        raise ExtractError("no_policies", reason="in_force")
    cut = rows.copy()
    for column in PREMIUM_FEATURES:
        if column in cut.columns:
            cut[column] = pd.to_numeric(cut[column], errors="coerce") * (1 - premium_cut)
    now = np.clip(model.probability(rows), 0.0, 1 - CLIP)
    after = np.clip(model.probability(cut), 0.0, 1 - CLIP)
    hazard_now = -np.log1p(-now).sum()
    hazard_ratio = float(-np.log1p(-after).sum() / hazard_now) if hazard_now > 0 else 1.0
    return PremiumResponse(premium_cut, len(rows), float(now.mean()), float(after.mean()), hazard_ratio)


def hazard_ratio_from_reduction(reduction: float, lapse: float) -> float:
    """The HR that lowers a 12-month lapse probability ``lapse`` by the relative ``reduction``: ``ln(1 − (1 − r)q) / ln(1 − q)``."""
    if not 0 < lapse < 1:
        return 1 - reduction  # the limit as q → 0
    target = (1 - reduction) * lapse
    if target >= 1:
        raise ExtractError("bad_scenario", reason="relative_change", change=f"{-reduction:+.0%}", lapse=f"{lapse:.1%}")
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

    Raises
    ------
    ExtractError
        ``needs_input`` (reason ``model`` or ``campaign``) when that input is missing;
        ``bad_scenario`` (reason ``response_cut``) when the response is for another cut.
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
            raise ExtractError("needs_input", reason="model")
        if abs(response.premium_cut - e.premium_cut) > SAME_CUT:
            raise ExtractError("bad_scenario", reason="response_cut", response_cut=response.premium_cut, cut=e.premium_cut)
        return ResolvedEffect(response.hazard_ratio, nan, nan, e.source)
    if campaign is not None:
        return ResolvedEffect(
            float(campaign.hazard_ratio), float(campaign.hazard_ratio_lower), float(campaign.hazard_ratio_upper), e.source
        )
    if e.value is None:
        raise ExtractError("needs_input", reason="campaign")
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
