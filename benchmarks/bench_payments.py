"""Persistency on premiums received at scale: 1,000,000 monthly-pay policies and their payment rows (budget 10 s).

The book and its payment history are made by DuckDB itself (``generate_series``) and written
as Parquet under ``benchmarks/out/``; the history is read lazily from Parquet (it never enters
pandas) and joined to the book in the engine. Each policy is issued in 2021–2022 and pays
monthly up to the study date (2024-06-30) or up to a lapse; 10 % of premiums are paid late.
Prints the rows, the figures and the seconds of P13/P25 on both definitions.

Usage: ``.venv/bin/python benchmarks/bench_payments.py [--policies N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from analysis.engine.backend import connect  # noqa: E402
from analysis.persistency.ratios import PersistencyOptions, persistency_table  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
STUDY = "2024-06-30"
BUDGET_SECONDS = 10.0


def make(policies: int) -> tuple[Path, Path]:
    """Write the synthetic book and payments as Parquet (deterministic: hashes of the policy number)."""
    OUT.mkdir(parents=True, exist_ok=True)
    book, payments = OUT / f"payments_book_{policies}.parquet", OUT / f"payments_rows_{policies}.parquet"
    if book.exists() and payments.exists():
        return book, payments
    con = connect("duckdb").con
    con.execute(f"""
        COPY (
          SELECT *, CASE WHEN status = 'lapsed' THEN (issue_date + to_months(lapse_month))::DATE END AS paid_to_date
          FROM (
            SELECT 'P' || lpad(i::VARCHAR, 9, '0') AS policy_id,
                   DATE '2021-01-01' + (hash(i) % 730)::INTEGER AS issue_date,
                   CASE WHEN hash(i * 7) % 100 < 12 THEN 'lapsed' ELSE 'in_force' END AS status,
                   1 AS payment_frequency,
                   100 + (hash(i * 13) % 5000)::DOUBLE AS annual_premium,
                   (hash(i * 11) % 30)::INTEGER AS lapse_month
            FROM range({policies}) t(i)
          )
        ) TO '{book}' (FORMAT PARQUET)""")
    con.execute(f"""
        COPY (
          SELECT policy_id, due_date,
                 CASE WHEN status = 'lapsed' AND k >= lapse_month THEN NULL
                      WHEN hash(policy_id || k::VARCHAR) % 10 = 0 THEN due_date + 40
                      ELSE due_date END AS paid_date
          FROM (
            SELECT b.policy_id, b.status, b.lapse_month, k,
                   (b.issue_date + to_months(k))::DATE AS due_date
            FROM read_parquet('{book}') b, range(0, 42) r(k)
          ) WHERE due_date <= DATE '{STUDY}' AND (status = 'in_force' OR k <= lapse_month)
        ) TO '{payments}' (FORMAT PARQUET)""")
    return book, payments


def main(argv: list[str] | None = None) -> int:
    """Time P13/P25 on premiums received and on the approximation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    book_path, payments_path = make(args.policies)
    backend = connect("duckdb")
    book = backend.read_parquet(str(book_path))
    payments = backend.read_parquet(str(payments_path))
    rows = int(payments.count().execute())
    study = pd.Timestamp(STUDY)
    options = PersistencyOptions(months=(13, 25))
    for name, given in (("in_force_approximation", None), ("premiums_received", payments)):
        started = time.perf_counter()
        table = persistency_table(book, study_date=study, options=options, basis="premium", payments=given)
        seconds = time.perf_counter() - started
        figures = ", ".join(f"P{m} {p:.4f}" for m, p in zip(table["month"], table["persistency"]))
        print(f"{name}: {args.policies:,} policies, {rows:,} payment rows: {figures} in {seconds:.2f} s (budget {BUDGET_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
