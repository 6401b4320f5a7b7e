"""Thin cells and rate axes: what a rate table and its chart say about how much data is behind each number.

A rate cell resting on little exposure is *thin*: its interval is wide and one event moves it
a lot (a thin later policy year can show 80 % when its neighbours are near 1 %). Tables mark
thin cells; charts draw them hollow, and fit the rate axis to the well-exposed cells
(:func:`rate_axis`), so a thin outlier no longer squashes every other line against zero — it
is drawn at the axis's edge, marked, with its own value on hover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A cell with less exposure than this (in the study's period units: policy-years by policy or
#: calendar year, policy-months by month) is thin.
THIN_EXPOSURE = 100.0
#: The rate axis is fitted to this quantile of the well-exposed cells' rates (1: the highest, so a
#: well-exposed spike — the anniversary months' lapses — is never cut; only thin cells can be above) …
AXIS_QUANTILE = 1.0
#: … plus this share of it as room above.
AXIS_HEADROOM = 0.10


def thin_cells(rates: pd.DataFrame, *, min_exposure: float = THIN_EXPOSURE) -> pd.Series:
    """True for the cells of a rate table (``exposure``) with less exposure than ``min_exposure``."""
    return pd.Series(rates["exposure"].to_numpy(dtype=float) < min_exposure, index=rates.index, name="thin")


def mark_thin(rates: pd.DataFrame, *, min_exposure: float = THIN_EXPOSURE) -> pd.DataFrame:
    """The rate table with a ``thin`` column (:func:`thin_cells`); the input is not changed."""
    return rates.assign(thin=thin_cells(rates, min_exposure=min_exposure))


def rate_axis(
    rates: pd.DataFrame,
    *,
    min_exposure: float = THIN_EXPOSURE,
    quantile: float = AXIS_QUANTILE,
    headroom: float = AXIS_HEADROOM,
) -> tuple[float, float] | None:
    """The range of a rate axis fitted to the well-exposed cells, not to a thin cell's outlier.

    Parameters
    ----------
    rates : DataFrame
        ``rate`` and ``exposure`` per cell.
    min_exposure, quantile, headroom : float
        The top is ``(1 + headroom) × quantile`` of the rates of the cells with at least
        ``min_exposure`` (of every cell when none has that much).

    Returns
    -------
    tuple of float or None
        ``(0, top)``, or None when there is no rate (the chart's own range then). Cells above
        ``top`` are the chart's to draw at the edge and mark.
    """
    rate = rates["rate"].to_numpy(dtype=float)
    known = np.isfinite(rate)
    if not known.any():
        return None
    solid = known & (rates["exposure"].to_numpy(dtype=float) >= min_exposure)
    basis = rate[solid] if solid.any() else rate[known]
    top = (1 + headroom) * float(np.quantile(basis, quantile))
    if top <= 0:  # no events anywhere: a small axis, not a flat line on zero
        top = float(np.max(rate[known])) or 1.0
    return 0.0, top
