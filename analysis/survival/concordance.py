"""Harrell's C of a fitted Cox model, counted as lifelines counts it, in one sorted pass.

lifelines' ``CoxPHFitter.concordance_index_`` walks the policies in time order with a
binary tree of the earlier exits' predictions, which is right but slow in Python (1.7 s of
the Survival page's Cox model on its 200,000-policy sample). Here the same walk is one
compiled loop over a Fenwick tree of the predictions' ranks: the same three counts
(concordant, tied and comparable pairs; ``tests/survival/test_concordance.py`` holds them
equal to lifelines' own), so the same C to the last bit.

A pair is comparable when the earlier of the two left by the event; one that left by the
event and one censored at the same time are compared (the censored one outlived it); two
events at the same time are not. Without numba, lifelines' own count is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # numba comes with shap
    import numba
except ImportError:  # pragma: no cover - numba is installed with shap
    numba = None  # type: ignore[assignment]


def _walk(times: Any, scores: Any, died: Any, levels: Any) -> tuple[int, int, int]:
    """``(correct, tied, pairs)`` over rows sorted by time, deaths first among equal times."""
    tree = np.zeros(len(levels) + 1, dtype=np.int64)  # Fenwick tree over the ranks of the deaths' scores (1-based)
    counts = np.zeros(len(levels), dtype=np.int64)
    correct, tied, pairs, pool = 0, 0, 0, 0
    n, i = len(times), 0
    while i < n:
        deaths_end = i
        while deaths_end < n and times[deaths_end] == times[i] and died[deaths_end]:
            deaths_end += 1
        end = deaths_end
        while end < n and times[end] == times[i] and not died[end]:
            end += 1
        for phase in range(2):  # the deaths at this time against the earlier deaths; then, once they join, the censored
            first, last = (i, deaths_end) if phase == 0 else (deaths_end, end)
            for k in range(first, last):
                value = scores[k]
                below = np.searchsorted(levels, value)
                less = 0
                at = below
                while at > 0:
                    less += tree[at]
                    at -= at & -at
                correct += less
                if below < len(levels) and levels[below] == value:
                    tied += counts[below]
                pairs += pool
            if phase == 0:
                for k in range(i, deaths_end):
                    rank = np.searchsorted(levels, scores[k])
                    counts[rank] += 1
                    at = rank + 1
                    while at <= len(levels):
                        tree[at] += 1
                        at += at & -at
                pool += deaths_end - i
        i = end
    return correct, tied, pairs


_compiled = numba.njit(cache=True, nogil=True)(_walk) if numba is not None else None


def concordance_counts(times: np.ndarray, scores: np.ndarray, events: np.ndarray) -> tuple[int, int, int]:
    """``(correct, tied, pairs)`` as ``lifelines.utils.concordance._concordance_summary_statistics`` counts them.

    ``scores`` are predicted event times (higher: later); a comparable pair is concordant
    when the one that left earlier has the lower score, tied when the scores are equal.
    """
    times = np.asarray(times, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    died = np.asarray(events).astype(bool)
    if not died.any():
        return 0, 0, 0
    order = np.lexsort((~died, times))  # by time, the deaths first among equal times
    walk = _compiled if _compiled is not None else _walk
    correct, tied, pairs = walk(times[order], scores[order], died[order], np.unique(scores[died]))
    return int(correct), int(tied), int(pairs)


def cox_concordance(fitter: Any) -> float:
    """Harrell's C of a fitted ``CoxPHFitter`` on its own data (within each stratum), as its ``concordance_index_``.

    NaN when no pair of policies can be compared (lifelines raises then).
    """
    frame = getattr(fitter, "_predicted_partial_hazards_", None)
    if _compiled is None or frame is None or not {"T", "E", "P"} <= set(frame.columns):
        try:  # lifelines' own count
            return float(fitter.concordance_index_)
        except ZeroDivisionError:
            return float("nan")
    groups = [part for _, part in frame.groupby(fitter.strata)] if fitter.strata else [frame]
    correct, tied, pairs = 0, 0, 0
    for part in groups:
        if len(part) == 1:
            continue
        c, t, p = concordance_counts(part["T"].to_numpy(), -part["P"].to_numpy(), part["E"].to_numpy())
        correct, tied, pairs = correct + c, tied + t, pairs + p
    if pairs == 0:
        return float("nan")
    return (np.int64(correct) + np.int64(tied) / 2) / np.int64(pairs)
