"""Payments at scale: 1,000,000 monthly-pay policies and ~29 M payment rows (budgets: 10 s each).

Times the two figures the issue budgets ([5/7]):

* **P13/P25 on premiums received** (and on the in-force approximation, for comparison);
* **the payment features of the training rows** (:mod:`analysis.payments.features`): late
  payments, longest delay and failed debits in the last 12 months, a change of method and months
  since the last late payment, for every (policy, as-of date) row the lapse model trains on at
  its default cap (``RiskOptions.max_training_rows``, 500,000 rows), and for every training row
  uncapped.

The book and its payment history are made by DuckDB itself (``generate_series``, deterministic
hashes of the policy number) and written as Parquet outside the repository (``--out``, default
``/tmp/lapselens-bench-payments``). Each policy is issued in 2021–2022 and pays monthly up to the
study date (2024-06-30) or up to a lapse (12 %); 60 % pay by automatic debit (3 % of debits fail
and are paid 11–28 days later), the rest by bank transfer, 10 % of their premiums 40 days late.
The history is read lazily from Parquet (it never enters pandas) and joined in the engine; the
training rows' pairs are the only frame handed to it. Prints the rows, the figures, the seconds,
the machine's load and the process's peak memory (resident set, DuckDB included).

Usage: ``.venv/bin/python benchmarks/bench_payments.py [--policies N] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import schema as S  # noqa: E402
from analysis.engine.backend import bind, connect  # noqa: E402
from analysis.engine.risk_rows import book_columns, training_selection  # noqa: E402
from analysis.payments.features import LATE_PAYMENTS, payment_features  # noqa: E402
from analysis.persistency.ratios import PersistencyOptions, persistency_table  # noqa: E402
from analysis.risk.rows import DEFAULT_OPTIONS, as_of_dates  # noqa: E402
from analysis.study.calendar import add_months  # noqa: E402
from benchmarks.extracts import median_time  # noqa: E402

OUT = Path("/tmp/lapselens-bench-payments")
STUDY = "2024-06-30"
BUDGET_SECONDS = 10.0


def make(policies: int, out: Path) -> tuple[Path, Path]:
    """Write the synthetic book and payments as Parquet (deterministic: hashes of the policy number)."""
    out.mkdir(parents=True, exist_ok=True)
    book, payments = out / f"payments_book_{policies}.parquet", out / f"payments_rows_{policies}.parquet"
    if book.exists() and payments.exists():
        return book, payments
    con = connect("duckdb").con
    con.execute(f"""
        COPY (
          SELECT *, CASE WHEN status = 'lapsed' THEN (issue_date + to_months(lapse_month))::DATE END AS paid_to_date,
                 CASE WHEN status = 'lapsed' THEN (issue_date + to_months(lapse_month))::DATE + 61 END AS lapse_date,
                 CASE WHEN status = 'lapsed' THEN (issue_date + to_months(lapse_month))::DATE + 61 END AS status_date
          FROM (
            SELECT 'P' || lpad(i::VARCHAR, 9, '0') AS policy_id,
                   DATE '2021-01-01' + (hash(i) % 730)::INTEGER AS issue_date,
                   CASE WHEN hash(i * 7) % 100 < 12 THEN 'lapsed' ELSE 'in_force' END AS status,
                   1 AS payment_frequency,
                   100 + (hash(i * 13) % 5000)::DOUBLE AS annual_premium,
                   hash(i * 17) % 10 < 6 AS auto_debit,
                   (hash(i * 11) % 30)::INTEGER AS lapse_month
            FROM range({policies}) t(i)
          )
        ) TO '{book}' (FORMAT PARQUET)""")
    con.execute(f"""
        COPY (
          SELECT policy_id, due_date,
                 CASE WHEN status = 'lapsed' AND k >= lapse_month THEN NULL
                      WHEN auto_debit AND failed THEN due_date + 11 + (hash(policy_id || k::VARCHAR) % 18)::INTEGER
                      WHEN NOT auto_debit AND hash(policy_id || k::VARCHAR) % 10 = 0 THEN due_date + 40
                      ELSE due_date END AS paid_date,
                 CASE WHEN auto_debit THEN 'auto_debit' ELSE 'bank_transfer' END AS method,
                 auto_debit AND (failed OR (status = 'lapsed' AND k >= lapse_month)) AS failed_debit
          FROM (
            SELECT b.policy_id, b.status, b.lapse_month, b.auto_debit, k,
                   (b.issue_date + to_months(k))::DATE AS due_date,
                   hash(b.policy_id || 'f' || k::VARCHAR) % 100 < 3 AS failed
            FROM read_parquet('{book}') b, range(0, 42) r(k)
          ) WHERE due_date <= DATE '{STUDY}' AND (status = 'in_force' OR k <= lapse_month)
        ) TO '{payments}' (FORMAT PARQUET)""")
    return book, payments


def peak_mb() -> float:
    """The process's peak resident set so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_pairs(book: pd.DataFrame, *, max_rows: int | None) -> pd.DataFrame:
    """The lapse model's training rows at its default as-of dates, as ``[policy_id, as_of_day]`` (the engine's draw)."""
    dates = as_of_dates(pd.Timestamp(STUDY), horizon_months=DEFAULT_OPTIONS.horizon_months, step_months=DEFAULT_OPTIONS.step_months)
    days = [int((d - pd.Timestamp("1970-01-01")).days) for d in dates]
    ends = add_months(np.array(days, dtype="datetime64[D]"), DEFAULT_OPTIONS.horizon_months).astype(np.int64)
    table, engine = bind(book_columns(book))
    chosen = training_selection(table, engine, as_of_days=days, horizon_ends=list(ends), max_rows=max_rows, random_state=0)
    ids = book[S.POLICY_ID].to_numpy()[chosen["book_row"].to_numpy()]
    return pd.DataFrame({S.POLICY_ID: ids, "as_of_day": chosen["as_of_day"].to_numpy()})


def main(argv: list[str] | None = None) -> int:
    """Time P13/P25 on premiums received and the payment features of the training rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the Parquet files go (default {OUT})")
    args = parser.parse_args(argv)
    book_path, payments_path = make(args.policies, args.out)
    backend = connect("duckdb")
    book = backend.read_parquet(str(book_path))
    payments = backend.read_parquet(str(payments_path))
    rows = int(payments.count().execute())
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.policies:,} policies, {rows:,} payment rows")
    study = pd.Timestamp(STUDY)
    options = PersistencyOptions(months=(13, 25))
    for name, given in (("in_force_approximation", None), ("premiums_received", payments)):
        started = time.perf_counter()
        table = persistency_table(book, study_date=study, options=options, basis="premium", payments=given)
        seconds = time.perf_counter() - started
        figures = ", ".join(f"P{m} {p:.4f}" for m, p in zip(table["month"], table["persistency"]))
        print(f"P13/P25 {name}: {figures} in {seconds:.2f} s (budget {BUDGET_SECONDS:.0f} s); peak {peak_mb():,.0f} MB")
    policies = pd.read_parquet(book_path)
    for cap, runs in ((DEFAULT_OPTIONS.max_training_rows, 3), (None, 1)):
        pairs = training_pairs(policies, max_rows=cap)
        late = float((payment_features(pairs, payments)[LATE_PAYMENTS] > 0).mean())  # the first run also warms the file cache
        seconds = median_time(lambda: payment_features(pairs, payments), runs=runs)  # noqa: B023 - called at once
        print(
            f"payment features of {len(pairs):,} training rows ({'capped' if cap else 'uncapped'}): {seconds:.2f} s "
            f"(median of {runs} after a first run; budget {BUDGET_SECONDS:.0f} s); {late:.1%} with a late payment; "
            f"peak {peak_mb():,.0f} MB; load average {os.getloadavg()[0]:.1f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
