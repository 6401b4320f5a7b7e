"""One load on its way through the door: the state every step reads and writes.

:func:`open_intake` maps the headers, keeps the policy rows and checks the required
columns; the steps of :mod:`analysis.ingest.pipeline` then fill :attr:`Intake.out`
(the canonical columns, one array per column, row for row with ``cells``) and
write every problem and column note to :attr:`Intake.ledger`.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.ahead import Ahead
from analysis.ingest.headers import ColumnMatch, resolve_mapping
from analysis.ingest.ledger import Ledger, Note, column_note
from analysis.ingest.presets import MappingPreset
from analysis.ingest.raw import RawTable
from analysis.ingest.rows import policy_rows
from analysis.ingest.text import normalise_key

#: Headers of the file listed in a message …
HEADERS_SHOWN = 30
#: … and known headers suggested for a missing required column.
_ALIASES_SHOWN = 4
#: The reason of ``missing_required`` for each set of missing columns (its sentence names them all).
_MISSING_REASONS = {
    (S.POLICY_ID,): "policy_id",
    (S.ISSUE_DATE,): "issue_date",
    (S.STATUS,): "status",
    (S.POLICY_ID, S.ISSUE_DATE): "policy_id_and_issue_date",
    (S.POLICY_ID, S.STATUS): "policy_id_and_status",
    (S.ISSUE_DATE, S.STATUS): "issue_date_and_status",
    (S.POLICY_ID, S.ISSUE_DATE, S.STATUS): "policy_id_and_issue_date_and_status",
}


@dataclass
class Intake:
    """The state of one load between the door's steps.

    Attributes
    ----------
    raw : RawTable
        The table as read (its preamble, header row, encoding and sheet).
    preset : MappingPreset
        Mapping, status words and settings.
    mapping : dict
        canonical column → :class:`~analysis.ingest.headers.ColumnMatch`; a step drops
        a column that turns out unusable (a date column without dates).
    cells, rows
        The policy rows as read and their source row numbers.
    skipped : list of (int, str)
        Rows that are not policies, with their reason codes.
    ragged : list of (int, int)
        Rows rejected as ragged, with the number of fields found.
    ledger : Ledger
        Problems per row and notes per column, written by every step.
    ahead : Ahead
        Column parses started early, collected by the steps.
    study_date : str or Timestamp or None
        The study date given to :func:`~analysis.ingest.pipeline.load_extract`.
    out : dict
        canonical column (or kept source header) → values, row for row with ``cells``.
    """

    raw: RawTable
    preset: MappingPreset
    mapping: dict[str, ColumnMatch]
    cells: pd.DataFrame
    rows: np.ndarray
    skipped: list[tuple[int, str]]
    ragged: list[tuple[int, int]]
    ledger: Ledger
    ahead: Ahead
    study_date: str | pd.Timestamp | None
    out: dict[str, Any] = field(default_factory=dict)
    #: Unmapped columns read as attributes in one pass (wide extracts), by header.
    wide_attributes: dict[str, pd.Series] = field(default_factory=dict)
    #: Birth dates and sexes read off 18-digit ID numbers, when an ID-number column is mapped.
    id_facts: tuple[pd.Series, pd.Series] | None = None
    status_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    attributes: list[str] = field(default_factory=list)
    study: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("NaT"))
    study_source: str = ""
    #: The source header an inferred study date came from ("" when the date was given).
    study_column: str = ""
    #: The source headers, made unique (kept apart from ``cells``, whose read columns are let go).
    headers: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, Any]:
        """The preset's settings."""
        return self.preset.settings

    @property
    def duration_column(self) -> str | None:
        """The preset's column of durations since issue (standing in for the status date), if any."""
        return self.settings.get("duration_column")

    @cached_property
    def status_words(self) -> dict[str, object]:
        """Status vocabulary: the known words, and the preset's own (its words win)."""
        words: dict[str, object] = dict(S.STATUS_ALIASES)
        words.update({normalise_key(k): v for k, v in self.preset.status_values.items()})
        return words

    def source(self, canonical: str) -> pd.Series:
        """The source column mapped to ``canonical``."""
        return self.cells[self.mapping[canonical].source]

    def release(self, *canonicals: str) -> None:
        """Let go of the source columns mapped to ``canonicals``: read once, their text is not needed again.

        A step calls it when it has read its columns (the values a problem quotes are taken
        when it is recorded), so a large extract's text goes as the door moves on instead of
        staying until the end. A column no longer mapped (an unusable date column, kept as an
        attribute) stays, and so does one another step still reads (mapped to another column
        too, or the preset's duration column).
        """
        names = {self.mapping[c].source for c in canonicals if c in self.mapping}
        still_read = {match.source for c, match in self.mapping.items() if c not in canonicals} | {self.duration_column}
        present = [name for name in self.cells.columns if name in names and name not in still_read]
        if present:
            self.cells.drop(columns=present, inplace=True)

    def label(self, canonical: str) -> str:
        """How a canonical column is named in the account: its source header (or its own name if unmapped)."""
        match = self.mapping.get(canonical)
        return match.source if match is not None else canonical

    def mapped_sources(self) -> set[str]:
        """The source headers read as canonical columns (the duration column included)."""
        used = {match.source for match in self.mapping.values()}
        if self.duration_column:
            used.add(self.duration_column)
        return used

    def unmapped(self) -> list[str]:
        """The source headers kept as cohort attributes, in the file's order."""
        used = self.mapped_sources()
        return [header for header in self.headers if header not in used]

    def no_dates(self) -> pd.Series:
        """A date column without any date, row for row with ``cells``."""
        return pd.Series(pd.NaT, index=self.cells.index, dtype="datetime64[ns]")


def open_intake(raw: RawTable, preset: MappingPreset, *, study_date: str | pd.Timestamp | None, pool: Executor | None) -> Intake:
    """Map the headers, keep the policy rows and check that the required columns are there.

    Reads the raw table and the preset; notes renamed headers (duplicate or blank) in the
    new ledger. The intake takes the raw table's cells over: the steps let go of columns in
    them as they read them (:meth:`Intake.release`), so the caller must not use ``raw`` again.

    Raises
    ------
    ExtractError
        ``preset_column_missing``, ``header_only`` or ``missing_required``.
    """
    headers = list(raw.cells.columns)
    notes = [_renamed_note(original, new) for original, new in raw.renamed_headers]
    mapping = map_columns(headers, preset)
    renames = reserved_renames(headers, mapping, preset)
    if renames:
        raw = dataclasses.replace(raw, cells=raw.cells.rename(columns=renames, copy=False))
        headers = list(raw.cells.columns)
        notes += [
            column_note(new, "reserved_header", 1, "reserved_header", original=repr(old), new=repr(new)) for old, new in renames.items()
        ]
    if raw.ignored_metadata:
        notes.append(column_note("*", "parquet_metadata", 1, "parquet_metadata"))
    policies = policy_rows(raw, mapping, pool=pool)
    require_columns(mapping, headers, policy_id_from_row=bool(preset.settings.get("policy_id_from_row")))
    ledger = Ledger(policies.rows)
    ledger.notes.extend(notes)
    return Intake(
        # The cells live on in ``cells`` alone, so that a step can let go of a column it has read (:meth:`Intake.release`).
        raw=dataclasses.replace(raw, cells=pd.DataFrame(columns=headers)),
        headers=headers,
        preset=preset,
        mapping=mapping,
        cells=policies.cells,
        rows=policies.rows,
        skipped=policies.skipped,
        ragged=policies.ragged,
        ledger=ledger,
        ahead=Ahead(pool),
        study_date=study_date,
    )


#: Names the door writes itself: an unmapped source column of one of these names would be
#: overwritten by (or overwrite) the door's own column, so it is kept under another name.
RESERVED_HEADERS = frozenset((*S.CANONICAL_COLUMNS, S.STATUS_RAW, S.SOURCE_ROW, S.OBSERVED_TO))
#: What a source column of a reserved name is called instead (``observed_to (source)``).
RESERVED_SUFFIX = " (source)"


def reserved_renames(headers: list[str], mapping: dict[str, ColumnMatch], preset: MappingPreset) -> dict[str, str]:
    """Unmapped headers spelled like a column of the door's own, each with the name it is kept under.

    A header ``policy_id`` beside another column mapped to the policy number, or an attribute
    called ``source_row``, gets ``policy_id (source)`` (``.2`` … when that is taken too).
    """
    used = {match.source for match in mapping.values()}
    duration = preset.settings.get("duration_column")
    if duration:
        used.add(str(duration))
    taken = set(headers)
    renames: dict[str, str] = {}
    for header in headers:
        if header in used or header not in RESERVED_HEADERS:
            continue
        new, copy = header + RESERVED_SUFFIX, 1
        while new in taken:
            copy += 1
            new = f"{header}{RESERVED_SUFFIX}.{copy}"
        taken.add(new)
        renames[header] = new
    return renames


def _renamed_note(original: str, new: str) -> Note:
    if original:
        return column_note(new, "duplicate_header", 1, "duplicate_header", original=repr(original), new=repr(new))
    return column_note(new, "blank_header", 1, "blank_header", new=repr(new))


def map_columns(headers: list[str], preset: MappingPreset) -> dict[str, ColumnMatch]:
    """The canonical column of each header: the preset's choices, and the rest recognised automatically.

    A preset column the file lacks is left out, unless it is a required one.

    Raises
    ------
    ExtractError
        ``preset_column_missing`` when the preset maps a required column to a header the file lacks.
    """
    missing = {c: s for c, s in preset.columns.items() if s and s not in headers}
    required_missing = [c for c in missing if c in S.REQUIRED_COLUMNS]
    if required_missing:
        c = required_missing[0]
        raise ExtractError(
            "preset_column_missing",
            reason="not_in_file",
            canonical=c,
            column=repr(missing[c]),
            found=", ".join(headers[:HEADERS_SHOWN]),
        )
    overrides = {c: s for c, s in preset.columns.items() if c not in missing}
    return resolve_mapping(headers, overrides, auto=bool(preset.settings.get("auto_map", True)))


def require_columns(mapping: dict[str, ColumnMatch], headers: list[str], *, policy_id_from_row: bool) -> None:
    """Refuse an extract without a policy number (unless numbered by row), an issue date or a status.

    Raises
    ------
    ExtractError
        ``missing_required``, its reason naming the missing columns (``policy_id_and_status``),
        with known headers for each and the headers found.
    """
    missing = [c for c in S.REQUIRED_COLUMNS if c not in mapping]
    if S.POLICY_ID in missing and policy_id_from_row:
        missing.remove(S.POLICY_ID)
    if missing:
        found = ", ".join(headers[:HEADERS_SHOWN]) + (" …" if len(headers) > HEADERS_SHOWN else "")
        aliases = {c: ", ".join(S.HEADER_ALIASES[c][:_ALIASES_SHOWN]) for c in missing}
        raise ExtractError("missing_required", reason=_MISSING_REASONS[tuple(missing)], found=found, **aliases)
