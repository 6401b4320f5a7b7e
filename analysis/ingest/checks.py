"""The door's logic checks across columns: date order, lapse dates, undated exits, the study date, duplicates.

Each step reads the canonical columns the earlier steps wrote to ``intake.out``,
corrects or derives what the contract terms allow (a lapse date from the paid-to date
and the grace period) and writes what it found to ``intake.ledger``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest.intake import Intake
from analysis.ingest.ledger import FLAGGED, REJECTED, REPAIRED
from analysis.ingest.text import TEXT, arrow_text

#: Policy numbers of at most this many digits are compared as 64-bit integers.
_INT64_DIGITS = 18
#: Source rows of a mixed-encoding CSV listed in the note on them.
_ROWS_LISTED = 20
#: Statuses of a policy that lapsed and was not (yet) reinstated.
_LAPSED = [S.LAPSED, S.TERMINATED_AFTER_LAPSE]


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


def derive_lapse_dates(intake: Intake) -> None:
    """The suspension date of lapsed, terminated-after-lapse and reinstated policies, where missing.

    Reads ``status``, ``lapse_date``, ``status_date``, ``paid_to_date`` and the preset's
    grace period and reinstatement window. A lapsed policy lapsed on its status date; a
    policy terminated after lapse, a reinstatement window before it; otherwise (reinstated
    policies apart: their paid-to date moved on) the day after grace from the paid-to date.
    Writes the missing values of ``lapse_date`` (and notes how many); flags reinstated
    policies still without one (``reinstated_without_lapse``).
    """
    out, status, preset = intake.out, intake.out[S.STATUS], intake.preset
    lapse = out.get(S.LAPSE_DATE, intake.no_dates())
    derived = intake.no_dates()
    if S.STATUS_DATE in out:
        derived = derived.where((status != S.LAPSED).fillna(True), out[S.STATUS_DATE])
        terminated = (status == S.TERMINATED_AFTER_LAPSE).fillna(False)
        if terminated.any():
            derived = derived.where(~terminated, out[S.STATUS_DATE] - pd.DateOffset(years=preset.reinstatement_years))
    if S.PAID_TO_DATE in out:
        from_paid_to = out[S.PAID_TO_DATE] + pd.Timedelta(days=preset.grace_days) + pd.Timedelta(days=1)
        lapsing = status.isin(_LAPSED).fillna(False) & derived.isna()
        derived = derived.where(~lapsing, from_paid_to)
    fill = lapse.isna() & derived.notna() & status.isin([*_LAPSED, S.REINSTATED]).fillna(False)
    if fill.any() or S.LAPSE_DATE in out:
        out[S.LAPSE_DATE] = lapse.where(~fill, derived)
        intake.ledger.note(S.LAPSE_DATE, "derived", int(fill.sum()), "lapse_date_derived", grace=preset.grace_days)
    intake.ledger.add(
        (status == S.REINSTATED).fillna(False) & out.get(S.LAPSE_DATE, intake.no_dates()).isna(),
        column=intake.label(S.STATUS),
        kind="reinstated_without_lapse",
        action=FLAGGED,
    )


def check_exits(intake: Intake) -> None:
    """An exit needs a date, or every study would count the policy as still in force.

    Reads ``status``, ``status_date``, ``lapse_date`` and ``observed_to``. Rejects a policy
    with an exit status but no status date (for a lapse: no lapse date either) and no end
    of observation (``exit_without_date``).
    """
    out, status = intake.out, intake.out[S.STATUS]
    lapse = out.get(S.LAPSE_DATE, intake.no_dates())
    exit_day = out.get(S.STATUS_DATE, intake.no_dates())
    exit_day = exit_day.where(~status.isin(_LAPSED).fillna(False), lapse.fillna(exit_day))
    undated = status.isin(list(S.EXIT_STATUSES)).fillna(False) & exit_day.isna()
    if S.OBSERVED_TO in out:
        undated &= out[S.OBSERVED_TO].isna()
    intake.ledger.add(
        undated,
        column=intake.label(S.STATUS),
        kind="exit_without_date",
        action=REJECTED,
        value=out[S.STATUS_RAW],
    )


def check_study_date(intake: Intake) -> None:
    """Policies issued after the study date, and status changes after it.

    Reads ``issue_date``, ``status_date`` and ``intake.study``. Rejects a policy issued
    after the study date and flags a status date after it (the change is not counted);
    both ``after_study_date``.
    """
    out, ledger, study = intake.out, intake.ledger, intake.study.date().isoformat()
    issue = out[S.ISSUE_DATE]
    ledger.add(
        (issue > intake.study).fillna(False),
        column=intake.label(S.ISSUE_DATE),
        kind="after_study_date",
        action=REJECTED,
        variant=S.ISSUE_DATE,
        value=issue,
        study=study,
    )
    if S.STATUS_DATE in out:
        status_date = out[S.STATUS_DATE]
        ledger.add(
            (status_date > intake.study).fillna(False),
            column=intake.label(S.STATUS_DATE),
            kind="after_study_date",
            action=FLAGGED,
            variant=S.STATUS_DATE,
            value=status_date,
            study=study,
        )


def reject_duplicates(intake: Intake) -> None:
    """Reject repeated keys among the rows not already rejected: exact copies, and conflicting rows after the first.

    Reads every column of ``intake.out`` and the preset's grain: the key is the policy
    number, or the policy number and the coverage for the grain ``policy+coverage``.
    Rejects an exact copy of an earlier row (``duplicate``) and a row with an earlier
    row's key but other values (``conflicting_duplicate``, naming the columns that differ).
    """
    out, rows = intake.out, intake.rows
    if not _may_repeat(out[S.POLICY_ID]):
        return  # no policy number occurs twice, so no key does
    grain = str(intake.settings.get("grain", "policy"))
    keys = [S.POLICY_ID] + ([S.COVERAGE] if grain == "policy+coverage" and S.COVERAGE in out else [])
    size = len(rows)
    alive = np.ones(size, dtype=bool)
    alive[intake.ledger.rejected_positions()] = False
    frame = pd.DataFrame({k: out[k] for k in keys}).loc[alive]
    later = frame.duplicated(keys, keep="first")
    if not later.any():
        return
    group = frame.groupby(keys, sort=False, dropna=False).ngroup()
    first_of_group = frame.index.to_series().groupby(group.to_numpy()).transform("first")
    positions = frame.index.to_numpy()[later.to_numpy()]
    pointers = first_of_group.to_numpy()[later.to_numpy()]
    compare = [c for c in out if c != S.SOURCE_ROW]
    differs = np.column_stack([~_same(out[c].to_numpy()[positions], out[c].to_numpy()[pointers]) for c in compare])
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
