"""Engine-core budgets of issue [3/7]: the same study on DuckDB and Spark, up to 50 million policies.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--policies 1000000] [--big 50000000] [--spark]``

* **1,000,000 policies** (the bundled sample tiled 20 times, policy numbers made unique):
  policy-year rates by two cohorts (channel × gender) after load, i.e. with the book already
  in the engine; budget 0.5 s. With ``--spark`` the same study on a local Spark session.
* **A big book from Parquet** (``--big``, default 50,000,000 synthetic canonical policies,
  written once by DuckDB to ``benchmarks/out/engine_<n>/`` in 16 files, not timed): read
  lazily by DuckDB, never into pandas; policy-year rates by two cohorts, the persistency
  triangle (13/25-month persistency by issue year) and the Kaplan–Meier aggregates
  (channel × duration). Budget: each within 8 GB peak memory. ``--big 0`` skips it.

Each figure is the median of three runs (one for the big book) and the process's peak
resident memory (``ru_maxrss``, which includes DuckDB's own memory).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"

from analysis import load_extract  # noqa: E402
from analysis.engine.backend import bind, connect  # noqa: E402
from analysis.study.run import StudyRequest, run_study  # noqa: E402
from benchmarks.extracts import median_time  # noqa: E402

STUDY = StudyRequest(by=("channel", "gender"))


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def timed(label: str, work: Callable[[], Any], *, runs: int = 3, budget: float | None = None) -> float:
    median = median_time(work, runs=runs)
    verdict = "" if budget is None else ("  within budget" if median <= budget else "  OVER BUDGET")
    shown = f"(budget {budget} s)" if budget is not None else ""
    print(f"  {label:<66}{median:>8.3f} s  peak {peak_gb():5.2f} GB {shown}{verdict}", flush=True)
    return median


def tiled_sample(n: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    loaded = load_extract(ROOT / "data" / "sample_policies.csv")
    reps = -(-n // len(loaded.policies))
    book = pd.concat([loaded.policies] * reps, ignore_index=True).head(n)
    book["policy_id"] = np.char.add("T", np.arange(n).astype(str))
    return book, loaded.study_date


def one_million(n: int, *, spark: bool) -> None:
    book, study_date = tiled_sample(n)
    print(f"\nThe sample tiled to {n:,} policies")
    engines = ["duckdb", "spark"] if spark else ["duckdb"]
    for name in engines:
        backend = connect(name)
        started = time.perf_counter()
        table, _ = bind(book, backend)
        if name == "duckdb":
            table = backend.create_table("bench_book", table, temp=True, overwrite=True)
        else:
            table = table.cache()
        print(f"  {name}: book handed to the engine in {time.perf_counter() - started:.2f} s (not counted)")
        timed(
            f"{name}: policy-year rates by channel × gender",
            lambda table=table, backend=backend: run_study(table, STUDY, study_date=study_date, backend=backend),
            budget=0.5 if name == "duckdb" else None,
        )


def big_parquet(n: int) -> Path:
    """``n`` synthetic canonical policies as a folder of Parquet files, written by DuckDB."""
    folder = OUT / f"engine_{n}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    con = connect("duckdb")
    files = 16
    for part in range(files):
        rows = n // files + (1 if part < n % files else 0)
        con.raw_sql(
            f"""
            COPY (
              WITH base AS (
                SELECT i, hash(i * 7919 + {part}) AS h, DATE '2008-01-01' + CAST(hash(i + {part} * 100000007) % 6800 AS INTEGER) AS issue
                FROM range({rows}) t(i)
              ), shaped AS (
                SELECT *, (h % 1000) AS u, CAST((h >> 12) % 3000 AS INTEGER) AS life FROM base
              )
              SELECT
                'P' || {part} || '-' || i AS policy_id,
                issue AS issue_date,
                CASE WHEN u < 220 THEN 'lapsed' WHEN u < 300 THEN 'surrendered' WHEN u < 310 THEN 'death_claim'
                     WHEN u < 330 THEN 'reinstated' ELSE 'in_force' END AS status,
                CASE WHEN u < 330 THEN issue + life END AS status_date,
                CASE WHEN u < 220 OR (u >= 310 AND u < 330) THEN issue + life END AS lapse_date,
                CASE WHEN u < 220 THEN issue + life - 61 END AS paid_to_date,
                CASE WHEN u >= 310 AND u < 330 THEN issue + life + 90 END AS reinstatement_date,
                ['个险', '银保', '电销', '经代', '互联网'][CAST(1 + (h >> 24) % 5 AS BIGINT)] AS channel,
                ['男', '女'][CAST(1 + (h >> 30) % 2 AS BIGINT)] AS gender,
                CAST(1000 + (h >> 33) % 9000 AS DOUBLE) + 0.5 AS annual_premium,
                [1, 4, 12][CAST(1 + (h >> 40) % 3 AS BIGINT)] AS payment_frequency
              FROM shaped
            ) TO '{folder / f"part-{part:02d}.parquet"}' (FORMAT parquet)
            """
        )
    (folder / "done").write_text(str(n))
    return folder


def big_book(n: int) -> None:
    from analysis.persistency.ratios import PersistencyOptions, persistency_ratios

    made = time.perf_counter()
    folder = big_parquet(n)
    size = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e9
    ready = time.perf_counter() - made
    print(f"\n{n:,} synthetic policies in {folder.relative_to(ROOT)} ({size:.1f} GB Parquet, ready in {ready:.0f} s, not timed)")
    backend = connect("duckdb")
    table = backend.read_parquet(str(folder / "*.parquet"))
    study_date = pd.Timestamp("2026-09-30")
    timed(
        "DuckDB from Parquet: policy-year rates by channel × gender",
        lambda: run_study(table, STUDY, study_date=study_date, backend=backend),
        runs=1,
    )
    timed(
        "DuckDB from Parquet: persistency triangle (13/25 months by issue year)",
        lambda: persistency_ratios(table, study_date=study_date, options=PersistencyOptions(), backend=backend),
        runs=1,
    )
    timed("DuckDB from Parquet: Kaplan–Meier aggregates by channel", lambda: km_aggregates(table, backend, study_date), runs=1)


def km_aggregates(table: Any, backend: Any, study_date: pd.Timestamp) -> pd.DataFrame:
    from analysis.survival.curves import km_from_counts, survival_counts

    return km_from_counts(survival_counts(table, study_date=study_date, by="channel", backend=backend))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=50_000_000)
    parser.add_argument("--spark", action="store_true", help="also time a local Spark session on the 1M book")
    args = parser.parse_args()
    one_million(args.policies, spark=args.spark)
    if args.big:
        big_book(args.big)


if __name__ == "__main__":
    main()
