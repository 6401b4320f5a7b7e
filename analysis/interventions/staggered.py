"""Staggered entry: each enrolled policy's clock starts at its own enrolment date.

A campaign list (:mod:`analysis.interventions.campaign_list`) enrols each policy on its own
day — a welcome call near issue, a seminar programme over many months. :func:`enrolled_data`
matches the list with the book and gives one row per enrolled policy **in force at its
enrolment**, whatever its arm and however early it lapsed afterwards.

**Time scale: time since enrolment.** Each policy is at risk from its own enrolment date
(time 0) to its voluntary exit (lapse, surrender, termination after lapse) or censoring (a
competing exit — death, maturity — or the study date). Nothing is left-truncated: the time
axis is the policy's own, so a policy enrolled in 2020 and one enrolled in 2025 are both at
risk from month 0 of their own clocks, and months in force at enrolment enter the Cox model
as a covariate. Kaplan–Meier curves, the log-rank test, the Cox hazard ratios, balance and
uplift all run on this axis (:mod:`analysis.interventions.multi_arm`).

**In force at enrolment.** Issued on or before the enrolment day, and no exit (voluntary or
competing) dated on or before it: the exit day is the first day out of force, so a policy
whose lapse date is its enrolment day was already out. Grace and APL count as in force; a
policy reinstated on or before its enrolment counts as in force from then on (its lapse
before enrolment is not an outcome; the extract records no later exit for it). Every other
list entry is rejected in the list's row account with its reason, never dropped silently.

**Lapse within the window** (default 12 months after each policy's own enrolment): a
voluntary exit dated after the enrolment and no later than enrolment + window months. The
outcome is known when the policy lapsed inside the window or was observed to its end (a
policy enrolled less than the window before the study date, still in force, or gone by a
competing exit inside it, has an unknown window outcome and is left out of the window's
proportions, but keeps its place in the curves and the Cox model).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.interventions.arms import WINDOW_MONTHS
from analysis.interventions.campaign import AGE_AT_START, MONTHS_IN_FORCE
from analysis.interventions.campaign_list import ARM, CONTACT_CHANNEL, COST, ENROLMENT_DATE, CampaignList
from analysis.study.calendar import add_months, as_days, whole_years
from analysis.survival.curves import DAYS_PER_MONTH, survival_data

#: Book columns carried into the campaign data as covariates when the book has them.
CARRIED = (S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.BRANCH, S.GENDER, S.INCOME)
#: The columns of :func:`enrolled_data` before the covariates.
DATA_COLUMNS = (S.POLICY_ID, ARM, ENROLMENT_DATE, "duration", "event", "entry", "lapsed_within", "known_within", CONTACT_CHANNEL, COST)


def _book_rows(policies: pd.DataFrame, entries: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The book's row of each entry (the first row of a policy number), and which entries have one."""
    book = policies.drop_duplicates(S.POLICY_ID, keep="first")
    position = pd.Index(book[S.POLICY_ID].astype(str)).get_indexer(pd.Index(entries[S.POLICY_ID].astype(str)))
    found = position >= 0
    rows = book.iloc[position[found]]
    return rows.set_axis(entries.index[found]), found


def _reinstated_by_enrolment(rows: pd.DataFrame, enrolment: pd.Series) -> pd.DataFrame:
    """Policies reinstated on or before their enrolment, marked in force (their earlier lapse is no outcome)."""
    if S.REINSTATEMENT_DATE not in rows.columns:
        return rows
    back = ((rows[S.STATUS] == S.REINSTATED) & (rows[S.REINSTATEMENT_DATE] <= enrolment)).fillna(False).astype(bool)
    return rows.assign(**{S.STATUS: rows[S.STATUS].astype(object).mask(back, S.IN_FORCE)})  # as text: in_force may be no category


def enrolled_data(
    policies: pd.DataFrame,
    campaign_list: CampaignList,
    *,
    study_date: pd.Timestamp,
    window_months: int = WINDOW_MONTHS,
) -> tuple[pd.DataFrame, CampaignList]:
    """One row per listed policy in force at its enrolment, on the time-since-enrolment scale.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies (``policy_id``, ``issue_date``, ``status`` and the exit dates).
    campaign_list : CampaignList
        :func:`~analysis.interventions.campaign_list.read_campaign_list`'s result.
    study_date : Timestamp
        The extract's study date: policies still in force are censored there.
    window_months : int
        The outcome window after each policy's enrolment.

    Returns
    -------
    (DataFrame, CampaignList)
        The data ``[policy_id, arm, enrolment_date, duration, event, entry, lapsed_within,
        known_within, contact_channel, cost, age_at_start, months_in_force, *covariates]``:
        ``duration`` months from enrolment to the voluntary exit or censoring, ``entry`` 0,
        ``event`` whether it ended by a voluntary exit, ``age_at_start`` and
        ``months_in_force`` at enrolment, the book's covariates of :data:`CARRIED`; and the
        list with the entries not in the book, enrolled on or after the study date or not in
        force at enrolment rejected in its account.
    """
    entries = campaign_list.entries
    study = pd.Timestamp(study_date).normalize()
    rows, found = _book_rows(policies, entries)
    rejected = [entries.loc[~found, ["row"]].assign(reason="not_in_book")]
    late = (entries[ENROLMENT_DATE] >= study).to_numpy() & found
    rejected.append(entries.loc[late, ["row"]].assign(reason="enrolled_after_study_date"))
    keep = entries.index[found & ~late]
    rows, enrolled = rows.loc[keep], entries.loc[keep]
    rows = _reinstated_by_enrolment(rows, enrolled[ENROLMENT_DATE])
    carried = [c for c in CARRIED if c in rows.columns]
    data = survival_data(rows, study_date=study, by=carried)
    issue_day = as_days(rows[S.ISSUE_DATE]).astype(np.int64)
    enrol_day = as_days(enrolled[ENROLMENT_DATE]).astype(np.int64)
    exit_day = np.full(len(rows), np.iinfo(np.int64).min)
    at = rows.index.get_indexer(data.index)
    exit_day[at] = issue_day[at] + np.rint(data["duration"].to_numpy(dtype=float) * DAYS_PER_MONTH).astype(np.int64)
    event = np.zeros(len(rows), dtype=bool)
    event[at] = data["event"].to_numpy(dtype=bool)
    unissued = ~(enrol_day >= issue_day)
    gone = ~unissued & (exit_day <= enrol_day)
    for reason, hit in (
        ("not_yet_issued", unissued),
        ("lapsed_before_enrolment", gone & event),
        ("exited_before_enrolment", gone & ~event),
    ):
        rejected.append(enrolled.loc[hit, ["row"]].assign(reason=reason))
    inside = ~(unissued | gone)
    listed = campaign_list.with_rejected(pd.concat(rejected, ignore_index=True))
    out = _outcomes(enrolled[inside], exit_day[inside] - enrol_day[inside], event[inside], window_months)
    out[AGE_AT_START] = _age_at(rows[inside], enrolled.loc[inside, ENROLMENT_DATE])
    out[MONTHS_IN_FORCE] = (enrol_day[inside] - issue_day[inside]) / DAYS_PER_MONTH
    for column in carried:
        values = rows.loc[inside, column]
        out[column] = (values.astype("string").fillna("(blank)").astype(str) if column == S.PAYMENT_FREQUENCY else values).to_numpy()
    if AGE_AT_START in out and out[AGE_AT_START].isna().all():
        out = out.drop(columns=AGE_AT_START)
    return out.reset_index(drop=True), listed


def _outcomes(enrolled: pd.DataFrame, days: np.ndarray, event: np.ndarray, window_months: int) -> pd.DataFrame:
    """Durations from enrolment and the window's outcome of each enrolled policy in force at enrolment."""
    start = as_days(enrolled[ENROLMENT_DATE])
    window_days = (add_months(start, window_months) - start).astype(np.int64)
    lapsed_within = event & (days <= window_days)
    out = pd.DataFrame(
        {
            S.POLICY_ID: enrolled[S.POLICY_ID].astype(str).to_numpy(),
            ARM: enrolled[ARM].astype(str).to_numpy(),
            ENROLMENT_DATE: enrolled[ENROLMENT_DATE].to_numpy(),
            "duration": days / DAYS_PER_MONTH,
            "event": event,
            "entry": 0.0,
            "lapsed_within": lapsed_within,
            "known_within": lapsed_within | (days >= window_days),
            CONTACT_CHANNEL: enrolled[CONTACT_CHANNEL].to_numpy(),
            COST: enrolled[COST].to_numpy(dtype=float),
        }
    )
    return out


def _age_at(rows: pd.DataFrame, enrolment: pd.Series) -> np.ndarray:
    """Age at enrolment: age at issue plus the whole policy years to the enrolment (NaN without an age)."""
    if S.AGE not in rows.columns:
        return np.full(len(rows), np.nan)
    years = whole_years(as_days(rows[S.ISSUE_DATE]), as_days(enrolment))
    return np.asarray(pd.to_numeric(rows[S.AGE], errors="coerce").to_numpy(dtype=float) + years, dtype=float)
