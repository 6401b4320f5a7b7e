"""Vectorised date arithmetic for policy anniversaries, monthiversaries and calendar years.

A policy year runs from an anniversary up to the day before the next one. An issue
on 29 February has its anniversary on 28 February in non-leap years; an issue on the
31st has its monthiversary on the last day of shorter months. Nothing here loops
over policies: dates are handled as numpy ``datetime64[D]`` arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = np.timedelta64(1, "D")


def as_days(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as ``datetime64[D]`` (missing → NaT)."""
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        return values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return np.asarray(pd.to_datetime(values), dtype="datetime64[D]")


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of ``datetime64[D]`` values, by integer arithmetic.

    Howard Hinnant's ``civil_from_days``: several times faster than numpy's
    ``astype("datetime64[Y]")`` calendar conversions. NaT gives garbage that the
    callers mask.
    """
    z = days.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return _MONTH_DAYS[month - 1] + ((month == 2) & leap)


def _build(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """``days_from_civil``: the dates of (year, month, day) as ``datetime64[D]``."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(month > 2, month - 3, month + 9)
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype("datetime64[D]")


def add_months(issue: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """``issue`` plus whole months, clipping the day to the month's length (31 Jan + 1 → 28/29 Feb)."""
    year, month, day = _ymd(issue)
    total = year * 12 + (month - 1) + np.asarray(months, dtype=np.int64)
    new_year, new_month = total // 12, total % 12 + 1
    return _build(new_year, new_month, np.minimum(day, _days_in_month(new_year, new_month)))


def add_years(issue: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """``issue`` plus whole years (29 Feb → 28 Feb in non-leap years)."""
    return add_months(issue, np.asarray(years, dtype=np.int64) * 12)


def whole_months(issue: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Completed months from ``issue`` to ``day``: the index of the monthiversary on or before ``day``."""
    iy, im, idd = _ymd(issue)
    dy, dm, dd = _ymd(day)
    months = (dy - iy) * 12 + (dm - im)
    monthiversary_day = np.minimum(idd, _days_in_month(dy, dm))
    return months - (dd < monthiversary_day)


def whole_years(issue: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Completed policy years from ``issue`` to ``day`` (the anniversary on or before ``day``)."""
    return whole_months(issue, day) // 12


def calendar_year_start(year: np.ndarray) -> np.ndarray:
    """1 January of each year."""
    year = np.asarray(year, dtype=np.int64)
    return _build(year, np.ones_like(year), np.ones_like(year))


def calendar_year(days: np.ndarray) -> np.ndarray:
    """The calendar year of each date."""
    return _ymd(days)[0]
