"""The risk model's codes in words, at the edge: features, values, reasons, levers, states, the worklist workbook.

:mod:`analysis.risk.actions` and :mod:`analysis.risk.explain` return codes (a feature name,
the policy's value, probability points, ``in_grace``, ``auto_debit``); the page, the
command line and the exported workbook put them in words here, from the catalogue.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from analysis import schema as S
from analysis.ingest.parsing import is_number
from analysis.payments.features import FAILED_DEBITS, LATE_PAYMENTS, MAX_DELAY, MONTHS_SINCE_LATE
from analysis.report.catalogue import CATALOGUE, column_label, translate, value_word
from analysis.risk.actions import DUE_SOON, DUE_WITHIN_DAYS, IN_GRACE, REASON_COLUMNS, TOP_REASONS, reason_columns
from analysis.risk.rows import POLICY_YEAR, PREMIUM_TO_INCOME

#: The payment features' values in words: the catalogue key and its placeholder (3 次, 45 天, 5 个月).
PAYMENT_VALUE_KEYS = {
    LATE_PAYMENTS: ("risk.value.times", "count"),
    FAILED_DEBITS: ("risk.value.times", "count"),
    MAX_DELAY: ("risk.value.days", "days"),
    MONTHS_SINCE_LATE: ("risk.value.months", "months"),
}


def value_text(feature: str, value: Any, language: str) -> str:
    """A feature's value in words (是/否, 月交, ¥12,000, 第 3 保单年度, 3 次)."""
    word = value_word(feature, value, language)
    if word is not None:
        return word
    if feature in PAYMENT_VALUE_KEYS and is_number(value, text=False):
        key, name = PAYMENT_VALUE_KEYS[feature]
        return translate(key, language, **{name: f"{float(value):,.0f}"})
    if feature == POLICY_YEAR:
        return translate("risk.policy_year_value", language, year=int(value))
    if feature == S.ANNUAL_PREMIUM and is_number(value, text=False):
        return f"¥{float(value):,.0f}"
    if feature == PREMIUM_TO_INCOME and is_number(value, text=False):
        return f"{float(value):.1%}"
    if is_number(value, text=False):  # a category written as digits (branch 0101) stays as written
        number = float(value)
        return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return str(value)


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


def lever_text(lever: str, language: str) -> str:
    """A lever code of :data:`analysis.risk.actions.LEVERS` in words."""
    return translate(f"lever.{lever}", language)


#: The catalogue key of each due-list state.
STATE_KEYS = {DUE_SOON: "action_list.due_soon", IN_GRACE: "action_list.in_grace"}


def state_text(state: str, language: str) -> str:
    """A due-list state of :data:`analysis.risk.actions.STATES` in words."""
    return translate(STATE_KEYS[state], language)


def direction_text(kind: str, level: str, language: str) -> str:
    """A direction of :func:`analysis.risk.explain.importance` in words ("higher lowers risk", "highest for 个险")."""
    return translate(f"risk.direction.{kind}", language, level=level)


def importance_words(importance: pd.DataFrame, language: str) -> pd.DataFrame:
    """``[feature, mean_abs_shap, direction]``: the direction in words, its level as the model saw it, blank when unused."""
    direction = [
        "" if kind == "none" else direction_text(kind, level, language)
        for kind, level in zip(importance["direction_kind"], importance["direction_level"])
    ]
    return importance.assign(direction=direction)[["feature", "mean_abs_shap", "direction"]]


def reasons_in_words(frame: pd.DataFrame, language: str, *, top: int = TOP_REASONS) -> pd.DataFrame:
    """A list with its coded reasons, lever and state in words.

    Each reason's three columns (:func:`analysis.risk.actions.reason_columns`) become one
    column ``reason_k`` in their place (blank when the policy has fewer reasons); ``lever``
    and ``state`` become words. Other columns are kept as they are.
    """
    out = frame.copy()
    for k in range(1, top + 1):
        feature, value, points = reason_columns(k)
        if feature not in out:
            continue
        out[feature] = [
            reason_text(f, v, float(p), language) if f else ""
            for f, v, p in zip(out[feature], out[value].to_numpy(dtype=object), out[points])
        ]
        out = out.drop(columns=[value, points]).rename(columns={feature: REASON_COLUMNS[k - 1]})
    if "lever" in out:
        out["lever"] = [lever_text(str(lever), language) for lever in out["lever"]]
    if "state" in out:
        out["state"] = [state_text(str(state), language) for state in out["state"]]
    return out


def translated(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """A list with its headers in ``language``."""
    return frame.rename(columns={c: column_label(c, language) for c in frame.columns})


def worklist_workbook(
    due: pd.DataFrame,
    back: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    days: int = DUE_WITHIN_DAYS,
    grace_days: int = S.GRACE_DAYS,
    reinstatement_years: int = S.REINSTATEMENT_YEARS,
    horizon_months: int = 12,
    language: str = "zh",
    mask: bool = True,
    scored: bool = True,
    scope: Sequence[str] = (),
) -> bytes:
    """Both action lists (as :func:`analysis.risk.actions.action_lists` returns them) as one ``.xlsx`` in ``language``.

    Codes are put in words (:func:`reasons_in_words`); personal identifiers are masked
    unless ``mask`` is False; ``scope`` (the app's filter in words) heads both sheets. ``scored=False`` for the lists of
    :func:`analysis.risk.actions.unscored_action_lists` (no model): the due sheet's note says
    they are ranked by annual premium.
    """
    from analysis.report.export import mask_identifiers, write_workbook

    due, back = reasons_in_words(due, language), back.copy()
    due, back = (mask_identifiers(due), mask_identifiers(back)) if mask else (due, back)
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
        ]
        if scored
        else [translate("action_list.due_note_unscored", language, days=days, grace=grace_days, study=study)],
        back_sheet: [translate("action_list.reinstatable_note", language, years=reinstatement_years, study=study)],
    }
    notes = {name: [*scope, *lines] for name, lines in notes.items()}
    sheets = {due_sheet: translated(due, language), back_sheet: translated(back, language)}
    money = [column_label(c, language) for c in ("annual_premium", "premium_at_risk")]
    in_words = {column_label("days_to_due", language): translate("format.excel_days_to_due", language)}  # -2 reads "逾期 2 天"
    return write_workbook(sheets, notes=notes, percent=[column_label("probability", language)], money=money, number_formats=in_words)
