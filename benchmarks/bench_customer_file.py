"""Opening one customer's file on a 1,000,000-policy book with tens of millions of payment rows (budget 1 s).

The book is the sample repeated (``benchmarks/extracts.big_csv``) with a customer column added
(``客户号``: three policies per customer); the payment history is made by DuckDB: one premium
due a month over the :data:`MONTHS` months before the study date (from issue, when later), paid
up to the paid-to date, some late, some debits failed. The indexes of the book and of the
history are built once per book (as the page's ``cache_resource`` does) and timed apart; then
each of :data:`OPENS` customers, drawn at random, is opened as the page opens it: the search,
the file (policies, timeline, status history), the scored rows found by index, the policy's
explanation and reasons (the next action) and one what-if (switch to automatic debit).

The model is trained once on a capped sample of training rows (``max_training_rows``), which
changes nothing in the per-click cost; it is the session's cached model on the page.

Usage: ``.venv/bin/python benchmarks/bench_customer_file.py [--policies N]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import load_extract  # noqa: E402
from analysis import schema as S  # noqa: E402
from analysis.engine.backend import bind, connect  # noqa: E402
from analysis.payments.customer import customer_file, index_book, index_payments  # noqa: E402
from analysis.payments.table import AMOUNT, DUE_DATE, FAILED_DEBIT, METHOD, PAID_DATE  # noqa: E402
from analysis.risk.actions import policy_reasons  # noqa: E402
from analysis.risk.explain import explain_row  # noqa: E402
from analysis.risk.model import build_risk  # noqa: E402
from analysis.risk.rows import RiskOptions  # noqa: E402
from analysis.risk.whatif import WhatIf, what_if  # noqa: E402
from benchmarks.extracts import big_csv  # noqa: E402

BUDGET_SECONDS = 1.0
#: Months of monthly dues before the study date in the synthetic history.
MONTHS = 24
#: Policies per customer in the synthetic customer column.
PER_CUSTOMER = 3
OPENS = 20
TRAINING_ROWS = 100_000


def payments_of(policies: pd.DataFrame, study_date: pd.Timestamp) -> pd.DataFrame:
    """The synthetic history (canonical columns), made in DuckDB and handed over through Arrow."""
    book = policies[[S.POLICY_ID, S.ISSUE_DATE, S.PAID_TO_DATE, S.ANNUAL_PREMIUM]].copy()
    table, backend = bind(book, connect("duckdb"))
    name = table.get_name()
    study = study_date.date().isoformat()
    sql = f"""
        SELECT policy_id, due_date,
               CASE WHEN paid_to_date IS NOT NULL AND due_date >= paid_to_date THEN NULL
                    WHEN hash(policy_id || k::VARCHAR) % 10 = 0 THEN due_date + 25
                    ELSE due_date + (hash(policy_id || k::VARCHAR) % 8)::INTEGER END AS paid_date,
               annual_premium / 12 AS amount,
               CASE WHEN hash(policy_id) % 3 = 0 THEN 'auto_debit' ELSE 'bank_transfer' END AS method,
               hash(policy_id || k::VARCHAR || 'f') % 30 = 0 AS failed_debit
        FROM (
            SELECT policy_id, paid_to_date, annual_premium, k,
                   (greatest(issue_date::DATE, DATE '{study}' - INTERVAL {MONTHS} MONTH) + to_months(k))::DATE AS due_date
            FROM "{name}", range(0, {MONTHS}) r(k)
        ) WHERE due_date <= DATE '{study}'
    """
    frame = backend.con.sql(sql).to_arrow_table().to_pandas()
    frame[S.POLICY_ID] = frame[S.POLICY_ID].astype("string[pyarrow]")
    frame[DUE_DATE], frame[PAID_DATE] = pd.to_datetime(frame[DUE_DATE]), pd.to_datetime(frame[PAID_DATE])
    frame[METHOD] = frame[METHOD].astype("category")
    frame[FAILED_DEBIT] = frame[FAILED_DEBIT].astype("boolean")
    return frame[[S.POLICY_ID, DUE_DATE, PAID_DATE, AMOUNT, METHOD, FAILED_DEBIT]]


def main(argv: list[str] | None = None) -> int:
    """Build the book, the history, the indexes and the model; time the opening of customer files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    mark = time.perf_counter()
    loaded = load_extract(big_csv(args.policies))
    policies = loaded.policies.assign(客户号=[f"C{i // PER_CUSTOMER:07d}" for i in range(len(loaded.policies))])
    study = loaded.study_date
    print(f"book: {len(policies):,} policies read in {time.perf_counter() - mark:.1f} s")
    mark = time.perf_counter()
    payments = payments_of(policies, study)
    print(f"history: {len(payments):,} payment rows made in {time.perf_counter() - mark:.1f} s")

    mark = time.perf_counter()
    book_index = index_book(policies)
    print(f"index of the book by policy and customer ({book_index.column}): {time.perf_counter() - mark:.2f} s, once per book")
    mark = time.perf_counter()
    pay_index = index_payments(payments)
    print(f"index of the history by policy: {time.perf_counter() - mark:.2f} s, once per history")
    mark = time.perf_counter()
    risk = build_risk(policies, study, RiskOptions(max_training_rows=TRAINING_ROWS, explain_sample=1000))
    print(f"model (cached on the page): {time.perf_counter() - mark:.1f} s on {TRAINING_ROWS:,} training rows")

    rng = np.random.default_rng(0)
    scored_ids = risk.scores[S.POLICY_ID].astype(str).to_numpy()
    probes = [str(policies["客户号"].iloc[book_index.policy_rows(p)[0]]) for p in rng.choice(scored_ids, size=OPENS, replace=False)]
    times, dues = [], []
    stages: dict[str, list[float]] = {"file": [], "scores": [], "reasons": [], "what-if": []}
    for key in probes:
        started = time.perf_counter()
        found_key, positions = book_index.find(key, policies)
        file = customer_file(
            policies, positions, study_date=study, key=found_key, column=book_index.column, payments=payments, payment_index=pay_index
        )
        mark = time.perf_counter()
        stages["file"].append(mark - started)
        located = risk.scores.index.get_indexer(file.policies.index)
        scored = risk.scores.iloc[located[located >= 0]]
        row = scored.sort_values("probability", ascending=False).iloc[[0]]
        stages["scores"].append(time.perf_counter() - mark)
        mark = time.perf_counter()
        reasons = policy_reasons(explain_row(risk, row))
        stages["reasons"].append(time.perf_counter() - mark)
        mark = time.perf_counter()
        outcome = what_if(risk, row, WhatIf(auto_debit=True))
        stages["what-if"].append(time.perf_counter() - mark)
        times.append(time.perf_counter() - started)
        dues.append(len(file.timeline))
        assert reasons.lever and 0 <= outcome.after <= 1
    times.sort()
    print(
        f"one customer file ({PER_CUSTOMER} policies, {int(np.median(dues))} dues, reasons, next action, one what-if): "
        f"median {times[len(times) // 2] * 1000:.0f} ms, worst {times[-1] * 1000:.0f} ms of {OPENS} (budget {BUDGET_SECONDS:.0f} s)"
    )
    print("  median by step: " + ", ".join(f"{name} {np.median(values) * 1000:.0f} ms" for name, values in stages.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
