"""Planning a test of a lever: the policies per arm a two-proportion test needs, and what a given size can detect.

DOMAIN.md §5: telling a 12 % lapse probability from 10 % at α = 5 % (two-sided) with 80 %
power needs about 3,840 policies per arm. The page states α and the power it plans with
(:data:`ALPHA`, :data:`POWER`).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.errors import ExtractError

#: Two-sided significance level of the planned test.
ALPHA = 0.05
#: Power of the planned test.
POWER = 0.8
#: The inverse search stops this close to 0 (a treated lapse probability of nothing at all) ...
LOWEST_LAPSE = 1e-9
#: ... after this many halvings.
BISECTION_STEPS = 80
#: A test needs at least this many policies per arm.
MIN_POLICIES_PER_ARM = 2


def _z(alpha: float, power: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def sample_size_per_arm(lapse_control: float, lapse_treated: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Policies per arm to tell two lapse probabilities apart (two-sided test of two proportions).

    ``n = (z_{α/2} + z_β)² · (p1(1 − p1) + p2(1 − p2)) / (p1 − p2)²``, rounded up
    (DOMAIN.md §5: 12 % → 10 % at α = 5 %, power 80 % needs about 3,840 per arm).

    Raises
    ------
    ExtractError
        ``bad_option`` (reason ``planner_lapse``) unless the probabilities differ and lie in
        (0, 1); (reason ``planner_alpha_power``) unless α and the power do.
    """
    p1, p2 = float(lapse_control), float(lapse_treated)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ExtractError("bad_option", reason="planner_lapse", control=p1, treated=p2)
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ExtractError("bad_option", reason="planner_alpha_power", alpha=alpha, power=power)
    z = _z(alpha, power)
    return int(np.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2))


def detectable_lapse(lapse_control: float, policies_per_arm: int, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """The treated lapse probability closest below the control's that ``policies_per_arm`` per arm detects.

    The inverse of :func:`sample_size_per_arm` (the minimum detectable effect is
    ``lapse_control`` minus this); NaN when even no lapses at all could not be told apart.
    """
    if policies_per_arm < MIN_POLICIES_PER_ARM or not 0 < lapse_control < 1:
        raise ExtractError("bad_option", reason="planner_size", minimum=MIN_POLICIES_PER_ARM)
    z = _z(alpha, power)
    low, high = LOWEST_LAPSE, lapse_control
    if z**2 * (lapse_control * (1 - lapse_control) + low) / (lapse_control - low) ** 2 > policies_per_arm:
        return float("nan")
    for _ in range(BISECTION_STEPS):  # n(p2) falls as p2 moves away from p1: bisect for n(p2) = policies_per_arm
        middle = (low + high) / 2
        needed = z**2 * (lapse_control * (1 - lapse_control) + middle * (1 - middle)) / (lapse_control - middle) ** 2
        if needed > policies_per_arm:
            high = middle
        else:
            low = middle
    return float(low)
