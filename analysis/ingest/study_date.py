"""The extract's study date (统计截止日): given, set by the preset, named in a title row, or the latest date."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.intake import Intake

_TITLE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|(\d{4})(\d{2})(\d{2})")
#: The date columns the latest date is taken from.
_DATED = (S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE, S.OBSERVED_TO)
#: The bulk of the data ends at this quantile of its dates …
_BULK_QUANTILE = 0.999
#: … and the latest date may lie at most this many days beyond it (one mistyped 2099 may not).
_BEYOND_BULK_DAYS = 31


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
    """The study date and where it came from: argument, preset, title row or latest date.

    Reads the study date given to the load, the preset's, the title rows and the date
    columns of ``intake.out``. Writes ``intake.study`` and ``intake.study_source``.

    Raises
    ------
    ExtractError
        ``bad_study_date`` when a given study date is not a date, or no date is found at all.
    """
    intake.study, intake.study_source = study_date(
        intake.study_date, intake.preset.settings.get("study_date"), intake.raw.preamble, intake.out
    )


def study_date(
    explicit: object, preset: object, preamble: list[tuple[int, list[str]]], columns: dict[str, Any]
) -> tuple[pd.Timestamp, str]:
    """The study date from the first source that has one (see :func:`settle_study_date`), and that source."""
    for value, origin in ((explicit, "argument"), (preset, "preset")):
        if value is not None and str(value).strip():
            try:
                return pd.Timestamp(value).normalize(), origin  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                raise ExtractError("bad_study_date", reason="not_a_date", value=repr(value)) from exc
    titled = find_title_date(preamble)
    if titled is not None:
        return titled, "title row"
    dates = pd.concat([pd.Series(columns[c]) for c in _DATED if c in columns]).dropna()
    latest = pd.NaT
    if len(dates):
        # One mistyped year (2099) must not move the study date of the whole file: take the
        # latest date that is not far beyond the bulk of the data.
        bulk = pd.Timestamp(dates.quantile(_BULK_QUANTILE))
        latest = dates[dates <= bulk + pd.Timedelta(days=_BEYOND_BULK_DAYS)].max()
    if pd.isna(latest):
        raise ExtractError("bad_study_date", reason="not_found")
    return pd.Timestamp(latest), "latest date"
