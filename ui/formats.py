"""Numbers, money, percentages, dates and p-values as a finance report writes them, by locale (Babel).

One place for how every page writes a figure: ``¥1,234,567`` (whole yuan), large money in
万/亿 on a 中文 KPI card (``¥4.25亿``) and in K/M/B in English, percentages with
:data:`PERCENT_DECIMALS` decimals everywhere, policies whole (``154``, never ``154.352``),
exposure in policy-years with one decimal and its unit, dates as the locale writes them,
p-values as ``< 0.001``, and days to a due date in words (``逾期 2 天``, not ``-2``).

Excel exports keep numbers as numbers with Excel number formats
(:data:`analysis.report.export.MONEY_FORMAT` for money, ``0.0%`` for percentages).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

import pandas as pd
import streamlit as st
from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_decimal

from analysis.report.catalogue import column_label, translate
from ui.i18n import language

#: The Babel locale of each UI language.
LOCALES: Final = {"zh": "zh_CN", "en": "en_US"}
#: Decimals of every percentage on the pages (12.2 %, never 12.2 % beside 10.13 %).
PERCENT_DECIMALS: Final = 1
#: Money from this amount up is written short on KPI cards (¥12.3万, ¥4.25亿; ¥123.5K, ¥4.2M).
SHORT_MONEY_FROM: Final = 100_000
#: Significant decimals of short money.
SHORT_MONEY_DECIMALS: Final = 2
#: Below this a p-value is written ``< 0.001``.
P_FLOOR: Final = 0.001
#: Decimals of exposure in policy-years.
EXPOSURE_DECIMALS: Final = 1
DASH: Final = "—"


def _locale(lang: str | None) -> str:
    return LOCALES.get(lang or language(), LOCALES["zh"])


def _missing(value: object) -> bool:
    try:
        return value is None or math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def count(value: object, lang: str | None = None) -> str:
    """A number of policies (or events), whole with thousands separators: ``1,234``."""
    if _missing(value):
        return DASH
    return format_decimal(round(float(value)), format="#,##0", locale=_locale(lang))  # type: ignore[arg-type]


def money(value: object, lang: str | None = None) -> str:
    """Money in whole yuan with thousands separators: ``¥1,234,567``, ``-¥300``."""
    if _missing(value):
        return DASH
    amount = float(value)  # type: ignore[arg-type]
    text = format_decimal(abs(round(amount)), format="#,##0", locale=_locale(lang))
    return f"-¥{text}" if round(amount) < 0 else f"¥{text}"


def money_short(value: object, lang: str | None = None) -> str:
    """Money for a KPI card: below :data:`SHORT_MONEY_FROM` as :func:`money`, above in 万/亿 (中文) or K/M/B (English)."""
    if _missing(value):
        return DASH
    amount = float(value)  # type: ignore[arg-type]
    if abs(amount) < SHORT_MONEY_FROM:
        return money(amount, lang)
    text = format_compact_decimal(abs(amount), locale=_locale(lang), fraction_digits=SHORT_MONEY_DECIMALS)
    return f"-¥{text}" if amount < 0 else f"¥{text}"


def percent(value: object, lang: str | None = None, *, decimals: int = PERCENT_DECIMALS) -> str:
    """A share as a percentage with a fixed number of decimals: ``12.2%``."""
    if _missing(value):
        return DASH
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return format_decimal(float(value) * 100, format=pattern.replace("%", ""), locale=_locale(lang)) + "%"  # type: ignore[arg-type]


def exposure(value: object, lang: str | None = None) -> str:
    """Exposure in policy-years with its unit: ``1,234.5 保单年`` / ``1,234.5 policy-years``."""
    if _missing(value):
        return DASH
    pattern = "#,##0." + "0" * EXPOSURE_DECIMALS
    return translate("format.policy_years", lang or language(), amount=format_decimal(float(value), format=pattern, locale=_locale(lang)))  # type: ignore[arg-type]


def p_value(p: object) -> str:
    """A p-value as people write it: ``< 0.001`` or ``0.023``."""
    if _missing(p):
        return DASH
    value = float(p)  # type: ignore[arg-type]
    return f"< {P_FLOOR:g}" if value < P_FLOOR else f"{value:.3f}"


def date(value: object, lang: str | None = None) -> str:
    """A date as the locale writes it: ``2024年3月5日`` / ``Mar 5, 2024``."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return DASH
    day = value.date() if isinstance(value, dt.datetime) else value
    if not isinstance(day, dt.date):
        return DASH
    return format_date(day, format="medium", locale=_locale(lang))


def due_in(days: object, lang: str | None = None) -> str:
    """Days to a due date in words: ``3 天后到期``, ``今天到期``, ``逾期 2 天``."""
    if _missing(days):
        return DASH
    whole = round(float(days))  # type: ignore[arg-type]
    if whole > 0:
        return translate("format.due_in", lang or language(), days=whole)
    if whole == 0:
        return translate("format.due_today", lang or language())
    return translate("format.overdue", lang or language(), days=-whole)


#: Money columns of the pages' tables (their codes; shown under their translated headers).
MONEY_COLUMNS: Final = (
    "annual_premium",
    "premium_at_risk",
    "retained_premium",
    "premium_given_up",
    "cost",
    "npv",
    "npv_lower",
    "npv_upper",
    "value",
    "value_lower",
    "value_upper",
)


def money_config(frame: pd.DataFrame, lang: str | None = None) -> dict[str, object]:
    """Table formats for the money columns of a translated frame: ``¥1,235`` (whole yuan, separators; the cells stay numbers).

    Streamlit's ``yen`` format writes the narrow ¥ sign with no decimals in every browser locale.
    """
    labels = {column_label(key, lang or language()) for key in MONEY_COLUMNS}
    return {c: st.column_config.NumberColumn(c, format="yen") for c in frame.columns if c in labels}
