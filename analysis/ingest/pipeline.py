"""Turn a policy extract into the canonical policy frame, accounting for every row.

:func:`load_extract` is the door through which every number enters LapseLens.
Every row of the source file ends up in exactly one place:

* ``skipped_rows``: rows that are not policies (title, group-header and header
  rows above the data, blank rows, 合计/注 rows), each with its reason;
* ``accepted``: read as is (format normalisation such as ``2023年5月6日`` or
  ``¥3,231`` is not a change of value and is summarised per column);
* ``repaired``: kept, with a note of each value that was changed, derived or
  flagged (a negative premium blanked, a status corrected, an ID Excel damaged);
* ``rejected``: left out, with the reason and the source row number.

``rows_read`` (the policy rows below the header) = accepted + repaired + rejected.

The door is a pipeline of named steps (:data:`STEPS`), each a function of the
:class:`~analysis.ingest.intake.Intake` whose docstring says what it reads and what
it writes to the ledger: reading (:mod:`~analysis.ingest.reading`), mapping and the
policy rows (:func:`~analysis.ingest.intake.open_intake`), then the columns
(:mod:`~analysis.ingest.columns`, :mod:`~analysis.ingest.identity`), the logic
checks (:mod:`~analysis.ingest.checks`), the attributes, the study date, and the
dates it bounds or a rule gives (:mod:`~analysis.ingest.dating`).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest import checks, columns, dating, identity, number_cells, premiums
from analysis.ingest.ahead import column_pool
from analysis.ingest.attributes import keep_attributes
from analysis.ingest.headers import ColumnMatch
from analysis.ingest.intake import Intake, open_intake
from analysis.ingest.ledger import NOTE_COLUMNS, PROBLEM_COLUMNS, REJECTED, params_text, problem_details, skipped_problems
from analysis.ingest.presets import MappingPreset, check_contract_terms
from analysis.ingest.reading import RawTable, read_file, read_table, unreadable
from analysis.ingest.rows import drop_rows
from analysis.ingest.study_date import INFERRED, settle_study_date
from analysis.ingest.text import compact_text

#: Bytes in a megabyte, as an upload limit counts them.
BYTES_PER_MB = 1_000_000

#: The door's steps after the rows are found, in order. Each reads the intake and writes
#: canonical columns to ``intake.out`` and problems and notes to ``intake.ledger``.
STEPS: tuple[Callable[[Intake], None], ...] = (
    columns.start_parses,
    columns.read_policy_ids,
    columns.read_dates,
    columns.read_statuses,
    columns.read_amounts,
    columns.read_ages,
    identity.read_id_numbers,
    columns.read_codes,
    premiums.annualise_premiums,
    identity.derive_from_id_numbers,
    identity.derive_ages,
    columns.read_incomes,
    columns.read_text_columns,
    columns.read_durations,
    number_cells.flag_number_cell_ids,  # collected late: the workbook was asked while the columns above were read
    checks.check_date_order,
    keep_attributes,
    settle_study_date,
    # after the study date, which is found among the dates as written, never among those dated by rule:
    dating.check_study_date,
    dating.derive_lapse_dates,
    dating.date_exits,
    dating.check_exits,
    checks.reject_duplicates,
    checks.note_other_encoding,
)


@dataclass(frozen=True)
class LoadResult:
    """The canonical policies of an extract and the account of every source row.

    Attributes
    ----------
    policies : pandas.DataFrame
        Accepted and repaired rows: the canonical columns that were mapped,
        ``status_source`` (the status as written), ``source_row``, and every
        unmapped source column kept under its own header as a cohort attribute.
    rows_read, accepted, repaired, rejected : int
        ``rows_read == accepted + repaired + rejected``.
    skipped_rows : pandas.DataFrame
        ``[row, reason]``: source rows that are not policy rows, ``reason`` a code of
        :data:`~analysis.ingest.rows.SKIP_REASONS`.
    problems : pandas.DataFrame
        ``[row, column, kind, action, value, variant, params]``, one line per changed,
        flagged or rejecting value; ``action`` is rejected, repaired or flagged; ``kind``,
        ``variant`` and ``params`` (JSON text) name and fill its sentence, which
        :func:`~analysis.ingest.ledger.problem_details` gives in a language.
    column_notes : pandas.DataFrame
        ``[column, kind, count, detail]``: what was done to whole columns
        (values reformatted, derived, left unmapped).
    mapping : dict
        canonical column → :class:`~analysis.ingest.headers.ColumnMatch`.
    study_date : pandas.Timestamp
        The extract's study date (统计截止日); ``study_date_source`` says where
        it came from: argument, preset, title row or latest date (inferred from the
        data, :mod:`~analysis.ingest.study_date`); ``study_date_column`` names the
        source header an inferred date came from.
    """

    policies: pd.DataFrame
    rows_read: int
    accepted: int
    repaired: int
    rejected: int
    skipped_rows: pd.DataFrame
    problems: pd.DataFrame
    column_notes: pd.DataFrame
    mapping: dict[str, ColumnMatch]
    headers: list[str]
    attributes: list[str]
    study_date: pd.Timestamp
    study_date_source: str
    status_values: pd.DataFrame
    kind: str
    encoding: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    header_row: int = 1
    preset: MappingPreset = field(default_factory=MappingPreset)
    study_date_column: str = ""

    @property
    def study_date_inferred(self) -> bool:
        """True when the study date was read off the data, not stated (the page warns and offers the override)."""
        return self.study_date_source == INFERRED

    @property
    def status_counts(self) -> dict[str, int]:
        """Accepted policies per canonical status (statuses with none are left out)."""
        counts = self.policies[S.STATUS].value_counts()
        return {s: int(counts[s]) for s in S.STATUSES if counts.get(s, 0) > 0}  # a category no policy has is left out

    def summary(self) -> dict[str, Any]:
        """The account as the plain object ``python -m analysis check --json`` prints."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "repaired": self.repaired,
            "rejected": self.rejected,
            "skipped_rows": [
                {"row": int(row), "reason": str(reason)}
                for row, reason in zip(self.skipped_rows["row"].tolist(), problem_details(skipped_problems(self.skipped_rows), "en"))
            ],
            "study_date": self.study_date.date().isoformat(),
            "study_date_source": self.study_date_source,
            "study_date_column": self.study_date_column or None,
            "mapping": {c: m.source for c, m in self.mapping.items()},
            "status_counts": self.status_counts,
            "problems": [
                {"row": int(row), "column": str(column), "kind": str(kind), "action": str(action), "detail": str(detail)}
                for row, column, kind, action, detail in zip(
                    self.problems["row"].tolist(),
                    self.problems["column"].tolist(),
                    self.problems["kind"].tolist(),
                    self.problems["action"].tolist(),
                    problem_details(self.problems, "en").tolist(),
                )
            ],
        }


def load_extract(
    source: bytes | str | Path,
    *,
    filename: str | None = None,
    preset: MappingPreset | None = None,
    sheet: str | int | None = None,
    study_date: str | pd.Timestamp | None = None,
    max_bytes: int | None = None,
) -> LoadResult:
    """Read a policy extract and map it onto the canonical schema.

    Parameters
    ----------
    source : bytes or path
        The file's content, or a path to it. CSV (UTF-8, UTF-8 with BOM,
        GB18030/GBK or a mix), ``.xlsx``, ``.xls`` and Parquet are read.
    filename : str, optional
        The file's name, used in messages and as a format hint.
    preset : MappingPreset, optional
        Column mapping, status vocabulary and settings; headers it does not
        name are mapped automatically unless ``auto_map = false``.
    sheet : str or int, optional
        Workbook sheet (default: the preset's, else the first).
    study_date : str or Timestamp, optional
        Overrides every other source of the study date.
    max_bytes : int, optional
        Upload limit; a larger file is refused with the limit named.

    Returns
    -------
    LoadResult

    Raises
    ------
    ExtractError
        When the file cannot be read at all or lacks a required column; the
        message says what was expected, what was found and what to do.
    """
    preset = preset or MappingPreset()
    if sheet is None:
        sheet = preset.settings.get("sheet")
    if isinstance(source, (str, Path)) and Path(source).is_file():
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise unreadable(path, exc) from exc
        _check_size(size, max_bytes)
        raw = read_file(path, filename=filename or path.name, sheet=sheet)  # a CSV is read from disk, never whole in memory
    else:
        if isinstance(source, (str, Path)):  # not a regular file (a pipe, a missing path): its bytes, as they come
            try:
                data = Path(source).read_bytes()
            except OSError as exc:
                raise unreadable(Path(source), exc) from exc
            filename = filename or Path(source).name
        else:
            data = bytes(source)
        _check_size(len(data), max_bytes)
        raw = read_table(data, filename=filename, sheet=sheet)
        del data, source  # the bytes are no longer needed: free them before the heavy part
    pool = column_pool(len(raw.cells))
    tables = [raw]  # handed over, not kept here: the door lets go of each column once read (Intake.release)
    del raw
    try:
        return _canonicalise(tables, preset=preset, study_date=study_date, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _check_size(size: int, max_bytes: int | None) -> None:
    """Refuse a file over the upload limit, naming both."""
    if max_bytes is not None and size > max_bytes:
        raise ExtractError("too_large", reason="upload_limit", size=f"{size / BYTES_PER_MB:.1f}", limit=f"{max_bytes / BYTES_PER_MB:.0f}")


def _canonicalise(
    tables: list[RawTable], *, preset: MappingPreset, study_date: str | pd.Timestamp | None, pool: Executor | None
) -> LoadResult:
    """The raw table (the one in ``tables``, taken out) through the door's steps, and the account of every row."""
    check_contract_terms(preset)
    intake = open_intake(tables.pop(), preset, study_date=study_date, pool=pool)
    for step in STEPS:
        step(intake)
    return _result(intake, pool)


def _result(intake: Intake, pool: Executor | None) -> LoadResult:
    """The kept policies and the row account, read off the ledger."""
    problems = intake.ledger.frame()
    n = len(intake.rows)
    rejected = np.zeros(n, dtype=bool)
    rejected[problems.loc[problems["action"] == REJECTED, "position"].to_numpy(dtype=np.int64)] = True
    touched = np.zeros(n, dtype=bool)
    touched[problems["position"].to_numpy(dtype=np.int64)] = True
    ragged = pd.DataFrame(
        {
            "position": -1,
            "row": [r for r, _ in intake.ragged],
            "column": "*",
            "kind": "ragged_row",
            "action": REJECTED,
            "value": "",
            "variant": "",
            "params": [params_text(fields=fields, width=len(intake.headers)) for _, fields in intake.ragged],
        }
    )
    if len(ragged):
        problems = pd.concat([problems, ragged], ignore_index=True).sort_values(["row", "column"], kind="stable")
    out = intake.out
    out[S.SOURCE_ROW] = pd.Series(intake.rows, index=intake.cells.index)
    if rejected.any():
        out = drop_rows(out, rejected, pool)
    else:
        out = {key: pd.Series(value).array for key, value in out.items()}
    raw = intake.raw
    return LoadResult(
        # copy=False: the columns are new arrays already; no need to copy them into 2-D blocks.
        policies=compact_text(pd.DataFrame(out, copy=False), pool),
        rows_read=n + len(intake.ragged),
        accepted=int((~touched).sum()),
        repaired=int((touched & ~rejected).sum()),
        rejected=int(rejected.sum()) + len(intake.ragged),
        skipped_rows=pd.DataFrame(sorted(intake.skipped), columns=["row", "reason"]),
        problems=problems[PROBLEM_COLUMNS].reset_index(drop=True),
        column_notes=pd.DataFrame(intake.ledger.notes, columns=NOTE_COLUMNS),
        mapping=intake.mapping,
        headers=intake.headers,
        attributes=intake.attributes,
        study_date=intake.study,
        study_date_source=intake.study_source,
        study_date_column=intake.study_column,
        status_values=intake.status_values,
        kind=raw.kind,
        encoding=raw.encoding,
        sheet=raw.sheet,
        sheets=raw.sheets,
        header_row=raw.header_row,
        preset=intake.preset,
    )
