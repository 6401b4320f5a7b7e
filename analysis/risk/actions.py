"""Action lists for the service team, and the plain-language reasons behind a risk score.

Two lists (DOMAIN.md §1 for the clock, §5 for the levers):

* **Due soon or in grace** — policies in force on the study date whose next premium is due
  within ``days`` days, or whose due date has passed but the grace period (60 days by
  default) has not. Ranked by the expected premium at risk, ``P(lapse) × annual premium``,
  where ``P(lapse)`` is the model's probability of a voluntary exit within 12 months. Each
  row has the days left in grace (for a policy not yet due: the days to the due date plus
  the whole grace period), its top three reasons, and a suggested lever.
* **Reinstatable** — lapsed (suspended) policies still inside the reinstatement window
  (2 years from suspension by default), ranked by annual premium, then by time left.

Levers follow the reasons: a reason from *how the premium is paid* (no auto-debit, monthly
or quarterly payment) points to "forgot to pay" → a reminder before the due date or an
auto-debit enrolment; a reason from *what the premium costs the customer* (premium,
premium to income, income, young age) points to "cannot afford" → flexible payment or a
lower-premium plan; anything else → a service call by the agent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.report.catalogue import CATALOGUE, column_label, translate, value_word
from analysis.risk.model import POLICY_YEAR, PREMIUM_TO_INCOME, RiskResult, explain, probability_points
from analysis.study.calendar import add_years, as_days

#: Which cause a positive reason points to.
FORGOT = frozenset({S.AUTO_DEBIT, S.PAYMENT_FREQUENCY})
AFFORD = frozenset({S.ANNUAL_PREMIUM, PREMIUM_TO_INCOME, S.INCOME, S.AGE})
#: A reason must move the probability by at least this much (0.05 percentage points) to be named.
MIN_POINTS = 0.0005
LEVERS = ("auto_debit", "reminder", "flexible_payment", "service_call")
#: Columns carried into the lists so the service team can act (identifiers are masked on export).
CONTACT_COLUMNS = (S.NAME, S.PHONE, S.ID_NUMBER, S.AGENT, S.BRANCH, S.CHANNEL, S.PRODUCT)
#: Canonical gender codes in words.


def value_text(feature: str, value: Any, language: str) -> str:
    """A feature's value in words (是/否, 月交, ¥12,000, 第 3 保单年度)."""
    word = value_word(feature, value, language)
    if word is not None:
        return word
    if feature == POLICY_YEAR:
        return translate("risk.policy_year_value", language, year=int(value))
    if feature == S.ANNUAL_PREMIUM and _is_number(value):
        return f"¥{float(value):,.0f}"
    if feature == PREMIUM_TO_INCOME and _is_number(value):
        return f"{float(value):.1%}"
    if _is_number(value):
        number = float(value)
        return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return str(value)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def feature_label(feature: str, language: str) -> str:
    """A model feature's name in ``language`` (age is the age at the as-of date, not at issue)."""
    key = f"risk.feature.{feature}"
    return translate(key, language) if key in CATALOGUE else column_label(feature, language)


def reason_text(feature: str, value: Any, points: float, language: str) -> str:
    """One reason in plain words: "自动扣款为否：失效概率 +4.1 个百分点"."""
    return translate(
        "risk.reason",
        language,
        feature=feature_label(feature, language),
        value=value_text(feature, value, language),
        points=f"{points * 100:+.1f}",
    )


def lever_for(features: list[str], values: list[Any]) -> str:
    """The suggested lever for a policy from its risk-raising reasons, strongest first."""
    for feature, value in zip(features, values):
        if feature == S.AUTO_DEBIT and str(value) != "True":
            return "auto_debit"
        if feature in FORGOT:
            return "reminder"
        if feature in AFFORD:
            return "flexible_payment"
    return "service_call"


def reasons(result: RiskResult, rows: pd.DataFrame, language: str, *, top: int = 3) -> pd.DataFrame:
    """Top ``top`` risk-raising reasons (plain words) and a lever for each scored row.

    ``rows`` is a slice of ``result.scores``; returns ``[reason_1..reason_top, lever]`` on
    its index.
    """
    columns = [f"reason_{k + 1}" for k in range(top)]
    if rows.empty:
        return pd.DataFrame(columns=[*columns, "lever"], index=rows.index)
    matrix = result.model.matrix(rows)
    points, _, _ = probability_points(explain(result.model.model, matrix, threads=result.model.threads))
    values = points.to_numpy()
    order = np.argsort(-values, axis=1)[:, :top]
    names = [str(c) for c in points.columns]
    raw = {f: rows[f].to_numpy(dtype=object) for f in names}  # as the user wrote them
    seen = {f: matrix[f].astype(str).to_numpy(dtype=object) for f in names}  # as the model saw them
    out: dict[str, list[str]] = {c: [] for c in (*columns, "lever")}
    for i, ranked in enumerate(order):
        raising = [j for j in ranked if values[i, j] >= MIN_POINTS]
        features = [names[j] for j in raising]
        for k in range(top):
            out[columns[k]].append(
                reason_text(features[k], raw[features[k]][i], float(values[i, raising[k]]), language) if k < len(features) else ""
            )
        out["lever"].append(translate(f"lever.{lever_for(features, [seen[f][i] for f in features])}", language))
    return pd.DataFrame(out, index=rows.index)


def due_list(
    policies: pd.DataFrame,
    result: RiskResult,
    *,
    days: int = 30,
    grace_days: int = 60,
    language: str = "zh",
) -> pd.DataFrame:
    """In-force policies due within ``days`` days or in grace, by expected premium at risk."""
    study = np.datetime64(result.study_date.date(), "D")
    scores = result.scores
    book = policies.loc[scores.index]
    due = as_days(book[S.PAID_TO_DATE]) if S.PAID_TO_DATE in book else np.full(len(book), np.datetime64("NaT"), dtype="datetime64[D]")
    if S.STATUS_DATE in book:
        # A grace status without a paid-to date: the missed due date is the status date.
        grace_status = (book[S.STATUS] == S.GRACE).to_numpy(dtype=bool)
        due = np.where(np.isnat(due) & grace_status, as_days(book[S.STATUS_DATE]), due)
    to_due = (due - study).astype("timedelta64[D]").astype(float)
    to_due[np.isnat(due)] = np.nan
    # Due today is not yet late; a policy the extract itself calls 宽限期 is in grace.
    status_grace = (book[S.STATUS] == S.GRACE).to_numpy(dtype=bool)
    in_grace = ((to_due < 0) | (status_grace & (to_due <= 0))) & (to_due >= -grace_days)
    upcoming = ~in_grace & (to_due >= 0) & (to_due <= days)
    keep = in_grace | upcoming
    chosen = scores[keep]
    premium = (
        pd.to_numeric(book[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float)[keep]
        if S.ANNUAL_PREMIUM in book
        else np.full(int(keep.sum()), np.nan)
    )
    out = pd.DataFrame(index=chosen.index)
    out["policy_id"] = chosen["policy_id"].to_numpy()
    for column in CONTACT_COLUMNS:
        if column in book:
            out[column] = book.loc[chosen.index, column].to_numpy()
    out["paid_to_date"] = pd.to_datetime(due[keep])
    out["state"] = np.where(in_grace[keep], translate("action_list.in_grace", language), translate("action_list.due_soon", language))
    out["days_to_due"] = to_due[keep]
    out["days_left_in_grace"] = to_due[keep] + grace_days
    out["annual_premium"] = premium
    out["probability"] = chosen["probability"].to_numpy()
    out["premium_at_risk"] = out["probability"] * premium  # blank when the premium is unknown
    out = out.sort_values(["premium_at_risk", "days_left_in_grace"], ascending=[False, True], na_position="last")
    out = out.join(reasons(result, scores.loc[out.index], language)).reset_index(drop=True)
    first = [
        "policy_id",
        "state",
        "days_to_due",
        "days_left_in_grace",
        "probability",
        "premium_at_risk",
        "annual_premium",
        "reason_1",
        "reason_2",
        "reason_3",
        "lever",
        "paid_to_date",
    ]
    return out[[c for c in first if c in out] + [c for c in out if c not in first]]


def reinstatable_list(
    policies: pd.DataFrame, study_date: pd.Timestamp, *, reinstatement_years: int = 2, language: str = "zh"
) -> pd.DataFrame:
    """Lapsed policies still inside the reinstatement window, by annual premium then time left."""
    study = np.datetime64(pd.Timestamp(study_date).date(), "D")
    lapsed = policies[policies[S.STATUS] == S.LAPSED]
    nat = np.full(len(lapsed), np.datetime64("NaT"), dtype="datetime64[D]")
    start = as_days(lapsed[S.LAPSE_DATE]) if S.LAPSE_DATE in lapsed else nat
    if S.STATUS_DATE in lapsed:
        start = np.where(np.isnat(start), as_days(lapsed[S.STATUS_DATE]), start)
    deadline = add_years(start, reinstatement_years)
    left = (deadline - study).astype("timedelta64[D]").astype(float)
    left[np.isnat(start)] = np.nan
    keep = (left > 0) & (start <= study)
    chosen = lapsed[keep]
    out = pd.DataFrame({"policy_id": chosen[S.POLICY_ID].to_numpy()})
    for column in CONTACT_COLUMNS:
        if column in chosen:
            out[column] = chosen[column].to_numpy()
    out["lapse_date"] = pd.to_datetime(start[keep])
    out["reinstate_by"] = pd.to_datetime(deadline[keep])
    out["days_left"] = left[keep]
    out["annual_premium"] = (
        pd.to_numeric(chosen[S.ANNUAL_PREMIUM], errors="coerce").to_numpy(dtype=float) if S.ANNUAL_PREMIUM in chosen else np.nan
    )
    out["months_lapsed"] = np.floor((study - start[keep]).astype("timedelta64[D]").astype(float) / 30.4375)
    out = out.sort_values(["annual_premium", "days_left"], ascending=[False, True], na_position="last").reset_index(drop=True)
    first = ["policy_id", "annual_premium", "days_left", "reinstate_by", "lapse_date", "months_lapsed"]
    return out[first + [c for c in out if c not in first]]


def translated(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """A list with its headers in ``language``."""
    return frame.rename(columns={c: column_label(c, language) for c in frame.columns})


def action_lists(
    policies: pd.DataFrame, result: RiskResult, *, days: int = 30, grace_days: int = 60, reinstatement_years: int = 2, language: str = "zh"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both lists: ``(due soon or in grace, reinstatable)``."""
    due = due_list(policies, result, days=days, grace_days=grace_days, language=language)
    back = reinstatable_list(policies, result.study_date, reinstatement_years=reinstatement_years, language=language)
    return due, back


def worklist_workbook(
    due: pd.DataFrame,
    back: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    days: int = 30,
    grace_days: int = 60,
    reinstatement_years: int = 2,
    horizon_months: int = 12,
    language: str = "zh",
    mask: bool = True,
) -> bytes:
    """Both action lists as one ``.xlsx``: personal identifiers masked unless ``mask`` is False."""
    from analysis.report.export import mask_identifiers, write_workbook

    due, back = (mask_identifiers(due), mask_identifiers(back)) if mask else (due.copy(), back.copy())
    for frame in (due, back):
        for column in ("paid_to_date", "lapse_date", "reinstate_by"):
            if column in frame:
                frame[column] = frame[column].dt.date
    due_sheet, back_sheet = translate("action_list.due_sheet", language), translate("action_list.reinstatable_sheet", language)
    study = pd.Timestamp(study_date).date().isoformat()
    notes = {
        due_sheet: [
            translate("action_list.due_note", language, days=days, grace=grace_days, study=study),
            translate("risk.target_text", language, months=horizon_months),
        ],
        back_sheet: [translate("action_list.reinstatable_note", language, years=reinstatement_years, study=study)],
    }
    sheets = {due_sheet: translated(due, language), back_sheet: translated(back, language)}
    return write_workbook(sheets, notes=notes, percent=[column_label("probability", language)])
