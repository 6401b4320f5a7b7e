"""Lapse rates from exposure tables: confidence intervals, credibility and actual-to-expected.

Input is the output of :func:`analysis.study.exposure.exposures`; everything here works on
that small aggregated table, never on policies.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis.errors import ExtractError

#: Events for full credibility: 90 % probability of being within 5 % (limited fluctuation).
FULL_CREDIBILITY = 1082
#: Cells below this credibility factor are marked low-credibility (Z < 0.5: fewer than 271 events).
LOW_CREDIBILITY = 0.5
Z95 = 1.959963984540054


def wilson_interval(events: np.ndarray, exposure: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a rate ``events / exposure`` (exposure as the trial count)."""
    n = np.asarray(exposure, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip(np.asarray(events, dtype=float) / n, 0.0, 1.0)
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    lower = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    upper = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return np.minimum(lower, p), np.maximum(upper, p)


def credibility(events: np.ndarray, full: float = FULL_CREDIBILITY) -> np.ndarray:
    """Limited-fluctuation credibility ``Z = min(1, sqrt(events / full))``."""
    return np.minimum(1.0, np.sqrt(np.asarray(events, dtype=float) / full))


def lapse_rates(
    table: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    weight: str | None = None,
    expected: pd.DataFrame | float | None = None,
    expected_keys: Sequence[str] = ("period",),
) -> pd.DataFrame:
    """Rates by cohort and period, with a 95 % Wilson interval, credibility and A/E.

    Parameters
    ----------
    table : DataFrame
        From :func:`analysis.study.exposure.exposures`: ``[*by, *keys, period, exposure,
        events]`` and ``exposure_<w>, events_<w>`` for a weight ``w``.
    by : sequence of str
        The cohort columns to report by (a subset of the table's; the rest are
        summed over, so totals equal the regrouped detail).
    weight : str, optional
        Report the amount-weighted rate (``events_<w> / exposure_<w>``); the
        interval then uses the count-basis exposure as the trial count.
    expected : DataFrame or float, optional
        Expected annual rate: a flat assumption, or a table with
        ``expected_keys`` and ``expected_rate`` columns.

    Returns
    -------
    DataFrame
        ``[*by, period, events, exposure, rate, lower, upper, credibility,
        low_credibility]`` and, with an expected basis, ``expected`` (expected
        events) and ``ae`` (actual / expected). ``rate`` is the annual lapse
        probability on the table's exposure basis for policy years and calendar
        years, and the monthly probability for policy months.
    """
    work = table.copy()
    if expected is not None:
        if isinstance(expected, (int, float)):
            work["expected_rate"] = float(expected)
        else:
            missing = [k for k in expected_keys if k not in work.columns or k not in expected.columns]
            if missing or "expected_rate" not in expected.columns:
                raise ExtractError(
                    "bad_expected",
                    reason="expected_keys",
                    keys=", ".join(expected_keys),
                    missing=", ".join(missing) or "expected_rate",
                )
            basis = expected[[*expected_keys, "expected_rate"]].copy()
            for key in expected_keys:
                basis[key] = basis[key].astype(work[key].dtype) if key == "period" else basis[key].astype(str)
                if key != "period":  # a missing cohort is <NA>, which no blank key of the basis (nan) matches
                    work[key] = work[key].astype("string").astype(str)
            work = work.merge(basis, on=list(expected_keys), how="left")
        exposure_column = f"exposure_{weight}" if weight else "exposure"
        work["expected"] = work[exposure_column] * work["expected_rate"]
        # A/E compares the actual events of the cells the basis covers with their expectation.
        work["actual_for_ae"] = (work[f"events_{weight}"] if weight else work["events"]).where(work["expected"].notna())
    sums = (
        ["exposure", "events"]
        + ([f"exposure_{weight}", f"events_{weight}"] if weight else [])
        + (["expected", "actual_for_ae"] if expected is not None else [])
    )
    if weight and f"exposure_{weight}" not in work.columns:
        raise ExtractError("bad_option", reason="rate_weight", weight=weight)
    grouped = work.groupby([*by, "period"], observed=True, dropna=False, sort=True)[sums].sum(min_count=1).reset_index()
    grouped[["exposure", "events"]] = grouped[["exposure", "events"]].fillna(0)
    return _with_rates(grouped, weight=weight)


def _with_rates(grouped: pd.DataFrame, *, weight: str | None) -> pd.DataFrame:
    events = grouped["events"].to_numpy(dtype=float)
    exposure = grouped["exposure"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        count_rate = np.where(exposure > 0, events / exposure, np.nan)
        rate = (
            count_rate
            if not weight
            else np.where(grouped[f"exposure_{weight}"] > 0, grouped[f"events_{weight}"] / grouped[f"exposure_{weight}"], np.nan)
        )
    lower, upper = wilson_interval(events, exposure)
    if weight:
        # Same relative width as the count basis, centred on the weighted rate.
        with np.errstate(divide="ignore", invalid="ignore"):
            lower = np.where(count_rate > 0, rate * lower / count_rate, lower)
            upper = np.where(count_rate > 0, rate * upper / count_rate, upper)
    out = grouped.copy()
    out["rate"] = rate
    out["lower"] = np.minimum(lower, rate)
    out["upper"] = np.maximum(upper, rate)
    out["credibility"] = credibility(events)
    out["low_credibility"] = out["credibility"] < LOW_CREDIBILITY
    if "expected" in out:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ae"] = np.where(out["expected"] > 0, out["actual_for_ae"] / out["expected"], np.nan)
        out = out.drop(columns="actual_for_ae")
    return out


def rate_totals(rates: pd.DataFrame, *, by: Sequence[str] = (), weight: str | None = None) -> pd.DataFrame:
    """All periods together per cohort: the same sums regrouped, with their own rates and intervals."""
    work = rates.copy()
    if "expected" in work:
        work["actual_for_ae"] = (work[f"events_{weight}"] if weight else work["events"]).where(work["expected"].notna())
    sums = [
        c
        for c in [
            "exposure",
            "events",
            f"exposure_{weight}" if weight else "",
            f"events_{weight}" if weight else "",
            "expected",
            "actual_for_ae",
        ]
        if c and c in work
    ]
    if by:
        grouped = work.groupby(list(by), observed=True, dropna=False)[sums].sum(min_count=1).reset_index()
    else:
        grouped = work[sums].sum(min_count=1).to_frame().T
    grouped["period"] = "all"
    return _with_rates(grouped, weight=weight)


def cumulative_exit_probability(rates: pd.DataFrame, *, by: Sequence[str] = (), periods: int = 1) -> pd.DataFrame:
    """``1 − Π (1 − q_k)`` over the first ``periods`` periods, per cohort (for checks against persistency)."""
    ordered = rates.sort_values([*by, "period"])
    first = ordered.groupby(list(by), observed=True).head(periods) if by else ordered.head(periods)
    survive = np.log1p(-first["rate"].fillna(0).clip(upper=1 - 1e-15))
    if not by:
        return pd.DataFrame({"cumulative_exit": [float(1 - np.exp(survive.sum()))]})
    totals = survive.groupby([first[c] for c in by], observed=True).sum()
    return (1 - np.exp(totals)).rename("cumulative_exit").reset_index()
