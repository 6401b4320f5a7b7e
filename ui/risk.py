"""The lapse-risk model for the pages: trained once per data set in the background, with progress.

Training runs in one shared worker thread (two LightGBM threads, so it never takes more
than the machine's two cores), keyed by the data set's content hash and the options;
every session looking at the same data and options shares the result. At most
``MAX_MODELS`` finished models are kept (oldest dropped), so memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from analysis.errors import ExtractError
from analysis.ingest.pipeline import LoadResult
from analysis.payments.table import PaymentHistory
from analysis.risk.actions import reinstatable_list, unscored_action_lists
from analysis.risk.model import RiskResult, build_risk
from analysis.risk.rows import TOO_SMALL, FeatureChoices, RiskOptions, feature_choices
from analysis.risk.words import reasons_in_words, worklist_workbook
from analysis.risk.worklist import Worklist, WorklistRequest, worklist, worklist_in_words
from ui import datasets as ds
from ui import payments as ui_payments
from ui.i18n import t, tm
from ui.state import DataSetChoice
from ui.study import dataset_key

MAX_MODELS = 4
#: Session key of the user's choice of extra features (per data set).
FEATURES = "risk_features"


@dataclass
class Job:
    """One training run: its future, and the progress the worker reports."""

    future: Future[RiskResult]
    progress: float = 0.0
    stage: str = "queued"
    started: float = field(default_factory=time.monotonic)

    def update(self, fraction: float, stage: str) -> None:
        """Called by the worker thread: how far it is, and in which stage."""
        self.progress, self.stage = max(0.0, min(1.0, fraction)), stage


@dataclass
class _Registry:
    executor: ThreadPoolExecutor
    jobs: OrderedDict[str, Job]
    lock: threading.Lock


@st.cache_resource(show_spinner=False)
def _registry() -> _Registry:
    return _Registry(ThreadPoolExecutor(max_workers=1, thread_name_prefix="lapselens-risk"), OrderedDict(), threading.Lock())


@st.cache_data(max_entries=16, show_spinner=False)
def _feature_choices(key: str, _result: LoadResult) -> FeatureChoices:
    return feature_choices(_result.policies, _result.study_date)


def choices_for(choice: DataSetChoice, result: LoadResult) -> FeatureChoices:
    """The user columns that can be features, and those that look recorded after the fact."""
    return _feature_choices(dataset_key(choice), result)


def job_for(choice: DataSetChoice, result: LoadResult, options: RiskOptions) -> Job:
    """The training job for this data set and options, started if there is none.

    With a payment history attached to this book (:mod:`ui.payments`), the model learns from
    the payments too; the history's content hash is part of the key.
    """
    payments, payments_version = _payments_for(choice, result)
    key = f"{dataset_key(choice)}|{options!r}|{payments_version}"
    registry = _registry()
    # The rows the leak check drew (the page's cached choices), fetched before the lock: the engine is not asked again.
    draw = choices_for(choice, result).draw
    with registry.lock:
        job = registry.jobs.get(key)
        if (
            job is not None
            and job.future.done()
            and job.future.exception() is not None
            and not isinstance(job.future.exception(), ExtractError)
        ):
            job = None  # an unexpected failure: try again on the next visit
        if job is None:
            holder: dict[str, Job] = {}

            def run() -> RiskResult:
                with_payments = {} if payments is None else {"payments": payments}  # without: the call it always was
                return build_risk(result.policies, result.study_date, options, progress=holder["job"].update, draw=draw, **with_payments)

            job = Job(future=Future())
            holder["job"] = job
            job.future = registry.executor.submit(run)
            registry.jobs[key] = job
        registry.jobs.move_to_end(key)
        # Keep the newest MAX_MODELS finished models; queued and running jobs never count
        # against the limit (dropping a finished model for them would only train it again).
        finished = [k for k, j in registry.jobs.items() if j.future.done() and k != key]
        while len(finished) > MAX_MODELS:
            registry.jobs.pop(finished.pop(0))
    return job


def _payments_for(choice: DataSetChoice, result: LoadResult) -> tuple[PaymentHistory | None, str]:
    """The payment history attached to this book and matched with it (None without one), and its version for keys ('' without)."""
    found = ui_payments.history_for(choice, result)
    upload = ui_payments.attached()
    if not isinstance(found, PaymentHistory) or upload is None:
        return None, ""
    return found, f"payments:{upload.version}|{upload.sheet}"


def _wait(job: Job) -> None:
    @st.fragment(run_every=1.0)
    def progress() -> None:
        if job.future.done():
            st.rerun()
        seconds = time.monotonic() - job.started
        st.progress(job.progress, text=t("risk.training_progress", stage=t(f"risk.stage.{job.stage}"), seconds=f"{seconds:.0f}"))

    progress()


def model_for(choice: DataSetChoice, result: LoadResult, options: RiskOptions) -> RiskResult | None:
    """The finished model, or ``None`` after drawing its progress (the page stops there)."""
    job = job_for(choice, result, options)
    if not job.future.done():
        st.info(tm("risk.training_note"))
        _wait(job)
        return None
    error = job.future.exception()
    if isinstance(error, ExtractError):
        # A book below the training minimum is a fact about the data, not a mistake: said, not alarmed.
        (st.info if error.code == TOO_SMALL else st.error)(ds.error_text(error))
        return None
    if error is not None:
        st.error(tm("risk.failed", detail=type(error).__name__))
        return None
    return job.future.result()


def too_small(choice: DataSetChoice, result: LoadResult, options: RiskOptions) -> bool:
    """Whether the model for these options was refused because the book is below the training minimum."""
    job = job_for(choice, result, options)
    error = job.future.exception() if job.future.done() else None
    return isinstance(error, ExtractError) and error.code == TOO_SMALL


def options_for(choice: DataSetChoice, result: LoadResult) -> RiskOptions:
    """Options from the page's feature picker (default: every user column not suspected of leaking)."""
    return choices_for(choice, result).options(st.session_state.get(f"{FEATURES}_{dataset_key(choice)}"))


@st.cache_data(max_entries=8, show_spinner=False)
def _in_words(key: str, days: int, lang: str, _due: pd.DataFrame) -> pd.DataFrame:
    return reasons_in_words(_due, lang)


@st.cache_data(max_entries=8, show_spinner=False)
def _workbook(
    key: str,
    days: int,
    request: WorklistRequest | None,
    lang: str,
    mask: bool,
    scope: tuple[str, ...],
    _due: pd.DataFrame,
    _back: pd.DataFrame,
    _facts: tuple[pd.Timestamp, int, int, int | None],
) -> bytes:
    """Both lists as Excel: the day's calls (``request``; horizon in ``_facts``), or without a model (horizon None)."""
    study_date, grace_days, years, horizon = _facts
    scored = horizon is not None
    return worklist_workbook(
        worklist_in_words(_due, lang, reasons=False) if scored else _due,
        _back,
        study_date=study_date,
        days=days,
        grace_days=grace_days,
        reinstatement_years=years,
        language=lang,
        mask=mask,
        scope=scope,
        **({"horizon_months": horizon} if scored else {"scored": False}),
    )


def _scored_key(choice: DataSetChoice, risk: RiskResult) -> str:
    upload = ui_payments.attached() if risk.with_payments else None
    payments = "" if upload is None else f"|payments:{upload.version}|{upload.sheet}"
    return f"{dataset_key(choice)}|{risk.options!r}{payments}"


def _unscored_key(choice: DataSetChoice) -> str:
    return f"{dataset_key(choice)}|unscored"


@st.cache_data(max_entries=8, show_spinner=False)
def _unscored(key: str, days: int, grace_days: int, years: int, _result: LoadResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    return unscored_action_lists(_result.policies, _result.study_date, days=days, grace_days=grace_days, reinstatement_years=years)


def unscored_lists_for(choice: DataSetChoice, result: LoadResult, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both action lists without a model (a book too small to train one), ranked by annual premium (cached)."""
    preset = result.preset
    return _unscored(dataset_key(choice), days, preset.grace_days, preset.reinstatement_years, result)


def unscored_due_in_words(choice: DataSetChoice, result: LoadResult, days: int, lang: str) -> pd.DataFrame:
    """The unscored due list with its states in ``lang``."""
    due, _ = unscored_lists_for(choice, result, days)
    return _in_words(_unscored_key(choice), days, lang, due)


def unscored_workbook_for(
    choice: DataSetChoice, result: LoadResult, days: int, lang: str, *, mask: bool, scope: tuple[str, ...] = ()
) -> bytes:
    """The unscored action lists as Excel (identifiers masked unless ``mask`` is False)."""
    due, back = unscored_lists_for(choice, result, days)
    facts = (result.study_date, result.preset.grace_days, result.preset.reinstatement_years, None)
    return _workbook(_unscored_key(choice), days, None, lang, mask, scope, due, back, facts)


# --- The day's call list (analysis/risk/worklist.py): only the calls are explained, so a step is quick ---


@st.cache_data(max_entries=32, show_spinner=False)
def _worklist(key: str, days: int, grace_days: int, request: WorklistRequest, _result: LoadResult, _risk: RiskResult) -> Worklist:
    return worklist(_result.policies, _risk, request, days=days, grace_days=grace_days)


def worklist_for(choice: DataSetChoice, result: LoadResult, risk: RiskResult, days: int, request: WorklistRequest) -> Worklist:
    """The day's calls: the due list narrowed by the request and cut at its capacity (cached per data set, model, horizon and request)."""
    return _worklist(_scored_key(choice, risk), days, result.preset.grace_days, request, result, risk)


@st.cache_data(max_entries=32, show_spinner=False)
def _worklist_words(key: str, days: int, request: WorklistRequest, lang: str, reasons: bool, _rows: pd.DataFrame) -> pd.DataFrame:
    return worklist_in_words(_rows, lang, reasons=reasons)


def worklist_in_words_for(
    choice: DataSetChoice, result: LoadResult, risk: RiskResult, days: int, request: WorklistRequest, lang: str
) -> pd.DataFrame:
    """The day's calls in ``lang``: reasons an agent can act on, the lever, the context, the risk band."""
    rows = worklist_for(choice, result, risk, days, request).rows
    return _worklist_words(_scored_key(choice, risk), days, request, lang, True, rows)


@st.cache_data(max_entries=8, show_spinner=False)
def _reinstatable(key: str, years: int, _result: LoadResult) -> pd.DataFrame:
    return reinstatable_list(_result.policies, _result.study_date, reinstatement_years=years)


def reinstatable_for(choice: DataSetChoice, result: LoadResult) -> pd.DataFrame:
    """Lapsed policies still inside the reinstatement window (needs no model; cached per data set)."""
    return _reinstatable(dataset_key(choice), result.preset.reinstatement_years, result)


def worklist_workbook_for(
    choice: DataSetChoice,
    result: LoadResult,
    risk: RiskResult,
    days: int,
    request: WorklistRequest,
    lang: str,
    *,
    mask: bool,
    scope: tuple[str, ...] = (),
) -> bytes:
    """The day's calls and the reinstatable list as Excel (identifiers masked unless ``mask`` is False; ``scope`` heads the sheets)."""
    calls = worklist_for(choice, result, risk, days, request).rows
    back = reinstatable_for(choice, result)
    preset = result.preset
    facts = (risk.study_date, preset.grace_days, preset.reinstatement_years, risk.options.horizon_months)
    return _workbook(_scored_key(choice, risk), days, request, lang, mask, scope, calls, back, facts)
