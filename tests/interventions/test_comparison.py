"""The money-first comparison: figures × scenarios, ROI only where the cost means something, evidence named."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.interventions.comparison import MEASURES, ROI_MIN_COST, ROI_MIN_COST_SHARE, meaningful_roi, money_first


def table() -> pd.DataFrame:
    """Three scenarios; the arithmetic of each ROI rule in the comments."""
    return pd.DataFrame(
        {
            "name": ["教育", "低保费", "免费提醒"],
            "effect_source": ["measured", "elasticity", "hazard_ratio"],
            "retained_policies": [213.4, 6.2, 40.0],
            "retained_policies_lower": [150.1, 1.0, 20.0],
            "retained_policies_upper": [280.9, 12.0, 60.0],
            "retained_premium": [1_000_000.0, 30_000.0, 200_000.0],
            # education: cost 50,000 of 50,000 moved (100 % ≥ 10 %): ROI stated
            # low premium: cost 20,000 of 20,000 + 1,000,000 moved (2 % < 10 %): ROI hidden
            # free reminders: cost 0.5 (below ROI_MIN_COST): ROI hidden
            "premium_given_up": [0.0, 1_000_000.0, np.nan],
            "cost": [50_000.0, 20_000.0, 0.5],
            "npv": [120_000.0, -1_017_940.0, 80_000.0],
            "npv_lower": [60_000.0, -1_100_000.0, 40_000.0],
            "npv_upper": [180_000.0, -900_000.0, 120_000.0],
            "roi": [2.4, -50.897, 160_000.0],
            "probability_positive": [0.99, 0.0, 1.0],
            "break_even_hazard_ratio": [0.95, np.nan, 0.999],
        }
    )


def test_roi_only_where_the_cost_is_a_real_part_of_what_moves() -> None:
    assert ROI_MIN_COST_SHARE == 0.10 and ROI_MIN_COST == 1.0
    roi = meaningful_roi(table())
    assert roi.iloc[0] == 2.4 and np.isnan(roi.iloc[1]) and np.isnan(roi.iloc[2])


def test_money_first_is_figures_by_scenario_with_intervals_and_evidence() -> None:
    grid = money_first(table())
    assert list(grid.index) == list(MEASURES) and list(grid.columns) == ["教育", "低保费", "免费提醒"]
    assert grid.loc["retained_policies", "教育"] == (213.4, 150.1, 280.9)
    assert grid.loc["npv", "低保费"] == (-1_017_940.0, -1_100_000.0, -900_000.0)
    assert grid.loc["cost", "免费提醒"] == 0.5
    assert grid.loc["effect_source", "教育"] == ("measured", "measured")
    assert grid.loc["effect_source", "低保费"] == ("elasticity", "association")
    assert grid.loc["effect_source", "免费提醒"] == ("hazard_ratio", "entered")
    assert grid.loc["roi", "教育"] == 2.4 and pd.isna(grid.loc["roi", "低保费"])
