"""Harrell's C counted in one compiled pass equals lifelines' own count, pair for pair and to the last bit."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.utils.concordance import _concordance_summary_statistics

from analysis.survival.concordance import concordance_counts, cox_concordance


def by_every_pair(times, scores, events) -> tuple[int, int, int]:
    """The counts by definition, pair by pair: the earlier of two left by the event (a censored one at the same time outlived it)."""
    correct = tied = pairs = 0
    for i, j in itertools.permutations(range(len(times)), 2):
        if not events[i] or not (times[i] < times[j] or (times[i] == times[j] and not events[j])):
            continue
        pairs += 1
        correct += scores[i] < scores[j]
        tied += scores[i] == scores[j]
    return correct, tied, pairs


@pytest.mark.parametrize("seed", range(6))
def test_the_counts_equal_lifelines_and_the_definition_with_ties_everywhere(seed) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    times = rng.integers(1, 8, n).astype(float)  # few distinct times: deaths, censored and both at one time
    scores = rng.integers(0, 5, n).astype(float)  # few distinct predictions: many tied pairs
    events = rng.random(n) < 0.5
    expected = tuple(int(v) for v in _concordance_summary_statistics(times, scores, events.astype(int)))
    assert concordance_counts(times, scores, events) == expected == by_every_pair(times, scores, events)


def test_large_samples_and_edge_cases_equal_lifelines() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    times, scores, events = rng.exponential(10, n).round(1), rng.normal(size=n), rng.random(n) < 0.3
    expected = tuple(int(v) for v in _concordance_summary_statistics(times, scores, events.astype(int)))
    assert concordance_counts(times, scores, events) == expected
    assert concordance_counts(times, scores, np.zeros(n, dtype=bool)) == (0, 0, 0)  # nothing left by the event
    everyone = np.ones(4, dtype=bool)
    assert concordance_counts(np.ones(4), np.arange(4.0), everyone) == (0, 0, 0)  # all at one time: no pair


@pytest.mark.parametrize("strata", [None, ["group"]])
def test_a_fitted_models_c_is_its_concordance_index(strata) -> None:
    rng = np.random.default_rng(3)
    n = 3_000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "flag": rng.integers(0, 2, n),
            "group": rng.integers(0, 3, n),
        }
    )
    frame["T"] = np.ceil(rng.exponential(np.exp(-0.5 * frame["x"] + 0.3 * frame["flag"]) * 24))
    frame["E"] = (rng.random(n) < 0.6).astype(int)
    columns = frame if strata else frame.drop(columns="group")
    fitter = CoxPHFitter().fit(columns, "T", "E", strata=strata)
    ours = cox_concordance(fitter)
    assert not hasattr(fitter, "_concordance_index_")  # lifelines has not counted: its count below is its own
    assert ours == fitter.concordance_index_
