"""A campaign list (活动名单) as marketing keeps it: policy number, arm, enrolment date; maybe channel and cost.

The list is a file of its own, read through the same door as an extract: the guard's worker
reads it (:func:`analysis.ingest.guard.guarded_table`), policy numbers go through the door's
:func:`~analysis.ingest.parsing.parse_ids`, dates through
:func:`~analysis.ingest.parsing.parse_dates` and costs through
:func:`~analysis.ingest.parsing.parse_numbers`. Headers are recognised in Chinese and
English (:data:`LIST_HEADERS`): 保单号/policy_id, 组别/分组/arm/group, 入组日期/enrolment_date/
contact_date, 渠道/contact_channel, 成本/cost.

**The row account.** Every row of the list ends in one of three outcomes, with its source
row number and a reason code (:data:`REASONS`):

* ``accepted``;
* ``repaired``: kept after a repair — a policy number read back from a number cell lost its
  ``.0`` (``id_float_tail``), a cost that is not a number or is negative was left blank
  (``bad_cost``);
* ``rejected``: a policy number Excel damaged (``id_precision_lost``: it lost its last
  digits in a number cell, so it could match the wrong policy), no policy number
  (``blank_policy_id``), no arm (``blank_arm``), an enrolment
  date that is missing or not a date (``bad_enrolment_date``), a second row of the same
  policy with the same arm and date (``duplicate``; the first is kept), rows of one policy
  that disagree on the arm or the date (``conflicting_rows``: all of them, since which one
  is true cannot be told), and, once matched with the book
  (:func:`analysis.interventions.staggered.enrolled_data`), a policy not in the book
  (``not_in_book``), enrolled on or after the study date (``enrolled_after_study_date``),
  or not in force at its enrolment (``not_yet_issued``, ``lapsed_before_enrolment``,
  ``exited_before_enrolment``). Nothing is dropped without a row in the account.

**Arms.** An arm is any label; the control arm is the one whose label is a control word
(对照组, control, holdout …, :data:`analysis.interventions.arms.CONTROL_WORDS`) unless the
caller names it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.side_sources import SideSource, side_cells
from analysis.errors import ExtractError
from analysis.ingest.parsing import parse_dates, parse_ids, parse_numbers
from analysis.ingest.side_tables import (
    ACCEPTED,
    REJECTED,
    REPAIRED,
    row_outcomes,
    side_columns,
    side_text,
)
from analysis.interventions.arms import CONTROL_WORDS

#: The list's columns (canonical names).
ARM, ENROLMENT_DATE, CONTACT_CHANNEL, COST = "arm", "enrolment_date", "contact_channel", "cost"
LIST_COLUMNS: Final = (S.POLICY_ID, ARM, ENROLMENT_DATE, CONTACT_CHANNEL, COST)
REQUIRED: Final = (S.POLICY_ID, ARM, ENROLMENT_DATE)
#: Headers recognised for each column (compared by :func:`analysis.ingest.headers.header_key`).
LIST_HEADERS: Final = {
    S.POLICY_ID: ("保单号", "保单合同号", "合同号", "保单编号", "policy_id", "policy_no", "policy_number", "policy"),
    ARM: ("组别", "分组", "组", "实验组别", "arm", "group", "treatment", "cell"),
    ENROLMENT_DATE: ("入组日期", "接触日期", "触达日期", "活动日期", "enrolment_date", "enrollment_date", "contact_date", "enrolled"),
    CONTACT_CHANNEL: ("渠道", "接触渠道", "触达渠道", "contact_channel", "channel"),
    COST: ("成本", "单次成本", "接触成本", "费用", "cost", "cost_per_contact", "contact_cost"),
}
#: The reason codes of the account (outcomes: :mod:`analysis.ingest.side_tables`).
REASONS: Final = (
    "id_float_tail",
    "id_precision_lost",
    "bad_cost",
    "blank_policy_id",
    "blank_arm",
    "bad_enrolment_date",
    "duplicate",
    "conflicting_rows",
    "not_in_book",
    "enrolled_after_study_date",
    "not_yet_issued",
    "lapsed_before_enrolment",
    "exited_before_enrolment",
)
ACCOUNT_COLUMNS: Final = ("row", S.POLICY_ID, ARM, "outcome", "reason")


@dataclass(frozen=True)
class CampaignList:
    """A read campaign list.

    Attributes
    ----------
    entries : DataFrame
        One row per enrolled policy: ``[policy_id, arm, enrolment_date, contact_channel, cost, row]``
        (``row`` = source row number; channel and cost missing where the list has none).
    account : DataFrame
        One row per source row: ``[row, policy_id, arm, outcome, reason]`` (see the module docstring).
    control : str
        The control arm's label.
    headers : dict
        Column → the list's own header it was read from.
    """

    entries: pd.DataFrame
    account: pd.DataFrame
    control: str
    headers: dict[str, str]

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms of the accepted entries: the control first, then the others in sorted order."""
        others = sorted(set(self.entries[ARM].astype(str)) - {self.control})
        return (self.control, *others)

    def counts(self) -> dict[str, int]:
        """Rows by outcome and by reason: ``{"rows": n, "accepted": …, "repaired": …, "rejected": …, <reason>: …}``."""
        out = {"rows": len(self.account)}
        out.update({o: int((self.account["outcome"] == o).sum()) for o in (ACCEPTED, REPAIRED, REJECTED)})
        reasons = self.account["reason"].dropna().astype(str).value_counts()
        out.update({str(reason): int(reasons.get(reason, 0)) for reason in REASONS if reasons.get(reason, 0)})
        return out

    def with_rejected(self, rejected: pd.DataFrame) -> CampaignList:
        """The list with the entries of ``rejected`` (``[row, reason]``) taken out and their rows marked rejected."""
        reason = pd.Series(rejected["reason"].to_numpy(), index=rejected["row"].to_numpy())
        hit = self.account["row"].isin(reason.index).to_numpy()
        account = self.account.copy()
        account.loc[hit, "outcome"] = REJECTED
        account.loc[hit, "reason"] = reason.reindex(self.account.loc[hit, "row"]).to_numpy()
        entries = self.entries[~self.entries["row"].isin(reason.index)].reset_index(drop=True)
        return replace(self, entries=entries, account=account)


def list_columns(headers: Sequence[str]) -> dict[str, str]:
    """Column → the header that holds it, by :data:`LIST_HEADERS` (first matching header; each used once)."""
    return side_columns(headers, LIST_HEADERS)


def read_campaign_list(
    source: bytes | str | Path | SideSource, *, filename: str | None = None, sheet: str | int | None = None, control: str | None = None
) -> CampaignList:
    """Read a campaign list — a file (CSV, Excel or Parquet) through the guard, or a database or lake table — with its row account.

    Parameters
    ----------
    source : bytes, str, Path or SideSource
        The file's bytes or its path, or a table or query of a database or lake
        (:mod:`analysis.engine.side_sources`: values read as text, rows numbered in the order read).
    filename : str, optional
        The name the bytes came under (tells the format).
    sheet : str or int, optional
        A workbook's sheet (default: the first).
    control : str, optional
        The control arm's label; by default the arm whose label is a control word (对照组, control …).

    Raises
    ------
    ExtractError
        ``campaign_list`` (``missing_columns``: no policy-number, arm or enrolment-date column;
        ``no_rows``: no row survives; ``no_control``: no arm is a control arm, or ``control``
        is not an arm of the list); the door's own refusals of a file it cannot read.
    """
    cells, rows, workbook = side_cells(source, filename=filename, sheet=sheet)
    return campaign_list_from_cells(cells, rows, control=control, from_workbook=workbook)


def campaign_list_from_cells(
    cells: pd.DataFrame, rows: np.ndarray, *, control: str | None = None, from_workbook: bool = False
) -> CampaignList:
    """:func:`read_campaign_list` from the cells as text and their source row numbers (``from_workbook``: read from number cells)."""
    headers, text, missing = side_text(cells, LIST_HEADERS, REQUIRED)
    if missing:
        raise ExtractError("campaign_list", reason="missing_columns", **missing)
    ids, stripped, mangled = parse_ids(text[S.POLICY_ID], from_workbook=from_workbook)
    ids = ids.str.strip().replace("", pd.NA)
    arm = text[ARM]
    dates = parse_dates(text[ENROLMENT_DATE]).values
    frame = pd.DataFrame({S.POLICY_ID: ids, ARM: arm, ENROLMENT_DATE: dates, "row": rows}, index=cells.index)
    frame[CONTACT_CHANNEL] = text[CONTACT_CHANNEL] if CONTACT_CHANNEL in text else pd.Series(pd.NA, index=cells.index, dtype="string")
    cost = parse_numbers(text[COST]).values if COST in text else pd.Series(np.nan, index=cells.index)
    bad_cost = (cost < 0).fillna(False).to_numpy(dtype=bool)
    if COST in text:
        bad_cost |= (cost.isna() & text[COST].notna()).to_numpy(dtype=bool)
    frame[COST] = cost.mask(bad_cost).astype(float)
    outcome, reason = row_outcomes(
        cells.index,
        [("id_float_tail", stripped.to_numpy(dtype=bool)), ("bad_cost", bad_cost)],
        [("id_precision_lost", mangled.to_numpy(dtype=bool)), *_rejections(frame)],
    )
    account = pd.DataFrame({"row": rows, S.POLICY_ID: ids, ARM: arm, "outcome": outcome, "reason": reason}, index=cells.index)
    entries = frame[(outcome != REJECTED).to_numpy()][[S.POLICY_ID, ARM, ENROLMENT_DATE, CONTACT_CHANNEL, COST, "row"]]
    if entries.empty:
        raise ExtractError("campaign_list", reason="no_rows", rows=len(frame))
    return CampaignList(entries.reset_index(drop=True), account.reset_index(drop=True), _control_arm(entries, control), headers)


def _rejections(frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """The row rules that reject, in the order their reasons are told (a row gets the first that fits)."""
    blank_id = frame[S.POLICY_ID].isna().to_numpy()
    blank_arm = frame[ARM].isna().to_numpy()
    bad_date = frame[ENROLMENT_DATE].isna().to_numpy()
    usable = ~(blank_id | blank_arm | bad_date)
    ids = frame[S.POLICY_ID].where(usable)
    repeated = ids.duplicated(keep=False).to_numpy() & usable
    variants = frame[usable].groupby(S.POLICY_ID, sort=False)[[ARM, ENROLMENT_DATE]].nunique()
    conflicting_ids = variants.index[(variants > 1).any(axis=1)]
    conflicting = repeated & ids.isin(conflicting_ids).to_numpy()
    duplicate = repeated & ~conflicting & ids.duplicated(keep="first").to_numpy()
    return [
        ("blank_policy_id", blank_id),
        ("blank_arm", blank_arm),
        ("bad_enrolment_date", bad_date),
        ("conflicting_rows", conflicting),
        ("duplicate", duplicate),
    ]


def _control_arm(entries: pd.DataFrame, control: str | None) -> str:
    """The control arm's label (see the module docstring), refused when there is none."""
    labels = list(dict.fromkeys(entries[ARM].astype(str)))
    if control is not None:
        if control not in labels:
            raise ExtractError("campaign_list", reason="unknown_control", control=control, arms=", ".join(labels))
        return control
    controls = [label for label in labels if label.strip().lower() in CONTROL_WORDS]
    if len(controls) != 1:
        raise ExtractError("campaign_list", reason="no_control", arms=", ".join(labels))
    return controls[0]
