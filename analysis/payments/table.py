"""A payment history (缴费记录): one row per premium due — policy number, due date, paid date, amount, method.

The history is a file of its own beside the policy extract, read through the same door: the
guard's worker reads it (:func:`analysis.ingest.guard.guarded_table`), policy numbers go through
:func:`~analysis.ingest.parsing.parse_ids`, dates through :func:`~analysis.ingest.parsing.parse_dates`
and amounts through :func:`~analysis.ingest.parsing.parse_numbers`. Headers are recognised in
Chinese and English (:data:`PAYMENT_HEADERS`): 保单号/policy_id, 应缴日期/due_date,
实缴日期/缴费日期/paid_date (blank = not paid), 金额/amount, 缴费方式/method and 扣款失败/failed_debit.

**The row account.** Every row ends in one of three outcomes, with its source row number and a
reason code (:data:`REASONS`):

* ``accepted``;
* ``repaired``: kept after a repair — a policy number read back from a number cell lost its
  ``.0`` (``id_float_tail``); an amount that is not a number or is negative was left blank
  (``bad_amount``); a failed-debit flag that is neither yes nor no was left blank
  (``bad_failed_flag``); once matched with the book (:func:`match_payments`), a paid date after
  the study date was left blank (``paid_after_study_date``): at the study date that premium had
  not been received, which is what an extract of that date must say;
* ``rejected``: a policy number Excel damaged (``id_precision_lost``), no policy number
  (``blank_policy_id``), a due date missing or not a date (``bad_due_date``), a paid date that
  is not a date (``bad_paid_date``: whether the premium was paid cannot be told), a paid date
  more than :data:`EARLY_PAYMENT_MONTHS` months before its due date (``paid_too_early``: no
  insurer collects a premium a year ahead; such a row is a typing error whose true dates cannot
  be told), a second row equal to an earlier one in policy, due date, paid date and amount
  (``duplicate``; the first is kept) and, once matched with the book, a policy not in the book
  (``not_in_book``: counted and listed, never silently dropped).

Two rows of one policy with the same due date and different paid dates are both kept (a
failed debit and its retry are two rows); persistency takes the earliest paid date of a due.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind, run
from analysis.engine.side_sources import SideSource, side_cells
from analysis.errors import ExtractError
from analysis.ingest.headers import header_key
from analysis.ingest.parsing import parse_dates, parse_ids, parse_numbers
from analysis.ingest.side_tables import ACCEPTED, REJECTED, REPAIRED, row_outcomes, side_columns, side_text
from analysis.study.calendar import add_months

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

#: The history's columns (canonical names); ``method_source`` keeps the file's own word for the method.
DUE_DATE, PAID_DATE, AMOUNT, METHOD, FAILED_DEBIT = "due_date", "paid_date", "amount", "method", "failed_debit"
METHOD_SOURCE = "method_source"
PAYMENT_COLUMNS: Final = (S.POLICY_ID, DUE_DATE, PAID_DATE, AMOUNT, METHOD, FAILED_DEBIT)
REQUIRED: Final = (S.POLICY_ID, DUE_DATE, PAID_DATE)
#: Headers recognised for each column (compared by :func:`analysis.ingest.headers.header_key`).
PAYMENT_HEADERS: Final = {
    S.POLICY_ID: ("保单号", "保单合同号", "合同号", "保单编号", "policy_id", "policy_no", "policy_number", "policy"),
    DUE_DATE: ("应缴日期", "应交日期", "应缴费日期", "应收日期", "due_date", "due", "premium_due_date"),
    PAID_DATE: ("实缴日期", "实交日期", "缴费日期", "交费日期", "到账日期", "实收日期", "paid_date", "payment_date", "paid_on"),
    AMOUNT: ("金额", "缴费金额", "实缴金额", "应缴金额", "保费", "amount", "premium", "paid_amount"),
    METHOD: ("缴费方式", "交费方式", "付款方式", "扣款方式", "method", "payment_method", "channel"),
    FAILED_DEBIT: ("扣款失败", "扣款失败标志", "是否扣款失败", "failed_debit", "debit_failed", "failed"),
}
#: Payment methods (codes) and the words that name them (compared by ``header_key``); anything else is ``other``.
METHOD_WORDS: Final = {
    "auto_debit": ("自动扣款", "银行代扣", "代扣", "自动转账", "自动划扣", "auto_debit", "autodebit", "direct_debit"),
    "bank_transfer": ("银行转账", "转账", "银行汇款", "bank_transfer", "transfer", "wire"),
    "cash": ("现金", "柜面现金", "cash"),
    "online": ("线上", "网银", "在线支付", "微信", "支付宝", "手机银行", "online", "card"),
}
METHODS: Final = (*METHOD_WORDS, "other")
#: Words of a true / false failed-debit flag.
FAILED_TRUE: Final = ("是", "1", "true", "yes", "y", "失败", "扣款失败", "failed")
FAILED_FALSE: Final = ("否", "0", "false", "no", "n", "成功", "success")
#: A premium paid more than this many months before it was due is a typing error (``paid_too_early``).
EARLY_PAYMENT_MONTHS: Final = 12
#: The reason codes of the account (outcomes: :mod:`analysis.ingest.side_tables`).
REASONS: Final = (
    "id_float_tail",
    "bad_amount",
    "bad_failed_flag",
    "paid_after_study_date",
    "id_precision_lost",
    "blank_policy_id",
    "bad_due_date",
    "bad_paid_date",
    "paid_too_early",
    "duplicate",
    "not_in_book",
)
ACCOUNT_COLUMNS: Final = ("row", S.POLICY_ID, DUE_DATE, "outcome", "reason")


@dataclass(frozen=True)
class PaymentHistory:
    """A read payment history.

    Attributes
    ----------
    payments : DataFrame
        The kept rows: ``[policy_id, due_date, paid_date, amount, method, method_source,
        failed_debit, row]`` (``paid_date`` NaT = not paid; ``row`` = source row number).
    account : DataFrame
        One row per source row: ``[row, policy_id, due_date, outcome, reason]`` (see the module docstring).
    headers : dict
        Column → the file's own header it was read from.
    matched : bool
        Whether the history was matched with a book (:func:`match_payments`).
    """

    payments: pd.DataFrame
    account: pd.DataFrame
    headers: dict[str, str]
    matched: bool = False

    def counts(self) -> dict[str, int]:
        """Rows by outcome and by reason: ``{"rows": n, "accepted": …, "repaired": …, "rejected": …, <reason>: …}``."""
        out = {"rows": len(self.account)}
        out.update({o: int((self.account["outcome"] == o).sum()) for o in (ACCEPTED, REPAIRED, REJECTED)})
        reasons = self.account["reason"].dropna().astype(str).value_counts()
        out.update({str(reason): int(reasons.get(reason, 0)) for reason in REASONS if reasons.get(reason, 0)})
        return out

    def not_in_book(self) -> pd.DataFrame:
        """The rows whose policy is not in the book (after :func:`match_payments`): the account's columns."""
        return self.account[self.account["reason"] == "not_in_book"].reset_index(drop=True)


def payment_columns(headers: Sequence[str]) -> dict[str, str]:
    """Column → the header that holds it, by :data:`PAYMENT_HEADERS` (first matching header; each used once)."""
    return side_columns(headers, PAYMENT_HEADERS)


def read_payments(
    source: bytes | str | Path | SideSource, *, filename: str | None = None, sheet: str | int | None = None
) -> PaymentHistory:
    """Read a payment history — a file (CSV, Excel or Parquet) through the guard, or a database or lake table — with its row account.

    A :class:`~analysis.engine.side_sources.SideSource` is read on its database or engine and
    its values taken as text, so the same rules and account apply (rows numbered in the order read).

    Raises
    ------
    ExtractError
        ``payments`` (``missing_columns``: no policy-number, due-date or paid-date column;
        ``no_rows``: no row survives); the door's own refusals of a file it cannot read.
    """
    cells, rows, from_workbook = side_cells(source, filename=filename, sheet=sheet)
    return payments_from_cells(cells, rows, from_workbook=from_workbook)


def payments_from_cells(cells: pd.DataFrame, rows: np.ndarray, *, from_workbook: bool = False) -> PaymentHistory:
    """:func:`read_payments` from the cells as text and their source row numbers (``from_workbook``: read from number cells)."""
    headers, text, missing = side_text(cells, PAYMENT_HEADERS, REQUIRED)
    if missing:
        raise ExtractError("payments", reason="missing_columns", **missing)
    blank = pd.Series(pd.NA, index=cells.index, dtype="string")
    ids, stripped, mangled = parse_ids(text[S.POLICY_ID], from_workbook=from_workbook)
    frame = pd.DataFrame(
        {
            S.POLICY_ID: ids.str.strip().replace("", pd.NA),
            DUE_DATE: parse_dates(text[DUE_DATE]).values,
            PAID_DATE: parse_dates(text[PAID_DATE]).values,
        },
        index=cells.index,
    )
    amount = parse_numbers(text[AMOUNT]).values if AMOUNT in text else pd.Series(np.nan, index=cells.index)
    bad_amount = ((amount < 0).fillna(False) | (amount.isna() & text.get(AMOUNT, blank).notna())).to_numpy(dtype=bool)
    frame[AMOUNT] = amount.mask(bad_amount).astype(float)
    frame[METHOD_SOURCE] = text.get(METHOD, blank)
    frame[METHOD] = method_codes(frame[METHOD_SOURCE])
    failed, bad_flag = _failed_flags(text.get(FAILED_DEBIT, blank))
    frame[FAILED_DEBIT] = failed
    frame["row"] = rows
    bad_paid = (frame[PAID_DATE].isna() & text[PAID_DATE].notna()).to_numpy(dtype=bool)
    outcome, reason = row_outcomes(
        cells.index,
        [("id_float_tail", stripped.to_numpy(dtype=bool)), ("bad_amount", bad_amount), ("bad_failed_flag", bad_flag)],
        [("id_precision_lost", mangled.to_numpy(dtype=bool)), *_rejections(frame, bad_paid)],
    )
    account = pd.DataFrame(
        {"row": rows, S.POLICY_ID: frame[S.POLICY_ID], DUE_DATE: frame[DUE_DATE], "outcome": outcome, "reason": reason}, index=cells.index
    )
    kept = frame[(outcome != REJECTED).to_numpy()]
    if kept.empty:
        raise ExtractError("payments", reason="no_rows", rows=len(frame))
    columns = [S.POLICY_ID, DUE_DATE, PAID_DATE, AMOUNT, METHOD, METHOD_SOURCE, FAILED_DEBIT, "row"]
    return PaymentHistory(kept[columns].reset_index(drop=True), account.reset_index(drop=True), headers)


def method_codes(words: pd.Series) -> pd.Series:
    """Each method word as its code of :data:`METHODS` (missing stays missing; an unknown word is ``other``)."""
    lookup = {header_key(word): code for code, words_of in METHOD_WORDS.items() for word in words_of}
    # A history has a handful of distinct words over millions of rows: each distinct word is looked up once.
    positions, distinct = pd.factorize(words.astype("string"), use_na_sentinel=True)
    codes = np.array([lookup.get(header_key(word), "other") for word in distinct] + [pd.NA], dtype=object)
    return pd.Series(codes[positions], index=words.index, dtype="string")


def _failed_flags(words: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The failed-debit flag as a nullable boolean, and where a non-blank word was neither yes nor no."""
    lowered = words.astype("string").str.lower()
    yes, no = lowered.isin(FAILED_TRUE).fillna(False), lowered.isin(FAILED_FALSE).fillna(False)
    flag = pd.Series(pd.NA, index=words.index, dtype="boolean")
    flag[yes.to_numpy(dtype=bool)] = True
    flag[no.to_numpy(dtype=bool)] = False
    bad = (lowered.notna() & ~yes & ~no).to_numpy(dtype=bool)
    return flag, bad


def _rejections(frame: pd.DataFrame, bad_paid: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The row rules that reject, in the order their reasons are told (a row gets the first that fits)."""
    blank_id = frame[S.POLICY_ID].isna().to_numpy()
    bad_due = frame[DUE_DATE].isna().to_numpy()
    paid = frame[PAID_DATE].to_numpy(dtype="datetime64[D]")
    due = frame[DUE_DATE].to_numpy(dtype="datetime64[D]")
    earliest = np.where(bad_due, due, add_months(np.where(bad_due, np.datetime64("2000-01-01"), due), -EARLY_PAYMENT_MONTHS))
    too_early = ~np.isnat(paid) & ~bad_due & (paid < earliest)
    usable = ~(blank_id | bad_due | bad_paid | too_early)
    keys = frame[[S.POLICY_ID, DUE_DATE, PAID_DATE, AMOUNT]][usable]
    duplicate = np.zeros(len(frame), dtype=bool)
    duplicate[np.flatnonzero(usable)] = keys.duplicated(keep="first").to_numpy()
    return [
        ("blank_policy_id", blank_id),
        ("bad_due_date", bad_due),
        ("bad_paid_date", bad_paid),
        ("paid_too_early", too_early),
        ("duplicate", duplicate),
    ]


def match_payments(
    history: PaymentHistory, policies: pd.DataFrame | ir.Table, *, study_date: pd.Timestamp, backend: BaseBackend | None = None
) -> PaymentHistory:
    """The history matched with the book: rows of policies not in the book rejected, paid dates after the study date blanked.

    The book's policy numbers are compared in the engine (an anti-join of the history's
    distinct policy numbers against the book), so a book in a database is not collected.
    Both rules are told in the account (``not_in_book`` rejected and listed by
    :meth:`PaymentHistory.not_in_book`; ``paid_after_study_date`` repaired).
    """
    book = policies[[S.POLICY_ID]].astype({S.POLICY_ID: "string"}) if isinstance(policies, pd.DataFrame) else policies.select(S.POLICY_ID)
    table, engine = bind(book, backend)
    table = table.select(table[S.POLICY_ID].cast("string").name(S.POLICY_ID))  # a database book may hold numbers
    ids, _ = bind(pd.DataFrame({S.POLICY_ID: history.payments[S.POLICY_ID].astype("string").unique()}), engine)
    absent = set(run(engine, ids.anti_join(table, S.POLICY_ID))[S.POLICY_ID].astype(str))
    payments = history.payments
    out_of_book = payments[S.POLICY_ID].astype(str).isin(absent).to_numpy()
    late_record = (payments[PAID_DATE] > pd.Timestamp(study_date)).to_numpy(dtype=bool) & ~out_of_book
    reasons = history.account["reason"].to_numpy(dtype=object).copy()
    outcomes = history.account["outcome"].to_numpy(dtype=object).copy()
    by_row = pd.Series(np.arange(len(reasons)), index=history.account["row"].to_numpy())
    for code, hit, outcome in (("not_in_book", out_of_book, REJECTED), ("paid_after_study_date", late_record, REPAIRED)):
        at = by_row.reindex(payments.loc[hit, "row"].to_numpy()).to_numpy(dtype=np.int64)
        first_reason = pd.isna(reasons[at]) | (outcome == REJECTED)
        reasons[at[first_reason]] = code
        outcomes[at] = np.where(outcomes[at] == REJECTED, REJECTED, outcome)
    account = history.account.assign(outcome=outcomes, reason=reasons)
    kept = payments.assign(**{PAID_DATE: payments[PAID_DATE].mask(late_record)})[~out_of_book].reset_index(drop=True)
    return replace(history, payments=kept, account=account, matched=True)
