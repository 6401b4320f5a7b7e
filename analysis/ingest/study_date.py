"""The extract's study date (统计截止日): given, set by the preset, named in a title row, or inferred from the dates.

Inferred, it is the latest date of the data that is not an isolated outlier (:func:`inferred_study_date`):

* only dates as written count: issue, status, lapse and reinstatement dates, and the end of
  observation a duration column gives. A paid-to date (交至日期) is left out: an in-force
  policy's is its *next* due date, routinely after the extract date (DOMAIN.md §7); so are
  dates a rule derives (a lapse from the paid-to date and grace), found after this step;
* the latest dates are isolated when there are fewer than :data:`SUPPORT_DATES` of them and
  no date of the data falls in the :data:`ISOLATING_GAP_DAYS` days before them: a single
  reinstatement date ten months after everything else is a typing error, not the extract
  date. The study date is then the latest date before that gap;
* a file with fewer than :data:`JUDGED_FROM` dates has too few to tell an outlier, and
  takes its latest date;
* a cluster of mistyped years (2099) is not isolated by number: dates beyond the bulk of the
  data (its :data:`_BULK_QUANTILE` quantile) by more than :data:`_BEYOND_BULK_DAYS` days never count.

The date's source, and for an inferred date the column it came from, travel with it, so the
page can say that the date was guessed and where the override is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.intake import Intake

_TITLE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|(\d{4})(\d{2})(\d{2})")
#: Where a study date came from: given to the load, set by the preset, named in a title row, inferred from the data.
ARGUMENT, PRESET, TITLE_ROW, INFERRED = "argument", "preset", "title row", "latest date"
#: The date columns a study date is inferred from, in the order a tie names them (never the paid-to date).
INFERRED_FROM = (S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE, S.OBSERVED_TO)
#: The latest dates are isolated when there are fewer than this many of them …
SUPPORT_DATES = 3
#: … and the data hold no date in this many days before them (a quarter: a book in business dates something every month).
ISOLATING_GAP_DAYS = 92
#: With fewer dates than this a file takes its latest date (too few to tell an outlier).
JUDGED_FROM = 30
#: The bulk of the data ends at this quantile of its dates …
_BULK_QUANTILE = 0.999
#: … and a date beyond it by more than this many days never counts (a cluster of mistyped years).
_BEYOND_BULK_DAYS = 31


@dataclass(frozen=True)
class StudyDate:
    """The study date, where it came from (:data:`ARGUMENT` … :data:`INFERRED`) and, inferred, from which column."""

    date: pd.Timestamp
    source: str
    column: str = ""

    @property
    def inferred(self) -> bool:
        """True when no one stated the date: it was read off the data."""
        return self.source == INFERRED


def find_title_date(preamble: list[tuple[int, list[str]]]) -> pd.Timestamp | None:
    """The study date announced in a title row (``统计截止日：2024-06-30``), if any."""
    for _row, cells in preamble:
        text = " ".join(str(c) for c in cells if c)
        lowered = text.lower()
        for marker in S.STUDY_DATE_MARKERS:
            at = lowered.find(marker)
            if at < 0:
                continue
            match = _TITLE_DATE.search(text[at:])
            if match:
                y, m, d = (match.group(1), match.group(2), match.group(3)) if match.group(1) else match.group(4, 5, 6)
                try:
                    return pd.Timestamp(int(y), int(m), int(d))
                except ValueError:
                    continue
    return None


def settle_study_date(intake: Intake) -> None:
    """The study date and where it came from: argument, preset, title row or inferred from a named column.

    Reads the study date given to the load, the preset's, the title rows and the date
    columns of ``intake.out`` as written (this step runs before any date is derived by
    rule). Writes ``intake.study``, ``intake.study_source`` and ``intake.study_column``
    (the source header an inferred date came from).

    Raises
    ------
    ExtractError
        ``bad_study_date`` when a given study date is not a date, or no date is found at all.
    """
    # A date no column holds as such came from the duration column (issue + duration), when there is one.
    derived = intake.duration_column or ""
    labels = {canonical: intake.label(canonical) if canonical in intake.mapping else derived or canonical for canonical in INFERRED_FROM}
    found = study_date(intake.study_date, intake.preset.settings.get("study_date"), intake.raw.preamble, intake.out, labels=labels)
    intake.study, intake.study_source, intake.study_column = found.date, found.source, found.column


def study_date(
    explicit: object,
    preset: object,
    preamble: list[tuple[int, list[str]]],
    columns: dict[str, Any],
    *,
    labels: dict[str, str] | None = None,
) -> StudyDate:
    """The study date from the first source that has one (see :func:`settle_study_date`).

    ``columns`` maps canonical date columns to their values; ``labels`` names each as the
    file does (its header), for the account.
    """
    for value, origin in ((explicit, ARGUMENT), (preset, PRESET)):
        if value is not None and str(value).strip():
            try:
                stamp = pd.Timestamp(value)  # type: ignore[arg-type]
                if pd.isna(stamp):
                    raise ValueError(value)
                # A study date is a day: a time and a zone (2024-06-30T00:00+08:00) leave the day as written.
                return StudyDate((stamp.tz_localize(None) if stamp.tzinfo is not None else stamp).normalize(), origin)
            except (ValueError, TypeError, OverflowError) as exc:
                raise ExtractError("bad_study_date", reason="not_a_date", value=repr(value)) from exc
    titled = find_title_date(preamble)
    if titled is not None:
        return StudyDate(titled, TITLE_ROW)
    present = [c for c in INFERRED_FROM if c in columns]
    latest = inferred_study_date(_pooled(columns, present))
    if latest is None:
        raise ExtractError("bad_study_date", reason="not_found")
    named = next(c for c in present if (pd.Series(columns[c]) == latest).any())
    return StudyDate(latest, INFERRED, (labels or {}).get(named, named))


def _pooled(columns: Mapping[str, Any], present: list[str]) -> pd.Series:
    """The dates of ``present`` columns in one nanosecond series.

    A column may hold dates in a coarser unit far outside what nanoseconds can hold (year
    5473 from a damaged Parquet file): those are left out here, not cast into an overflow.
    """
    parts = []
    for name in present:
        dates = pd.Series(columns[name]).dropna()
        dates = dates[(dates >= pd.Timestamp.min) & (dates <= pd.Timestamp.max)]
        parts.append(dates.astype("datetime64[ns]"))
    return pd.concat(parts, ignore_index=True) if parts else pd.Series(dtype="datetime64[ns]")


def inferred_study_date(dates: pd.Series) -> pd.Timestamp | None:
    """The latest date that is not an isolated outlier (see the module's notes), or None without any date.

    Parameters
    ----------
    dates : pandas.Series
        The dates of every column the study date may be inferred from, pooled (missing ones ignored).

    Returns
    -------
    pandas.Timestamp or None
        The latest date not beyond the bulk of the data, once the isolated latest dates are
        set aside (fewer than :data:`SUPPORT_DATES` of them after a gap of more than
        :data:`ISOLATING_GAP_DAYS` days); the latest date when there are fewer than
        :data:`JUDGED_FROM` dates; None when there is none.
    """
    dates = pd.to_datetime(dates.dropna()).astype("datetime64[ns]")
    if dates.empty:
        return None
    if len(dates) < JUDGED_FROM:
        return pd.Timestamp(dates.max())
    bulk = pd.Timestamp(dates.quantile(_BULK_QUANTILE)) + pd.Timedelta(days=_BEYOND_BULK_DAYS)
    counts = dates[dates <= bulk].value_counts().sort_index()
    days = counts.index.to_numpy(dtype="datetime64[ns]")
    from_here_on = np.cumsum(counts.to_numpy()[::-1])[::-1]  # dates on or after each day
    gap_before = np.diff(days, prepend=days[0]) > np.timedelta64(ISOLATING_GAP_DAYS, "D")
    isolated = np.flatnonzero(gap_before & (from_here_on < SUPPORT_DATES))
    last = isolated[0] - 1 if len(isolated) else len(days) - 1
    return pd.Timestamp(days[last])
