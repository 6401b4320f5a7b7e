"""Competing risks: Aalen–Johansen cumulative incidence of lapse, surrender and death (lifelines).

This one stays on per-policy rows (they come out of the engine, :func:`survival_data`):
lifelines breaks tied exit times with a small seeded random jitter drawn row by row, so the
figures cannot be rebuilt from a ``cohort × time × cause`` aggregate without changing them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.survival.curves import survival_data

#: Causes for the competing-risks view.
CAUSES = {"lapse": (S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED), "surrender": (S.SURRENDERED,), "death": (S.DEATH_CLAIM,)}


def cumulative_incidence(policies: pd.DataFrame, *, study_date: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of lapse, surrender and death (lifelines).

    Each policy's first exit is its cause; maturities, free-look cancellations and the
    study end censor. Tied times are broken by lifelines' small seeded jitter.

    Returns
    -------
    DataFrame
        ``[cause, month, incidence, lower, upper]``.
    """
    from lifelines import AalenJohansenFitter

    all_events = frozenset(s for statuses in CAUSES.values() for s in statuses)
    data = survival_data(policies, events=all_events, study_date=study_date)
    kept_status = policies[S.STATUS].loc[data.index].to_numpy()
    cause_of = np.zeros(len(data), dtype=int)
    event = data["event"].to_numpy(dtype=bool)
    for code, (_, statuses) in enumerate(CAUSES.items(), start=1):
        cause_of[np.isin(kept_status, list(statuses)) & event] = code
    frames = []
    for code, cause in enumerate(CAUSES, start=1):
        if not (cause_of == code).any():
            continue
        fitter = AalenJohansenFitter(calculate_variance=True, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tie-breaking jitter is documented above
            fitter.fit(data["duration"], cause_of, event_of_interest=code)
        table = pd.concat([fitter.cumulative_density_, fitter.confidence_interval_], axis=1)
        table.columns = ["incidence", "lower", "upper"]
        table = table.reset_index().rename(columns={table.index.name or "index": "month"})
        table.columns = ["month", "incidence", "lower", "upper"]
        table.insert(0, "cause", cause)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["cause", "month", "incidence", "lower", "upper"])
