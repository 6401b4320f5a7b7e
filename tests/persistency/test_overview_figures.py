"""The overview's figures in one call: the same as each figure's own function, with the projection's verdicts."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import load_extract
from analysis.persistency.overview import (
    DEFAULT_TARGETS,
    Heading,
    collections_funnel,
    overview_figures,
    persistency_kpis,
    persistency_trend,
    status_snapshot,
)
from analysis.persistency.projection import heading, persistency_triangle, projected_persistency
from analysis.persistency.ratios import PersistencyOptions


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


@pytest.mark.parametrize("trend_cohort", ["quarter", "year"])
def test_figures_equal_each_figure_computed_on_its_own(sample, trend_cohort: str) -> None:
    policies, study = sample.policies, sample.study_date
    options = PersistencyOptions(include_grace=True)
    figures = overview_figures(policies, study_date=study, options=options, targets={13: 0.9}, trend_cohort=trend_cohort)
    assert list(figures.kpis) == persistency_kpis(policies, study_date=study, options=options, targets={13: 0.9})
    pd.testing.assert_frame_equal(figures.trend, persistency_trend(policies, study_date=study, cohort=trend_cohort, options=options))
    pd.testing.assert_frame_equal(figures.triangle, persistency_triangle(policies, study_date=study, options=options))
    projection = projected_persistency(policies, study_date=study, cohort=trend_cohort, options=options)
    pd.testing.assert_frame_equal(figures.projection, projection)
    pd.testing.assert_frame_equal(figures.snapshot, status_snapshot(policies, study_date=study))
    pd.testing.assert_frame_equal(figures.funnel, collections_funnel(policies, study_date=study))
    expected = [
        Heading(month, *ahead, target={**DEFAULT_TARGETS, 13: 0.9}[month])
        for month in (13, 25)
        if (ahead := heading(projection, month)) is not None
    ]
    assert list(figures.headings) == expected and expected


def test_a_heading_meets_its_target_from_the_target_up() -> None:
    assert Heading(13, 0.85, 100, "2025Q1", "2025Q3", 0.85).meets_target
    assert not Heading(13, 0.8499, 100, "2025Q1", "2025Q3", 0.85).meets_target
