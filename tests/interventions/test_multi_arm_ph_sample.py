"""The arms' Cox fits run their unreported PH check on a small sample: the hazard ratio is the plain fit's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.interventions.arms import CONTROL, TREATED
from analysis.interventions.multi_arm import PH_SAMPLE, pair_hazard_ratio
from analysis.study.rates import Z95
from analysis.survival.cox import fit_cox


def test_a_small_ph_sample_leaves_the_hazard_ratio_as_the_full_fit_gives_it() -> None:
    rng = np.random.default_rng(3)
    n = 3 * PH_SAMPLE  # more policies than the PH sample, so the check really runs on a sample
    arm = rng.choice(["对照组", "短信"], n)
    age = rng.integers(20, 35, n).astype(float)
    hazard = 0.02 * np.where(arm == "短信", 0.8, 1.0) * np.exp(0.03 * (age - 27))
    time = rng.exponential(1 / hazard)
    data = pd.DataFrame({"arm": arm, "age_at_start": age, "duration": np.minimum(time, 36.0), "event": time < 36.0, "entry": 0.0})
    hr, se, p = pair_hazard_ratio(data, "短信", "对照组", ["age_at_start"])
    full = fit_cox(data.assign(arm=np.where(arm == "短信", TREATED, CONTROL)), ["arm", "age_at_start"])  # the default PH sample
    row = full.hazard_ratios[full.hazard_ratios["covariate"] == "arm"].iloc[0]
    expected = row["hazard_ratio"] if row["level"] == TREATED else 1 / row["hazard_ratio"]
    assert hr == pytest.approx(expected, rel=1e-12)
    assert se == pytest.approx((np.log(row["upper"]) - np.log(row["lower"])) / (2 * Z95), rel=1e-12)
    assert p == pytest.approx(row["p_value"], rel=1e-12)
    assert 0.7 < hr < 0.9  # the planted 0.8
