"""The door's data-quality checks on typed columns, run in the engine for a database or Parquet source.

The same rules as :mod:`analysis.ingest.checks` and :mod:`analysis.ingest.dating`, written
as engine expressions, with the door's problem kinds (:data:`~analysis.ingest.ledger.PROBLEM_KINDS`)
so the account reads in the same words:

* required fields missing (``missing_required``), dates and numbers that do not read;
* the logic of dates: a status date before the issue date rejects the row, a reinstatement
  date not after it is left blank, an in-force policy with a reinstatement date counts as
  reinstated (``date_order``, ``status_corrected``);
* the study date (the preset's, else the door's rule for an inferred date, on the counts of
  each date computed in the engine); a policy issued after it is rejected, a later status,
  lapse or reinstatement date flagged (``date_after_study``);
* the lapse date of lapsed and terminated policies from the status date, as the door derives
  it; an exit left without any date is rejected (``exit_without_date``);
* repeated policy numbers among the rows still kept: an exact copy (``duplicate``) or a
  conflicting row (``conflicting_duplicate``), the first kept (by ``source_row`` when the
  source has one).

Rows the door would reject are left out of the canonical table, so the figures match the
file route. The account gives counts by reason and the first :data:`SOURCE_ROW_SAMPLE` rows of each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Final

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import run, scalar
from analysis.engine.source_columns import WORK, Flag, Typed, src
from analysis.errors import ExtractError
from analysis.ingest.dating import LAPSED_STATUSES
from analysis.ingest.ledger import FLAGGED, PROBLEM_COLUMNS, REJECTED, REPAIRED, params_text
from analysis.ingest.presets import MappingPreset
from analysis.ingest.study_date import (
    _BEYOND_BULK_DAYS,
    _BULK_QUANTILE,
    ARGUMENT,
    INFERRED,
    ISOLATING_GAP_DAYS,
    JUDGED_FROM,
    PRESET,
    SUPPORT_DATES,
    StudyDate,
)

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

#: The account keeps the first this many rows of each reason.
SOURCE_ROW_SAMPLE: Final = 1000
#: The dates a study date is inferred from, as written (the paid-to date never).
_INFERRED_FROM: Final = (S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE)


@dataclass(frozen=True)
class SourceAccount:
    """The account of a source read in the engine: ``rows_read == accepted + repaired + rejected``.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``[kind, variant, action, column, rows]``: rows per reason (the door's problem kinds).
    problems : pandas.DataFrame
        The first :data:`SOURCE_ROW_SAMPLE` rows of each reason, in the door's
        ``PROBLEM_COLUMNS`` (``row`` is the source row when the source has one, else 0) and ``policy_id``.
    status_values : pandas.DataFrame
        ``[value, status, count]``: policies per status word as written (``unmapped`` where unknown).
    """

    rows_read: int
    accepted: int
    repaired: int
    rejected: int
    counts: pd.DataFrame
    problems: pd.DataFrame
    status_values: pd.DataFrame
    study_date_source: str
    study_date_column: str = ""
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def unmapped_statuses(self) -> dict[str, int]:
        """Status words the vocabulary and the preset do not know, with their policies."""
        words = self.status_values[self.status_values["status"] == S.UNMAPPED]
        return {str(v): int(c) for v, c in zip(words["value"], words["count"])}


def _flag(typed: Typed, flag: Flag, mask: ir.BooleanValue, **params: object) -> None:
    """Add a flag column (``mask``, missing counted as false) and record it."""
    typed.table = typed.table.mutate(**{flag.column: mask.fill_null(False)})
    flag.params.update(params)  # each a value the same for every row, or the name of a column of the table
    typed.flags.append(flag)


def check_dates(typed: Typed) -> None:
    """A status date before the issue date, a reinstatement date not after it, an in-force policy reinstated."""
    t = typed.table
    issue = t[S.ISSUE_DATE]
    if S.STATUS_DATE in t.columns:
        flag = Flag("date_order", S.STATUS_DATE, REJECTED, typed.label(S.STATUS_DATE), f"{WORK}order_status", S.STATUS_DATE)
        _flag(typed, flag, t[S.STATUS_DATE] < issue, issue=S.ISSUE_DATE)
    if S.REINSTATEMENT_DATE not in t.columns:
        return
    t = typed.table
    blank = f"{WORK}order_reinstated"
    _flag(
        typed,
        Flag("date_order", S.REINSTATEMENT_DATE, REPAIRED, typed.label(S.REINSTATEMENT_DATE), blank, src(S.REINSTATEMENT_DATE)),
        t[S.REINSTATEMENT_DATE] <= issue,
    )
    t = typed.table
    typed.table = t.mutate(**{S.REINSTATEMENT_DATE: t[blank].ifelse(ibis.null("date"), t[S.REINSTATEMENT_DATE])})
    t = typed.table
    again = f"{WORK}status_corrected"
    _flag(
        typed,
        Flag("status_corrected", "", REPAIRED, typed.label(S.STATUS), again, S.STATUS_RAW),
        (t[S.STATUS] == S.IN_FORCE) & t[S.REINSTATEMENT_DATE].notnull(),
    )
    t = typed.table
    typed.table = t.mutate(**{S.STATUS: t[again].ifelse(ibis.literal(S.REINSTATED), t[S.STATUS])})


def settle_study_date(backend: BaseBackend, typed: Typed, preset: MappingPreset, given: object) -> StudyDate:
    """The study date: given, the preset's, else the door's rule for an inferred date on the engine's counts of each date.

    Raises
    ------
    ExtractError
        ``bad_study_date`` when a given date is not a date, or the source holds no date at all.
    """
    for value, origin in ((given, ARGUMENT), (preset.settings.get("study_date"), PRESET)):
        if value is not None and str(value).strip():
            try:
                return StudyDate(pd.Timestamp(value).normalize(), origin)  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                raise ExtractError("bad_study_date", reason="not_a_date", value=repr(value)) from exc
    t = typed.table
    present = [c for c in _INFERRED_FROM if c in t.columns]
    parts = [t.select(day=t[c]).filter(lambda p: p.day.notnull()) for c in present]
    pooled = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
    counts = run(backend, pooled.group_by("day").aggregate(n=lambda p: p.count()))
    latest = inferred_from_counts(pd.to_datetime(counts["day"]).to_numpy(dtype="datetime64[ns]"), counts["n"].to_numpy(dtype=np.int64))
    if latest is None:
        raise ExtractError("bad_study_date", reason="not_found")
    day = latest.date()
    named = next(c for c in present if int(scalar(backend, t.filter(t[c] == day).count())) > 0)
    return StudyDate(latest, INFERRED, typed.label(named))


def inferred_from_counts(days: np.ndarray, counts: np.ndarray) -> pd.Timestamp | None:
    """:func:`~analysis.ingest.study_date.inferred_study_date` on dates given as (day, how many): the same rule, without the rows.

    Examples
    --------
    >>> days = np.array(["2024-01-01", "2024-06-30", "2025-05-01"], dtype="datetime64[ns]")
    >>> str(inferred_from_counts(days, np.array([40, 30, 1])).date())
    '2024-06-30'
    """
    order = np.argsort(days)
    days, counts = days[order], counts[order]
    total = int(counts.sum())
    if total == 0:
        return None
    if total < JUDGED_FROM:
        return pd.Timestamp(days[-1])
    cumulative = np.cumsum(counts)
    position = _BULK_QUANTILE * (total - 1)  # pandas' linear quantile over the sorted dates
    low, high = int(np.floor(position)), int(np.ceil(position))

    def at(rank: int) -> np.int64:
        return np.int64(days[np.searchsorted(cumulative, rank, side="right")].astype(np.int64))

    quantile = at(low) + (at(high) - at(low)) * (position - low)
    bulk = pd.Timestamp(int(quantile)) + pd.Timedelta(days=_BEYOND_BULK_DAYS)
    inside = days <= np.datetime64(bulk.to_datetime64())
    days, counts = days[inside], counts[inside]
    from_here_on = np.cumsum(counts[::-1])[::-1]
    gap_before = np.diff(days, prepend=days[0]) > np.timedelta64(ISOLATING_GAP_DAYS, "D")
    isolated = np.flatnonzero(gap_before & (from_here_on < SUPPORT_DATES))
    last = isolated[0] - 1 if len(isolated) else len(days) - 1
    return pd.Timestamp(days[last])


def check_study_date(typed: Typed, study: pd.Timestamp) -> None:
    """Dates after the study date: a policy issued after it rejected; a later status, lapse or reinstatement date flagged."""
    day, text = ibis.literal(study.date()), study.date().isoformat()
    for column, action in ((S.ISSUE_DATE, REJECTED), (S.STATUS_DATE, FLAGGED), (S.LAPSE_DATE, FLAGGED), (S.REINSTATEMENT_DATE, FLAGGED)):
        if column in typed.table.columns:
            flag = Flag("date_after_study", column, action, typed.label(column), f"{WORK}after_{column}", column)
            _flag(typed, flag, typed.table[column] > day, study=text)


def date_exits(typed: Typed, preset: MappingPreset) -> None:
    """The lapse date of lapsed and terminated policies from the status date, and exits no date places rejected."""
    t = typed.table
    status = t[S.STATUS]
    lapse = t[S.LAPSE_DATE] if S.LAPSE_DATE in t.columns else ibis.null("date")
    if S.STATUS_DATE in t.columns:
        terminated_lapse = t[S.STATUS_DATE].cast("date") - ibis.interval(years=preset.reinstatement_years)
        derived = ibis.cases(
            (status == S.LAPSED, t[S.STATUS_DATE]), (status == S.TERMINATED_AFTER_LAPSE, terminated_lapse), else_=ibis.null("date")
        )
        typed.table = t.mutate(**{S.LAPSE_DATE: lapse.fill_null(derived).cast("date")})
    elif S.LAPSE_DATE not in t.columns:
        typed.table = t.mutate(**{S.LAPSE_DATE: ibis.null("date")})
    t = typed.table
    exit_day = t[S.STATUS_DATE] if S.STATUS_DATE in t.columns else ibis.null("date")
    lapsed = status.isin(list(LAPSED_STATUSES))
    exit_day = lapsed.ifelse(t[S.LAPSE_DATE].fill_null(exit_day), exit_day)
    undated = status.isin(list(S.EXIT_STATUSES)) & exit_day.isnull() & ~_rejected_so_far(typed)
    label = typed.label(S.STATUS)
    _flag(typed, Flag("exit_without_date", "no_lapse_or_paid_to", REJECTED, label, f"{WORK}undated_lapse", S.STATUS_RAW), undated & lapsed)
    _flag(typed, Flag("exit_without_date", "no_status_or_paid_to", REJECTED, label, f"{WORK}undated_exit", S.STATUS_RAW), undated & ~lapsed)


def _rejected_so_far(typed: Typed) -> ir.BooleanValue:
    masks = [typed.table[f.column] for f in typed.flags if f.action == REJECTED]
    rejected: ir.BooleanValue = ibis.literal(False)
    for mask in masks:
        rejected = rejected | mask
    return rejected


#: Each row's number where the engine gives one (DuckDB's ``rowid``, see
#: :func:`~analysis.engine.sources.materialise`): the key the duplicate check's marks are joined back on.
ROW_KEY: Final = f"{WORK}row"


def check_duplicates(typed: Typed, preset: MappingPreset, compared: list[str], keep: Callable[[ir.Table], ir.Table] | None = None) -> None:
    """Repeated keys among the rows still kept: an exact copy of the first row, or a conflicting row after it.

    The first row of each policy is the first by ``source_row`` when the source has one, else by
    the row's signature (its compared cells); a later row with the same signature is a copy, any
    other a conflict. Only the policies that appear more than once among the rows still kept go
    through the window, on their own columns; every other row is no duplicate. Where the rows are
    numbered (:data:`ROW_KEY`) and ``keep`` stores a table, the marked rows (few) are stored
    apart and joined back on their number, so the wide table is read once; otherwise (Spark) the
    marked and the other rows are put together again. A window over the whole table, which
    carries every source, text, flag and canonical column (about a hundred), made DuckDB sort all
    of them: opening a 5,000,000-row Parquet book took 88 s, 67 of them in that step.
    """
    alive, signature_column = f"{WORK}alive", f"{WORK}sig"
    t = typed.table.mutate(**{alive: ~_rejected_so_far(typed)})
    keys = [S.POLICY_ID] + ([S.COVERAGE] if preset.settings.get("grain") == "policy+coverage" and S.COVERAGE in t.columns else [])
    living = t.filter(t[alive])
    repeated = living.group_by(keys).aggregate(**{f"{WORK}n": living.count()}).filter(lambda g: g[f"{WORK}n"] > 1).select(*keys)
    same_key = [living[k].identical_to(repeated[k]) for k in keys]  # a blank coverage is a key too, as in a window
    rows = living.semi_join(repeated, same_key)
    pieces = [rows[c].cast("string").fill_null("\x00") for c in compared]
    signature = pieces[0].concat(*[ibis.literal("\x1f").concat(p) for p in pieces[1:]]) if len(pieces) > 1 else pieces[0]
    rows = rows.mutate(**{signature_column: signature})
    window = ibis.window(group_by=[rows[k] for k in keys], order_by=[rows[typed.order or signature_column]])
    later = ibis.row_number().over(window) > 0
    same = rows[signature_column] == rows[signature_column].first().over(window)
    duplicate, conflict, ref = f"{WORK}duplicate", f"{WORK}conflict", f"{WORK}ref"
    marks: dict[str, ir.Value] = {duplicate: later & same, conflict: later & ~same}
    if typed.order:
        marks[ref] = rows[typed.order].first().over(window)
    if keep is not None and ROW_KEY in t.columns:
        marked = keep(rows.select(ROW_KEY, **marks).filter(lambda m: m[duplicate] | m[conflict]))
        joined = t.left_join(marked, t[ROW_KEY] == marked[ROW_KEY])
        typed.table = joined.select(*[t[c] for c in t.columns], *[marked[c].name(c) for c in marks])
    else:
        unmarked: dict[str, ir.Value] = {duplicate: ibis.literal(False), conflict: ibis.literal(False)}
        if typed.order:
            unmarked[ref] = ibis.null(t[typed.order].type())
        once = living.anti_join(repeated, same_key)
        parts = [rows.mutate(**marks), once.mutate(**unmarked), t.filter(~t[alive]).mutate(**unmarked)]
        typed.table = ibis.union(*[part.select(*t.columns, *marks) for part in parts])
    t = typed.table
    label = typed.label(S.POLICY_ID)
    variant = "policy_coverage" if len(keys) > 1 else "policy"
    at = ref if typed.order else 0
    _flag(typed, Flag("duplicate", "", REJECTED, label, duplicate), t[duplicate], ref=at)
    _flag(typed, Flag("conflicting_duplicate", variant, REJECTED, label, conflict), t[conflict], ref=at, columns=[])


def account(backend: BaseBackend, typed: Typed, study: StudyDate) -> tuple[SourceAccount, ir.BooleanValue]:
    """Counts by reason, the first rows of each, and the row account; with the mask of the rows to leave out."""
    t = typed.table
    rejected = _rejected_so_far(typed)
    touched: ir.BooleanValue = ibis.literal(False)
    for flag in typed.flags:
        touched = touched | t[flag.column]
    sums = {f"n{i}": t[f.column].cast("int64").sum() for i, f in enumerate(typed.flags)}
    totals = run(
        backend, t.aggregate(rows=t.count(), rejected=rejected.cast("int64").sum(), touched=touched.cast("int64").sum(), **sums)
    ).iloc[0]
    rows, n_rejected, n_touched = int(totals["rows"]), int(totals["rejected"] or 0), int(totals["touched"] or 0)
    counts = pd.DataFrame(
        [(f.kind, f.variant, f.action, f.label, int(totals[f"n{i}"] or 0)) for i, f in enumerate(typed.flags)],
        columns=["kind", "variant", "action", "column", "rows"],
    )
    counts = counts[counts["rows"] > 0].reset_index(drop=True)
    problems = _samples(backend, typed, [f for i, f in enumerate(typed.flags) if int(totals[f"n{i}"] or 0) > 0])
    status_values = _status_values(backend, t, rejected)
    result = SourceAccount(
        rows_read=rows,
        accepted=rows - n_touched,
        repaired=n_touched - n_rejected,
        rejected=n_rejected,
        counts=counts,
        problems=problems,
        status_values=status_values,
        study_date_source=study.source,
        study_date_column=study.column,
        mapping={c: m.source for c, m in typed.mapping.items()},
    )
    return result, rejected


def _samples(backend: BaseBackend, typed: Typed, flags: list[Flag]) -> pd.DataFrame:
    """The first :data:`SOURCE_ROW_SAMPLE` rows of each reason, as the door's problems (with the policy number)."""
    t = typed.table
    frames = []
    for flag in flags:
        params = flag.params
        columns = {"policy_id": t[S.POLICY_ID], "row": t[typed.order].cast("int64") if typed.order else ibis.literal(0, "int64")}
        if flag.value is not None:
            columns["value"] = t[flag.value].cast("string")
        for name, value in params.items():
            if isinstance(value, str) and value in t.columns:
                columns[f"p_{name}"] = t[value].cast("string")
        picked = t.filter(t[flag.column]).select(**columns)
        picked = picked.order_by(["row", "policy_id"]).limit(SOURCE_ROW_SAMPLE)
        rows = run(backend, picked)
        texts = []
        for record in rows.to_dict(orient="records"):
            given = {name: (record[f"p_{name}"] if f"p_{name}" in record else value) for name, value in params.items()}
            texts.append(params_text(**{k: (str(v)[:10] if k in ("issue",) else v) for k, v in given.items()}))
        frames.append(
            pd.DataFrame(
                {
                    "row": rows["row"].to_numpy(dtype=np.int64),
                    "column": flag.label,
                    "kind": flag.kind,
                    "action": flag.action,
                    "value": rows["value"].fillna("").astype(str).str.slice(0, 10 if flag.kind == "date_after_study" else None)
                    if "value" in rows
                    else "",
                    "variant": flag.variant,
                    "params": texts,
                    "policy_id": rows["policy_id"].astype(object),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=[*PROBLEM_COLUMNS, "policy_id"])
    return pd.concat(frames, ignore_index=True).sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def _status_values(backend: BaseBackend, t: ir.Table, rejected: ir.BooleanValue) -> pd.DataFrame:
    """Policies per status word as written, with the status it reads as (rows with a status only)."""
    kept = t.filter(t[S.STATUS_RAW].notnull())
    table = run(backend, kept.group_by(value=kept[S.STATUS_RAW], status=kept[S.STATUS]).aggregate(count=lambda g: g.count()))
    return table.sort_values(["count", "value"], ascending=[False, True]).reset_index(drop=True)


def sentence_params(params: str) -> dict[str, object]:
    """A problem's parameters back from their JSON text."""
    return dict(json.loads(params))
