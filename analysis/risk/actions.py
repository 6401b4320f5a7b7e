"""Action lists for the service team, and the reasons and levers behind a risk score, as codes.

Two lists (DOMAIN.md §1 for the clock, §5 for the levers):

* **Due soon or in grace** — policies in force on the study date whose next premium is due
  within ``days`` days, or whose due date has passed but the grace period (by default
  :data:`~analysis.schema.GRACE_DAYS` days) has not. Ranked by the expected premium at risk, ``P(lapse) × annual premium``,
  where ``P(lapse)`` is the model's probability of a voluntary exit within 12 months. Each
  row has the days left in grace (for a policy not yet due: the days to the due date plus
  the whole grace period), its top three reasons, and a suggested lever. Without a model
  (a book below the training minimum, :func:`analysis.risk.rows.check_training_size`) the
  same policies are ranked by annual premium, with no probability, reasons or lever
  (:func:`unscored_action_lists`).
* **Reinstatable** — lapsed (suspended) policies still inside the reinstatement window
  (by default :data:`~analysis.schema.REINSTATEMENT_YEARS` years from suspension), ranked by annual premium, then by time left.

Levers follow the reasons: a reason from *how the premium is paid* (no auto-debit, monthly
or quarterly payment) points to "forgot to pay" → a reminder before the due date or an
auto-debit enrolment; a reason from *how the customer has been paying* (with a payment
history, :mod:`analysis.payments.features`: late payments, the longest delay, a recent late
payment) points the same way → auto-debit enrolment, or a reminder before the debit date
for a policy already on auto-debit, and failed debits → a reminder to fund the account; a
reason from *what the premium costs the customer* (premium, premium to income, income,
young age) points to "cannot afford" → flexible payment or a lower-premium plan; anything
else → a service call by the agent.

Everything here is codes and numbers: the ``state`` (:data:`STATES`), each reason as its
feature, the policy's value and the probability points, and the ``lever``
(:data:`LEVERS`). :mod:`analysis.risk.words` puts them in words for the page and the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind
from analysis.engine.dates import day_of
from analysis.engine.worklists import BOOK_ROW, due_candidates, reinstatable_candidates
from analysis.engine.worklists import book_columns as worklist_columns
from analysis.payments.features import FAILED_DEBITS, LATE_PAYMENTS, MAX_DELAY, MONTHS_SINCE_LATE
from analysis.risk.explain import PolicyExplanation, explain, probability_points
from analysis.risk.model import RiskResult
from analysis.risk.rows import PREMIUM_TO_INCOME, scoring_rows

#: Which cause a positive reason points to.
FORGOT = frozenset({S.AUTO_DEBIT, S.PAYMENT_FREQUENCY})
AFFORD = frozenset({S.ANNUAL_PREMIUM, PREMIUM_TO_INCOME, S.INCOME, S.AGE})
#: Payment behaviour that points to "pays late": auto-debit, or a reminder when already on it.
PAYS_LATE = frozenset({LATE_PAYMENTS, MAX_DELAY, MONTHS_SINCE_LATE})
#: The payment behaviour an agent can act on (each points to a lever).
PAYMENT_REASONS = PAYS_LATE | {FAILED_DEBITS}
#: A reason must move the probability by at least this much (0.05 percentage points) to be named.
MIN_POINTS = 0.0005
#: The reasons named per policy, as the lists' columns name them once in words.
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3")
TOP_REASONS = len(REASON_COLUMNS)
LEVERS = ("auto_debit", "reminder", "flexible_payment", "service_call")
#: States of a policy on the due list.
DUE_SOON, IN_GRACE = "due_soon", "in_grace"
STATES = (DUE_SOON, IN_GRACE)
#: Policies due within this many days are listed by default.
DUE_WITHIN_DAYS = 30
#: Columns carried into the lists so the service team can act (identifiers are masked on export).
CONTACT_COLUMNS = (S.NAME, S.PHONE, S.ID_NUMBER, S.AGENT, S.BRANCH, S.CHANNEL, S.PRODUCT)
#: Days in an average month, for the months a policy has been lapsed.
DAYS_PER_MONTH = 30.4375


def reason_columns(k: int) -> tuple[str, str, str]:
    """The columns of the ``k``-th reason (1-based): its feature, the policy's value, and the probability points."""
    name = REASON_COLUMNS[k - 1]
    return f"{name}_feature", f"{name}_value", f"{name}_points"


def lever_for(features: list[str], values: list[Any], *, auto_debit: bool | None = None) -> str:
    """The suggested lever (a code of :data:`LEVERS`) from a policy's risk-raising reasons, strongest first.

    ``auto_debit``: whether the policy already pays by automatic debit (None: not known), so
    late payments suggest a reminder before the debit date rather than an enrolment.
    """
    for feature, value in zip(features, values):
        if feature == S.AUTO_DEBIT and str(value) != "True":
            return "auto_debit"
        if feature in PAYS_LATE:
            return "reminder" if auto_debit else "auto_debit"
        if feature == FAILED_DEBITS:
            return "reminder"
        if feature in FORGOT:
            return "reminder"
        if feature in AFFORD:
            return "flexible_payment"
    return "service_call"


def reasons(result: RiskResult, rows: pd.DataFrame, *, top: int = TOP_REASONS) -> pd.DataFrame:
    """Top ``top`` risk-raising reasons and a lever for each scored row, as codes.

    ``rows`` is a slice of ``result.scores``; returns, on its index, the columns of
    :func:`reason_columns` for k = 1..top — the feature (blank when fewer reasons move the
    probability by :data:`MIN_POINTS`), the policy's value as the user wrote it, and the
    points it adds — and ``lever``.
    """
    columns = [c for k in range(top) for c in reason_columns(k + 1)]
    if rows.empty:
        return pd.DataFrame(columns=[*columns, "lever"], index=rows.index)
    matrix = result.model.matrix(rows)
    points, _, _ = probability_points(explain(result.model.model, matrix, threads=result.model.threads))
    values = points.to_numpy()
    order = np.argsort(-values, axis=1)[:, :top]
    names = [str(c) for c in points.columns]
    raw = {f: rows[f].to_numpy(dtype=object) for f in names}  # as the user wrote them
    seen = {f: matrix[f].astype(str).to_numpy(dtype=object) for f in names}  # as the model saw them
    automatic = on_auto_debit(rows)
    out: dict[str, list[Any]] = {c: [] for c in (*columns, "lever")}
    for i, ranked in enumerate(order):
        raising = [j for j in ranked if values[i, j] >= MIN_POINTS]
        features = [names[j] for j in raising]
        for k in range(top):
            feature, value, shift = reason_columns(k + 1)
            named = k < len(features)
            out[feature].append(features[k] if named else "")
            out[value].append(raw[features[k]][i] if named else None)
            out[shift].append(float(values[i, raising[k]]) if named else np.nan)
        out["lever"].append(lever_for(features, [seen[f][i] for f in features], auto_debit=automatic[i]))
    frame = pd.DataFrame(index=rows.index)
    for column, items in out.items():
        frame[column] = pd.Series(items, index=rows.index, dtype=float if column.endswith("_points") else object)
    return frame


def on_auto_debit(rows: pd.DataFrame) -> list[bool | None]:
    """Per row, whether the policy pays by automatic debit (None when the rows do not say)."""
    if S.AUTO_DEBIT not in rows:
        return [None] * len(rows)
    return [None if pd.isna(value) else str(value) == "True" for value in rows[S.AUTO_DEBIT].to_numpy(dtype=object)]


@dataclass(frozen=True)
class PolicyReasons:
    """What raises and what lowers one policy's risk (rows of its explanation), and the lever the raising ones suggest."""

    raising: pd.DataFrame
    lowering: pd.DataFrame
    lever: str


def policy_reasons(explanation: PolicyExplanation, *, top: int = TOP_REASONS) -> PolicyReasons:
    """The ``top`` features that raise and that lower a policy's probability by at least :data:`MIN_POINTS`."""
    table = explanation.table
    raising = table[table["points"] >= MIN_POINTS].head(top)
    lowering = table[table["points"] <= -MIN_POINTS].head(top)
    automatic = on_auto_debit(table[table["feature"] == S.AUTO_DEBIT].rename(columns={"value": S.AUTO_DEBIT}))
    lever = lever_for(raising["feature"].tolist(), [str(v) for v in raising["value"]], auto_debit=automatic[0] if automatic else None)
    return PolicyReasons(raising, lowering, lever)


DUE_FIRST = (
    "policy_id",
    "state",
    "days_to_due",
    "days_left_in_grace",
    "probability",
    "premium_at_risk",
    "annual_premium",
    *(c for k in range(TOP_REASONS) for c in reason_columns(k + 1)),
    "lever",
    "paid_to_date",
)


def _due_frame(policies: pd.DataFrame, in_force: pd.Index, study_date: pd.Timestamp, *, days: int, grace_days: int) -> pd.DataFrame:
    """The in-force policies (``in_force``: their index) due within ``days`` days or in grace, unranked and unscored.

    Who is due or in grace is worked out in the engine (:func:`analysis.engine.worklists.due_candidates`).
    """
    table, engine = bind(worklist_columns(policies))
    found = due_candidates(table, engine, study_day=day_of(study_date), days=days, grace_days=grace_days)
    found.index = policies.index[found[BOOK_ROW].to_numpy()]
    keep = in_force[in_force.isin(found.index)]
    found = found.loc[keep]
    chosen = policies.loc[keep]
    to_due = (found["due_day"].to_numpy(dtype=np.int64) - day_of(study_date)).astype(float)
    out = pd.DataFrame(index=chosen.index)
    out["policy_id"] = chosen[S.POLICY_ID].to_numpy()
    for column in CONTACT_COLUMNS:
        if column in policies:
            out[column] = chosen[column].to_numpy()
    out["paid_to_date"] = pd.to_datetime(found["due_day"].to_numpy(dtype=np.int64).astype("datetime64[D]"))
    out["state"] = np.where(found["in_grace"].to_numpy(dtype=bool), IN_GRACE, DUE_SOON)
    out["days_to_due"] = to_due
    out["days_left_in_grace"] = to_due + grace_days
    out["annual_premium"] = (
        pd.to_numeric(chosen[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float) if S.ANNUAL_PREMIUM in policies else np.nan
    )
    return out


def _ordered(out: pd.DataFrame) -> pd.DataFrame:
    return out[[c for c in DUE_FIRST if c in out] + [c for c in out if c not in DUE_FIRST]]


def due_list(policies: pd.DataFrame, result: RiskResult, *, days: int = DUE_WITHIN_DAYS, grace_days: int = S.GRACE_DAYS) -> pd.DataFrame:
    """In-force policies due within ``days`` days or in grace, by expected premium at risk.

    Returns :data:`DUE_FIRST` (``state`` a code of :data:`STATES`, reasons and lever as in
    :func:`reasons`), then the contact columns the extract has.
    """
    out = scored_due_list(policies, result, days=days, grace_days=grace_days)
    return _ordered(out.join(reasons(result, result.scores.loc[out.index])).reset_index(drop=True))


def scored_due_list(
    policies: pd.DataFrame, result: RiskResult, *, days: int = DUE_WITHIN_DAYS, grace_days: int = S.GRACE_DAYS
) -> pd.DataFrame:
    """:func:`due_list` before its reasons (the costly part): ranked, on the scored policies' index.

    :mod:`analysis.risk.worklist` explains only the rows a team will call.
    """
    scores = result.scores
    # ``policies`` may be a filtered part of the book the model scored (its index kept): list only those.
    scored = scores.index.intersection(policies.index)
    out = _due_frame(policies, scored, result.study_date, days=days, grace_days=grace_days)
    out["probability"] = scores.loc[out.index, "probability"].to_numpy()
    out["premium_at_risk"] = out["probability"] * out["annual_premium"]  # blank when the premium is unknown
    return out.sort_values(["premium_at_risk", "days_left_in_grace"], ascending=[False, True], na_position="last")


def unscored_due_list(
    policies: pd.DataFrame, study_date: pd.Timestamp, *, days: int = DUE_WITHIN_DAYS, grace_days: int = S.GRACE_DAYS
) -> pd.DataFrame:
    """The due list without a risk model (a book too small to train one): by annual premium, then days left in grace.

    The same policies and columns as :func:`due_list` but no ``probability``,
    ``premium_at_risk``, reasons or lever.
    """
    in_force = scoring_rows(policies, study_date).index
    out = _due_frame(policies, in_force, study_date, days=days, grace_days=grace_days)
    out = out.sort_values(["annual_premium", "days_left_in_grace"], ascending=[False, True], na_position="last")
    return _ordered(out.reset_index(drop=True))


def reinstatable_list(
    policies: pd.DataFrame, study_date: pd.Timestamp, *, reinstatement_years: int = S.REINSTATEMENT_YEARS
) -> pd.DataFrame:
    """Lapsed policies still inside the reinstatement window, by annual premium then time left.

    Who is inside the window is worked out in the engine (:func:`analysis.engine.worklists.reinstatable_candidates`).
    """
    study_day = day_of(study_date)
    table, engine = bind(worklist_columns(policies))
    found = reinstatable_candidates(table, engine, study_day=study_day, reinstatement_years=reinstatement_years)
    chosen = policies.iloc[found[BOOK_ROW].to_numpy()]
    start = found["start_day"].to_numpy(dtype=np.int64)
    deadline = found["deadline_day"].to_numpy(dtype=np.int64)
    out = pd.DataFrame({"policy_id": chosen[S.POLICY_ID].to_numpy()})
    for column in CONTACT_COLUMNS:
        if column in chosen:
            out[column] = chosen[column].to_numpy()
    out["lapse_date"] = pd.to_datetime(start.astype("datetime64[D]"))
    out["reinstate_by"] = pd.to_datetime(deadline.astype("datetime64[D]"))
    out["days_left"] = (deadline - study_day).astype(float)
    out["annual_premium"] = (
        pd.to_numeric(chosen[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float) if S.ANNUAL_PREMIUM in chosen else np.nan
    )
    out["months_lapsed"] = np.floor((study_day - start).astype(float) / DAYS_PER_MONTH)
    out = out.sort_values(["annual_premium", "days_left"], ascending=[False, True], na_position="last").reset_index(drop=True)
    first = ["policy_id", "annual_premium", "days_left", "reinstate_by", "lapse_date", "months_lapsed"]
    return out[first + [c for c in out if c not in first]]


def action_lists(
    policies: pd.DataFrame,
    result: RiskResult,
    *,
    days: int = DUE_WITHIN_DAYS,
    grace_days: int = S.GRACE_DAYS,
    reinstatement_years: int = S.REINSTATEMENT_YEARS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both lists: ``(due soon or in grace, reinstatable)``."""
    due = due_list(policies, result, days=days, grace_days=grace_days)
    back = reinstatable_list(policies, result.study_date, reinstatement_years=reinstatement_years)
    return due, back


def unscored_action_lists(
    policies: pd.DataFrame,
    study_date: pd.Timestamp,
    *,
    days: int = DUE_WITHIN_DAYS,
    grace_days: int = S.GRACE_DAYS,
    reinstatement_years: int = S.REINSTATEMENT_YEARS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both lists without a risk model: :func:`unscored_due_list` and :func:`reinstatable_list` (which needs none)."""
    due = unscored_due_list(policies, study_date, days=days, grace_days=grace_days)
    return due, reinstatable_list(policies, study_date, reinstatement_years=reinstatement_years)
