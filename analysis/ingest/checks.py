"""The door's logic checks across columns: date order and duplicates.

Each step reads the canonical columns the earlier steps wrote to ``intake.out``,
corrects what it can and writes what it found to ``intake.ledger``. Dates the extract
leaves out (exits and lapses dated by rule) and dates after the study date are
:mod:`analysis.ingest.dating`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.intake import Intake
from analysis.ingest.ledger import REJECTED, REPAIRED
from analysis.ingest.text import TEXT, arrow_text

#: Policy numbers of at most this many digits are compared as 64-bit integers.
_INT64_DIGITS = 18
#: Source rows of a mixed-encoding CSV listed in the note on them.
_ROWS_LISTED = 20


def check_date_order(intake: Intake) -> None:
    """Dates that contradict the issue date, and in-force policies with a reinstatement date.

    Reads ``issue_date``, ``status_date``, ``reinstatement_date`` and ``status``. Rejects a
    status date before the issue date (``date_order``); leaves blank a reinstatement date
    not after the issue date (``date_order``); counts an in-force policy with a
    reinstatement date as reinstated (writes ``status``; ``status_corrected``).
    """
    out, ledger = intake.out, intake.ledger
    issue = out[S.ISSUE_DATE]
    if S.STATUS_DATE in out:
        status_date = out[S.STATUS_DATE]
        ledger.add(
            (status_date < issue).fillna(False),
            column=intake.label(S.STATUS_DATE),
            kind="date_order",
            action=REJECTED,
            variant=S.STATUS_DATE,
            value=status_date,
            issue=issue,
        )
    if S.REINSTATEMENT_DATE not in out:
        return
    reinstated_on = out[S.REINSTATEMENT_DATE]
    before_issue = (reinstated_on <= issue).fillna(False)
    ledger.add(
        before_issue,
        column=intake.label(S.REINSTATEMENT_DATE),
        kind="date_order",
        action=REPAIRED,
        variant=S.REINSTATEMENT_DATE,
        value=reinstated_on,
    )
    reinstated_on = out[S.REINSTATEMENT_DATE] = reinstated_on.where(~before_issue)
    in_force_again = (out[S.STATUS] == S.IN_FORCE).fillna(False) & reinstated_on.notna()
    ledger.add(
        in_force_again,
        column=intake.label(S.STATUS),
        kind="status_corrected",
        action=REPAIRED,
        value=out[S.STATUS_RAW],
    )
    out[S.STATUS] = out[S.STATUS].where(~in_force_again, S.REINSTATED)


def reject_duplicates(intake: Intake) -> None:
    """Reject repeated keys among the rows not already rejected: exact copies, and conflicting rows after the first.

    Reads every column of ``intake.out`` and the preset's grain: the key is the policy
    number, or the policy number and the coverage for the grain ``policy+coverage``.
    Rejects an exact copy of an earlier row (``duplicate``) and a row with an earlier
    row's key but other values (``conflicting_duplicate``, naming the columns that differ).
    A policy number Excel cut to 15 digits (``id_precision_lost``) no longer tells policies
    apart, so its rows are not compared.
    """
    out, rows = intake.out, intake.rows
    if not _may_repeat(out[S.POLICY_ID]):
        return  # no policy number occurs twice, so no key does
    grain = str(intake.settings.get("grain", "policy"))
    keys = [S.POLICY_ID] + ([S.COVERAGE] if grain == "policy+coverage" and S.COVERAGE in out else [])
    size = len(rows)
    alive = np.ones(size, dtype=bool)
    problems = intake.ledger.frame()
    not_compared = (problems["action"] == REJECTED) | (problems["kind"] == "id_precision_lost")
    alive[problems.loc[not_compared, "position"].to_numpy(dtype=np.int64)] = False
    frame = pd.DataFrame({k: out[k] for k in keys}).loc[alive]
    later = frame.duplicated(keys, keep="first")
    if not later.any():
        return
    group = frame.groupby(keys, sort=False, dropna=False).ngroup()
    first_of_group = frame.index.to_series().groupby(group.to_numpy()).transform("first")
    positions = frame.index.to_numpy()[later.to_numpy()]
    pointers = first_of_group.to_numpy()[later.to_numpy()]
    compare = [c for c in out if c != S.SOURCE_ROW]
    differs = np.column_stack([~_same(_cells(out[c], positions), _cells(out[c], pointers)) for c in compare])
    names = np.asarray(compare, dtype=object)
    first_rows = np.zeros(size, dtype=np.int64)
    first_rows[positions] = rows[pointers]
    exact = ~differs.any(axis=1)
    different = np.empty(size, dtype=object)  # the names of the columns that differ, per conflicting row
    for position, flags in zip(positions[~exact], differs[~exact]):
        different[position] = list(names[flags])
    exact_mask = np.zeros(size, dtype=bool)
    exact_mask[positions[exact]] = True
    conflict_mask = np.zeros(size, dtype=bool)
    conflict_mask[positions[~exact]] = True
    label = intake.label(S.POLICY_ID)
    intake.ledger.add(exact_mask, column=label, kind="duplicate", action=REJECTED, ref=first_rows)
    intake.ledger.add(
        conflict_mask,
        column=label,
        kind="conflicting_duplicate",
        action=REJECTED,
        variant="policy_coverage" if len(keys) > 1 else "policy",  # by policy alone: the sentence suggests the other grain
        ref=first_rows,
        columns=different,
    )


def _may_repeat(ids: pd.Series) -> bool:
    """False only when no value occurs twice (two missing values count as a repeat).

    Policy numbers of up to 18 digits are compared as integers, which hashes far
    faster than text; leading zeros are allowed when all numbers are as long.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = int(ids.isna().sum())
    if missing > 1:
        return True
    present = ids.dropna() if missing else ids
    if len(present) == 0:
        return False
    if present.dtype == TEXT:
        array = arrow_text(present)
        lengths = pc.binary_length(array)
        shortest, longest = pc.min(lengths).as_py(), pc.max(lengths).as_py()
        if longest <= _INT64_DIGITS and pc.all(pc.ascii_is_decimal(array)).as_py():
            if shortest == longest or not pc.any(pc.starts_with(array, "0")).as_py():
                numbers = np.asarray(pc.cast(array, pa.int64()).to_numpy())
                if len(numbers) < 2 or bool((numbers[1:] > numbers[:-1]).all()):
                    return False  # in increasing order, as extracts often are: no repeats
                return bool(pd.Series(numbers).duplicated().any())
    return bool(present.duplicated().any())


def _cells(values: Any, positions: np.ndarray) -> np.ndarray:
    """The cells of a column at ``positions``, taken before any conversion (a wide file's every column is not copied whole)."""
    return pd.Series(values, copy=False).iloc[positions].to_numpy()


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element by element: equal, or both missing."""
    left, right = pd.Series(a), pd.Series(b)
    both_missing = left.isna().to_numpy() & right.isna().to_numpy()
    equal = (left.astype(object) == right.astype(object)).fillna(False).to_numpy(dtype=bool)
    return equal | both_missing


def note_other_encoding(intake: Intake) -> None:
    """Note the lines of a UTF-8 CSV that were decoded as GB18030 (reads ``intake.raw``)."""
    odd = intake.raw.other_encoding_rows
    if odd:
        intake.ledger.note("*", "other_encoding", len(odd), "other_encoding", rows=", ".join(map(str, odd[:_ROWS_LISTED])))
