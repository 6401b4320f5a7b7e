"""The door's steps for the insured person: the ID number, and the birth date, sex and age it gives."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from analysis import schema as S
from analysis.ingest.columns import MAX_AGE
from analysis.ingest.intake import Intake
from analysis.ingest.parsing import id_number_facts
from analysis.ingest.text import TEXT
from analysis.personal import identifier_text


def read_id_numbers(intake: Intake) -> None:
    """The ID numbers as text, and the birth date and sex an 18-digit resident ID number holds.

    A column read as numbers (Parquet) is written as whole numbers, never in float notation.

    Reads the ID-number column. Writes ``id_number`` and ``intake.id_facts`` (used by
    :func:`derive_from_id_numbers`); records nothing.
    """
    if S.ID_NUMBER not in intake.mapping:
        return
    intake.id_facts = intake.ahead.result(S.ID_NUMBER, id_number_facts, intake.source(S.ID_NUMBER))
    intake.out[S.ID_NUMBER] = identifier_text(intake.source(S.ID_NUMBER)).astype(TEXT)  # numbers as whole numbers, never 1.1e+17


def derive_from_id_numbers(intake: Intake) -> None:
    """Sex and birth date from the ID number, where the extract does not give them.

    Reads ``intake.id_facts``, ``gender`` and ``birth_date``. Writes the missing values
    of ``gender`` and ``birth_date`` (the whole column when unmapped) and notes how many
    were derived.
    """
    if intake.id_facts is None:
        return
    birth, sex = intake.id_facts
    count = _fill_in(intake.out, S.GENDER, sex, whole=lambda values: values.astype(TEXT))
    intake.ledger.note(S.GENDER, "derived", count, "sex_from_id")
    count = _fill_in(intake.out, S.BIRTH_DATE, birth, whole=lambda values: values)
    intake.ledger.note(S.BIRTH_DATE, "derived", count, "birth_from_id")


def derive_ages(intake: Intake) -> None:
    """Age at issue from the birth date, where the extract does not give it.

    Reads ``birth_date`` and ``issue_date``. Writes the missing values of ``age`` in
    whole years (0 to :data:`~analysis.ingest.columns.MAX_AGE`; the whole column when
    unmapped) and notes how many were derived.
    """
    out = intake.out
    if S.BIRTH_DATE not in out or S.ISSUE_DATE not in out:
        return
    born, issued = out[S.BIRTH_DATE], out[S.ISSUE_DATE]
    birthday_to_come = (issued.dt.month * 100 + issued.dt.day) < (born.dt.month * 100 + born.dt.day)
    years = issued.dt.year - born.dt.year - birthday_to_come.astype(int)
    years = years.where((years >= 0) & (years <= MAX_AGE))
    count = _fill_in(out, S.AGE, years, whole=lambda values: values.astype("float64"))
    intake.ledger.note(S.AGE, "derived", count, "age_from_birth")


def _fill_in(out: dict[str, Any], column: str, derived: pd.Series, *, whole: Callable[[pd.Series], pd.Series]) -> int:
    """Fill the missing values of ``out[column]`` from ``derived`` (or set it to ``whole(derived)``); how many were filled."""
    if column in out:
        current = pd.Series(out[column])
        fill = current.isna() & derived.notna()
        out[column] = current.where(~fill, derived)
    else:
        fill = derived.notna()
        out[column] = whole(derived)
    return int(fill.sum())
