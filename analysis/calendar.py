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
    return np.asarray(pd.to_datetime(values), dtype="datetime64[D]")


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (days - months).astype(np.int64) + 1
    return year, month, day


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]")
    return ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)


def _build(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    first = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]").astype("datetime64[D]")
    return first + (day - 1).astype("timedelta64[D]")


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
    return (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
