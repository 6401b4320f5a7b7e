"""The locale formatter (ui/formats.py): money, counts, percentages, dates, p-values and days to a due date."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ui import formats


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (424652496.52, "¥424,652,497", "¥424,652,497"),
        (-300.4, "-¥300", "-¥300"),
        (0.4, "¥0", "¥0"),
        (float("nan"), "—", "—"),
        (None, "—", "—"),
    ],
)
def test_money_whole_yuan_with_separators(value, zh: str, en: str) -> None:
    assert formats.money(value, "zh") == zh
    assert formats.money(value, "en") == en


def test_short_money_in_wan_and_yi_for_chinese_readers() -> None:
    assert formats.money_short(424652496.52, "zh") == "¥4.25亿"
    assert formats.money_short(1555487.049, "zh") == "¥155.55万"
    assert formats.money_short(424652496.52, "en") == "¥424.65M"
    assert formats.money_short(98765, "zh") == "¥98,765"  # below SHORT_MONEY_FROM: written out
    assert formats.money_short(-2_000_000, "zh") == "-¥200万"


def test_policies_are_whole_and_percentages_have_one_decimal() -> None:
    assert formats.count(154.352, "zh") == "154"
    assert formats.count(1555487.6, "en") == "1,555,488"
    assert formats.percent(0.1013, "zh") == "10.1%" and formats.percent(0.122, "en") == "12.2%"
    assert formats.percent(-50.897, "en") == "-5,089.7%"
    assert formats.percent(float("nan")) == "—"


def test_p_values_never_read_zero() -> None:
    assert formats.p_value(0.0) == "< 0.001"
    assert formats.p_value(0.000999) == "< 0.001"
    assert formats.p_value(0.0234) == "0.023"


def test_dates_by_locale() -> None:
    assert formats.date(pd.Timestamp("2024-03-05"), "zh") == "2024年3月5日"
    assert formats.date(dt.date(2024, 3, 5), "en") == "Mar 5, 2024"
    assert formats.date(pd.NaT, "zh") == "—"


def test_days_to_due_in_words_and_exposure_with_its_unit() -> None:
    assert formats.due_in(-2, "zh") == "逾期 2 天" and formats.due_in(-2, "en") == "overdue 2 days"
    assert formats.due_in(0, "zh") == "今天到期" and formats.due_in(3, "en") == "due in 3 days"
    assert formats.due_in(float("nan"), "zh") == "—"
    assert formats.exposure(1234.56, "zh") == "1,234.6 保单年"
    assert formats.exposure(1234.56, "en") == "1,234.6 policy-years"


def test_money_columns_of_a_table_show_yen_with_separators() -> None:
    frame = pd.DataFrame({"年化保费": [1234.5], "失效概率": [0.1], "净现值": [-5.0]})
    config = formats.money_config(frame, "zh")
    assert set(config) == {"年化保费", "净现值"}
    assert all(c["type_config"]["format"] == "yen" for c in config.values())
    assert set(formats.money_config(frame.rename(columns={"年化保费": "Annual premium"}), "en")) == {"Annual premium"}
