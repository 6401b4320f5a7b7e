"""Generate the sample payment history (缴费记录) of the sample extract, one row per premium due.

Derived deterministically from each policy of ``data/sample_policies.csv`` (which this script
never changes): its issue date, payment frequency, annual premium, status, paid-to date (交至日期),
lapse date and reinstatement date. The rules (also in ``data/README.md``, "The payment history"):

* dues fall every 12 / 4 / 2 / 1 times a year from the issue date (a single premium: one due at
  issue); they are billed up to the study date for a policy in force, in grace, on an automatic
  premium loan or reinstated, up to and including the missed due (the paid-to date) for a lapse,
  and before the paid-to date for a surrender, a death, a free-look cancellation or a maturity;
* a due before the paid-to date is paid; the missed due and later ones are not; a reinstated
  policy's dues from the missed one to its reinstatement are paid on the reinstatement date;
* an automatic-debit policy (交费方式 银行代扣) pays by 自动扣款 on the due date, except a failed
  debit (扣款失败 = 是, :data:`FAILED_DEBIT_RATE`) retried and paid :data:`RETRY_DAYS` days later
  (so a failed debit is also a late payment); other policies pay by 银行转账, 现金 or 线上 between
  :data:`EARLY_DAYS` days before and :data:`ON_TIME_DAYS` days after the due date (on time means
  by the due date), and late (:data:`LATE_DAYS`, inside the 60-day grace) at :data:`LATE_RATE`;
  an unpaid due of an automatic-debit policy is a failed debit;
* the planted signal: in the :data:`PLANTED_MONTHS` months before a lapse's missed due, a due is
  paid late (or its debit fails and is retried late) at :data:`LATE_RATE_BEFORE_LAPSE`, ten times
  the other policies' rate (the lapses themselves are the extract's; the payments lead up to
  them). No payment is dated after the study date.

Usage: ``python data/make_payments.py [--out PATH]`` (default ``data/sample_payments.csv``, not
committed: about 40 MB; :func:`cached_sample_payments` generates it on first use).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from analysis import load_extract  # noqa: E402
from analysis import schema as S  # noqa: E402
from analysis.study.calendar import add_months, whole_months  # noqa: E402

SEED = 1217
OUT = HERE / "sample_payments.csv"
HEADERS = ("保单号", "应缴日期", "实缴日期", "金额", "缴费方式", "扣款失败")
FAILED_DEBIT_RATE = 0.03
RETRY_DAYS = (11, 28)
EARLY_DAYS, ON_TIME_DAYS = 10, 0
LATE_RATE = 0.06
LATE_DAYS = (11, 55)
#: The planted signal: in the PLANTED_MONTHS months before a lapse's missed due, a premium is paid
#: late (or its automatic debit fails and is retried late) at LATE_RATE_BEFORE_LAPSE.
PLANTED_MONTHS = 12
LATE_RATE_BEFORE_LAPSE = 0.6
#: Methods of policies that do not pay by automatic debit, and their shares.
OTHER_METHODS, OTHER_SHARES = ("银行转账", "现金", "线上"), (0.55, 0.15, 0.30)
BILLED_TO_STUDY_DATE = (S.IN_FORCE, S.GRACE, S.APL, S.REINSTATED)
BILLED_TO_MISSED_DUE = (S.LAPSED, S.TERMINATED_AFTER_LAPSE)


def _days(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[D]")


def billing(policies: pd.DataFrame, study_date: pd.Timestamp) -> pd.DataFrame:
    """Per policy: ``freq``, ``issue``, ``bill_end`` (last billed day), ``paid_before`` (earlier dues are paid), ``missed``, ``back``."""
    t = np.datetime64(pd.Timestamp(study_date).date(), "D")
    never = np.datetime64("2262-01-01", "D")
    status = policies[S.STATUS].astype(str).to_numpy()
    paid_to, lapse, back = _days(policies[S.PAID_TO_DATE]), _days(policies[S.LAPSE_DATE]), _days(policies[S.REINSTATEMENT_DATE])
    status_day = _days(policies[S.STATUS_DATE])
    missed = np.where(np.isnat(lapse), paid_to, lapse - (S.GRACE_DAYS + 1))
    missed = np.where(np.isin(status, BILLED_TO_MISSED_DUE) & ~np.isnat(paid_to), paid_to, missed)
    ongoing = np.isin(status, BILLED_TO_STUDY_DATE)
    term_over = ongoing & ~np.isnat(paid_to) & (paid_to <= t) & (status != S.GRACE)
    ended = np.where(np.isnat(paid_to), status_day - 1, paid_to - 1)
    bill_end = np.where(ongoing, np.where(term_over, paid_to - 1, t), np.where(np.isin(status, BILLED_TO_MISSED_DUE), missed, ended))
    paid_before = np.where(np.isnat(paid_to), np.where(ongoing, never, ended + 1), paid_to)
    paid_before = np.where(status == S.REINSTATED, never, np.where(status == S.APL, never, paid_before))
    return pd.DataFrame(
        {
            S.POLICY_ID: policies[S.POLICY_ID].astype(str).to_numpy(),
            "freq": policies[S.PAYMENT_FREQUENCY].fillna(12).to_numpy(dtype=np.int64),
            "issue": _days(policies[S.ISSUE_DATE]),
            "bill_end": np.minimum(bill_end, t),
            "paid_before": paid_before,
            "missed": np.where(np.isin(status, (*BILLED_TO_MISSED_DUE, S.REINSTATED)), missed, np.datetime64("NaT")),
            "back": np.where(status == S.REINSTATED, back, np.datetime64("NaT")),
            "auto": policies[S.AUTO_DEBIT].fillna(False).to_numpy(dtype=bool),
            "premium": policies[S.ANNUAL_PREMIUM].to_numpy(dtype=float),
        }
    )


def sample_payments(policies: pd.DataFrame, study_date: pd.Timestamp, *, random_state: int = SEED) -> pd.DataFrame:
    """The payment history of a canonical book as a file would hold it (Chinese headers, text cells)."""
    rng = np.random.default_rng(random_state)
    bill = billing(policies, study_date)
    bill = bill[~np.isnat(_days(bill["issue"])) & (_days(bill["bill_end"]) >= _days(bill["issue"]))].reset_index(drop=True)
    freq, issue, end = bill["freq"].to_numpy(), _days(bill["issue"]), _days(bill["bill_end"])
    counts = np.where(freq > 0, whole_months(issue, end) // np.maximum(freq, 1) + 1, 1)
    at = np.repeat(np.arange(len(bill)), counts)
    j = np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
    due = add_months(issue[at], j * freq[at])
    missed, back, auto = _days(bill["missed"])[at], _days(bill["back"])[at], bill["auto"].to_numpy()[at]
    paid_ok = due < _days(bill["paid_before"])[at]
    in_arrears = ~np.isnat(back) & (due >= missed) & (due <= back)
    before_lapse = ~np.isnat(missed) & (due < missed) & (due >= add_months(np.where(np.isnat(missed), due, missed), -PLANTED_MONTHS))
    u, delay = rng.random(len(at)), rng.integers(*LATE_DAYS, size=len(at), endpoint=True)
    late = u < np.where(before_lapse, LATE_RATE_BEFORE_LAPSE, np.where(auto, 0.0, LATE_RATE))
    failed = auto & ((u < np.where(before_lapse, LATE_RATE_BEFORE_LAPSE, FAILED_DEBIT_RATE)) | ~(paid_ok | in_arrears))
    offset = np.where(auto, 0, rng.integers(-EARLY_DAYS, ON_TIME_DAYS, size=len(at), endpoint=True))
    offset = np.where(late & ~auto, delay, np.where(failed, rng.integers(*RETRY_DAYS, size=len(at), endpoint=True), offset))
    method = np.where(auto, "自动扣款", np.asarray(OTHER_METHODS)[rng.choice(len(OTHER_METHODS), size=len(bill), p=OTHER_SHARES)][at])
    paid = due + offset.astype("timedelta64[D]")
    paid = np.where(in_arrears, back, paid)
    paid = np.minimum(paid, np.datetime64(pd.Timestamp(study_date).date(), "D"))
    paid = np.where(paid_ok | in_arrears, paid, np.datetime64("NaT"))
    amount = np.round(bill["premium"].to_numpy()[at] * np.where(freq[at] > 0, freq[at], 12) / 12, 2)
    out = pd.DataFrame(
        {
            HEADERS[0]: bill[S.POLICY_ID].to_numpy()[at],
            HEADERS[1]: pd.Series(due).dt.strftime("%Y-%m-%d").to_numpy(),
            HEADERS[2]: pd.Series(paid).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
            HEADERS[3]: np.where(np.isnan(amount), "", np.char.mod("%.2f", np.nan_to_num(amount))),
            HEADERS[4]: method,
            HEADERS[5]: np.where(failed, "是", "否"),
        }
    )
    return out.sort_values([HEADERS[1], HEADERS[0]], kind="stable").reset_index(drop=True)


def sample_book() -> tuple[pd.DataFrame, pd.Timestamp]:
    """The sample extract's canonical book and study date."""
    loaded = load_extract(HERE / "sample_policies.csv")
    return loaded.policies, loaded.study_date


def write(path: Path = OUT) -> Path:
    """Generate the sample's payment history and write it as UTF-8 CSV with Unix line endings.

    Written beside ``path`` first and then renamed, so a reader (another session of the app
    asking for the sample's history at the same moment) never sees half a file.
    """
    policies, study_date = sample_book()
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    partial = Path(name)
    try:
        sample_payments(policies, study_date).to_csv(partial, index=False, lineterminator="\n")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # gone already once renamed
    return path


def cached_sample_payments(path: Path = OUT) -> Path:
    """The sample's payment history file, generated on first use (it is not committed) and again when this script is newer."""
    fresh = path.exists() and path.stat().st_mtime >= Path(__file__).stat().st_mtime
    return path if fresh else write(path)


def main(argv: list[str] | None = None) -> int:
    """``python data/make_payments.py [--out PATH]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    path = write(args.out)
    print(f"{path}: {sum(1 for _ in path.open(encoding='utf-8')) - 1:,} payments, {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
