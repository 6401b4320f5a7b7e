"""The work queue for the page: the database (opened once per process), who is recording, the rows to pick, the words.

The database is configured by ``LAPSELENS_DATABASE`` or a ``[database]`` table in the app's
secrets, else the embedded file in the data directory (:mod:`analysis.collections.database`).
It is opened once per process (``st.cache_resource``: a connection pool every session shares)
and read afresh on every run, so what one session records the others see on their next run.
The password is in no cache key and no message.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import streamlit as st

from analysis.collections.database import DATABASE_TABLE, Store, configured_url, open_store, redacted
from analysis.collections.outcomes import OUTCOMES, list_outcomes, record_outcomes
from analysis.collections.queue import DUE, work_queue
from analysis.collections.summary import outcome_views
from analysis.collections.words import in_words, outcome_text, queue_workbook, with_contacts
from analysis.errors import ExtractError
from analysis.ingest.pipeline import LoadResult
from analysis.risk.actions import LEVERS
from analysis.risk.words import lever_text
from analysis.risk.worklist import WorklistRequest, select
from analysis.schema import POLICY_ID
from ui import datasets as ds
from ui import risk as ui_risk
from ui.auth import auth_configured
from ui.i18n import language, t
from ui.state import DataSetChoice


def _secrets_database() -> object | None:
    try:
        value = st.secrets.get(DATABASE_TABLE)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


@st.cache_resource(show_spinner=False, max_entries=4)
def _store(shown: str, _url: str, _password: str | None) -> Store:
    return open_store(_url, password=_password)


def store_or_stop() -> Store:
    """The app's database, or the reason it cannot be opened (the page stops there)."""
    try:
        url, password = configured_url(secrets=_secrets_database())
        return _store(redacted(url), url, password)
    except ExtractError as error:
        st.error(ds.error_text(error))
        st.stop()
        raise  # st.stop() ends the run; this line keeps type checkers honest


def recorder() -> str | None:
    """Who is recording: the signed-in user's e-mail (else name) when sign-in is on, else None."""
    if not auth_configured() or not st.user.is_logged_in:
        return None
    return str(st.user.get("email") or st.user.get("name") or "") or None


def now() -> dt.datetime:
    """The moment of an assignment or a record, in UTC (without a zone, as the database keeps it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def outcome_labels() -> dict[str, str]:
    """Outcome code → words in the session's language."""
    return {code: outcome_text(code, language()) for code in OUTCOMES}


def lever_labels() -> dict[str, str]:
    """Lever code → words, with '' for no lever."""
    return {"": t("queue.no_lever")} | {code: lever_text(code, language()) for code in LEVERS}


def candidate_rows(
    whole: tuple[DataSetChoice, LoadResult], book: tuple[DataSetChoice, LoadResult], list_kind: str, days: int, request: WorklistRequest
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The rows to pick from, coded and in words: the day's calls (or the unscored due list), or the reinstatable list.

    None while the model is training (its progress is drawn; the page stops).
    """
    (whole_choice, whole_result), (choice, result) = whole, book
    lang = language()
    if list_kind != DUE:
        back = select(ui_risk.reinstatable_for(choice, result), request)
        back = back if request.capacity is None else back.head(request.capacity)
        return back, back
    options = ui_risk.options_for(whole_choice, whole_result)
    risk = ui_risk.model_for(whole_choice, whole_result, options)
    if risk is None and not ui_risk.too_small(whole_choice, whole_result, options):
        return None
    if risk is None:
        due, _ = ui_risk.unscored_lists_for(choice, result, days)
        due = select(due, request)
        due = due if request.capacity is None else due.head(request.capacity)
        words = ui_risk.unscored_due_in_words(choice, result, days, lang).loc[due.index]
        return due.reset_index(drop=True), words.reset_index(drop=True)
    rows = ui_risk.worklist_for(choice, result, risk, days, request).rows
    return rows, ui_risk.worklist_in_words_for(choice, result, risk, days, request, lang)


def queue_in_words(store: Store, result: LoadResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queue (coded) and as shown: outcomes, levers and states in words, the book's contact columns joined."""
    queue = work_queue(store)
    return queue, in_words(with_contacts(queue, result.policies), language())


def summaries(store: Store, result: LoadResult) -> dict[str | None, pd.DataFrame]:
    """The outcomes view of the whole queue and by each dimension, against the book as it is now (coded)."""
    from analysis.collections.queue import assignments

    return outcome_views(assignments(store), list_outcomes(store), result.policies, as_of=result.study_date)


def workbook(store: Store, result: LoadResult, *, mask: bool) -> bytes:
    """The work queue with its outcomes and the outcomes view, as Excel (identifiers masked unless ``mask`` is False)."""
    lang = language()
    queue = with_contacts(work_queue(store), result.policies)
    note = t("queue.export_note", database=store.shown, study=result.study_date.date().isoformat())
    return queue_workbook(queue, list_outcomes(store), summaries(store, result), language=lang, mask=mask, notes=[note])


def pick_table(shown: pd.DataFrame) -> pd.DataFrame:
    """The rows to pick, as shown, with a first column ``pick`` (ticked: every row the capacity lets through)."""
    out = shown.copy()
    out.insert(0, "pick", True)
    return out


def of_assignee(queue: pd.DataFrame, assignee: str) -> np.ndarray:
    """Which rows of the queue are ``assignee``'s (every row for '')."""
    if not assignee:
        return np.ones(len(queue), dtype=bool)
    return (queue["assignee"].astype(str) == assignee).to_numpy(dtype=bool)


def record(store: Store, policies: list[str], *, outcome: str, on: dt.date, lever: str, note: str, by: str | None) -> int:
    """Record one outcome for each of ``policies`` from the form (source ``form``); return how many."""
    records = pd.DataFrame({POLICY_ID: policies, "outcome": outcome, "outcome_date": on, "lever": lever or None, "note": note or None})
    return record_outcomes(store, records, at=now(), by=by, source="form")
