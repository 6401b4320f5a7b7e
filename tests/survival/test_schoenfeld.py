"""The array form of the scaled Schoenfeld residuals equals lifelines' row-by-row one, and so does the PH test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from analysis.survival.cox import PENALIZER, design_matrix, fit_cox
from analysis.survival.schoenfeld import scaled_schoenfeld


def _book(n: int, seed: int) -> pd.DataFrame:
    """Monthly durations (many ties, lapses and censored policies sharing a month), a yes/no and a numeric covariate, three strata."""
    rng = np.random.default_rng(seed)
    young = rng.integers(0, 2, n)
    premium = rng.gamma(2.0, 1.5, n)
    hazard = 0.03 * np.exp(0.6 * young - 0.2 * premium)
    lapse = rng.exponential(1 / hazard)
    censor = rng.uniform(1, 60, n)
    return pd.DataFrame(
        {
            "young": young.astype(float),
            "premium": premium,
            "duration": np.ceil(np.minimum(lapse, censor)),
            "event": (lapse <= censor).astype(int),
            "channel": rng.choice(["agency", "bank", "online"], n, p=[0.5, 0.3, 0.2]),
        }
    )


@pytest.mark.parametrize(
    ("strata", "penalizer", "weights"),
    [
        (None, PENALIZER, False),
        (["channel"], PENALIZER, False),
        (["channel", "young"], PENALIZER, False),
        (None, 0.0, True),
        (["channel"], 0.0, True),
    ],
    ids=["plain", "strata", "two-strata", "weights", "strata-weights"],
)
def test_residuals_equal_lifelines(strata: list[str] | None, penalizer: float, weights: bool) -> None:
    data = _book(1_500, seed=7)
    if weights:
        data["w"] = np.random.default_rng(1).uniform(0.5, 2.0, len(data))
    if strata is None:
        data = data.drop(columns="channel")
    elif "young" in strata:
        data = data.assign(young=data["young"].map({0.0: "no", 1.0: "yes"}))  # a second stratum, the yes/no
    fitter = CoxPHFitter(penalizer=penalizer).fit(
        data, duration_col="duration", event_col="event", strata=strata, weights_col="w" if weights else None, robust=weights
    )
    ours = scaled_schoenfeld(fitter, data)
    theirs = fitter.compute_residuals(data, kind="scaled_schoenfeld")
    assert ours.index.equals(theirs.index) and list(ours.columns) == list(theirs.columns)
    assert len(ours) == data["event"].sum() and data["duration"].duplicated().any()  # ties within lapses and with censored rows
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-9)
    ph_ours = proportional_hazard_test(fitter, data, time_transform="rank", precomputed_residuals=ours).summary
    ph_theirs = proportional_hazard_test(fitter, data, time_transform="rank").summary
    pd.testing.assert_frame_equal(ph_ours, ph_theirs, rtol=1e-9)


def test_late_entry_is_refused() -> None:
    data = _book(300, seed=5).drop(columns="channel").assign(entry=0.0)
    data.loc[data.index[:10], "entry"] = 0.5
    fitter = CoxPHFitter(penalizer=PENALIZER).fit(data, duration_col="duration", event_col="event", entry_col="entry")
    with pytest.raises(ValueError, match="late entry"):
        scaled_schoenfeld(fitter, data)


def test_a_stratum_without_lapses_and_a_time_of_lapses_only() -> None:
    data = _book(400, seed=3)
    data.loc[data["channel"] == "online", "event"] = 0  # a stratum with no lapse: zeros, then left out with the censored
    data.loc[data.index[:30], ["duration", "event"]] = [5.0, 1]  # thirty lapses in one month: Efron's correction at its largest
    fitter = CoxPHFitter(penalizer=PENALIZER).fit(data, duration_col="duration", event_col="event", strata=["channel"])
    ours = scaled_schoenfeld(fitter, data)
    theirs = fitter.compute_residuals(data, kind="scaled_schoenfeld")
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("ph_sample", [1_200, 5_000], ids=["refit-on-a-sample", "the-fit-itself"])
def test_fit_cox_ph_table_is_lifelines_test(ph_sample: int) -> None:
    """The PH table fit_cox gives is lifelines' proportional_hazard_test on the same fit, figure for figure.

    On a sample (a refit) and on the whole fit; the indicator columns are named as fit_cox names
    them (``young=1.0``, as a campaign's ``arm=treated``).
    """
    data = _book(2_000, seed=11).assign(entry=0.0)
    result = fit_cox(data, ["young", "premium"], strata=["channel"], ph_sample=ph_sample, random_state=0)
    matrix, _, _ = design_matrix(data, ["young", "premium"])
    model_data = matrix.assign(duration=data["duration"], event=data["event"], stratum_channel=data["channel"])
    frame = model_data.sample(n=ph_sample, random_state=0) if ph_sample < len(model_data) else model_data
    refit = CoxPHFitter(penalizer=PENALIZER).fit(frame, duration_col="duration", event_col="event", strata=["stratum_channel"])
    expected = proportional_hazard_test(refit, frame, time_transform="rank").summary
    assert result.ph_policies == min(ph_sample, len(data)) and any("=" in name for name in expected.index)
    np.testing.assert_allclose(result.ph_test["test_statistic"], expected["test_statistic"], rtol=1e-9)
    np.testing.assert_allclose(result.ph_test["p_value"], expected["p"], rtol=1e-9)
