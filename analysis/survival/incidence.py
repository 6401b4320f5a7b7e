"""Competing risks: Aalen–Johansen cumulative incidence of lapse, surrender and death, from the engine's counts.

The engine counts, at each distinct day since issue, the policies leaving observation, those
leaving by each cause and the late entrants (:func:`analysis.engine.survival.incidence_counts_expr`);
the estimator is worked out on that small table:

* overall survival ``S(t) = Π (1 − d_j / n_j)`` over all causes (the Kaplan–Meier of any exit,
  as :func:`analysis.survival.curves.km_from_counts`);
* cumulative incidence of cause k, ``F_k(t) = Σ_{t_j ≤ t} S(t_{j−1}) · d_kj / n_j``;
* its variance as lifelines computes it (Collett, *Modelling Survival Data in Medical
  Research*, 3rd ed., p. 411; Greenwood-type), and the 95 % band on ``log(−log F)``.

Tied exit times of different causes are kept as they are: the estimator is exact with ties
(lifelines instead breaks such ties with a seeded random jitter, which changes the figures a
little and cannot be done on an aggregate). Without ties the figures equal lifelines'
``AalenJohansenFitter`` (a test pins them to 1e-10); with ties they equal a hand-worked example.
As in lifelines, ``n_j`` counts the policies at risk at ``t_j`` including late entrants at ``t_j``;
unlike lifelines (which sets ``F(0) = 0``), exits on the issue day count at month 0, so the
incidences add up to one minus the overall survival at every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.stays import STAY_COLUMNS
from analysis.engine.survival import incidence_counts_expr
from analysis.study.rates import Z95
from analysis.survival.curves import DAYS_PER_MONTH

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

#: Causes for the competing-risks view.
CAUSES = {"lapse": (S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED), "surrender": (S.SURRENDERED,), "death": (S.DEATH_CLAIM,)}
INCIDENCE_COLUMNS = ["cause", "month", "incidence", "lower", "upper", "at_risk"]


def cumulative_incidence(
    policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp, backend: BaseBackend | None = None
) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of lapse, surrender and death (module notes).

    Each policy's first exit is its cause; maturities, free-look cancellations and the
    study end censor.

    Returns
    -------
    DataFrame
        ``[cause, month, incidence, lower, upper, at_risk]``: per cause with any event, one row per
        distinct time (0 first); ``at_risk`` the policies under observation just before it.
    """
    if isinstance(policies, pd.DataFrame):
        policies = policies[[c for c in STAY_COLUMNS if c in policies.columns]]
    table, engine = bind(policies, backend)
    counts = run(engine, incidence_counts_expr(table, causes=CAUSES, study_date=study_date)).sort_values("time")
    return incidence_from_counts(counts, causes=list(CAUSES))


def incidence_from_counts(counts: pd.DataFrame, *, causes: list[str], z: float = Z95, scale: float = DAYS_PER_MONTH) -> pd.DataFrame:
    """The cumulative incidences from ``[time, removed, observed, entered, observed_<cause> …]`` sorted by time.

    ``time / scale`` is the month; time 0 is always on the timeline.
    """
    times = counts["time"].to_numpy(dtype=float)
    columns = ["removed", "observed", "entered", *(f"observed_{c}" for c in causes)]
    arrays = {c: counts[c].to_numpy(dtype=np.int64) for c in columns}
    if not len(times) or times[0] != 0.0:
        times = np.concatenate([[0.0], times])
        arrays = {c: np.concatenate([[0], a]) for c, a in arrays.items()}
    at_risk = (np.cumsum(arrays["entered"]) - np.concatenate([[0], np.cumsum(arrays["removed"])[:-1]])).astype(float)
    late = arrays["entered"].astype(float)
    late[0] = 0.0
    population = at_risk - late  # as the Kaplan–Meier: exits at t before the entrants at t join
    d = arrays["observed"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(np.where(population > 0, 1 - d / population, 1.0))
    lagged = np.concatenate([[1.0], survival[:-1]])
    frames = []
    for cause in causes:
        dk = arrays[f"observed_{cause}"].astype(float)
        if not dk.any():
            continue
        incidence, lower, upper = _aalen_johansen(at_risk, d, dk, lagged, z=z)
        curve = {"cause": cause, "month": times / scale, "incidence": incidence, "lower": lower, "upper": upper}
        frames.append(pd.DataFrame({**curve, "at_risk": at_risk.astype(np.int64)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=INCIDENCE_COLUMNS)


def _aalen_johansen(
    n: np.ndarray, d: np.ndarray, dk: np.ndarray, lagged: np.ndarray, *, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One cause's incidence ``F``, and its band, from the numbers at risk, all events, its events and ``S(t−)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(n > 0, lagged * dk / n, 0.0)
        f = np.cumsum(step)
        # Var F(t_i) = Σ_j a_j (F_i − F_j)² + Σ_j b_j − 2 Σ_j c_j (F_i − F_j), over j ≤ i (prefix sums).
        a = np.where(n > 0, d / n / (n - d), 0.0)
        b = np.where(n > 0, lagged**2 * dk * (n - dk) / n**3, 0.0)
        c = np.where(n > 0, lagged * dk / n**2, 0.0)
        sa, saf, saff = np.cumsum(a), np.cumsum(a * f), np.cumsum(a * f * f)
        variance = f * f * sa - 2 * f * saf + saff + np.cumsum(b) - 2 * (f * np.cumsum(c) - np.cumsum(c * f))
        centre = np.log(-np.log(f))
        se = np.sqrt(variance) / (f * np.abs(np.log(f)))
        upper = np.exp(-np.exp(centre - z * se))
        lower = np.exp(-np.exp(centre + z * se))
    return f, lower, upper
