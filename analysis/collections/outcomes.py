"""Outcomes of the calls: recorded one by one (a form, the command line) or imported from a file, listed, never overwritten.

An outcome is a code of :data:`OUTCOMES` — ``reached`` (spoke to the customer, nothing agreed
yet), ``paid`` (the premium was paid), ``promised`` (promised to pay), ``refused`` (will not
pay) and ``unreachable`` (no answer, wrong number) — with its date, a note, the lever used
(a code of :data:`analysis.risk.actions.LEVERS`, optional), who recorded it (the signed-in
user when sign-in is on) and when. Each is kept with the assignee the policy had at that
moment, so the outcomes view credits the agent who made the call even after a reassignment.

**Import** (:func:`read_outcomes`, then :func:`match_outcomes`): a CSV or Excel file of
recorded outcomes goes through the door's side-table conventions
(:mod:`analysis.ingest.side_tables`): headers in Chinese or English (those of the export
too), outcome and lever written as codes or in words, and a row account in which every row
ends ``accepted``, ``repaired`` or ``rejected`` with its row number and reason
(:data:`REASONS`). A policy number not in the book is rejected as ``not_in_book`` and listed,
never silently dropped; a row already recorded (same policy, outcome and date; the note is
not compared, since an export masks the numbers in it) is ``duplicate``, so importing a file
— or an export — twice records it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from analysis import schema as S
from analysis.collections.database import ASSIGNMENTS, Store, raw, read_frame
from analysis.collections.database import OUTCOMES as OUTCOME_TABLE
from analysis.collections.queue import blank, nullable
from analysis.errors import ExtractError
from analysis.ingest.headers import header_key
from analysis.ingest.parsing import parse_dates, parse_ids
from analysis.ingest.side_tables import ACCEPTED, REJECTED, REPAIRED, read_side_cells, row_outcomes, side_text
from analysis.risk.actions import LEVERS

#: The outcome codes, and those that mean the customer was spoken to.
REACHED, PAID, PROMISED, REFUSED, UNREACHABLE = "reached", "paid", "promised", "refused", "unreachable"
OUTCOMES: Final = (REACHED, PAID, PROMISED, REFUSED, UNREACHABLE)
REACHED_OUTCOMES: Final = frozenset({REACHED, PAID, PROMISED, REFUSED})
#: Where an outcome was recorded.
SOURCES: Final = ("form", "import", "cli")
#: The columns an outcome is recorded with, and those a listing adds.
RECORD_COLUMNS: Final = (S.POLICY_ID, "outcome", "outcome_date", "lever", "note")
LISTED_COLUMNS: Final = (*RECORD_COLUMNS, "assignee", "recorded_by", "recorded_at", "recorded_via")
#: Headers recognised in an outcomes file, besides the catalogue's column labels (both languages).
OUTCOME_HEADERS: Final = {
    S.POLICY_ID: ("保单号", "保单合同号", "合同号", "保单编号", "policy_id", "policy_no", "policy_number", "policy"),
    "outcome": ("结果", "跟进结果", "催收结果", "联系结果", "outcome", "result"),
    "outcome_date": ("日期", "跟进日期", "联系日期", "结果日期", "outcome_date", "date"),
    "lever": ("措施", "采取措施", "lever", "action"),
    "note": ("备注", "说明", "note", "notes", "remark"),
    "recorded_by": ("记录人", "recorded_by", "by"),
}
REQUIRED: Final = (S.POLICY_ID, "outcome", "outcome_date")
#: Words (besides the codes and the catalogue's words) that name each outcome in a file.
OUTCOME_WORDS: Final = {
    REACHED: ("已联系", "已接通", "联系上", "接通"),
    PAID: ("已缴费", "已缴", "已交费", "已交"),
    PROMISED: ("承诺缴费", "承诺", "答应缴费"),
    REFUSED: ("拒绝", "拒缴", "不缴"),
    UNREACHABLE: ("联系不上", "无法联系", "未接通", "无人接听", "空号"),
}
#: The reason codes of the import's row account.
REASONS: Final = (
    "id_float_tail",
    "bad_lever",
    "id_precision_lost",
    "blank_policy_id",
    "bad_outcome",
    "bad_outcome_date",
    "duplicate",
    "not_in_book",
)
ACCOUNT_COLUMNS: Final = ("row", S.POLICY_ID, "outcome", "outcome_date", "result", "reason")


def _codes(values: pd.Series, words: dict[str, set[str]]) -> pd.Series:
    """Each cell's code (by :func:`header_key` of code or word); missing when blank or unknown."""
    lookup = {header_key(word): code for code, names in words.items() for word in names}
    positions, distinct = pd.factorize(values.astype("string"), use_na_sentinel=True)
    codes = np.array([lookup.get(header_key(word)) for word in distinct] + [None], dtype=object)
    return pd.Series(codes[positions], index=values.index, dtype=object)


def outcome_words() -> dict[str, set[str]]:
    """Every way an outcome may be written: its code, :data:`OUTCOME_WORDS`, the catalogue's words in both languages."""
    from analysis.collections.words import outcome_text
    from analysis.report.catalogue import LANGUAGES

    return {code: {code, *OUTCOME_WORDS[code], *(outcome_text(code, lang) for lang in LANGUAGES)} for code in OUTCOMES}


def lever_words() -> dict[str, set[str]]:
    """Every way a lever may be written: its code or the catalogue's words in both languages."""
    from analysis.report.catalogue import LANGUAGES
    from analysis.risk.words import lever_text

    return {code: {code, *(lever_text(code, lang) for lang in LANGUAGES)} for code in LEVERS}


def checked_records(records: pd.DataFrame) -> pd.DataFrame:
    """Outcomes to record, checked: :data:`RECORD_COLUMNS` (``lever`` and ``note`` optional), codes as given.

    Raises
    ------
    ExtractError
        ``queue``: ``blank_policy_id``, ``bad_outcome`` (not a code of :data:`OUTCOMES`),
        ``bad_outcome_date``, ``bad_lever`` (not a code of :data:`~analysis.risk.actions.LEVERS`).
    """
    out = pd.DataFrame({c: records[c] if c in records else None for c in RECORD_COLUMNS}, index=records.index)
    ids = out[S.POLICY_ID].astype("string").str.strip()
    if ids.isna().any() or (ids == "").any():
        raise ExtractError("queue", reason="blank_policy_id")
    out[S.POLICY_ID] = ids.astype(str)
    unknown = sorted({str(v) for v in out["outcome"] if v not in OUTCOMES})
    if unknown:
        raise ExtractError("queue", reason="bad_outcome", value=", ".join(unknown), allowed=", ".join(OUTCOMES))
    dates = pd.to_datetime(out["outcome_date"], errors="coerce")
    if dates.isna().any():
        raise ExtractError("queue", reason="bad_outcome_date", policy=out.loc[dates.isna(), S.POLICY_ID].iloc[0])
    out["outcome_date"] = [d.date() for d in dates]
    levers = nullable(out["lever"])
    wrong = sorted({str(v) for v in levers.dropna() if v not in LEVERS})
    if wrong:
        raise ExtractError("queue", reason="bad_lever", value=", ".join(wrong), allowed=", ".join(LEVERS))
    out["lever"] = levers
    out["note"] = [None if n is None else str(n).strip() for n in nullable(out["note"])]
    return out


def record_outcomes(store: Store, records: pd.DataFrame, *, at: dt.datetime, by: str | None = None, source: str = "form") -> int:
    """Record outcomes (:func:`checked_records` first); return how many.

    ``at`` is when (UTC), ``by`` who recorded them (the signed-in user, None when sign-in is
    off; a ``recorded_by`` column in ``records`` wins row by row, as an import carries it),
    ``source`` one of :data:`SOURCES`. Each outcome keeps the policy's assignee of the moment,
    read in the same transaction.
    """
    checked = checked_records(records)
    if checked.empty:
        return 0
    who = records["recorded_by"] if "recorded_by" in records else pd.Series(None, index=records.index, dtype=object)
    recorders = [by if blank(v) else str(v).strip() for v in who.astype(object)]
    with store.engine.begin() as connection:
        ids = sorted(set(checked[S.POLICY_ID]))
        held = dict(
            connection.execute(sa.select(ASSIGNMENTS.c.policy_id, ASSIGNMENTS.c.assignee).where(ASSIGNMENTS.c.policy_id.in_(ids))).all()
        )
        rows = [
            {str(k): None if blank(v) else v for k, v in record.items()}
            | {"assignee": held.get(record[S.POLICY_ID]), "recorded_by": recorder, "recorded_at": at, "recorded_via": source}
            for record, recorder in zip(checked.to_dict("records"), recorders)
        ]
        connection.execute(OUTCOME_TABLE.insert(), rows)
    return len(rows)


def list_outcomes(store: Store, *, policy_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The outcomes recorded (:data:`LISTED_COLUMNS`), by outcome date then as recorded; of ``policy_ids`` when given."""
    query = sa.select(*(raw(OUTCOME_TABLE.c[c]) for c in LISTED_COLUMNS)).order_by(OUTCOME_TABLE.c.outcome_date, OUTCOME_TABLE.c.id)
    if policy_ids is not None:
        query = query.where(OUTCOME_TABLE.c.policy_id.in_([str(p) for p in policy_ids]))
    return read_frame(store, query, dates=("outcome_date", "recorded_at"))


@dataclass(frozen=True)
class OutcomeImport:
    """A read outcomes file.

    Attributes
    ----------
    outcomes : DataFrame
        The kept rows: :data:`RECORD_COLUMNS`, ``recorded_by`` (blank unless the file has it) and ``row``.
    account : DataFrame
        One row per source row: :data:`ACCOUNT_COLUMNS` (``result`` is accepted / repaired / rejected).
    headers : dict
        Column → the file's own header.
    matched : bool
        Whether :func:`match_outcomes` has checked it against the book and the database.
    """

    outcomes: pd.DataFrame
    account: pd.DataFrame
    headers: dict[str, str]
    matched: bool = False

    def counts(self) -> dict[str, int]:
        """Rows by result and by reason: ``{"rows": n, "accepted": …, "repaired": …, "rejected": …, <reason>: …}``."""
        out = {"rows": len(self.account)}
        out.update({o: int((self.account["result"] == o).sum()) for o in (ACCEPTED, REPAIRED, REJECTED)})
        reasons = self.account["reason"].dropna().astype(str).value_counts()
        out.update({reason: int(reasons[reason]) for reason in REASONS if reason in reasons})
        return out

    def not_in_book(self) -> pd.DataFrame:
        """The rows whose policy number is not in the book (after :func:`match_outcomes`)."""
        return self.account[self.account["reason"] == "not_in_book"].reset_index(drop=True)


def _headers() -> dict[str, tuple[str, ...]]:
    from analysis.report.catalogue import LANGUAGES, column_label

    return {c: (*words, *(column_label(c, lang) for lang in LANGUAGES)) for c, words in OUTCOME_HEADERS.items()}


def read_outcomes(source: bytes | str | Path, *, filename: str | None = None, sheet: str | int | None = None) -> OutcomeImport:
    """Read recorded outcomes (CSV or Excel) through the guard, with the row account.

    Raises
    ------
    ExtractError
        ``queue_import`` (``missing_columns``: no policy-number, outcome or date column;
        ``no_rows``: no row can be recorded); the door's refusals of a file it cannot read.
    """
    cells, rows, from_workbook = read_side_cells(source, filename=filename, sheet=sheet)
    headers, text, missing = side_text(cells, _headers(), REQUIRED)
    if missing:
        raise ExtractError("queue_import", reason="missing_columns", **missing)
    empty = pd.Series(pd.NA, index=cells.index, dtype="string")
    ids, stripped, mangled = parse_ids(text[S.POLICY_ID], from_workbook=from_workbook)
    frame = pd.DataFrame({S.POLICY_ID: ids.str.strip().replace("", pd.NA)}, index=cells.index)
    frame["outcome"] = _codes(text["outcome"], outcome_words())
    frame["outcome_date"] = parse_dates(text["outcome_date"]).values
    lever_text = text.get("lever", empty)
    frame["lever"] = _codes(lever_text, lever_words())
    frame["note"] = nullable(text.get("note", empty))
    frame["recorded_by"] = nullable(text.get("recorded_by", empty))
    frame["row"] = rows
    bad_lever = (frame["lever"].isna() & lever_text.notna()).to_numpy(dtype=bool)
    blank_id = frame[S.POLICY_ID].isna().to_numpy(dtype=bool)
    bad_outcome = frame["outcome"].isna().to_numpy(dtype=bool)
    bad_date = frame["outcome_date"].isna().to_numpy(dtype=bool)
    usable = ~(blank_id | bad_outcome | bad_date | mangled.to_numpy(dtype=bool))
    duplicate = np.zeros(len(frame), dtype=bool)
    keys = frame.loc[usable, [S.POLICY_ID, "outcome", "outcome_date"]].astype(str)
    duplicate[np.flatnonzero(usable)] = keys.duplicated(keep="first").to_numpy()
    result, reason = row_outcomes(
        cells.index,
        [("id_float_tail", stripped.to_numpy(dtype=bool)), ("bad_lever", bad_lever)],
        [
            ("id_precision_lost", mangled.to_numpy(dtype=bool)),
            ("blank_policy_id", blank_id),
            ("bad_outcome", bad_outcome),
            ("bad_outcome_date", bad_date),
            ("duplicate", duplicate),
        ],
    )
    account = pd.DataFrame(
        {"row": rows, S.POLICY_ID: frame[S.POLICY_ID], "outcome": text["outcome"], "outcome_date": text["outcome_date"]}, index=cells.index
    ).assign(result=result, reason=reason)
    kept = frame[(result != REJECTED).to_numpy()]
    if kept.empty:
        raise ExtractError("queue_import", reason="no_rows", rows=len(frame))
    return OutcomeImport(kept.reset_index(drop=True), account.reset_index(drop=True), headers)


def match_outcomes(imported: OutcomeImport, book_ids: Iterable[Any], *, recorded: pd.DataFrame | None = None) -> OutcomeImport:
    """The import checked against the book's policy numbers and the outcomes already ``recorded``.

    A row whose policy number is not among ``book_ids`` (compared as text, as written) is
    rejected ``not_in_book`` and listed by :meth:`OutcomeImport.not_in_book`; a row equal to a
    recorded outcome in policy, outcome and date is rejected ``duplicate``.
    """
    kept = imported.outcomes
    known = set(pd.Series(list(book_ids), dtype="string").dropna().astype(str))
    absent = ~kept[S.POLICY_ID].astype(str).isin(known).to_numpy()
    seen = set()
    if recorded is not None and not recorded.empty:
        seen = set(zip(recorded[S.POLICY_ID].astype(str), recorded["outcome"], pd.to_datetime(recorded["outcome_date"])))
    again = (
        np.array(
            [(p, o, pd.Timestamp(d)) in seen for p, o, d in zip(kept[S.POLICY_ID].astype(str), kept["outcome"], kept["outcome_date"])],
            dtype=bool,
        )
        & ~absent
    )
    account = imported.account.copy()
    position = pd.Series(np.arange(len(account)), index=account["row"].to_numpy())
    for code, hit in (("not_in_book", absent), ("duplicate", again)):
        at = position.reindex(kept.loc[hit, "row"].to_numpy()).to_numpy(dtype=np.int64)
        account.loc[at, "reason"] = code
        account.loc[at, "result"] = REJECTED
    return replace(imported, outcomes=kept[~(absent | again)].reset_index(drop=True), account=account, matched=True)


def import_outcomes(store: Store, imported: OutcomeImport, *, at: dt.datetime, by: str | None = None) -> int:
    """Record a matched import's kept rows (source ``import``); return how many.

    Raises
    ------
    ExtractError
        ``queue_import`` (``not_matched``) when :func:`match_outcomes` has not checked it.
    """
    if not imported.matched:
        raise ExtractError("queue_import", reason="not_matched")
    return record_outcomes(store, imported.outcomes, at=at, by=by, source="import")
