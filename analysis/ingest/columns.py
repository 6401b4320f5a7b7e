"""The door's steps that read the mapped columns: identifiers, dates, status, amounts, ages, codes, text.

Each step takes the :class:`~analysis.ingest.intake.Intake`, reads the source columns
it names, writes the parsed canonical columns to ``intake.out`` and every value it
had to change, flag or reject to ``intake.ledger``. The parses themselves start early
on a thread pool (:func:`start_parses`); a step collects the one it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.attributes import WIDE_COLUMNS, WIDE_ROWS, attribute, attributes
from analysis.ingest.intake import HEADERS_SHOWN, Intake
from analysis.ingest.ledger import FLAGGED, REJECTED, REPAIRED
from analysis.ingest.number_cells import NUMBER_CELLS, number_cell_question, number_cell_rows
from analysis.ingest.parsing import DATE_RANGE, EXCEL_DIGITS, code_lookup, id_number_facts, parse_dates, parse_ids, parse_numbers
from analysis.ingest.presets import DURATION_UNITS
from analysis.ingest.text import TEXT, blank_mask, stripped_text

#: Amounts that cannot be negative.
AMOUNT_COLUMNS = (S.ANNUAL_PREMIUM, S.SUM_ASSURED)
#: Canonical columns kept as stripped text.
TEXT_COLUMNS = (S.COVERAGE, S.PRODUCT, S.CHANNEL, S.BRANCH, S.AGENT, S.OCCUPATION, S.NAME, S.PHONE)
#: The oldest plausible age in years (an age above it is a typing error).
MAX_AGE = 120
#: An income column is read as numbers when at most this share of its values are not numbers
#: (otherwise it holds bands such as 5-10万 and is kept as text).
INCOME_NOT_NUMBER_SHARE = 0.1
#: Without an issue date, a duration may run at most a century (100 × 365.25 days).
_CENTURY_DAYS = 36525
#: The longest span date arithmetic (datetime64[ns]) holds, in whole days: about 292 years.
_LONGEST_SPAN_DAYS = pd.Timedelta.max.days


def _texts(values: np.ndarray) -> pd.Series:
    """Python values as Arrow text (None becomes missing)."""
    return pd.Series(values, dtype=object).astype(TEXT)


@dataclass(frozen=True)
class CodeColumn:
    """A column of code words read through a vocabulary (the status apart: it takes the preset's words too).

    Attributes
    ----------
    words : mapping
        Normalised source word → code (a word not in it is ``unknown_code``, the column
        naming the variant of its sentence).
    typed : callable
        The codes of the distinct words (None where unknown) → the column's values.
    clean : callable, optional
        Rewrites the distinct words before they are looked up.
    """

    words: Mapping[str, object]
    typed: Callable[[np.ndarray], pd.Series]
    clean: Callable[[pd.Series], pd.Series] | None = None


def _months(codes: np.ndarray) -> pd.Series:
    return pd.to_numeric(pd.Series(codes, dtype=object), errors="coerce").astype("Int64")


def _yes_no(codes: np.ndarray) -> pd.Series:
    return pd.Series(codes, dtype=object).astype("boolean")


def _without_float_tail(words: pd.Series) -> pd.Series:
    """A frequency read back from a number cell ("12.0") is looked up without its ".0"."""
    return words.str.replace(r"\.0+$", "", regex=True)


#: The code columns, in the order they are read.
CODE_COLUMNS: dict[str, CodeColumn] = {
    S.PAYMENT_FREQUENCY: CodeColumn(S.FREQUENCY_ALIASES, _months, clean=_without_float_tail),
    S.AUTO_DEBIT: CodeColumn(S.AUTO_DEBIT_ALIASES, _yes_no),
    S.WAIVER: CodeColumn(S.YES_NO_ALIASES, _yes_no),
    S.GENDER: CodeColumn(S.GENDER_ALIASES, _texts),
}


def start_parses(intake: Intake) -> None:
    """Start every column's parse on the pool, in the order the steps below take them.

    Reads the mapped source columns, the duration column and the unmapped ones (and starts
    asking a workbook which policy numbers were number cells); writes
    nothing but ``intake.wide_attributes`` (a wide extract's attributes, read together:
    per-column overhead would dominate).
    """
    ahead, mapping, source = intake.ahead, intake.mapping, intake.source
    if S.POLICY_ID in mapping:
        ahead.start(S.POLICY_ID, parse_ids, source(S.POLICY_ID), from_workbook=_from_workbook(intake))
    question = number_cell_question(intake)
    if question is not None:
        ahead.start(NUMBER_CELLS, number_cell_rows, *question)
    for canonical in S.DATE_COLUMNS:
        if canonical in mapping:
            ahead.start(canonical, parse_dates, source(canonical), date1904=intake.raw.date1904)
    ahead.start(S.STATUS, code_lookup, source(S.STATUS), intake.status_words)
    ahead.start(S.STATUS_RAW, stripped_text, source(S.STATUS))
    for canonical in (*AMOUNT_COLUMNS, S.AGE, S.INCOME):
        if canonical in mapping:
            ahead.start(canonical, parse_numbers, source(canonical))
    if S.ID_NUMBER in mapping:
        ahead.start(S.ID_NUMBER, id_number_facts, source(S.ID_NUMBER))
    for canonical, code in CODE_COLUMNS.items():
        if canonical in mapping:
            ahead.start(canonical, code_lookup, source(canonical), code.words, clean=code.clean)
    for canonical in TEXT_COLUMNS:
        if canonical in mapping:
            ahead.start(("text", canonical), stripped_text, source(canonical))
    duration = intake.duration_column
    if duration and duration in intake.headers:
        ahead.start(("duration", duration), parse_numbers, intake.cells[duration])
    unmapped = intake.unmapped()
    if len(unmapped) >= WIDE_COLUMNS and len(intake.cells) <= WIDE_ROWS:
        intake.wide_attributes = attributes(intake.cells, unmapped)
    for header in unmapped:
        if header not in intake.wide_attributes:
            ahead.start(("attribute", header), attribute, intake.cells[header])


def _from_workbook(intake: Intake) -> bool:
    return intake.raw.kind in ("xlsx", "xls")


def read_policy_ids(intake: Intake) -> None:
    """Policy numbers as text; without a policy-number column, ``R<source row>``.

    Reads the policy-number column. Writes ``policy_id``; rejects rows without one
    (``missing_required``), flags numbers Excel cut to 15 digits (``id_precision_lost``):
    a number in scientific notation, and whole columns whose long numbers all show the cut
    (the numbers a workbook held in number cells are flagged by
    :func:`~analysis.ingest.number_cells.flag_number_cell_ids`);
    notes numbers read back from number cells (``12345.0``).
    """
    ledger, label = intake.ledger, intake.label(S.POLICY_ID)
    if S.POLICY_ID not in intake.mapping:
        intake.out[S.POLICY_ID] = pd.Series("R" + pd.Series(intake.rows).astype(str), dtype=TEXT)
        ledger.note(S.POLICY_ID, "derived", len(intake.cells), "id_from_row")
        if intake.raw.number_cells is not None:
            intake.raw.number_cells.release()
        return
    ids, id_stripped, mangled = intake.ahead.result(
        S.POLICY_ID, parse_ids, intake.source(S.POLICY_ID), from_workbook=_from_workbook(intake)
    )
    ledger.note(label, "reformatted", int(id_stripped.sum()), "id_from_number")
    ledger.add(ids.isna() | (ids == ""), column=label, kind="missing_required", action=REJECTED, variant=S.POLICY_ID)
    ledger.add(mangled, column=label, kind="id_precision_lost", action=FLAGGED, value=ids, digits=EXCEL_DIGITS)
    intake.out[S.POLICY_ID] = ids.astype(TEXT)


def read_dates(intake: Intake) -> None:
    """The date columns, in any written form, between the years of :data:`~analysis.ingest.parsing.DATE_RANGE`.

    Reads the mapped date columns. Writes each as ``datetime64[ns]``. A value that is
    not a date (or outside the range) rejects its row in the issue date
    (``invalid_date``; a blank issue date is ``missing_required``) and is left blank
    elsewhere. A column without a single date is dropped from the mapping and noted
    (``unusable_column``), and later kept as an attribute.

    Raises
    ------
    ExtractError
        ``no_valid_dates`` when the issue-date column holds no date at all.
    """
    ledger = intake.ledger
    first, last = (day.year for day in DATE_RANGE)
    for canonical in S.DATE_COLUMNS:
        if canonical not in intake.mapping:
            continue
        column, label = intake.source(canonical), intake.label(canonical)
        parsed = intake.ahead.result(canonical, parse_dates, column, date1904=intake.raw.date1904)
        ledger.note(label, "reformatted", parsed.reformatted, "dates_reformatted")
        non_blank = int((~blank_mask(column)).sum())
        if non_blank and int(parsed.invalid.sum()) == non_blank:
            position = int(np.flatnonzero(parsed.invalid.to_numpy())[0])
            example, where = str(column.iloc[position]), int(intake.rows[position])
            if canonical == S.ISSUE_DATE:
                raise ExtractError(
                    "no_valid_dates", reason="issue_date", column=label, count=f"{non_blank:,}", example=repr(example), row=where
                )
            ledger.note(label, "unusable_column", non_blank, "no_dates", example=repr(example), row=where)
            del intake.mapping[canonical]
            continue
        outside = parsed.outside if parsed.outside is not None else pd.Series(False, index=column.index)
        action, blanked = (REJECTED, "") if canonical == S.ISSUE_DATE else (REPAIRED, "_blanked")
        if canonical == S.ISSUE_DATE:
            ledger.add(blank_mask(column), column=label, kind="missing_required", action=REJECTED, variant=S.ISSUE_DATE)
        invalid = parsed.invalid & ~outside
        ledger.add(invalid, column=label, kind="invalid_date", action=action, variant="not_a_date" + blanked, value=column)
        ledger.add(
            outside,
            column=label,
            kind="invalid_date",
            action=action,
            variant="outside_range" + blanked,
            value=column,
            first=first,
            last=last,
        )
        intake.out[canonical] = parsed.values
        intake.release(canonical)  # each column as soon as it is read


def read_statuses(intake: Intake) -> None:
    """The canonical status of each policy, through the known status words and the preset's.

    Reads the status column. Writes ``status`` (``unmapped`` for a word not known),
    ``status_source`` (the status as written) and ``intake.status_values`` (policies per
    word and status); rejects rows without a status (``missing_required``).
    """
    column = intake.source(S.STATUS)
    statuses = intake.ahead.result(S.STATUS, code_lookup, column, intake.status_words)
    blank = blank_mask(column)
    intake.ledger.add(blank, column=intake.label(S.STATUS), kind="missing_required", action=REJECTED, variant=S.STATUS)
    distinct = _texts(np.where(statuses.unknown_distinct, S.UNMAPPED, statuses.mapped))
    intake.out[S.STATUS] = statuses.spread(distinct, intake.cells.index)
    intake.out[S.STATUS_RAW] = intake.ahead.result(S.STATUS_RAW, stripped_text, column)
    intake.status_values = _status_values(statuses.codes[~blank.to_numpy()], stripped_text(statuses.distinct), distinct)
    intake.release(S.STATUS)


def status_values(column: pd.Series, words: Mapping[str, object]) -> pd.DataFrame:
    """``[value, status, count]`` of a status column read through the status ``words`` (``unmapped`` where unknown).

    The table :func:`read_statuses` gives ``LoadResult.status_values``, for a column alone
    (a file the door refused: :mod:`~analysis.ingest.survey`).
    """
    statuses = code_lookup(column, words)
    blank = blank_mask(column).to_numpy()
    distinct = _texts(np.where(statuses.unknown_distinct, S.UNMAPPED, statuses.mapped))
    return _status_values(statuses.codes[~blank], stripped_text(statuses.distinct), distinct)


def _status_values(codes: np.ndarray, words: pd.Series, statuses: pd.Series) -> pd.DataFrame:
    """``[value, status, count]``: policies per status as written, most frequent first.

    ``codes`` are the positions of the non-blank rows' words among the distinct ``words``
    (stripped); ``statuses`` holds the status of each. The same table as ``value_counts()``
    of the (stripped value, status) pairs of the non-blank rows, counted over the distinct
    values instead of the rows.
    """
    counts = np.bincount(codes, minlength=len(statuses))
    seen = np.flatnonzero(counts)
    seen = seen[seen < len(words)]
    pairs = pd.DataFrame(
        {
            "value": words.iloc[seen].reset_index(drop=True),
            "status": statuses.iloc[seen].reset_index(drop=True),
            "count": counts[seen],
        }
    )
    table = pairs.groupby(["value", "status"], dropna=True, observed=False)["count"].sum()
    return table.sort_values(ascending=False).rename("count").reset_index()


def read_amounts(intake: Intake) -> None:
    """Annual premium and sum assured as numbers (``3,231.46``, ``¥3231``, ``0.5万`` …).

    Reads the amount columns. Writes them as float64; a value that is not a number
    (``invalid_number``) or is negative (``negative_amount``) is left blank.
    """
    ledger = intake.ledger
    for canonical in AMOUNT_COLUMNS:
        if canonical not in intake.mapping:
            continue
        column, label = intake.source(canonical), intake.label(canonical)
        parsed = intake.ahead.result(canonical, parse_numbers, column)
        ledger.note(label, "reformatted", parsed.reformatted, "numbers_reformatted")
        ledger.add(parsed.invalid, column=label, kind="invalid_number", action=REPAIRED, variant="amount", value=column)
        negative = (parsed.values < 0).fillna(False)
        ledger.add(negative, column=label, kind="negative_amount", action=REPAIRED, value=column)
        intake.out[canonical] = parsed.values.where(~negative)
        intake.release(canonical)


def read_ages(intake: Intake) -> None:
    """Age at issue in whole years.

    Reads the age column. Writes ``age``; a value that is not a number
    (``invalid_number``) or outside 0 to :data:`MAX_AGE` (``implausible_age``) is left blank.
    """
    if S.AGE not in intake.mapping:
        return
    ledger, column, label = intake.ledger, intake.source(S.AGE), intake.label(S.AGE)
    parsed = intake.ahead.result(S.AGE, parse_numbers, column)
    ledger.add(parsed.invalid, column=label, kind="invalid_number", action=REPAIRED, variant="age", value=column)
    absurd = ((parsed.values < 0) | (parsed.values > MAX_AGE)).fillna(False)
    ledger.add(absurd, column=label, kind="implausible_age", action=REPAIRED, value=column, max_age=MAX_AGE)
    intake.out[S.AGE] = np.floor(parsed.values.where(~absurd))
    intake.release(S.AGE)


def read_codes(intake: Intake) -> None:
    """The code columns of :data:`CODE_COLUMNS` (payment frequency, auto-debit, waiver, sex).

    Reads each mapped code column. Writes its codes (a word not in the vocabulary is
    left blank, ``unknown_code``).
    """
    index = intake.cells.index
    for canonical, code in CODE_COLUMNS.items():
        if canonical not in intake.mapping:
            continue
        column = intake.source(canonical)
        codes = intake.ahead.result(canonical, code_lookup, column, code.words, clean=code.clean)
        unknown = codes.unknown(index)
        intake.ledger.add(unknown, column=intake.label(canonical), kind="unknown_code", action=REPAIRED, variant=canonical, value=column)
        intake.out[canonical] = codes.spread(code.typed(codes.mapped), index)
        intake.release(canonical)


def read_text_columns(intake: Intake) -> None:
    """The text columns of :data:`TEXT_COLUMNS` without surrounding spaces (blank cells missing).

    Reads those columns and writes them stripped; records nothing.
    """
    for canonical in TEXT_COLUMNS:
        if canonical in intake.mapping:
            intake.out[canonical] = intake.ahead.result(("text", canonical), stripped_text, intake.source(canonical))


def read_incomes(intake: Intake) -> None:
    """Income as a number where the column holds numbers, otherwise its bands as text.

    Reads the income column. Writes ``income``: numbers when at most
    :data:`INCOME_NOT_NUMBER_SHARE` of the values are not numbers (those are left blank,
    ``invalid_number``), else the stripped text.
    """
    if S.INCOME not in intake.mapping:
        return
    column = intake.source(S.INCOME)
    parsed = intake.ahead.result(S.INCOME, parse_numbers, column)
    non_blank = int((~blank_mask(column)).sum())
    if non_blank and parsed.invalid.sum() <= INCOME_NOT_NUMBER_SHARE * non_blank:
        intake.ledger.add(
            parsed.invalid,
            column=intake.label(S.INCOME),
            kind="invalid_number",
            action=REPAIRED,
            variant="income",
            value=column,
        )
        intake.out[S.INCOME] = parsed.values
    else:
        intake.out[S.INCOME] = stripped_text(column)
    intake.release(S.INCOME)


def _longest_durations(issued: pd.Series) -> np.ndarray:
    """Per policy, the longest duration in days that can be a policy's.

    It ends by the last date read as a date; without an issue date it runs at most a century;
    and it fits date arithmetic (so an issue date in the 1800s cannot overflow it).
    """
    last = np.datetime64(DATE_RANGE[1].date(), "D")
    days = issued.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    room = np.where(np.isnat(days), _CENTURY_DAYS, (last - days).astype("timedelta64[D]").astype(np.int64))
    return np.minimum(room, _LONGEST_SPAN_DAYS).astype("float64")


def read_durations(intake: Intake) -> None:
    """A preset's duration column (time since issue) standing in for the status date.

    Reads the duration column, ``issue_date`` and ``status``. Writes ``status_date``
    (issue + duration, for policies no longer active and without one) and
    ``observed_to`` (for active policies); a duration that is not a number, is
    negative or ends after the last date read (or beyond what date arithmetic holds) is
    left blank (``invalid_number``).

    Raises
    ------
    ExtractError
        ``missing_column`` when the file has no such column.
    """
    duration = intake.duration_column
    if not duration:
        return
    if duration not in intake.headers:
        found = ", ".join(intake.headers[:HEADERS_SHOWN])
        raise ExtractError("missing_column", reason="duration_column", column=repr(duration), found=found)
    out, cells = intake.out, intake.cells
    unit = str(intake.settings.get("duration_unit", "days"))
    parsed = intake.ahead.result(("duration", duration), parse_numbers, cells[duration])
    bad = parsed.invalid | (parsed.values < 0).fillna(False)
    days = np.floor(parsed.values.where(~bad) * DURATION_UNITS[unit])
    bad |= (days > _longest_durations(out[S.ISSUE_DATE])).fillna(False)
    intake.ledger.add(bad, column=duration, kind="invalid_number", action=REPAIRED, variant="duration", value=cells[duration])
    derived = out[S.ISSUE_DATE] + pd.to_timedelta(days.where(~bad), unit="D")
    active = out[S.STATUS].isin(list(S.ACTIVE_STATUSES)).to_numpy()
    current = out.get(S.STATUS_DATE, intake.no_dates())
    out[S.STATUS_DATE] = current.where(current.notna() | active, derived)
    out[S.OBSERVED_TO] = derived.where(active)
    intake.ledger.note(duration, "derived", int(derived.notna().sum()), "exit_from_duration", source=duration, unit=unit)
