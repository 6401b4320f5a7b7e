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
"""

from __future__ import annotations

import os
import re
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.ingest.headers import ColumnMatch, resolve_mapping
from analysis.ingest.parsing import (
    DATE_RANGE,
    PLAIN_NUMBER,
    TEXT,
    CodeLookup,
    Parsed,
    arrow_text,
    blank_mask,
    code_lookup,
    id_number_facts,
    normalise_key,
    parse_dates,
    parse_ids,
    parse_numbers,
    starts_with_word,
    strip_needed,
    stripped_text,
    to_float,
)
from analysis.ingest.presets import DURATION_UNITS, MappingPreset, check_contract_terms
from analysis.ingest.reading import RawTable, read_table
from analysis.report.catalogue import translate

PROBLEM_COLUMNS = ["row", "column", "kind", "action", "value", "detail"]
#: Threads for work on whole columns (Arrow's and numpy's kernels release the GIL) …
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: … from this many rows up.
_PARALLEL_FROM = 50_000
#: ``note`` is the catalogue key of the text (``note.<note>``) and ``params`` fills it, so the page can show it in 中文.
NOTE_COLUMNS = ["column", "kind", "count", "detail", "note", "params"]
REJECTED, REPAIRED, FLAGGED = "rejected", "repaired", "flagged"


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
        ``[row, reason]``: source rows that are not policy rows.
    problems : pandas.DataFrame
        ``[row, column, kind, action, value, detail]``, one line per changed,
        flagged or rejecting value; ``action`` is rejected, repaired or flagged.
    column_notes : pandas.DataFrame
        ``[column, kind, count, detail]``: what was done to whole columns
        (values reformatted, derived, left unmapped).
    mapping : dict
        canonical column → :class:`~analysis.ingest.headers.ColumnMatch`.
    study_date : pandas.Timestamp
        The extract's study date (统计截止日); ``study_date_source`` says where
        it came from: argument, preset, title row or latest date.
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

    @property
    def status_counts(self) -> dict[str, int]:
        """Accepted policies per canonical status (statuses with none are left out)."""
        counts = self.policies[S.STATUS].value_counts()
        return {s: int(counts[s]) for s in S.STATUSES if s in counts.index}

    def summary(self) -> dict[str, Any]:
        """The account as the plain object ``python -m analysis check --json`` prints."""
        return {
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "repaired": self.repaired,
            "rejected": self.rejected,
            "skipped_rows": [{"row": int(r), "reason": str(m)} for r, m in self.skipped_rows.itertuples(index=False)],
            "study_date": self.study_date.date().isoformat(),
            "mapping": {c: m.source for c, m in self.mapping.items()},
            "status_counts": self.status_counts,
            "problems": [
                {"row": int(row), "column": str(column), "kind": str(kind), "action": str(action), "detail": str(detail)}
                for row, column, kind, action, detail in zip(
                    self.problems["row"].tolist(),
                    self.problems["column"].tolist(),
                    self.problems["kind"].tolist(),
                    self.problems["action"].tolist(),
                    self.problems["detail"].tolist(),
                )
            ],
        }


def _note(column: str, kind: str, count: int, note: str, **params: object) -> tuple[str, str, int, str, str, dict[str, str]]:
    """One column note: its English text from the catalogue, and the key and values to show it in another language."""
    values = {name: str(value) for name, value in params.items()}
    return (column, kind, int(count), translate(f"note.{note}", "en", **values), note, values)


class _Ledger:
    """Collects per-row problems as whole-column masks: no loop over rows."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []
        self.notes: list[tuple[str, str, int, str, str, dict[str, str]]] = []

    def add(
        self,
        mask: pd.Series | np.ndarray,
        *,
        column: str,
        kind: str,
        action: str,
        detail: str | Callable[[np.ndarray], pd.Series],
        value: pd.Series | None = None,
    ) -> None:
        """Record a problem for every row where ``mask`` is true.

        ``detail`` is a text in which ``{value}`` stands for the quoted source
        value, or a function of the row positions; either way it is only
        built for the flagged rows.
        """
        where = np.asarray(mask, dtype=bool)
        if not where.any():
            return
        positions = np.flatnonzero(where)
        n = len(positions)
        shown = _shown(value.iloc[positions]) if value is not None else pd.Series([""] * n, dtype=TEXT)
        if callable(detail):
            texts = np.asarray(detail(positions).astype(TEXT).fillna(""), dtype=object)
        elif "{value}" in detail:
            before, after = detail.split("{value}", 1)
            texts = np.asarray(before + "'" + shown.str.slice(0, 60) + "'" + after, dtype=object)
        else:
            texts = np.full(n, detail, dtype=object)
        self.parts.append(
            pd.DataFrame(
                {
                    "position": positions,
                    "row": self.rows[positions],
                    "column": column,
                    "kind": kind,
                    "action": action,
                    "value": np.asarray(shown, dtype=object),
                    "detail": texts,
                }
            )
        )

    def note(self, column: str, kind: str, count: int, note: str, **params: object) -> None:
        """A note on a whole column; its English text is the catalogue's ``note.<note>`` filled with ``params``."""
        if count:
            self.notes.append(_note(column, kind, count, note, **params))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c in ("position", "row") else "object") for c in ["position", *PROBLEM_COLUMNS]}
            )
        frame = pd.concat(self.parts, ignore_index=True)
        return frame.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def _shown(values: pd.Series) -> pd.Series:
    """Source values as the text a user would recognise (dates as YYYY-MM-DD)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _fmt_dates(values)
    return values.astype(TEXT).fillna("").reset_index(drop=True)


def _fmt_dates(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d").astype(TEXT).fillna("").reset_index(drop=True)


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
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ExtractError(f"The file {path} cannot be read: {exc.strerror}.", code="unreadable", detail=str(exc)) from exc
        filename = filename or path.name
    else:
        data = bytes(source)
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractError(
            f"The file is {len(data) / 1e6:.1f} MB, above the upload limit of {max_bytes / 1e6:.0f} MB. "
            "Split the extract (for example by issue year) or use the command line, which has no limit.",
            code="too_large",
            size=f"{len(data) / 1e6:.1f}",
            limit=f"{max_bytes / 1e6:.0f}",
        )
    preset = preset or MappingPreset()
    if sheet is None:
        sheet = preset.settings.get("sheet")
    raw = read_table(data, filename=filename, sheet=sheet)
    del data, source  # the bytes are no longer needed: free them before the heavy part
    # Threads pay off on long extracts only; a small file is parsed faster on one.
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="lapselens-door") if len(raw.cells) >= _PARALLEL_FROM else None
    try:
        return _canonicalise(raw, preset=preset, study_date=study_date, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class _Ahead:
    """Parses of whole columns started early on a thread pool, each collected once.

    Arrow's and numpy's kernels release the GIL, so the columns of an extract
    parse side by side while the main thread works through the checks in order.
    """

    def __init__(self, pool: Executor | None) -> None:
        self.pool = pool
        self.futures: dict[object, Future[Any]] = {}

    def start(self, key: object, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Start ``work(*args, **kwargs)`` on the pool (without a pool, it runs when its result is asked for)."""
        if self.pool is not None:
            self.futures[key] = self.pool.submit(work, *args, **kwargs)

    def result(self, key: object, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The started parse's result, or ``work(*args, **kwargs)`` when none was started."""
        future = self.futures.pop(key, None)
        return future.result() if future is not None else work(*args, **kwargs)


def _canonicalise(raw: RawTable, *, preset: MappingPreset, study_date: str | pd.Timestamp | None, pool: Executor | None) -> LoadResult:
    settings = preset.settings
    check_contract_terms(preset)
    cells = raw.cells
    headers = list(cells.columns)
    skipped: list[tuple[int, str]] = [(row, "above the header: title or group-header row") for row, _ in raw.preamble]
    if raw.header_row:
        skipped.append((raw.header_row, "header row"))
    ledger_notes: list[tuple[str, str, int, str, str, dict[str, str]]] = []
    for original, new in raw.renamed_headers:
        if original:
            ledger_notes.append(_note(new, "duplicate_header", 1, "duplicate_header", original=repr(original), new=repr(new)))
        else:
            ledger_notes.append(_note(new, "blank_header", 1, "blank_header", new=repr(new)))

    # --- which rows are policy rows ------------------------------------------------
    mapping = _mapping(headers, preset)
    # A row is blank when every cell is empty (readers give empty cells as missing).
    all_blank = _blank_rows(cells)
    footer = np.zeros(len(cells), dtype=bool)
    marker = "^(?:" + "|".join(re.escape(m) for m in S.FOOTER_MARKERS) + ")"
    probe_columns = [headers[0]] if headers else []
    if S.POLICY_ID in mapping and mapping[S.POLICY_ID].source not in probe_columns:
        probe_columns.append(mapping[S.POLICY_ID].source)
    for probe in probe_columns:
        footer |= footer_rows(cells[probe])
    footer &= ~all_blank
    if S.ISSUE_DATE in mapping:  # a real policy row has an issue date, whatever its first cell says
        footer &= blank_mask(cells[mapping[S.ISSUE_DATE].source]).to_numpy(dtype=bool)
    for row in raw.rows[all_blank]:
        skipped.append((int(row), "blank row"))
    for row in raw.rows[footer]:
        skipped.append((int(row), "summary or note row (合计/注) below the data"))
    ragged_rejects: list[tuple[int, str]] = []
    for row, line, reason in raw.bad_rows:
        stripped = line.replace(",", "").replace("\t", "").strip()
        if not stripped:
            skipped.append((row, "blank row"))
        elif re.match(marker, stripped.lower()):
            skipped.append((row, "summary or note row (合计/注) below the data"))
        else:
            ragged_rejects.append((row, reason))
    keep = ~(all_blank | footer)
    if not keep.all():
        cells = pd.DataFrame(_drop_rows({name: cells[name] for name in headers}, ~keep, pool), copy=False)
    rows = raw.rows[keep]
    if len(cells) == 0 and not ragged_rejects:
        raise ExtractError(
            f"The file has a header row (row {raw.header_row}) but no policy rows below it. "
            "Check that the export includes the data, not just the column titles.",
            code="header_only",
            row=raw.header_row,
        )

    # --- required columns ----------------------------------------------------------
    missing = [c for c in S.REQUIRED_COLUMNS if c not in mapping]
    if S.POLICY_ID in missing and settings.get("policy_id_from_row"):
        missing.remove(S.POLICY_ID)
    if missing:
        names = {S.POLICY_ID: "policy number (保单号)", S.ISSUE_DATE: "issue date (生效日期)", S.STATUS: "policy status (保单状态)"}
        wanted = ", ".join(names[m] for m in missing)
        aliases = "; ".join(f"{names[m]}: " + ", ".join(S.HEADER_ALIASES[m][:4]) for m in missing)
        found = ", ".join(headers[:30]) + (" …" if len(headers) > 30 else "")
        raise ExtractError(
            f"No column looks like the {wanted}. Expected a header such as {aliases}; found: {found}. "
            "Map the column in the mapping editor, or load a mapping preset.",
            code="missing_required",
            columns=wanted,
            found=found,
        )

    ledger = _Ledger(rows)
    ledger.notes.extend(ledger_notes)
    out: dict[str, Any] = {}
    n = len(cells)

    def source(canonical: str) -> pd.Series:
        return cells[mapping[canonical].source]

    def maybe(canonical: str) -> pd.Series | None:
        return source(canonical) if canonical in mapping else None

    def label(canonical: str) -> str:
        match = mapping.get(canonical)
        return match.source if match is not None else canonical

    # Start every column's parse now, in the order the checks below take them.
    vocabulary: dict[str, object] = dict(S.STATUS_ALIASES)
    vocabulary.update({normalise_key(k): v for k, v in preset.status_values.items()})
    duration_column = settings.get("duration_column")
    ahead = _Ahead(pool)
    from_workbook = raw.kind in ("xlsx", "xls")
    if S.POLICY_ID in mapping:
        ahead.start(S.POLICY_ID, parse_ids, source(S.POLICY_ID), from_workbook=from_workbook)
    for canonical in S.DATE_COLUMNS:
        if canonical in mapping:
            ahead.start(canonical, parse_dates, source(canonical), date1904=raw.date1904)
    ahead.start(S.STATUS, code_lookup, source(S.STATUS), vocabulary)
    ahead.start(S.STATUS_RAW, stripped_text, source(S.STATUS))
    for canonical in (S.ANNUAL_PREMIUM, S.SUM_ASSURED, S.AGE, S.INCOME):
        if canonical in mapping:
            ahead.start(canonical, parse_numbers, source(canonical))
    if S.ID_NUMBER in mapping:
        ahead.start(S.ID_NUMBER, id_number_facts, source(S.ID_NUMBER))
    for canonical, words in _CODE_COLUMNS.items():
        if canonical in mapping:
            ahead.start(canonical, code_lookup, source(canonical), words, clean=_CODE_CLEANERS.get(canonical))
    for canonical in _TEXT_COLUMNS:
        if canonical in mapping:
            ahead.start(("text", canonical), stripped_text, source(canonical))
    if duration_column and duration_column in headers:
        ahead.start(("duration", duration_column), parse_numbers, cells[duration_column])
    mapped_sources = {m.source for m in mapping.values()} | {duration_column}
    unmapped = [header for header in headers if header not in mapped_sources]
    # A wide extract's attributes are read together: per-column overhead would dominate.
    wide_attributes = _attributes(cells, unmapped) if len(unmapped) >= _WIDE and len(cells) <= _WIDE_ROWS else {}
    for header in unmapped:
        if header not in wide_attributes:
            ahead.start(("attribute", header), _attribute, cells[header])

    # policy id
    if S.POLICY_ID in mapping:
        ids, id_stripped, mangled = ahead.result(S.POLICY_ID, parse_ids, source(S.POLICY_ID), from_workbook=from_workbook)
        ledger.note(label(S.POLICY_ID), "reformatted", int(id_stripped.sum()), "id_from_number")
        id_blank = ids.isna() | (ids == "")
        ledger.add(id_blank, column=label(S.POLICY_ID), kind="missing_required", action=REJECTED, detail="the policy number is empty")
        ledger.add(
            mangled,
            column=label(S.POLICY_ID),
            kind="id_precision_lost",
            action=FLAGGED,
            value=ids,
            detail="policy number {value} went through a number cell and lost its last digits "
            "(Excel keeps 15 significant digits); export the column as text to recover it",
        )
        out[S.POLICY_ID] = ids.astype(TEXT)
    else:
        out[S.POLICY_ID] = pd.Series("R" + pd.Series(rows).astype(str), dtype=TEXT)
        ledger.note(S.POLICY_ID, "derived", n, "id_from_row")

    # dates
    date1904 = raw.date1904
    for canonical in S.DATE_COLUMNS:
        if canonical not in mapping:
            continue
        column = source(canonical)
        parsed = ahead.result(canonical, parse_dates, column, date1904=date1904)
        ledger.note(label(canonical), "reformatted", parsed.reformatted, "dates_reformatted")
        non_blank = int((~blank_mask(column)).sum())
        if non_blank and int(parsed.invalid.sum()) == non_blank:
            example, where = _first_invalid(column, parsed, rows)
            if canonical == S.ISSUE_DATE:
                raise ExtractError(
                    f"Column {label(canonical)} has {non_blank:,} values and none of them is a date, e.g. {example!r} (row {where}). "
                    "Map another column to the issue date, or fix the export's date format.",
                    code="no_valid_dates",
                    column=label(canonical),
                    count=non_blank,
                    example=example,
                    row=where,
                )
            ledger.note(
                label(canonical),
                "unusable_column",
                non_blank,
                "no_dates",
                example=repr(example),
                row=where,
            )
            del mapping[canonical]
            continue
        outside = parsed.outside if parsed.outside is not None else pd.Series(False, index=column.index)
        first, last = (day.year for day in DATE_RANGE)
        action, left = (REJECTED, "") if canonical == S.ISSUE_DATE else (REPAIRED, "; left blank")
        if canonical == S.ISSUE_DATE:
            ledger.add(
                blank_mask(column), column=label(canonical), kind="missing_required", action=REJECTED, detail="the issue date is empty"
            )
        ledger.add(
            parsed.invalid & ~outside,
            column=label(canonical),
            kind="invalid_date",
            action=action,
            value=column,
            detail="{value} is not a date" + left,
        )
        ledger.add(
            outside,
            column=label(canonical),
            kind="invalid_date",
            action=action,
            value=column,
            detail=f"{{value}} is not a date between the years {first} and {last}" + left,
        )
        out[canonical] = parsed.values

    # status
    status_column = source(S.STATUS)
    statuses = ahead.result(S.STATUS, code_lookup, status_column, vocabulary)
    status_blank = blank_mask(status_column)
    ledger.add(status_blank, column=label(S.STATUS), kind="missing_required", action=REJECTED, detail="the policy status is empty")
    distinct_statuses = _texts(np.where(statuses.unknown_distinct, S.UNMAPPED, statuses.mapped))
    out[S.STATUS] = statuses.spread(distinct_statuses, cells.index)
    out[S.STATUS_RAW] = ahead.result(S.STATUS_RAW, stripped_text, status_column)
    status_values = _status_values(statuses, distinct_statuses, status_blank.to_numpy())

    # numbers
    for canonical in (S.ANNUAL_PREMIUM, S.SUM_ASSURED):
        if canonical not in mapping:
            continue
        column = source(canonical)
        parsed = ahead.result(canonical, parse_numbers, column)
        ledger.note(label(canonical), "reformatted", parsed.reformatted, "numbers_reformatted")
        ledger.add(
            parsed.invalid,
            column=label(canonical),
            kind="invalid_number",
            action=REPAIRED,
            value=column,
            detail="{value} is not a number; left blank",
        )
        negative = (parsed.values < 0).fillna(False)
        ledger.add(
            negative,
            column=label(canonical),
            kind="negative_amount",
            action=REPAIRED,
            value=column,
            detail="negative amount {value} is impossible; left blank",
        )
        out[canonical] = parsed.values.where(~negative)

    # age
    if S.AGE in mapping:
        column = source(S.AGE)
        parsed = ahead.result(S.AGE, parse_numbers, column)
        ledger.add(
            parsed.invalid,
            column=label(S.AGE),
            kind="invalid_number",
            action=REPAIRED,
            value=column,
            detail="{value} is not an age; left blank",
        )
        absurd = ((parsed.values < 0) | (parsed.values > 120)).fillna(False)
        ledger.add(
            absurd,
            column=label(S.AGE),
            kind="implausible_age",
            action=REPAIRED,
            value=column,
            detail="age {value} is outside 0–120; left blank",
        )
        out[S.AGE] = np.floor(parsed.values.where(~absurd))

    # id number → birth date and sex where those are missing
    if S.ID_NUMBER in mapping:
        id_birth, id_sex = ahead.result(S.ID_NUMBER, id_number_facts, source(S.ID_NUMBER))
        out[S.ID_NUMBER] = source(S.ID_NUMBER).astype(TEXT)
    else:
        id_birth = id_sex = None

    # codes
    if S.PAYMENT_FREQUENCY in mapping:
        column = source(S.PAYMENT_FREQUENCY)
        codes = ahead.result(S.PAYMENT_FREQUENCY, code_lookup, column, S.FREQUENCY_ALIASES, clean=_CODE_CLEANERS[S.PAYMENT_FREQUENCY])
        ledger.add(
            codes.unknown(cells.index),
            column=label(S.PAYMENT_FREQUENCY),
            kind="unknown_code",
            action=REPAIRED,
            value=column,
            detail="{value} is not a payment frequency (趸交/月交/季交/半年交/年交 or 0/1/3/6/12); left blank",
        )
        out[S.PAYMENT_FREQUENCY] = codes.spread(
            pd.to_numeric(pd.Series(codes.mapped, dtype=object), errors="coerce").astype("Int64"), cells.index
        )
    if S.AUTO_DEBIT in mapping:
        column = source(S.AUTO_DEBIT)
        codes = ahead.result(S.AUTO_DEBIT, code_lookup, column, S.AUTO_DEBIT_ALIASES)
        ledger.add(
            codes.unknown(cells.index),
            column=label(S.AUTO_DEBIT),
            kind="unknown_code",
            action=REPAIRED,
            value=column,
            detail="{value} does not say whether premiums are auto-debited; left blank",
        )
        out[S.AUTO_DEBIT] = codes.spread(pd.Series(codes.mapped, dtype=object).astype("boolean"), cells.index)
    if S.WAIVER in mapping:
        column = source(S.WAIVER)
        codes = ahead.result(S.WAIVER, code_lookup, column, S.YES_NO_ALIASES)
        ledger.add(
            codes.unknown(cells.index),
            column=label(S.WAIVER),
            kind="unknown_code",
            action=REPAIRED,
            value=column,
            detail="{value} is not yes or no (是/否); left blank",
        )
        out[S.WAIVER] = codes.spread(pd.Series(codes.mapped, dtype=object).astype("boolean"), cells.index)
    if S.GENDER in mapping:
        column = source(S.GENDER)
        codes = ahead.result(S.GENDER, code_lookup, column, S.GENDER_ALIASES)
        ledger.add(
            codes.unknown(cells.index),
            column=label(S.GENDER),
            kind="unknown_code",
            action=REPAIRED,
            value=column,
            detail="{value} is not a sex (男/女, M/F, 1/2); left blank",
        )
        out[S.GENDER] = codes.spread(_texts(codes.mapped), cells.index)
    if id_sex is not None:
        if S.GENDER in out:
            fill = out[S.GENDER].isna() & id_sex.notna()
            out[S.GENDER] = out[S.GENDER].where(~fill, id_sex)
        else:
            fill = id_sex.notna()
            out[S.GENDER] = id_sex.astype(TEXT)
        ledger.note(S.GENDER, "derived", int(fill.sum()), "sex_from_id")
    if id_birth is not None:
        if S.BIRTH_DATE in out:
            fill = out[S.BIRTH_DATE].isna() & id_birth.notna()
            out[S.BIRTH_DATE] = out[S.BIRTH_DATE].where(~fill, id_birth)
        else:
            fill = id_birth.notna()
            out[S.BIRTH_DATE] = id_birth
        ledger.note(S.BIRTH_DATE, "derived", int(fill.sum()), "birth_from_id")
    if S.BIRTH_DATE in out and S.ISSUE_DATE in out:
        born, issued = out[S.BIRTH_DATE], out[S.ISSUE_DATE]
        years = issued.dt.year - born.dt.year - ((issued.dt.month * 100 + issued.dt.day) < (born.dt.month * 100 + born.dt.day)).astype(int)
        years = years.where((years >= 0) & (years <= 120))
        if S.AGE in out:
            fill = pd.Series(out[S.AGE]).isna() & years.notna()
            out[S.AGE] = pd.Series(out[S.AGE]).where(~fill, years)
        else:
            fill = years.notna()
            out[S.AGE] = years.astype("float64")
        ledger.note(S.AGE, "derived", int(fill.sum()), "age_from_birth")

    # income: a number where the column holds numbers, otherwise bands as text
    if S.INCOME in mapping:
        column = source(S.INCOME)
        parsed = ahead.result(S.INCOME, parse_numbers, column)
        non_blank = int((~blank_mask(column)).sum())
        if non_blank and parsed.invalid.sum() <= 0.1 * non_blank:
            ledger.add(
                parsed.invalid,
                column=label(S.INCOME),
                kind="invalid_number",
                action=REPAIRED,
                value=column,
                detail="{value} is not an income; left blank",
            )
            out[S.INCOME] = parsed.values
        else:
            out[S.INCOME] = stripped_text(column)

    for canonical in _TEXT_COLUMNS:
        optional = maybe(canonical)
        if optional is not None:
            out[canonical] = ahead.result(("text", canonical), stripped_text, optional)

    # duration since issue standing in for status_date
    if duration_column:
        if duration_column not in headers:
            raise ExtractError(
                f"The preset's duration_column {duration_column!r} is not a column of this file; found: {', '.join(headers[:30])}.",
                code="missing_column",
                column=duration_column,
            )
        unit = str(settings.get("duration_unit", "days"))
        parsed = ahead.result(("duration", duration_column), parse_numbers, cells[duration_column])
        bad = parsed.invalid | (parsed.values < 0).fillna(False)
        days = np.floor(parsed.values.where(~bad) * DURATION_UNITS[unit])
        # A duration that ends after the last date read as a date is not a policy's (nor, without an
        # issue date, one of more than a century: no date arithmetic could hold it).
        bad |= (days > (DATE_RANGE[1] - out[S.ISSUE_DATE]).dt.days.fillna(36525)).fillna(False)
        ledger.add(
            bad,
            column=duration_column,
            kind="invalid_number",
            action=REPAIRED,
            value=cells[duration_column],
            detail="{value} is not a duration; left blank",
        )
        days = days.where(~bad)
        derived = out[S.ISSUE_DATE] + pd.to_timedelta(days, unit="D")
        active = out[S.STATUS].isin(list(S.ACTIVE_STATUSES)).to_numpy()
        current = out.get(S.STATUS_DATE, pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"))
        out[S.STATUS_DATE] = current.where(current.notna() | active, derived)
        out[S.OBSERVED_TO] = derived.where(active)
        ledger.note(duration_column, "derived", int(derived.notna().sum()), "exit_from_duration", source=duration_column, unit=unit)

    # logic checks -------------------------------------------------------------
    grace = pd.Timedelta(days=preset.grace_days)
    status = out[S.STATUS]
    issue = out[S.ISSUE_DATE]
    if S.STATUS_DATE in out:
        early = (out[S.STATUS_DATE] < issue).fillna(False)
        ledger.add(
            early,
            column=label(S.STATUS_DATE),
            kind="date_order",
            action=REJECTED,
            value=out[S.STATUS_DATE],
            detail=lambda at: (
                "status date " + _fmt_dates(out[S.STATUS_DATE].iloc[at]) + " is before the issue date " + _fmt_dates(issue.iloc[at])
            ),
        )
    if S.REINSTATEMENT_DATE in out:
        reinstated_on = out[S.REINSTATEMENT_DATE]
        before_issue = (reinstated_on <= issue).fillna(False)
        ledger.add(
            before_issue,
            column=label(S.REINSTATEMENT_DATE),
            kind="date_order",
            action=REPAIRED,
            value=reinstated_on,
            detail="reinstatement date is not after the issue date; left blank",
        )
        reinstated_on = reinstated_on.where(~before_issue)
        out[S.REINSTATEMENT_DATE] = reinstated_on
        in_force_again = (status == S.IN_FORCE).fillna(False) & reinstated_on.notna()
        ledger.add(
            in_force_again,
            column=label(S.STATUS),
            kind="status_corrected",
            action=REPAIRED,
            value=out[S.STATUS_RAW],
            detail="status {value} with a reinstatement date: counted as reinstated (in force after a lapse)",
        )
        status = status.where(~in_force_again, S.REINSTATED)
        out[S.STATUS] = status

    # lapse date: the suspension date of lapsed, terminated-after-lapse and reinstated policies
    lapse = out.get(S.LAPSE_DATE, pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"))
    derived_lapse = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]")
    if S.STATUS_DATE in out:
        derived_lapse = derived_lapse.where((status != S.LAPSED).fillna(True), out[S.STATUS_DATE])
        years = pd.DateOffset(years=preset.reinstatement_years)
        terminated = (status == S.TERMINATED_AFTER_LAPSE).fillna(False)
        if terminated.any():
            derived_lapse = derived_lapse.where(~terminated, out[S.STATUS_DATE] - years)
    if S.PAID_TO_DATE in out:
        from_ptd = out[S.PAID_TO_DATE] + grace + pd.Timedelta(days=1)
        # Not for reinstated policies: their paid-to date moved on after the reinstatement.
        lapsing = status.isin([S.LAPSED, S.TERMINATED_AFTER_LAPSE]).fillna(False) & derived_lapse.isna()
        derived_lapse = derived_lapse.where(~lapsing, from_ptd)
    fill = lapse.isna() & derived_lapse.notna() & status.isin([S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED]).fillna(False)
    if fill.any() or S.LAPSE_DATE in out:
        out[S.LAPSE_DATE] = lapse.where(~fill, derived_lapse)
        ledger.note(S.LAPSE_DATE, "derived", int(fill.sum()), "lapse_date_derived", grace=preset.grace_days)
    lapse_now = out.get(S.LAPSE_DATE, pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"))
    no_lapse = (status == S.REINSTATED).fillna(False) & lapse_now.isna()
    ledger.add(
        no_lapse,
        column=label(S.STATUS),
        kind="reinstated_without_lapse",
        action=FLAGGED,
        detail="reinstated but no lapse date is recorded: the lapse episode cannot be placed in time and is not counted as a lapse",
    )
    # 1.1: an exit needs a date, or every study would count the policy as still in force.
    exit_day = out.get(S.STATUS_DATE, pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns]"))
    exit_day = exit_day.where(~status.isin([S.LAPSED, S.TERMINATED_AFTER_LAPSE]).fillna(False), lapse_now.fillna(exit_day))
    exited = status.isin(list(S.EXIT_STATUSES)).fillna(False)
    undated = exited & exit_day.isna()
    if S.OBSERVED_TO in out:
        undated &= out[S.OBSERVED_TO].isna()
    ledger.add(
        undated,
        column=label(S.STATUS),
        kind="exit_without_date",
        action=REJECTED,
        value=out[S.STATUS_RAW],
        detail="status {value} has no status, lapse or paid-to date, so the exit cannot be placed in time",
    )

    # --- assemble ----------------------------------------------------------------
    attributes: list[str] = []
    used_sources = {m.source for m in mapping.values()}
    if duration_column:
        used_sources.add(duration_column)
    for header in headers:
        if header in used_sources:
            continue
        name = header if header not in out else f"{header} (source)"
        out[name] = wide_attributes[header] if header in wide_attributes else ahead.result(("attribute", header), _attribute, cells[header])
        attributes.append(name)

    # study date
    study, study_source = _study_date(study_date, preset, raw, out)
    after = (issue > study).fillna(False)
    ledger.add(
        after,
        column=label(S.ISSUE_DATE),
        kind="after_study_date",
        action=REJECTED,
        value=issue,
        detail=lambda at: "issued " + _fmt_dates(issue.iloc[at]) + f", after the study date {study.date().isoformat()}",
    )

    if S.STATUS_DATE in out:
        late = (out[S.STATUS_DATE] > study).fillna(False)
        ledger.add(
            late,
            column=label(S.STATUS_DATE),
            kind="after_study_date",
            action=FLAGGED,
            value=out[S.STATUS_DATE],
            detail=lambda at: (
                "status date "
                + _fmt_dates(out[S.STATUS_DATE].iloc[at])
                + f" is after the study date {study.date().isoformat()}: the change is not counted"
            ),
        )

    # duplicates, among rows not already rejected
    problems = ledger.frame()
    rejected_pos = set(problems.loc[problems["action"] == REJECTED, "position"].tolist())
    _duplicates(out, rows, ledger, rejected_pos, grain=str(settings.get("grain", "policy")), id_label=label(S.POLICY_ID))
    problems = ledger.frame()
    if raw.other_encoding_rows:
        ledger.note(
            "*", "other_encoding", len(raw.other_encoding_rows), "other_encoding", rows=", ".join(map(str, raw.other_encoding_rows[:20]))
        )

    rejected_mask = np.zeros(n, dtype=bool)
    rejected_mask[problems.loc[problems["action"] == REJECTED, "position"].to_numpy(dtype=np.int64)] = True
    touched = np.zeros(n, dtype=bool)
    touched[problems["position"].to_numpy(dtype=np.int64)] = True
    repaired_mask = touched & ~rejected_mask
    ragged = pd.DataFrame(
        {
            "position": -1,
            "row": [r for r, _ in ragged_rejects],
            "column": "*",
            "kind": "ragged_row",
            "action": REJECTED,
            "value": "",
            "detail": [reason for _, reason in ragged_rejects],
        }
    )
    if len(ragged):
        problems = pd.concat([problems, ragged], ignore_index=True).sort_values(["row", "column"], kind="stable")
    out[S.SOURCE_ROW] = pd.Series(rows, index=cells.index)
    if rejected_mask.any():
        out = _drop_rows(out, rejected_mask, pool)
    else:
        out = {key: pd.Series(value).array for key, value in out.items()}
    # copy=False: the columns are new arrays already; no need to copy them into 2-D blocks.
    policies = pd.DataFrame(out, copy=False)
    skipped_frame = pd.DataFrame(sorted(skipped), columns=["row", "reason"])
    return LoadResult(
        policies=policies,
        rows_read=len(rows) + len(ragged_rejects),
        accepted=int((~touched).sum()),
        repaired=int(repaired_mask.sum()),
        rejected=int(rejected_mask.sum()) + len(ragged_rejects),
        skipped_rows=skipped_frame,
        problems=problems[PROBLEM_COLUMNS].reset_index(drop=True),
        column_notes=pd.DataFrame(ledger.notes, columns=NOTE_COLUMNS),
        mapping=mapping,
        headers=headers,
        attributes=attributes,
        study_date=study,
        study_date_source=study_source,
        status_values=status_values,
        kind=raw.kind,
        encoding=raw.encoding,
        sheet=raw.sheet,
        sheets=raw.sheets,
        header_row=raw.header_row,
        preset=preset,
    )


#: Code columns and their vocabularies (status apart: its vocabulary takes the preset's words).
_CODE_COLUMNS: dict[str, Mapping[str, object]] = {
    S.PAYMENT_FREQUENCY: S.FREQUENCY_ALIASES,
    S.AUTO_DEBIT: S.AUTO_DEBIT_ALIASES,
    S.WAIVER: S.YES_NO_ALIASES,
    S.GENDER: S.GENDER_ALIASES,
}
#: A frequency read back from a number cell ("12.0") is looked up without its ".0".
_CODE_CLEANERS: dict[str, Callable[[pd.Series], pd.Series]] = {S.PAYMENT_FREQUENCY: lambda d: d.str.replace(r"\.0+$", "", regex=True)}
#: Canonical columns kept as stripped text.
_TEXT_COLUMNS = (S.COVERAGE, S.PRODUCT, S.CHANNEL, S.BRANCH, S.AGENT, S.OCCUPATION, S.NAME, S.PHONE)
#: Up to this many runs of kept rows, Arrow columns are filtered as slices of themselves.
_MAX_SLICES = 2000


def _drop_rows(columns: dict[str, Any], dropped: np.ndarray, pool: Executor | None) -> dict[str, Any]:
    """The columns without the ``dropped`` rows, as pandas arrays.

    A few rejected rows in a long extract leave a few long runs of kept rows:
    Arrow columns then become chunked arrays of zero-copy slices, so no text is
    copied, and other columns are joined from their runs. Columns cut into many
    runs are gathered row by row. Columns go a few at a time, on all cores, so
    the unfiltered copy of each is freed as we go.
    """
    import pyarrow as pa

    kept = ~dropped
    edges = np.flatnonzero(np.diff(np.concatenate([[False], kept, [False]]).astype(np.int8)))
    runs = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
    keep_rows = np.flatnonzero(kept)
    result: dict[str, Any] = {}

    def take(key: str) -> Any:
        array = pd.Series(columns[key]).array
        arrow = getattr(array, "_pa_array", None)
        kind: Any = type(array)
        if arrow is not None and len(runs) <= _MAX_SLICES:
            pieces = [chunk for start, stop in runs for chunk in arrow.slice(start, stop - start).chunks]
            return kind(pa.chunked_array(pieces, type=arrow.type))
        if 0 < len(runs) <= _MAX_SLICES:  # a few long runs copy faster than a gather of every row
            return kind._concat_same_type([array[start:stop] for start, stop in runs])
        return array.take(keep_rows)

    keys = list(columns)
    for start in range(0, len(keys), 2 * WORKERS):
        batch = keys[start : start + 2 * WORKERS]
        for key, taken in zip(batch, (pool.map if pool is not None else map)(take, batch)):
            result[key] = taken
            columns[key] = None  # free the unfiltered column
    return result


def _blank_rows(cells: pd.DataFrame) -> np.ndarray:
    """True where every cell of a row is missing; a column without missing cells settles it at once."""
    blank = np.ones(len(cells), dtype=bool) if cells.shape[1] else np.zeros(len(cells), dtype=bool)
    for position in range(cells.shape[1]):
        column = cells.iloc[:, position]
        arrow = getattr(column.array, "_pa_array", None)
        if arrow is not None and arrow.null_count == 0:
            return np.zeros(len(cells), dtype=bool)
        blank &= column.isna().to_numpy(dtype=bool)
        if not blank.any():
            break
    return blank


def _texts(values: np.ndarray) -> pd.Series:
    """Python values as Arrow text (None becomes missing)."""
    return pd.Series(values, dtype=object).astype(TEXT)


def _status_values(statuses: CodeLookup, distinct_statuses: pd.Series, blank: np.ndarray) -> pd.DataFrame:
    """``[value, status, count]``: policies per status as written, most frequent first.

    The same table as ``value_counts()`` of the (stripped value, status) pairs of
    the non-blank rows, counted over the distinct values instead of the rows.
    """
    counts = np.bincount(statuses.codes[~blank], minlength=len(distinct_statuses))
    seen = np.flatnonzero(counts)
    values = stripped_text(statuses.distinct)
    pairs = pd.DataFrame(
        {
            "value": values.iloc[seen[seen < len(values)]].reset_index(drop=True),
            "status": distinct_statuses.iloc[seen[seen < len(values)]].reset_index(drop=True),
            "count": counts[seen[seen < len(values)]],
        }
    )
    table = pairs.groupby(["value", "status"], dropna=True, observed=False)["count"].sum()
    return table.sort_values(ascending=False).rename("count").reset_index()


def footer_rows(column: pd.Series) -> np.ndarray:
    """True where a cell starts with a summary or note word (合计, 小计, 注, total...)."""
    return starts_with_word(column, S.FOOTER_MARKERS)


def _mapping(headers: list[str], preset: MappingPreset) -> dict[str, ColumnMatch]:
    missing = {c: s for c, s in preset.columns.items() if s and s not in headers}
    required_missing = [c for c in missing if c in S.REQUIRED_COLUMNS]
    if required_missing:
        c = required_missing[0]
        raise ExtractError(
            f"The mapping preset maps {c} to {missing[c]!r}, but the file has no such column; "
            f"found: {', '.join(headers[:30])}. Choose the right preset or edit the mapping.",
            code="preset_column_missing",
            canonical=c,
            column=missing[c],
        )
    overrides = {c: s for c, s in preset.columns.items() if c not in missing}
    return resolve_mapping(headers, overrides, auto=bool(preset.settings.get("auto_map", True)))


def _first_invalid(column: pd.Series, parsed: Parsed, rows: np.ndarray) -> tuple[str, int]:
    position = int(np.flatnonzero(parsed.invalid.to_numpy())[0])
    return str(column.iloc[position]), int(rows[position])


def _attribute(column: pd.Series) -> pd.Series:
    """An unmapped source column as a cohort attribute: numbers where all are numbers."""
    if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
        return column
    text = stripped_text(column)
    probe = text.dropna().head(1000)
    if len(probe) == 0 or to_float(probe).isna().any():
        return text
    numbers = to_float(text)
    if text.notna().any() and numbers.notna().sum() == text.notna().sum():
        return numbers.astype("float64")
    return text


#: From this many unmapped columns on (in an extract of at most so many rows), they are
#: read as attributes in one pass.
_WIDE, _WIDE_ROWS = 64, 20_000


def _attributes(cells: pd.DataFrame, headers: list[str]) -> dict[str, pd.Series]:
    """:func:`_attribute` of many text columns at once, on one Arrow array of all their cells.

    Gives what :func:`_attribute` gives column by column (a column that only
    Arrow's lenient cast could read, with ``inf`` or ``nan`` words, is handed to it).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {h: cells[h] for h in headers}
    texts = {h: c for h, c in columns.items() if c.dtype == object or pd.api.types.is_string_dtype(c)}
    if not texts or len(cells) == 0:
        return {}
    n, names = len(cells), list(texts)
    chunks = []
    for h in names:
        array = texts[h].array._pa_array if texts[h].dtype == TEXT else arrow_text(texts[h])
        chunks += [c.cast(pa.large_string()) for c in (array.chunks if isinstance(array, pa.ChunkedArray) else [array])]
    stacked = pa.chunked_array(chunks, type=pa.large_string()).combine_chunks()
    # Per column, as stripped_text decides: strip every value if one needs it, else none.
    needed = strip_needed(pd.Series(pd.arrays.ArrowStringArray(stacked))).reshape(len(names), n).any(axis=1)
    if needed.any():
        trimmed = pc.utf8_trim_whitespace(stacked)
        trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)
        stacked = pc.if_else(pa.array(np.repeat(needed, n)), trimmed, stacked)
    # to_float, value by value: a plain number (its regular expression), cast.
    plain = pc.utf8_trim_whitespace(stacked)
    valid = pc.fill_null(pc.match_substring_regex(plain, PLAIN_NUMBER), False)
    numbers = np.asarray(pc.cast(pc.if_else(valid, plain, pa.scalar(None, pa.large_string())), pa.float64()).to_numpy(zero_copy_only=False))
    present = np.asarray(pc.is_valid(stacked).to_numpy(zero_copy_only=False)).reshape(len(names), n)
    valid_matrix = np.asarray(valid.to_numpy(zero_copy_only=False)).reshape(len(names), n)
    numeric = present.any(axis=1) & (valid_matrix == present).all(axis=1)
    lenient = pc.fill_null(pc.match_substring_regex(plain, r"^[0-9+\-.eEiInNfFtTyYaA()]*$"), True)
    unsure = ~numeric & np.asarray(lenient.to_numpy(zero_copy_only=False)).reshape(len(names), n).all(axis=1)
    result: dict[str, pd.Series] = {}
    for position, header in enumerate(names):
        if unsure[position]:
            continue  # left to _attribute
        part = slice(position * n, (position + 1) * n)
        if numeric[position]:
            result[header] = pd.Series(numbers[part], index=cells.index, dtype="float64")
        else:
            result[header] = pd.Series(pd.arrays.ArrowStringArray(stacked[part.start : part.stop]), index=cells.index, dtype=TEXT)
    return result


_TITLE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|(\d{4})(\d{2})(\d{2})")


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


def _study_date(
    explicit: str | pd.Timestamp | None, preset: MappingPreset, raw: RawTable, policies: dict[str, Any]
) -> tuple[pd.Timestamp, str]:
    for value, origin in ((explicit, "argument"), (preset.settings.get("study_date"), "preset")):
        if value is not None and str(value).strip():
            try:
                return pd.Timestamp(value).normalize(), origin
            except (ValueError, TypeError) as exc:
                raise ExtractError(
                    f"The study date {value!r} is not a date (expected YYYY-MM-DD).", code="bad_study_date", value=str(value)
                ) from exc
    titled = find_title_date(raw.preamble)
    if titled is not None:
        return titled, "title row"
    dates = pd.concat(
        [pd.Series(policies[c]) for c in (S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE, S.OBSERVED_TO) if c in policies]
    ).dropna()
    latest = pd.NaT
    if len(dates):
        # One mistyped year (2099) must not move the study date of the whole file: take the
        # latest date that is not far beyond the bulk of the data.
        bulk = pd.Timestamp(dates.quantile(0.999))
        latest = dates[dates <= bulk + pd.Timedelta(days=31)].max()
    if pd.isna(latest):
        raise ExtractError(
            "The study date cannot be found: no title row names it and the file has no valid dates.", code="bad_study_date", value=""
        )
    return pd.Timestamp(latest), "latest date"


def _duplicates(
    policies: dict[str, Any],
    rows: np.ndarray,
    ledger: _Ledger,
    rejected: set[int],
    *,
    grain: str,
    id_label: str,
) -> None:
    """Reject repeated keys: exact copies, and conflicting rows after the first."""
    if not _may_repeat(policies[S.POLICY_ID]):
        return  # no policy number occurs twice, so no key does
    keys = [S.POLICY_ID] + ([S.COVERAGE] if grain == "policy+coverage" and S.COVERAGE in policies else [])
    size = len(rows)
    alive = np.ones(size, dtype=bool)
    if rejected:
        alive[list(rejected)] = False
    frame = pd.DataFrame({k: policies[k] for k in keys}).loc[alive]
    later = frame.duplicated(keys, keep="first")
    if not later.any():
        return
    group = frame.groupby(keys, sort=False, dropna=False).ngroup()
    first_of_group = frame.index.to_series().groupby(group.to_numpy()).transform("first")
    positions = frame.index.to_numpy()[later.to_numpy()]
    pointers = first_of_group.to_numpy()[later.to_numpy()]
    compare = [c for c in policies if c != S.SOURCE_ROW]
    differs = pd.DataFrame({c: ~(_same(policies[c].to_numpy()[positions], policies[c].to_numpy()[pointers])) for c in compare})
    diff_names = differs.apply(lambda r: ", ".join(r.index[r.to_numpy()]), axis=1) if len(differs) else pd.Series(dtype=str)
    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    first_rows = pd.Series(rows[pointers], index=positions)
    detail_exact = pd.Series("", index=range(size), dtype=TEXT)
    exact = (diff_names == "").to_numpy()
    detail_exact.iloc[positions[exact]] = "exact copy of row " + first_rows[positions[exact]].astype(str).to_numpy()
    detail_conflict = pd.Series("", index=range(size), dtype=TEXT)
    hint = "" if len(keys) > 1 else "; if the extract has one row per coverage, choose the grain policy+coverage"
    detail_conflict.iloc[positions[~exact]] = (
        "same policy number as row "
        + first_rows[positions[~exact]].astype(str).to_numpy()
        + " but different "
        + diff_names[~exact].to_numpy().astype(str)
        + hint
    )
    exact_mask = np.zeros(size, dtype=bool)
    exact_mask[positions[exact]] = True
    conflict_mask = mask & ~exact_mask
    ledger.add(exact_mask, column=id_label, kind="duplicate", action=REJECTED, detail=lambda at: detail_exact.iloc[at])
    ledger.add(conflict_mask, column=id_label, kind="conflicting_duplicate", action=REJECTED, detail=lambda at: detail_conflict.iloc[at])


def _may_repeat(ids: pd.Series) -> bool:
    """False only when no value occurs twice (two missing values count as a repeat).

    Policy numbers of up to 18 digits are compared as integers, which hashes far
    faster than text; leading zeros are allowed when all numbers are as long.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from analysis.ingest.parsing import arrow_text

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
        if longest <= 18 and pc.all(pc.ascii_is_decimal(array)).as_py():
            if shortest == longest or not pc.any(pc.starts_with(array, "0")).as_py():
                numbers = np.asarray(pc.cast(array, pa.int64()).to_numpy())
                if len(numbers) < 2 or bool((numbers[1:] > numbers[:-1]).all()):
                    return False  # in increasing order, as extracts often are: no repeats
                return bool(pd.Series(numbers).duplicated().any())
    return bool(present.duplicated().any())


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left, right = pd.Series(a), pd.Series(b)
    both_missing = left.isna().to_numpy() & right.isna().to_numpy()
    equal = (left.astype(object) == right.astype(object)).fillna(False).to_numpy(dtype=bool)
    return equal | both_missing
