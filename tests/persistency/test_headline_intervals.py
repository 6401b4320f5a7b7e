"""Issue [2/7], small books: the overview's headline figures with their interval, and changes within noise marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.persistency.overview import NOISE_Z, Basis, persistency_kpis
from analysis.study.rates import Z95

STUDY = pd.Timestamp("2026-09-30")


def book(current: tuple[int, int], last_year: tuple[int, int], premiums: list[float] | None = None) -> pd.DataFrame:
    """``(policies, persisting)`` issued 2025-01-15 and a year earlier; the others surrender after six months.

    The 13-month window is then 2024-02 … 2025-01 (2025-01 + 13 months reaches the study
    month) and last year's 2023-02 … 2024-01.
    """
    parts = []
    for (n, persisting), issued in ((current, "2025-01-15"), (last_year, "2024-01-15")):
        issue = pd.Timestamp(issued)
        gone = np.arange(n) >= persisting
        parts.append(
            pd.DataFrame(
                {
                    "policy_id": [f"{issued}-{i}" for i in range(n)],
                    "issue_date": issue,
                    "status": np.where(gone, "surrendered", "in_force"),
                    "status_date": np.where(gone, issue + pd.DateOffset(months=6), pd.NaT),
                    "payment_frequency": 12,
                    "annual_premium": 1000.0,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["status_date"] = pd.to_datetime(frame["status_date"])
    if premiums is not None:
        frame.loc[: len(premiums) - 1, "annual_premium"] = premiums
    return frame


def p13(frame: pd.DataFrame):
    return {k.month: k for k in persistency_kpis(frame, study_date=STUDY)}[13]


def test_the_interval_holds_the_estimate_and_is_wider_for_a_small_book() -> None:
    small, big = p13(book((20, 18), (20, 17))), p13(book((400, 360), (400, 280)))
    assert small.window == ("2024-02", "2025-01") and small.policies == 20
    # Wilson, 18 of 20 (p = 0.9, z = 1.96): centre (0.9 + 1.96²/40) / (1 + 1.96²/20) = 0.99604 / 1.19208 = 0.83555,
    # half-width 1.96·sqrt(0.9·0.1/20 + 1.96²/1600) / 1.19208 = 0.16282 / 1.19208 = 0.13659 → [0.6990, 0.9721].
    assert (small.count_basis.lower, small.count_basis.upper) == pytest.approx((0.6990, 0.9721), abs=1e-4)
    # 360 of 400: centre (0.9 + 1.96²/800) / (1 + 1.96²/400) = 0.904802 / 1.009604 = 0.89620,
    # half-width 1.96·sqrt(0.9·0.1/400 + 1.96²/640,000) / 1.009604 = 0.029790 / 1.009604 = 0.02951 → [0.8667, 0.9257].
    assert (big.count_basis.lower, big.count_basis.upper) == pytest.approx((0.8667, 0.9257), abs=1e-4)
    for kpi in (small, big):
        for basis in (kpi.count_basis, kpi.premium_basis):
            assert basis.lower <= basis.value <= basis.upper
    assert small.count_basis.upper - small.count_basis.lower > 3 * (big.count_basis.upper - big.count_basis.lower)
    # Every premium equal: the premium basis is the count basis, interval and all.
    assert small.premium_basis.n == pytest.approx(20)  # n_eff = (20 · 1,000)² / (20 · 1,000²) = 20
    assert (small.premium_basis.lower, small.premium_basis.upper) == pytest.approx((small.count_basis.lower, small.count_basis.upper))


def test_the_premium_interval_counts_the_effective_number_of_policies() -> None:
    # One policy carries 19,000 of the window's 38,000 premium (the other 19 pay 1,000 each):
    # n_eff = (Σw)² / Σw² = 38,000² / (19 · 1,000² + 19,000²) = 1.444e9 / 3.8e8 = 3.8 policies.
    kpi = p13(book((20, 18), (20, 17), premiums=[19_000.0] + [1_000.0] * 19))
    assert kpi.premium_basis.n == pytest.approx(3.8)
    assert kpi.premium == pytest.approx(36_000 / 38_000)  # the two leavers pay 1,000 each
    assert kpi.premium_basis.upper - kpi.premium_basis.lower > kpi.count_basis.upper - kpi.count_basis.lower


def test_a_change_smaller_than_its_noise_is_marked_and_a_large_one_is_not() -> None:
    assert NOISE_Z == Z95
    small = p13(book((20, 18), (20, 17))).count_basis
    # 18/20 = 0.90 against 17/20 = 0.85: Δ = +0.05.
    # SE = sqrt(0.9·0.1/20 + 0.85·0.15/20) = sqrt(0.0045 + 0.006375) = 0.10428; noise = 1.96 · SE = 0.2044 > 0.05.
    assert small.change == pytest.approx(0.05)
    assert small.noise == pytest.approx(0.2044, abs=1e-4)
    assert small.within_noise
    big = p13(book((400, 360), (400, 280))).count_basis
    # 360/400 = 0.90 against 280/400 = 0.70: Δ = +0.20.
    # SE = sqrt(0.9·0.1/400 + 0.7·0.3/400) = sqrt(0.000225 + 0.000525) = 0.027386; noise = 0.05368 < 0.20.
    assert big.noise == pytest.approx(0.05368, abs=1e-5)
    assert not big.within_noise


def test_without_last_year_there_is_no_change_to_mark() -> None:
    basis = Basis.of(0.9, 20.0, float("nan"), 0.0)
    assert np.isnan(basis.noise) and np.isnan(basis.change) and not basis.within_noise
    assert basis.lower <= 0.9 <= basis.upper
