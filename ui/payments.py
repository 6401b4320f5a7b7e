"""The payment history (缴费记录) beside the session's book: attached on the Data page, matched and cached per book.

A history belongs to one book as loaded (file, mapping, sheet, study date: :func:`ui.study.dataset_key`):
it is matched with that book's policies (payments whose policy is not in the book are rejected
and listed, paid dates after the study date blanked — :func:`analysis.payments.table.match_payments`)
and a new book, another mapping or another study date leaves it behind until it is attached
again. An uploaded history is read through the guard's worker like the extract
(:func:`analysis.payments.table.read_payments` → :func:`analysis.ingest.guard.guarded_table`);
the bundled sample's history (``data/sample_payments.csv``, generated on first use) is offered
with one click. The matched history is a ``cache_resource`` (millions of rows, read-only, shared
by every session with the same book and file), keyed by the book's key and the file's content
hash; a refusal is kept too (returned, not raised), so a file refused once is not read again.

The attachment is kept with the session's data set under its link (:func:`ui.datasets.keep_side`,
slot :data:`SLOT`): a refresh, or the link opened again by the same account, brings it back with
the book it was matched with. An upload's bytes then leave the session and are read back from
disk; the sample's history keeps only the fact that it is attached. Detaching is kept too.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis import schema as S
from analysis.engine.side_sources import SideSource
from analysis.errors import ExtractError
from analysis.ingest.side_tables import ACCEPTED
from analysis.payments.table import DUE_DATE, PaymentHistory, match_payments, read_payments
from analysis.persistency.overview import OverviewFigures, overview_figures
from analysis.persistency.ratios import PersistencyOptions
from analysis.report.catalogue import column_label
from analysis.store.datasets import KIND_UPLOAD, DataSetChoice, KeptSide, choice_key
from ui import datasets as ds
from ui import state
from ui.i18n import language
from ui.study import dataset_key

#: Session keys: the attached history (a :class:`PaymentUpload`) and the bytes of the uploaded one.
ATTACHED = "payments_attached"
UPLOAD_BYTES = "payments_bytes"
#: The history's slot among the side files kept with the data set (ui.datasets.keep_side).
SLOT = "payments"
#: The kinds of history: an upload (its bytes kept), the bundled sample's (nothing to keep but the fact),
#: the configured source's (read from its database or lake; attached by default to the company's book, never kept).
KIND_SAMPLE = "sample"
KIND_SOURCE = "source"
#: Session key: the configured book (its version) whose source history the user detached in this session.
SOURCE_DECLINED = "payments_source_declined"
#: The sample's payment history's file name as shown.
SAMPLE_NAME = "sample_payments.csv"
MAKE_PAYMENTS = ds.ROOT / "data" / "make_payments.py"
#: What a history is read from: an upload's bytes, the sample's file, the configured source's table or file.
HistorySource = bytes | Path | SideSource | str
#: Repaired and rejected rows listed on the Data page at most (the counts cover them all).
MAX_ROWS_SHOWN = 2000


@dataclass(frozen=True)
class PaymentUpload:
    """A payment history attached to a book: the book's key, the file's name and version, its sheet, and its kind.

    ``kind`` says where the rows come from: :data:`~analysis.store.datasets.KIND_UPLOAD` (``version``
    is the content hash of the bytes), :data:`KIND_SAMPLE` (the bundled sample's), or a later kind.
    """

    book: str
    name: str
    version: str
    sheet: str | None = None
    kind: str = KIND_UPLOAD

    @property
    def is_sample(self) -> bool:
        """Whether this is the bundled sample's history."""
        return self.kind == KIND_SAMPLE


@st.cache_resource(max_entries=1, show_spinner=False)
def _make_payments() -> ModuleType:
    # data/ is not a package: the generator is loaded from its file, as its tests do.
    spec = importlib.util.spec_from_file_location("make_payments", MAKE_PAYMENTS)
    if spec is None or spec.loader is None:
        raise ImportError(str(MAKE_PAYMENTS))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@st.cache_resource(max_entries=1, show_spinner=False)
def sample_path() -> Path:
    """The sample's payment history file, generated on first use (it is not committed)."""
    path: Path = _make_payments().cached_sample_payments()
    return path


class _Gone(Exception):
    """The history's bytes are no longer to be had (not cached: a later attachment of the same file reads it)."""


@st.cache_resource(max_entries=4, show_spinner=False)
def _matched(
    book: str, version: str, name: str, sheet: str | None, _source: Callable[[], HistorySource | None], _result: LoadResult
) -> PaymentHistory | ExtractError:
    # Keyed by the book (content hash, mapping, sheet, study date) and the history's content hash, never by hashing a frame.
    # The bytes are asked for only on a miss (they may have to be read back from disk).
    source = _source()
    if source is None:
        raise _Gone
    try:
        history = read_payments(source, filename=None if isinstance(source, (SideSource, str)) else name, sheet=sheet)
        return match_payments(history, _result.policies, study_date=_result.study_date)
    except ExtractError as exc:
        return exc.bare()  # kept by the cache: without the traceback that holds the history and the book


def attached() -> PaymentUpload | None:
    """The history attached in this session (to whichever book), or None.

    The first call after a refresh takes the history the link brought back; every call keeps
    the attachment with the session's data set when it changed (:func:`_keep`).
    """
    restored = state.take_restored_side(SLOT)
    if restored is not None and ATTACHED not in st.session_state:
        _restore(restored)
    if ATTACHED not in st.session_state:
        _attach_source_by_default()
    value = st.session_state.get(ATTACHED)
    upload = value if isinstance(value, PaymentUpload) else None
    _keep(upload)
    return upload


def _restore(side: KeptSide) -> None:
    # The history the link brought back, attached to the book it was kept with (the session's book, when it loaded).
    choice = state.active_choice()
    if choice is None or side.book != choice_key(choice):
        return
    if side.kind == KIND_SAMPLE:
        attach_sample(choice)
    else:
        book = dataset_key(choice)
        st.session_state[ATTACHED] = PaymentUpload(book=book, name=side.name, version=side.version, sheet=side.sheet, kind=side.kind)


def _attach_source_by_default() -> None:
    # The company's book comes with the history its configuration names, unless detached in this session.
    choice = state.active_choice()
    if choice is None or st.session_state.get(SOURCE_DECLINED) == choice.version:
        return
    if ds.source_side(choice, SLOT) is not None:
        attach_source(choice)


def source_offered(choice: DataSetChoice) -> str | None:
    """The configured source's payment history for the book ``choice`` names, as shown, when it is not the one attached; else None."""
    side = ds.source_side(choice, SLOT)
    upload = attached()
    if side is None or (upload is not None and upload.kind == KIND_SOURCE and upload.book == dataset_key(choice)):
        return None
    return side.name


def from_source(upload: PaymentUpload | None) -> bool:
    """Whether ``upload`` is the configured source's history."""
    return upload is not None and upload.kind == KIND_SOURCE


def attach_source(choice: DataSetChoice) -> PaymentUpload | None:
    """Attach the configured source's payment history to the company's book ``choice`` names (None when it names none)."""
    side = ds.source_side(choice, SLOT)
    if side is None:
        return None
    st.session_state.pop(SOURCE_DECLINED, None)
    st.session_state.pop(UPLOAD_BYTES, None)
    upload = PaymentUpload(book=dataset_key(choice), name=side.name, version=side.version, kind=KIND_SOURCE)
    st.session_state[ATTACHED] = upload
    _keep(upload)
    return upload


def _keep(upload: PaymentUpload | None) -> None:
    # Keep the attachment (or its absence) with the session's data set; an upload's bytes then leave the session.
    # The source's history is never kept: the company's book brings it back by itself (kept is then "nothing").
    choice = state.active_choice()
    if choice is None or (upload is not None and upload.book != dataset_key(choice)):
        return  # attached to another book: what is kept under the link stays as it is
    if upload is not None and upload.kind == KIND_SOURCE:
        upload = None
    side = None
    if upload is not None:
        side = KeptSide(kind=upload.kind, name=upload.name, version=upload.version, sheet=upload.sheet, book=choice_key(choice))
    data = None if upload is None else st.session_state.get(UPLOAD_BYTES, {}).get(upload.version)
    if ds.keep_side(SLOT, side, data) and data is not None:
        st.session_state.pop(UPLOAD_BYTES, None)


def unsaved() -> bool:
    """True when the attached history could not be kept on disk (a refresh would lose it)."""
    return ds.side_unsaved(SLOT)


def attached_to(choice: DataSetChoice) -> bool:
    """Whether a history is attached to the book ``choice`` names."""
    upload = attached()
    return upload is not None and upload.book == dataset_key(choice)


def attach_upload(choice: DataSetChoice, name: str, data: bytes, sheet: str | None = None) -> PaymentUpload:
    """Attach an uploaded history to the book ``choice`` names (only the latest upload's bytes are kept)."""
    upload = PaymentUpload(book=dataset_key(choice), name=name, version=ds.content_version(data), sheet=sheet)
    st.session_state[UPLOAD_BYTES] = {upload.version: data}
    st.session_state[ATTACHED] = upload
    _keep(upload)
    return upload


def attach_sample(choice: DataSetChoice) -> PaymentUpload:
    """Attach the bundled sample's payment history to the sample book ``choice`` names."""
    path = sample_path()
    upload = PaymentUpload(book=dataset_key(choice), name=SAMPLE_NAME, version=f"sample-{path.stat().st_mtime_ns}", kind=KIND_SAMPLE)
    st.session_state[ATTACHED] = upload
    _keep(upload)
    return upload


def detach() -> None:
    """Forget the attached history (the pages go back to the definitions without payments); a refresh does not bring it back.

    The configured source's history, detached, stays away for the rest of the session (a new
    session on the company's book starts with it again).
    """
    upload = attached()
    choice = state.active_choice()
    if upload is not None and upload.kind == KIND_SOURCE and choice is not None:
        st.session_state[SOURCE_DECLINED] = choice.version
    st.session_state.pop(ATTACHED, None)
    st.session_state.pop(UPLOAD_BYTES, None)
    _keep(None)


def _source(upload: PaymentUpload) -> HistorySource | None:
    if upload.is_sample:
        return sample_path()
    if upload.kind == KIND_SOURCE:
        choice = state.active_choice()
        side = None if choice is None else ds.source_side(choice, SLOT)
        return None if side is None or side.version != upload.version else side.source
    data: bytes | None = st.session_state.get(UPLOAD_BYTES, {}).get(upload.version)
    return data if data is not None else ds.side_bytes(SLOT, upload.version)


def history_for(choice: DataSetChoice, result: LoadResult) -> PaymentHistory | ExtractError | None:
    """The attached history matched with this book; its refusal when it could not be read; None when none is attached to it."""
    upload = attached()
    if upload is None or upload.book != dataset_key(choice):
        return None
    try:
        return _matched(upload.book, upload.version, upload.name, upload.sheet, lambda: _source(upload), result)
    except _Gone:
        return None


def current_payments() -> PaymentHistory | None:
    """The payment history matched to the session's current (whole, unfiltered) book, or None without one.

    Pages measure on premiums received with it; a history that was refused gives None here (the
    Data page says why, :func:`history_for`).
    """
    choice, result = ds.active_result()
    found = history_for(choice, result)
    return found if isinstance(found, PaymentHistory) else None


def payments_key() -> str:
    """A small string naming the current history for cache keys ('' without one)."""
    upload = attached()
    return "" if upload is None or current_payments() is None else f"{upload.book}|{upload.version}|{upload.sheet}"


# --- the Data page's account of the history ----------------------------------------------------


def attach_from_uploader(choice: DataSetChoice, file_id: str, name: str, data: bytes) -> None:
    """Attach the uploader's file to the book, once per file and book (a click on the sample's button is not undone)."""
    done = (file_id, dataset_key(choice))
    if st.session_state.get("payments_uploader_done") != done:
        st.session_state["payments_uploader_done"] = done
        attach_upload(choice, name, data)


def problem_rows(history: PaymentHistory) -> pd.DataFrame:
    """The first :data:`MAX_ROWS_SHOWN` repaired or rejected rows: ``[row, policy_id, due_date, verdict, kind]``."""
    account = history.account[history.account["outcome"] != ACCEPTED].head(MAX_ROWS_SHOWN)
    return account.rename(columns={"outcome": "verdict", "reason": "kind"})[["row", S.POLICY_ID, DUE_DATE, "verdict", "kind"]]


def not_in_book(history: PaymentHistory) -> pd.DataFrame:
    """The policy numbers of payments whose policy is not in the book, with how many rows and the first row: ``[policy_id, count, row]``."""
    rows = history.not_in_book()
    grouped = rows.groupby(S.POLICY_ID, sort=False)["row"]
    return pd.DataFrame({"count": grouped.size(), "row": grouped.min()}).reset_index().sort_values("row", kind="stable")


def columns_read(history: PaymentHistory) -> str:
    """The mapping as read: each column of the history in words, from the file's header (``保单号 → 保单号码``)."""
    return ", ".join(f"{header} → {column_label(column, language())}" for column, header in history.headers.items())


# --- the Overview on premiums received ----------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def _figures(
    key: str,
    history_key: str,
    options: PersistencyOptions,
    targets: tuple[tuple[int, float], ...],
    trend_cohort: str,
    _result: LoadResult,
    _history: PaymentHistory,
) -> OverviewFigures:
    # Keyed by the (filtered) book's key and the history's key, never by hashing the frames.
    return overview_figures(
        _result.policies,
        study_date=_result.study_date,
        options=options,
        targets=dict(targets),
        trend_cohort=trend_cohort,
        payments=_history,
    )


def overview_on_payments(
    choice: DataSetChoice, result: LoadResult, options: PersistencyOptions, targets: dict[int, float], trend_cohort: str
) -> OverviewFigures | None:
    """The Overview's figures on premiums received for the (possibly filtered) book, or None without a payment history.

    The history is matched with the whole book; a filtered book keeps the payments of its own policies.
    """
    history = current_payments()
    if history is None:
        return None
    return _figures(dataset_key(choice), payments_key(), options, tuple(sorted(targets.items())), trend_cohort, result, history)


def report_payments() -> tuple[PaymentHistory, str] | None:
    """The current history and its key, for the Overview's download (resolved during the page's run), or None without one."""
    history = current_payments()
    return None if history is None else (history, payments_key())
