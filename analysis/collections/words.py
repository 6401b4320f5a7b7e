"""The work queue's codes in words, at the edge: outcomes, levers, states, the exported workbook.

:mod:`analysis.collections.queue`, :mod:`~analysis.collections.outcomes` and
:mod:`~analysis.collections.summary` return codes; the page, the command line and the
workbook put them in words here, from the catalogue. The workbook masks personal
identifiers by default (names, phones, ID numbers from the book, and any typed into a note)
and every sheet is neutralised against formula injection (:func:`analysis.report.export.write_workbook`).
"""

from __future__ import annotations

from typing import Final, Mapping, Sequence

import pandas as pd

from analysis import schema as S
from analysis.collections.outcomes import PAID, PROMISED, REACHED, REFUSED, UNREACHABLE
from analysis.collections.queue import AGENT, BRANCH, DUE, LAPSED_STATE, REINSTATABLE, blank
from analysis.collections.summary import NO_GROUP
from analysis.report.catalogue import column_label, translate
from analysis.risk.actions import CONTACT_COLUMNS, DUE_SOON, IN_GRACE, LEVERS
from analysis.risk.words import lever_text, state_text

#: The catalogue key of each outcome code.
OUTCOME_KEYS: Final = {
    REACHED: "queue.outcome.reached",
    PAID: "queue.outcome.paid",
    PROMISED: "queue.outcome.promised",
    REFUSED: "queue.outcome.refused",
    UNREACHABLE: "queue.outcome.unreachable",
}
#: The catalogue key of each assignee kind, list kind and summary dimension.
ASSIGNEE_KIND_KEYS: Final = {AGENT: "queue.assignee_kind.agent", BRANCH: "queue.assignee_kind.branch"}
LIST_KIND_KEYS: Final = {DUE: "queue.list_kind.due", REINSTATABLE: "queue.list_kind.reinstatable"}
DIMENSION_KEYS: Final[dict[str | None, str]] = {
    "lever": "queue.by.lever",
    "branch": "queue.by.branch",
    "agent": "queue.by.agent",
    None: "queue.by.all",
}
#: Columns whose cells are codes of each kind.
_OUTCOME_COLUMNS: Final = ("outcome", "last_outcome")
#: The lever column's name in the words: outcomes carry the lever used, the view groups by the lever used (else suggested).
LEVER_USED: Final = "lever_used"


def outcome_text(outcome: str, language: str) -> str:
    """An outcome code in words."""
    return translate(OUTCOME_KEYS[outcome], language)


def _state(code: object, language: str) -> str:
    if code in (DUE_SOON, IN_GRACE):
        return state_text(str(code), language)
    if code == LAPSED_STATE:
        return translate("status.lapsed", language)
    return "" if blank(code) else str(code)


def _word(code: object, keys: Mapping[str, str], language: str) -> str:
    if isinstance(code, str) and code in keys:
        return translate(keys[code], language)
    return "" if blank(code) else str(code)


def in_words(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """A queue, outcomes or summary frame with its codes in words (headers unchanged)."""
    out = frame.copy()
    for column in _OUTCOME_COLUMNS:
        if column in out:
            out[column] = [_word(v, OUTCOME_KEYS, language) for v in out[column]]
    if "lever" in out:
        out["lever"] = [
            lever_text(str(v), language) if v in LEVERS else translate("queue.no_group", language) if v == NO_GROUP else ""
            for v in out["lever"]
        ]
    for column in ("branch", "agent"):
        if column in out:
            out[column] = [translate("queue.no_group", language) if v == NO_GROUP else v for v in out[column]]
    if "state" in out:
        out["state"] = [_state(v, language) for v in out["state"]]
    if "assignee_kind" in out:
        out["assignee_kind"] = [_word(v, ASSIGNEE_KIND_KEYS, language) for v in out["assignee_kind"]]
    if "list_kind" in out:
        out["list_kind"] = [_word(v, LIST_KIND_KEYS, language) for v in out["list_kind"]]
    if "risk_band" in out:
        out["risk_band"] = [translate(f"worklist.band.{b}", language) if isinstance(b, str) and b else "" for b in out["risk_band"]]
    if "recorded_via" in out:
        via = {"form": "queue.via.form", "import": "queue.via.import", "cli": "queue.via.cli"}
        out["recorded_via"] = [_word(v, via, language) for v in out["recorded_via"]]
    if "scope" in out:
        out["scope"] = [translate("queue.by.all", language) for _ in out["scope"]]
    return out


def with_contacts(queue: pd.DataFrame, policies: pd.DataFrame | None) -> pd.DataFrame:
    """The queue with the contact columns the book has (name, phone …) joined by policy number; the queue's order."""
    if policies is None:
        return queue
    wanted = [c for c in CONTACT_COLUMNS if c in policies and c not in (S.BRANCH, S.AGENT)]
    if not wanted:
        return queue
    book = policies[[S.POLICY_ID, *wanted]].astype({S.POLICY_ID: str}).drop_duplicates(S.POLICY_ID)
    return queue.astype({S.POLICY_ID: str}).merge(book, on=S.POLICY_ID, how="left")


def labelled(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Headers in ``language`` (the lever column named as the lever used when ``LEVER_USED`` says so)."""
    return frame.rename(columns={c: column_label(c, language) for c in frame.columns})


def queue_workbook(
    queue: pd.DataFrame,
    outcomes: pd.DataFrame,
    summaries: Mapping[str | None, pd.DataFrame],
    *,
    language: str = "zh",
    mask: bool = True,
    notes: Sequence[str] = (),
) -> bytes:
    """The work queue with its outcomes as one ``.xlsx`` in ``language``: the queue, every outcome, the outcomes view.

    Parameters
    ----------
    queue : DataFrame
        :func:`analysis.collections.queue.work_queue`, with contacts (:func:`with_contacts`) when wanted.
    outcomes : DataFrame
        :func:`analysis.collections.outcomes.list_outcomes` (the sheet can be imported back).
    summaries : mapping
        Dimension (None for the whole queue) → :func:`analysis.collections.summary.outcome_summary`.
    mask : bool
        Mask names, phone and ID numbers (default), in the contact columns and inside notes.
    notes : sequence of str
        Lines above the queue sheet (what the file is, when it was made).
    """
    from analysis.report.export import mask_identifiers, write_workbook

    queue_sheet, outcome_sheet, summary_sheet = (
        translate(k, language) for k in ("queue.sheet.queue", "queue.sheet.outcomes", "queue.sheet.summary")
    )
    frames = {queue_sheet: queue.copy(), outcome_sheet: outcomes.copy()}
    parts = []
    for dimension, table in summaries.items():
        worded = in_words(table, language).rename(columns={dimension or "scope": "group_value"})
        worded.insert(0, "dimension", translate(DIMENSION_KEYS[dimension], language))
        parts.append(worded)
    frames[summary_sheet] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    sheets = {}
    for name, frame in frames.items():
        for column in ("due_date", "grace_end", "last_outcome_date", "outcome_date"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]).dt.date
        for column in ("assigned_at", "recorded_at"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d %H:%M")
        shown = in_words(frame, language) if name != summary_sheet else frame
        if name == outcome_sheet:
            shown = shown.rename(columns={"lever": LEVER_USED})
        sheets[name] = labelled(mask_identifiers(shown) if mask else shown, language)
    rates = [column_label(c, language) for c in ("probability", "reach_rate", "paid_in_grace_rate", "won_back_rate")]
    money = [column_label(c, language) for c in ("annual_premium", "premium_at_risk", "won_back_premium")]
    return write_workbook(sheets, notes={queue_sheet: list(notes)}, percent=rates, money=money)
