"""What the overview's persistency can say: which issue cohorts are fully observed, and why P13 is not S(13).

**Fully observed.** A cohort *reaches* month N once the last day of its issue period plus N
months (N + 1 when measuring with grace) is on or before the study date
(:func:`~analysis.persistency.ratios.label_cells`). Without a payment history a lapse is only
known once the policy has been suspended, after its grace period, so the cohort's last
policies can still be in grace at the study date and count as persisting: the newest cohort
spikes (the sample's 2025-08 issue month at 94.5 % at month 13, against about 89 % for the
months before). A reached cohort is therefore **fully observed** only when its evaluation date
plus the recording lag (the grace period without payments, nothing with a payment history)
is on or before the study date; the others are *settling*. The Overview draws settling
cohorts hollow on a shaded band, trend statements (:func:`trend_statements`) use fully
observed cohorts only, and so do the KPI cards: their 12-month window ends at the last fully
observed issue month (:func:`observed_cells`; with a payment history that is the last month
that reached N, as the lag is nothing).

**P13 is not S(13).** The Overview's P13 is the share of the policies issued in its 12-month
window (regular premium, exclusions applied) still paying at month 13, a lapse dated at the
premium it missed. The Survival page's S(13) is a Kaplan–Meier estimate over every policy's
exposure, leaving at a voluntary exit dated at suspension and censoring other exits and the
study end. :func:`persistency_contrast` puts the two numbers side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from analysis.persistency.ratios import PersistencyOptions, cohort_end_days
from analysis.study.calendar import add_months
from analysis.study.rates import Z95

if TYPE_CHECKING:
    from analysis.persistency.overview import Kpi

#: Fully observed cohorts a trend statement compares at most (its first and last of these).
TREND_STATEMENT_COHORTS = 4
#: The month the Overview's persistency and the Survival page's survival are compared at.
CONTRAST_MONTH = 13
#: Maturity codes of a trend cohort: fully observed, or reached but lapses possibly still in grace.
OBSERVED, SETTLING = "observed", "settling"
#: A change smaller than this many standard errors of the difference is within noise (as the KPIs').
NOISE_Z = Z95
#: A trend cohort with fewer policies than this is thin: drawn apart and left out of trend statements
#: (the US book's 2009Q1 is one policy at 100 %), as league tables leave out groups below 50.
MIN_TREND_POLICIES = 50


def fully_observed(
    cohorts: Sequence[str], months: Sequence[int], *, grain: str, study_date: pd.Timestamp, shift: int, lag_days: int
) -> np.ndarray:
    """Whether each issue cohort is fully observed at its month (module notes).

    Parameters
    ----------
    cohorts, months : sequence
        Issue-cohort labels (``2025``, ``2025Q2``, ``2025-08``) and months, pairwise.
    grain : str
        ``month``, ``quarter`` or ``year``: what the labels are.
    study_date : Timestamp
    shift : int
        1 when persistency is measured at N + 1, else 0.
    lag_days : int
        Days after the evaluation date before a lapse at it is recorded: the grace period
        without a payment history, 0 with one.

    Returns
    -------
    ndarray of bool
        ``end of issue period + month + shift months + lag_days <= study_date``.
    """
    labels = np.asarray([str(c) for c in cohorts], dtype=object)
    if not len(labels):
        return np.array([], dtype=bool)
    ends = cohort_end_days(labels, grain)
    evaluated = add_months(ends, np.asarray(months, dtype=np.int64) + shift) + np.timedelta64(int(lag_days), "D")
    return np.asarray(evaluated <= np.datetime64(pd.Timestamp(study_date).date(), "D"), dtype=bool)


def recording_lag(options: PersistencyOptions, *, payments: bool) -> int:
    """Days after an evaluation date before a lapse at it is recorded: ``options.grace_days`` without payments, 0 with them."""
    return 0 if payments else int(options.grace_days)


def observed_cells(cells: pd.DataFrame, *, study_date: pd.Timestamp, shift: int, lag_days: int) -> np.ndarray:
    """Which issue-month cells (``[cohort, month, reached]``, ``2025-08`` labels) have reached their month and are fully observed.

    :func:`fully_observed` of each cell, and ``reached`` (the two agree whenever
    ``lag_days >= 0``); the KPI windows and the report's changes end at the last such month.
    """
    reached = cells["reached"].to_numpy(dtype=bool)
    if not len(cells):
        return reached
    observed = fully_observed(
        cells["cohort"].tolist(), cells["month"].tolist(), grain="month", study_date=study_date, shift=shift, lag_days=lag_days
    )
    return reached & observed


def trend_maturity(
    trend: pd.DataFrame, *, grain: str, study_date: pd.Timestamp, shift: int, lag_days: int, min_policies: int = MIN_TREND_POLICIES
) -> pd.DataFrame:
    """The trend's cells with their maturity and size: ``[cohort, month, maturity, thin]``.

    ``maturity`` is :data:`OBSERVED` or :data:`SETTLING` (:func:`fully_observed`); ``thin`` is
    true for a cohort of fewer than ``min_policies`` policies (``cohort_policies``).
    """
    observed = fully_observed(
        trend["cohort"].tolist(), trend["month"].tolist(), grain=grain, study_date=study_date, shift=shift, lag_days=lag_days
    )
    return pd.DataFrame(
        {
            "cohort": trend["cohort"].to_numpy(),
            "month": trend["month"].to_numpy(),
            "maturity": np.where(observed, OBSERVED, SETTLING),
            "thin": trend["cohort_policies"].to_numpy(dtype=float) < min_policies,
        }
    )


@dataclass(frozen=True)
class TrendStatement:
    """How persistency at one month moved over the latest fully observed cohorts.

    ``first``/``last`` are the first and last of the latest (up to
    :data:`TREND_STATEMENT_COHORTS`) fully observed cohorts, ``start``/``end`` their
    persistency; ``settling`` names the newer cohorts left out because they are not fully
    observed, ``thin`` those left out (newer than ``first``) because they are too small.
    ``noise`` is ``NOISE_Z`` standard errors of ``end − start``.
    """

    month: int
    first: str
    last: str
    start: float
    end: float
    cohorts: int
    noise: float
    settling: tuple[str, ...]
    thin: tuple[str, ...] = ()

    @property
    def change(self) -> float:
        """``end − start``."""
        return self.end - self.start

    @property
    def within_noise(self) -> bool:
        """The change is smaller than its noise."""
        return bool(abs(self.change) < self.noise)


def trend_statements(trend: pd.DataFrame, maturity: pd.DataFrame, *, cohorts: int = TREND_STATEMENT_COHORTS) -> list[TrendStatement]:
    """Per month, the change over the latest fully observed cohorts, settling cohorts left out.

    ``trend`` has ``[cohort, month, cohort_policies, persistency]``, ``maturity`` is
    :func:`trend_maturity` of it. Thin cohorts are left out too. A month with fewer than two
    fully observed cohorts of enough policies has no statement.
    """
    cells = trend.merge(maturity, on=["cohort", "month"], how="left")
    if "thin" not in cells:
        cells["thin"] = False
    out = []
    for month, rows in cells.groupby("month", sort=True):
        rows = rows.sort_values("cohort")
        observed = rows[(rows["maturity"] == OBSERVED) & ~rows["thin"].astype(bool)].tail(cohorts)
        if len(observed) < 2:
            continue
        first, last = observed.iloc[0], observed.iloc[-1]
        p0, n0, p1, n1 = (float(v) for v in (first["persistency"], first["cohort_policies"], last["persistency"], last["cohort_policies"]))
        noise = NOISE_Z * float(np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)) if n0 > 0 and n1 > 0 else float("nan")
        settling = tuple(str(c) for c in rows.loc[(rows["maturity"] == SETTLING) & (rows["cohort"] > last["cohort"]), "cohort"])
        small = rows["thin"].astype(bool) & (rows["maturity"] == OBSERVED) & (rows["cohort"] > first["cohort"])
        thin = tuple(str(c) for c in rows.loc[small, "cohort"])
        out.append(TrendStatement(int(str(month)), str(first["cohort"]), str(last["cohort"]), p0, p1, len(observed), noise, settling, thin))
    return out


@dataclass(frozen=True)
class PersistencyContrast:
    """The Overview's P13 beside the Survival page's S(13), with what each counts.

    ``persistency`` and ``policies``: the KPI (count basis) and its window's policies;
    ``survival`` with its 95 % band and ``survival_policies``: the whole book's Kaplan–Meier
    estimate at :data:`CONTRAST_MONTH` and the policies it starts with.
    """

    month: int
    persistency: float
    policies: int
    window: tuple[str, str]
    survival: float
    lower: float
    upper: float
    survival_policies: int


def persistency_contrast(kpis: Sequence[Kpi], curves: pd.DataFrame, *, month: int = CONTRAST_MONTH) -> PersistencyContrast | None:
    """P(month) from the KPIs beside S(month) of one Kaplan–Meier curve (the whole book's), or None when either is missing.

    ``curves`` is :func:`~analysis.survival.curves.km_from_counts`' table of one cohort: the
    survival is read at the last time on or before ``month`` (a step function), and only when
    the curve reaches ``month``.
    """
    kpi = next((k for k in kpis if k.month == month), None)
    if kpi is None or curves.empty or float(curves["month"].max()) < month:
        return None
    curve = curves.sort_values("month")
    at = curve[curve["month"] <= month].iloc[-1]
    return PersistencyContrast(
        month=month,
        persistency=kpi.count,
        policies=kpi.policies,
        window=kpi.window,
        survival=float(at["survival"]),
        lower=float(at["lower"]),
        upper=float(at["upper"]),
        survival_policies=int(curve["entered"].sum()),
    )
