"""Scenarios side by side, money first: one column per scenario, one row per figure a manager decides on.

:func:`money_first` turns :func:`analysis.interventions.projection.compare_scenarios`' wide
table (one row per scenario, dozens of columns) into a short one that fits a screen without
scrolling sideways: kept policies (whole, with their interval), premium kept and given up,
cost, NPV and its interval, ROI, the chance the NPV is positive and the break-even hazard
ratio, and which effect each scenario used, ranked by the strength of its evidence.

ROI is stated only when the cost is a real part of what the scenario moves
(:func:`meaningful_roi`): a cheaper product costs little to run but gives up premium, so its
NPV over a small cost reads as −5,000 %; the NPV says what it is worth.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

#: ROI is stated only when the cost is at least this share of cost plus premium given up.
ROI_MIN_COST_SHARE: Final = 0.10
#: … and at least this many yuan (a cost near zero makes any ratio meaningless).
ROI_MIN_COST: Final = 1.0
#: The strength of each effect source's evidence: a campaign measured against a concurrent control
#: in the data, then a figure the user enters (from a study they name), then an association (the
#: model's response to premium, an elasticity), which is not a causal effect.
EVIDENCE: Final = {
    "measured": "measured",
    "hazard_ratio": "entered",
    "relative_reduction": "entered",
    "elasticity": "association",
    "model": "association",
}
EVIDENCE_ORDER: Final = ("measured", "entered", "association")
#: The figures of the comparison, in the order a manager reads them (money first).
MEASURES: Final = (
    "retained_policies",
    "retained_premium",
    "premium_given_up",
    "cost",
    "npv",
    "roi",
    "probability_positive",
    "break_even_hazard_ratio",
    "effect_source",
)


def meaningful_roi(table: pd.DataFrame) -> pd.Series:
    """Each scenario's ROI where the cost is a real part of what it moves, else NaN (see the module docstring).

    Needs ``roi``, ``cost`` and ``premium_given_up``.
    """
    cost = table["cost"].to_numpy(dtype=float)
    given_up = table["premium_given_up"].fillna(0).to_numpy(dtype=float)
    moved = cost + np.abs(given_up)
    with np.errstate(divide="ignore", invalid="ignore"):
        real = (cost >= ROI_MIN_COST) & (cost >= ROI_MIN_COST_SHARE * moved)
    return table["roi"].where(real)


def money_first(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison as figures × scenarios: a row per :data:`MEASURES` item, a column per scenario (numbers and codes).

    ``table`` is :func:`~analysis.interventions.projection.compare_scenarios`' output. The
    ``retained_policies`` and ``npv`` rows carry their intervals as ``(value, lower, upper)``
    tuples; ``roi`` is :func:`meaningful_roi`; ``effect_source`` is ``(source, evidence)``.
    """
    roi = meaningful_roi(table)
    columns: dict[str, list[object]] = {}
    for i, (_, row) in enumerate(table.iterrows()):  # one column per scenario: at most a handful
        columns[str(row["name"])] = [
            (row["retained_policies"], row["retained_policies_lower"], row["retained_policies_upper"]),
            row["retained_premium"],
            row["premium_given_up"],
            row["cost"],
            (row["npv"], row["npv_lower"], row["npv_upper"]),
            roi.iloc[i],
            row["probability_positive"],
            row["break_even_hazard_ratio"],
            (row["effect_source"], EVIDENCE.get(str(row["effect_source"]), "association")),
        ]
    return pd.DataFrame(columns, index=pd.Index(MEASURES, name="measure"))
