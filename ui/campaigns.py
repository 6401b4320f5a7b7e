"""Campaign lists (活动名单) for the pages: the list in the session, read through the guard, evaluated per book (cached).

A list is uploaded on the Campaigns page (or the sample's own list taken with one click when the
bundled sample is loaded). It is read through the guard's worker like an extract
(:func:`analysis.interventions.campaign_list.read_campaign_list` →
:func:`analysis.ingest.guard.guarded_table`), matched with the session's whole book (each policy's
clock from its own enrolment, :func:`analysis.interventions.staggered.enrolled_data`) and every arm
compared with the control (:func:`analysis.interventions.multi_arm.evaluate_arms`). The evaluation
is a ``cache_resource`` keyed by the book's key, the list's content hash and the settings; a refusal
is kept too (returned, not raised), so a file refused once is not read again on every click.

The value of a retained policy and the costs per contact only re-rank the arms and re-draw the
targeting rule: both are cheap and computed on every change from the cached evaluation.

The list in use is kept with the session's data set under its link (:func:`ui.datasets.keep_side`,
slot :data:`SLOT`; it goes with any book): a refresh, or the link opened again by the same account,
brings it back. An upload's bytes then leave the session and are read back from disk; the sample's
list keeps only the fact that it is in use. Putting the list away is kept too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping

import pandas as pd
import streamlit as st

from analysis import LoadResult
from analysis import schema as S
from analysis.engine.side_sources import SideSource
from analysis.errors import ExtractError
from analysis.ingest.side_tables import ACCEPTED
from analysis.interventions.arms import WINDOW_MONTHS
from analysis.interventions.campaign_list import ARM, ENROLMENT_DATE, REASONS, CampaignList, read_campaign_list
from analysis.interventions.multi_arm import ArmEffect, ArmsResult, evaluate_arms, rank_arms
from analysis.interventions.scenario import LEVER_SOURCES
from analysis.interventions.staggered import enrolled_data
from analysis.interventions.targeting import LEAVE_ALONE, TargetingResult, arm_predictions, arm_qini, targeting_rule
from analysis.report.catalogue import column_label
from analysis.risk.words import value_text
from analysis.store.datasets import KIND_UPLOAD, DataSetChoice, KeptSide
from ui import datasets as ds
from ui import formats, state
from ui.i18n import language, t
from ui.state import lang_key
from ui.study import dataset_key
from ui.tables import percent_config

#: Session keys: the list in use (a :class:`ListUpload`), its bytes, the page's settings kept across pages.
LIST = "campaigns_list"
LIST_BYTES = "campaigns_list_bytes"
SETTINGS = "campaigns_settings"
#: The list's slot among the side files kept with the data set (ui.datasets.keep_side).
SLOT = "campaigns"
#: The kinds of list: an upload (its bytes kept), the bundled sample's (nothing to keep but the fact),
#: the configured source's (read from its database or lake; used by default on the company's book, never kept).
KIND_SAMPLE = "sample"
KIND_SOURCE = "source"
#: The configured source's side table of campaign lists (analysis.engine.config.SIDE_TABLES).
SOURCE_SIDE = "campaign_list"
#: Session key: the configured book (its version) whose source list the user put away in this session.
SOURCE_DECLINED = "campaigns_source_declined"
#: The sample's campaign list.
SAMPLE_LIST = ds.ROOT / "data" / "sample_campaign_list.csv"
#: What a list is read from: bytes (an upload, the sample), or the configured source's table or file.
ListSource = bytes | SideSource | str
#: The file types a list may come in (the door reads them all).
LIST_TYPES = ("csv", "txt", "xlsx", "xlsm", "xls", "parquet")
#: Repaired or rejected rows the page lists (the counts cover them all).
MAX_ROWS_SHOWN = 5_000


@dataclass(frozen=True)
class ListUpload:
    """The campaign list in the session: its file name and content hash, and its kind.

    ``kind`` says where the rows come from: :data:`~analysis.store.datasets.KIND_UPLOAD`,
    :data:`KIND_SAMPLE` (the bundled sample's), or a later kind.
    """

    name: str
    version: str
    kind: str = KIND_UPLOAD

    @property
    def is_sample(self) -> bool:
        """Whether this is the bundled sample's list."""
        return self.kind == KIND_SAMPLE


@dataclass(frozen=True)
class Evaluation:
    """A list matched with a book and its arms compared (the expensive part, cached)."""

    listed: CampaignList
    data: pd.DataFrame
    arms: ArmsResult
    predictions: pd.DataFrame
    qini: dict[str, tuple[pd.DataFrame, float]]


def current() -> ListUpload | None:
    """The campaign list in the session, or None.

    The first call after a refresh takes the list the link brought back; every call keeps the
    list in use with the session's data set when it changed (:func:`_keep`).
    """
    restored = state.take_restored_side(SLOT)
    if restored is not None and LIST not in st.session_state:
        if restored.kind == KIND_SAMPLE:
            use_sample()
        else:
            st.session_state[LIST] = ListUpload(name=restored.name, version=restored.version, kind=restored.kind)
    choice = state.active_choice()
    if LIST not in st.session_state and choice is not None and st.session_state.get(SOURCE_DECLINED) != choice.version:
        use_source(choice)  # the company's book comes with the list its configuration names
    value = st.session_state.get(LIST)
    upload = value if isinstance(value, ListUpload) else None
    _keep(upload)
    return upload


def _keep(upload: ListUpload | None) -> None:
    # Keep the list in use (or its absence) with the session's data set; an upload's bytes then leave the session.
    # The source's list is never kept: the company's book brings it back by itself (kept is then "nothing").
    if upload is not None and upload.kind == KIND_SOURCE:
        upload = None
    side = None if upload is None else KeptSide(kind=upload.kind, name=upload.name, version=upload.version)
    data = None if upload is None else st.session_state.get(LIST_BYTES, {}).get(upload.version)
    if ds.keep_side(SLOT, side, data) and data is not None:
        st.session_state.pop(LIST_BYTES, None)


def unsaved() -> bool:
    """True when the list in use could not be kept on disk (a refresh would lose it)."""
    return ds.side_unsaved(SLOT)


def use_upload(name: str, data: bytes) -> ListUpload:
    """Take an uploaded list (only the latest upload's bytes are kept)."""
    upload = ListUpload(name=name, version=ds.content_version(data))
    st.session_state[LIST_BYTES] = {upload.version: data}
    st.session_state[LIST] = upload
    _keep(upload)
    return upload


@st.cache_resource(max_entries=1, show_spinner=False)
def sample_list_bytes() -> bytes:
    """The bundled sample's campaign list (read once per process)."""
    return SAMPLE_LIST.read_bytes()


def use_sample() -> ListUpload:
    """Take the bundled sample's campaign list."""
    upload = ListUpload(name=SAMPLE_LIST.name, version=ds.content_version(sample_list_bytes()), kind=KIND_SAMPLE)
    st.session_state[LIST] = upload
    _keep(upload)
    return upload


def source_offered(choice: DataSetChoice) -> str | None:
    """The configured source's campaign list for the book ``choice`` names, as shown, when it is not the one in use; else None."""
    side = ds.source_side(choice, SOURCE_SIDE)
    upload = st.session_state.get(LIST)
    if side is None or (isinstance(upload, ListUpload) and upload.kind == KIND_SOURCE and upload.version == side.version):
        return None
    return side.name


def use_source(choice: DataSetChoice) -> ListUpload | None:
    """Take the configured source's campaign list (None when the configuration names none, or ``choice`` is not the company's book)."""
    side = ds.source_side(choice, SOURCE_SIDE)
    if side is None:
        return None
    st.session_state.pop(SOURCE_DECLINED, None)
    st.session_state.pop(LIST_BYTES, None)
    upload = ListUpload(name=side.name, version=side.version, kind=KIND_SOURCE)
    st.session_state[LIST] = upload
    _keep(upload)
    return upload


def forget() -> None:
    """Put the list away (a refresh does not bring it back; the source's list stays away for the rest of the session)."""
    value, choice = st.session_state.get(LIST), state.active_choice()
    if isinstance(value, ListUpload) and value.kind == KIND_SOURCE and choice is not None:
        st.session_state[SOURCE_DECLINED] = choice.version
    st.session_state.pop(LIST, None)
    st.session_state.pop(LIST_BYTES, None)
    _keep(None)


@dataclass(frozen=True)
class Settings:
    """The evaluation's settings: the outcome window after each enrolment, and whether the treated arms are also compared pairwise."""

    window: int = WINDOW_MONTHS
    pairwise: bool = False


def settings() -> Settings:
    """The page's settings kept across pages (a widget's own state goes when its page is left)."""
    kept = st.session_state.get(SETTINGS)
    return kept if isinstance(kept, Settings) else Settings()


def keep(chosen: Settings) -> None:
    """Keep the page's settings for the next visit (and for the Interventions page's measured arms)."""
    st.session_state[SETTINGS] = chosen


def _bytes(upload: ListUpload) -> ListSource | None:
    # What the list is read from: bytes (an upload, the sample), or the configured source's table or file.
    if upload.is_sample:
        return sample_list_bytes()
    if upload.kind == KIND_SOURCE:
        choice = state.active_choice()
        side = None if choice is None else ds.source_side(choice, SOURCE_SIDE)
        return None if side is None or side.version != upload.version else side.source
    data: bytes | None = st.session_state.get(LIST_BYTES, {}).get(upload.version)
    return data if data is not None else ds.side_bytes(SLOT, upload.version)


class _Gone(Exception):
    """The list's bytes are no longer to be had (not cached: a later upload of the same file reads it)."""


@st.cache_resource(max_entries=8, show_spinner=False)
def _evaluate(
    book: str,
    version: str,
    name: str,
    window: int,
    pairwise: bool,
    _data: Callable[[], bytes | SideSource | str | None],
    _result: LoadResult,
) -> Evaluation | ExtractError:
    # Keyed by the book (content hash, mapping, sheet, study date), the list's content hash and the settings;
    # the bytes are asked for only on a miss (they may have to be read back from disk).
    data = _data()
    if data is None:
        raise _Gone
    try:
        listed = read_campaign_list(data, filename=name if isinstance(data, bytes) else None)
        data, listed = enrolled_data(_result.policies, listed, study_date=_result.study_date, window_months=window)
        # Uplift comes from the multi-arm T-learner of the targeting rule (its Qini per arm), not a second one per pair.
        arms = evaluate_arms(data, control=listed.control, pairwise=pairwise, uplift=False, random_state=0)
        predictions = arm_predictions(data, arms=list(arms.arms["arm"]), covariates=arms.covariates, random_state=0)
    except ExtractError as exc:
        return exc.bare()  # kept by the cache: without the traceback that holds the list and the book
    return Evaluation(listed, data, arms, predictions, arm_qini(predictions, control=listed.control))


def evaluation(choice: DataSetChoice, result: LoadResult) -> Evaluation | ExtractError | None:
    """The session's list evaluated on this book; its refusal when it could not be used; None without a list."""
    upload = current()
    if upload is None:
        return None
    kept = settings()
    try:
        return _evaluate(dataset_key(choice), upload.version, upload.name, kept.window, kept.pairwise, lambda: _bytes(upload), result)
    except _Gone:
        return None


def ranked(found: Evaluation, value_per_retained: float, costs: Mapping[str, float]) -> ArmsResult:
    """The arms ranked by effect and by value per contact at the page's value and costs."""
    ranking = rank_arms(
        found.arms.comparisons, found.data, control=found.arms.control, value_per_retained=value_per_retained, cost_per_contact=dict(costs)
    )
    return replace(found.arms, ranking=ranking)


def targeting(found: Evaluation, value_per_retained: float, costs: Mapping[str, float]) -> TargetingResult:
    """The targeting rule at the page's value and costs."""
    treated = {arm: float(costs[arm]) for arm in found.predictions.columns[3:] if arm != found.arms.control}
    return targeting_rule(
        found.predictions,
        found.data,
        control=found.arms.control,
        covariates=found.arms.covariates,
        value_per_retained=value_per_retained,
        cost_per_contact=treated,
    )


def measured_arms() -> dict[str, ArmEffect]:
    """Each treated arm's measured effect against the control on the session's whole book (empty without a usable list).

    The Interventions page offers them as a scenario's measured effect.
    """
    choice, result = ds.active_result()
    found = evaluation(choice, result)
    if not isinstance(found, Evaluation):
        return {}
    control = found.arms.control
    arms = found.arms.comparisons.loc[found.arms.comparisons["reference"] == control, "arm"]
    return {str(arm): found.arms.effect(str(arm)) for arm in arms}


#: The Interventions page's widgets a shortcut from an arm sets (lever, its effect source, which measured effect).
LEVER_WIDGET, MEASURED_WIDGET = "interv_lever", "interv_measured_from"


def to_scenario(arm: str) -> None:
    """Preset the Interventions page's scenario on ``arm``'s measured effect (an ``on_click`` callback).

    The lever stays the one chosen there when it can take a measured effect, else education.
    """
    lever = st.session_state.get(f"{LEVER_WIDGET}__value")
    if lever not in LEVER_SOURCES or "measured" not in LEVER_SOURCES[str(lever)]:
        lever = "education"
    for name, value in ((LEVER_WIDGET, lever), (f"interv_source_{lever}", "measured")):
        st.session_state[f"{name}__value"] = value
        st.session_state[lang_key(name)] = value
    st.session_state[MEASURED_WIDGET] = f"arm:{arm}"


# --- display shaping for the Campaigns page -----------------------------------------------------------


def account_figures(found: Evaluation) -> dict[str, str]:
    """The row account's figures for its sentence: listed policies counted, not in the book, not in force at enrolment."""
    counts = found.listed.counts()
    not_in_force = sum(counts.get(r, 0) for r in ("not_yet_issued", "lapsed_before_enrolment", "exited_before_enrolment"))
    return {
        "rows": formats.count(counts["rows"]),
        "counted": formats.count(len(found.data)),
        "not_in_book": formats.count(counts.get("not_in_book", 0)),
        "not_in_force": formats.count(not_in_force),
        "other": formats.count(counts["rejected"] - counts.get("not_in_book", 0) - not_in_force),
    }


def reason_counts(found: Evaluation) -> pd.DataFrame:
    """Rows by reason (repaired or rejected): ``[verdict, kind, count]``, in the order the reasons are told."""
    account = found.listed.account
    problems = account[account["outcome"] != ACCEPTED]
    counted = problems.groupby(["outcome", "reason"], sort=False).size().rename("count").reset_index()
    order = {reason: i for i, reason in enumerate(REASONS)}
    counted = counted.sort_values("reason", key=lambda r: r.map(order), kind="stable")
    return counted.rename(columns={"outcome": "verdict", "reason": "kind"}).reset_index(drop=True)


def problem_rows(found: Evaluation) -> pd.DataFrame:
    """The first :data:`MAX_ROWS_SHOWN` repaired or rejected rows: ``[row, policy_id, arm, verdict, kind]``."""
    account = found.listed.account
    problems = account[account["outcome"] != ACCEPTED].head(MAX_ROWS_SHOWN)
    return problems.rename(columns={"outcome": "verdict", "reason": "kind"})[["row", S.POLICY_ID, ARM, "verdict", "kind"]]


def enrolment_span(found: Evaluation) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last enrolment dates of the policies counted."""
    dates = pd.to_datetime(found.data[ENROLMENT_DATE])
    return dates.min(), dates.max()


def points(value: float) -> str:
    """A difference of two proportions in percentage points, one decimal (``3.1 个百分点``)."""
    return formats.DASH if pd.isna(value) else t("interv.points", points=f"{value * 100:.1f}")


def table_config(
    frame: pd.DataFrame,
    *,
    percents: tuple[str, ...] = (),
    money: tuple[str, ...] = (),
    ratios: tuple[str, ...] = (),
    p_values: tuple[str, ...] = (),
) -> dict[str, object]:
    """Formats of a translated table: counts with separators, shares as percentages, yuan, ratios with two decimals, p-values with four."""
    config = percent_config(frame, percents)
    for column in frame.columns:
        if column not in config and pd.api.types.is_integer_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            config[column] = st.column_config.NumberColumn(column, format="localized")
    for keys, fmt in ((money, "yen"), (ratios, "%.2f"), (p_values, "%.4f")):
        for key in keys:
            label = column_label(key, language())
            if label in frame.columns:
                config[label] = st.column_config.NumberColumn(label, format=fmt)
    return config


def balance_rows(arms: ArmsResult, lang: str) -> pd.DataFrame:
    """Each arm's balance against the control, covariates by their headers and levels by their words."""
    balance = arms.balance
    return balance.assign(
        level=[value_text(c, v, lang) if v not in (None, "") else v for c, v in zip(balance["covariate"], balance["level"])],
        covariate=balance["covariate"].map(lambda c: column_label(c, lang)),
    )


def group_rows(rule: TargetingResult) -> pd.DataFrame:
    """The rule's groups with the group left alone named in words."""
    return rule.groups.assign(lever=rule.groups["lever"].map(lambda v: t("campaigns.left_alone") if v == LEAVE_ALONE else v))


def profile_rows(rule: TargetingResult, lang: str) -> pd.DataFrame:
    """Who is in each group, in words (covariates by their headers, levels by their words)."""
    profile = rule.profile
    return profile.assign(
        lever=profile["lever"].map(lambda v: t("campaigns.left_alone") if v == LEAVE_ALONE else v),
        level=[value_text(c, v, lang) for c, v in zip(profile["covariate"], profile["level"])],
        covariate=profile["covariate"].map(lambda c: column_label(c, lang)),
    )
