"""Lapse-risk training data: rows taken at past as-of dates, with only what was known then.

Issue [5/7] builds its model on this. For an as-of date A, the rows are the policies in
force at A (issued by A, not yet exited, not suspended at A). The target is a voluntary
exit (lapse, surrender, termination after lapse; a reinstated policy's lapse episode
counts) within the ``horizon`` months after A. A policy that leaves by a competing exit
(death, maturity) inside the horizon is left out of that as-of date: its outcome is
unknown. Features are those known at A: the policy year at A, the age at A, premium,
payment frequency, auto-debit, channel, product, income, occupation, gender, branch and
whether the policy was reinstated before A. Nothing dated after A (status, status date,
paid-to date) is a feature, which the tests check by changing the future.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.calendar import add_months, as_days, whole_months
from analysis.errors import ExtractError
from analysis.exposure import event_dates

#: Static features taken as they are (when the extract has them).
STATIC_FEATURES = (S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.INCOME, S.OCCUPATION, S.GENDER, S.BRANCH)
ALL_EXITS = frozenset({S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.SURRENDERED, S.DEATH_CLAIM, S.MATURED, S.FREE_LOOK_CANCELLED})


def as_of_dates(study_date: pd.Timestamp, *, horizon_months: int = 12, step_months: int = 6, count: int = 8) -> list[pd.Timestamp]:
    """Past as-of dates whose whole horizon is observed by the study date, latest first."""
    latest = pd.Timestamp(study_date) - pd.DateOffset(months=horizon_months)
    return [latest - pd.DateOffset(months=step_months * k) for k in range(count)]


def training_rows(
    policies: pd.DataFrame,
    *,
    as_of: Sequence[pd.Timestamp],
    horizon_months: int = 12,
    extra_features: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per policy in force at each as-of date, with its features then and its outcome.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    as_of : sequence of Timestamp
        The dates the rows are taken at (see :func:`as_of_dates`).
    horizon_months : int
        The target window after each as-of date.
    extra_features : sequence of str
        The user's own columns to add as features; only columns whose values were known
        at the as-of date belong here (the caller's responsibility).

    Returns
    -------
    DataFrame
        ``[policy_id, as_of, policy_year, age, *features, reinstated_before, lapsed_within]``.
    """
    missing = [c for c in extra_features if c not in policies.columns]
    if missing:
        raise ExtractError(f"No column {missing[0]!r} in the policies.", code="missing_column", column=missing[0])
    issue = as_days(policies[S.ISSUE_DATE])
    exit_day, _ = event_dates(policies, ALL_EXITS)
    voluntary_day, voluntary = event_dates(policies, S.VOLUNTARY_EXITS)
    nat = np.full(len(policies), np.datetime64("NaT"), dtype="datetime64[D]")
    reinstated_day = as_days(policies[S.REINSTATEMENT_DATE]) if S.REINSTATEMENT_DATE in policies else nat
    lapse_day = as_days(policies[S.LAPSE_DATE]) if S.LAPSE_DATE in policies else nat
    is_reinstated = (policies[S.STATUS] == S.REINSTATED).to_numpy(dtype=bool)
    age = pd.to_numeric(policies[S.AGE], errors="coerce").to_numpy(dtype=float) if S.AGE in policies else np.full(len(policies), np.nan)
    frames = []
    for date in as_of:
        day = np.datetime64(pd.Timestamp(date).date(), "D")
        end = add_months(np.array([day]), horizon_months)[0]
        # In force at A: issued by A, not exited by A, and not inside a lapse episode at A.
        gone = ~np.isnat(exit_day) & (exit_day <= day) & ~is_reinstated  # reinstated: in force again
        suspended = is_reinstated & ~np.isnat(lapse_day) & (lapse_day <= day) & (np.isnat(reinstated_day) | (reinstated_day > day))
        in_force = (issue <= day) & ~gone & ~suspended
        # A reinstated policy whose lapse episode started after A "exits" then, for the target.
        target = voluntary & ~np.isnat(voluntary_day) & (voluntary_day > day) & (voluntary_day <= end)
        competing = ~np.isnat(exit_day) & (exit_day > day) & (exit_day <= end) & ~target
        keep = in_force & ~competing
        if not keep.any():
            continue
        years = whole_months(issue[keep], np.full(int(keep.sum()), day)) // 12
        row = pd.DataFrame(
            {
                "policy_id": policies[S.POLICY_ID].to_numpy()[keep],
                "as_of": pd.Timestamp(date),
                "policy_year": years + 1,
                "age": age[keep] + years,
            }
        )
        for column in (*(c for c in STATIC_FEATURES if c in policies.columns), *extra_features):
            row[column] = policies[column].to_numpy()[keep]
        row["reinstated_before"] = (~np.isnat(reinstated_day) & (reinstated_day <= day))[keep]
        row["lapsed_within"] = target[keep]
        frames.append(row)
    if not frames:
        return pd.DataFrame(columns=["policy_id", "as_of", "policy_year", "age", "reinstated_before", "lapsed_within"])
    return pd.concat(frames, ignore_index=True)
