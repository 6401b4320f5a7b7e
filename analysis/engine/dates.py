"""Policy calendar arithmetic as engine expressions: dates as whole day numbers.

The engine core works on *day numbers* (days since 1970-01-01, as numpy's
``datetime64[D]``). Months are added with integer arithmetic on year and month and a
date built from its parts, never with an engine's own month interval, whose end-of-month
rule differs between engines; year, month and day extraction, ``make_date``, epoch days,
integer arithmetic and ``CASE`` compile the same on DuckDB, Spark, PostgreSQL and the other
Ibis backends. The rules are :mod:`analysis.study.calendar`'s:

* a policy month runs from a monthiversary to the day before the next; an issue on the
  31st has its monthiversary on the last day of shorter months, and an issue on
  29 February its anniversary on 28 February in non-leap years;
* a calendar year starts on 1 January.

All divisions here have non-negative operands (dates after year 0), where floor and
truncating division agree, so every engine gives the same integers. Callers stage their
work in successive ``mutate`` steps, so that no engine sees one date expression inlined
into another many times over.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

#: Day 0 of the day numbers.
EPOCH = "1970-01-01"


def day_of(value: pd.Timestamp | str) -> int:
    """The day number of a date given in Python (a study date, an as-of date): days since 1970-01-01."""
    return int((pd.Timestamp(value).normalize() - pd.Timestamp(EPOCH)).days)


def _div(a: ir.IntegerValue, b: int) -> ir.IntegerValue:
    """Integer division of a non-negative value (the same on every engine)."""
    return (a // b).cast("int64")


def day_number(date: ir.DateValue) -> ir.IntegerValue:
    """A date (or timestamp) as its day number; null stays null."""
    return date.cast("date").epoch_days().cast("int64")


def to_date(days: ir.IntegerValue) -> ir.DateValue:
    """A day number as a date."""
    return ibis.date(EPOCH) + days.cast("int32").as_interval("D")


def days_from_ymd(year: ir.IntegerValue, month: ir.IntegerValue, day: ir.IntegerValue) -> ir.IntegerValue:
    """The day number of a valid (year, month, day)."""
    return ibis.date(year.cast("int32"), month.cast("int32"), day.cast("int32")).epoch_days().cast("int64")


def ymd(days: ir.IntegerValue) -> tuple[ir.IntegerValue, ir.IntegerValue, ir.IntegerValue]:
    """Year, month and day of a day number."""
    date = to_date(days)
    return date.year().cast("int64"), date.month().cast("int64"), date.day().cast("int64")


def is_leap(year: ir.IntegerValue) -> ir.BooleanValue:
    """Gregorian leap years."""
    return ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)


def days_in_month(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.IntegerValue:
    """Days in each (year, month)."""
    thirty = month.isin([4, 6, 9, 11])
    february = (month == 2).ifelse(is_leap(year).ifelse(29, 28), 31)
    return thirty.ifelse(30, february).cast("int64")


def _smaller(a: ir.IntegerValue, b: ir.IntegerValue) -> ir.IntegerValue:
    return (a < b).ifelse(a, b)


def with_ymd(table: ir.Table, *columns: str) -> ir.Table:
    """``table`` plus ``<column>_y``, ``<column>_m``, ``<column>_d``: the parts of each day-number column.

    Computed once as columns (in one step), so later steps read them instead of deriving them again.
    """
    parts: dict[str, ir.Value] = {}
    for column in columns:
        year, month, day = ymd(table[column])
        parts |= {f"{column}_y": year, f"{column}_m": month, f"{column}_d": day}
    return table.mutate(**parts)


def add_months(days: ir.IntegerValue, months: ir.IntegerValue | int) -> ir.IntegerValue:
    """A day number plus whole months, the day clipped to the month's length (31 Jan + 1 → 28/29 Feb)."""
    return add_months_ymd(*ymd(days), months)


def add_months_ymd(year: ir.IntegerValue, month: ir.IntegerValue, day: ir.IntegerValue, months: ir.IntegerValue | int) -> ir.IntegerValue:
    """:func:`add_months` of a date given by its parts (see :func:`with_ymd`)."""
    total = year * 12 + (month - 1) + months
    new_year = _div(total, 12)
    new_month = (total - new_year * 12 + 1).cast("int64")
    return days_from_ymd(new_year, new_month, _smaller(day, days_in_month(new_year, new_month)))


def whole_months(issue: ir.IntegerValue, day: ir.IntegerValue) -> ir.IntegerValue:
    """Completed months from ``issue`` to ``day`` (both day numbers, ``day >= issue``)."""
    return whole_months_ymd(*ymd(issue), *ymd(day))


def whole_months_ymd(
    iy: ir.IntegerValue, im: ir.IntegerValue, idd: ir.IntegerValue, dy: ir.IntegerValue, dm: ir.IntegerValue, dd: ir.IntegerValue
) -> ir.IntegerValue:
    """:func:`whole_months` of two dates given by their parts (see :func:`with_ymd`)."""
    months = (dy - iy) * 12 + (dm - im)
    monthiversary_day = _smaller(idd, days_in_month(dy, dm))
    return (months - (dd < monthiversary_day).cast("int64")).cast("int64")


def calendar_year(days: ir.IntegerValue) -> ir.IntegerValue:
    """The calendar year of a day number."""
    return ymd(days)[0]


def year_start(year: ir.IntegerValue) -> ir.IntegerValue:
    """The day number of 1 January of ``year``."""
    one = ibis.literal(1, type="int64")
    return days_from_ymd(year, one, one)
