"""A scenario's economics for given hazard ratios: retained policies, premium, value, cost, NPV, ROI, break-even.

With take-up u and hazard ratio HR, a policy's scenario survival is ``(1 − u)·c(t) +
u·c(t)^HR`` (DOMAIN.md §5), averaged over the projected policies (N of them) month by
month to the horizon T. Figures, with ``v = (1 + i)^(−1/12)`` and a policy counted in force
for month t when it is in force at the month's end (premium P = the projected policies'
mean annual premium, collected monthly):

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
  HR rises, so it is unique; NaN when even HR → 0 does not pay, 1 when any HR ≤ 1 pays).

All money is in the extract's currency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.interventions.scenario import Economics

#: Hazard ratios are evaluated this many draws at a time (memory: draws × durations × months).
DRAW_CHUNK = 100
#: The break-even search runs over hazard ratios from this to 1 ...
LOWEST_HAZARD_RATIO = 1e-6
#: ... halving the interval this many times.
BISECTION_STEPS = 60


def mean_powers(log_conditional: np.ndarray, weights: np.ndarray, hazard_ratios: np.ndarray, *, chunk: int = DRAW_CHUNK) -> np.ndarray:
    """``Σ_d w_d · c_d(t)^HR / Σ w`` for each HR (rows) and month (columns), in chunks of draws."""
    share = weights / weights.sum()
    out = np.empty((len(hazard_ratios), log_conditional.shape[1]))
    for first in range(0, len(hazard_ratios), chunk):
        hr = hazard_ratios[first : first + chunk]
        out[first : first + chunk] = np.einsum("d,hdt->ht", share, np.exp(hr[:, None, None] * log_conditional[None, :, :]))
    return out


@dataclass(frozen=True)
class Book:
    """What the economics of a projection need besides the hazard ratios.

    ``log_conditional`` is ``ln c_d(t)`` per duration (rows) and month 0..T (columns),
    ``weights`` the policies at each duration, ``base`` the baseline in-force share c̄(t),
    ``policies`` N, ``premium`` P, ``cut`` x (0 unless the lever cuts the premium).
    """

    log_conditional: np.ndarray
    weights: np.ndarray
    base: np.ndarray
    policies: int
    premium: float
    economics: Economics
    cut: float

    def powered(self, hazard_ratios: np.ndarray) -> np.ndarray:
        """c̄^HR(t) for each hazard ratio (rows)."""
        return mean_powers(self.log_conditional, self.weights, hazard_ratios)


def economic_figures(book: Book, powered: np.ndarray) -> dict[str, np.ndarray]:
    """The HR-dependent figures for each row of ``powered`` (c̄^HR by month), as arrays."""
    economics, base, cut = book.economics, book.base, book.cut
    u, n = economics.take_up, float(book.policies)
    months = len(base) - 1
    discount = (1 + economics.discount_rate) ** (-np.arange(1, months + 1) / 12)
    extra = u * (powered - base[None, :])
    kept = np.asarray((extra[:, 1:] * discount).sum(axis=1) * n * book.premium / 12)
    given_up = np.asarray((u * cut * powered[:, 1:] * discount).sum(axis=1) * n * book.premium / 12)
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


def break_even_hazard_ratio(book: Book) -> float:
    """The hazard ratio at which npv = 0 (bisection on log HR over [1e-6, 1])."""

    def npv(log_hr: float) -> float:
        return float(economic_figures(book, book.powered(np.array([np.exp(log_hr)])))["npv"][0])

    low, high = np.log(LOWEST_HAZARD_RATIO), 0.0
    if npv(high) >= 0:
        return 1.0
    if npv(low) < 0:
        return float("nan")
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if npv(middle) >= 0:
            low = middle
        else:
            high = middle
    return float(np.exp((low + high) / 2))
