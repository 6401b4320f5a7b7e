"""A scenario's baseline inputs from the engine, pinned against plain pandas on the policies, on DuckDB and Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract

from analysis import schema as S
from analysis.engine.backend import bind
from analysis.interventions.baseline import NEW_BUSINESS_DAYS, PROJECTED_STATUSES, baseline_for, survival_by_month
from analysis.interventions.scenario import Target
from analysis.study.cohorts import Condition
from analysis.survival.curves import DAYS_PER_MONTH, km_curves, survival_data


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


@pytest.mark.parametrize("population", ["in_force", "new_business"])
def test_baseline_inputs_equal_pandas_on_every_engine(sample, engine, population: str) -> None:
    target = Target(conditions=(Condition("channel", "in", ["银保", "个险"]),))
    columns = [c for c in sample.policies.columns if c not in ("source_row",)]
    table, _ = bind(sample.policies[columns], engine)
    got = baseline_for(table, study_date=sample.study_date, target=target, population=population)

    p = sample.policies
    frequency = pd.to_numeric(p[S.PAYMENT_FREQUENCY], errors="coerce")
    chosen = p[p["channel"].isin(["银保", "个险"]) & (frequency != 0).fillna(True)]
    study = pd.Timestamp(sample.study_date)
    age_days = (study - chosen[S.ISSUE_DATE]).dt.days
    if population == "in_force":
        projected = chosen[S.STATUS].isin(PROJECTED_STATUSES) & (age_days >= 0)
        months = np.floor(age_days[projected] / DAYS_PER_MONTH).astype(int).value_counts().sort_index()
        assert got.durations.tolist() == months.index.tolist() and got.weights.tolist() == months.astype(float).tolist()
    else:
        projected = (age_days >= 0) & (age_days < NEW_BUSINESS_DAYS)
        assert got.durations.tolist() == [0] and got.weights.tolist() == [float(projected.sum())]
    assert got.mean_premium == pytest.approx(chosen.loc[projected, S.ANNUAL_PREMIUM].mean(), rel=1e-12)
    assert got.target_policies == len(chosen)
    curve, reliable = survival_by_month(km_curves(survival_data(chosen, study_date=study)), len(got.survival) - 1)
    assert reliable == got.reliable_months
    np.testing.assert_allclose(got.survival, curve, rtol=1e-12)
