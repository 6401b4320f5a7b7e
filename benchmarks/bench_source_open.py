"""Opening a configured source: a Parquet book of text cells mapped, typed and checked in the engine.

Run: ``.venv/bin/python benchmarks/bench_source_open.py [--policies 1000000] [--engine duckdb|spark] [--runs 1]``

The book is the bundled sample tiled with fresh policy numbers (``benchmarks/extracts.py``),
written once as Parquet with every cell as text, the way a lake table of the extract holds it
(``benchmarks/out/cells_<n>.parquet``, not timed). ``open_source`` then maps its headers, reads
its dates, numbers and codes, runs the door's checks (duplicates included) and keeps the
canonical table on the engine, as the command line's ``--source`` and the app's configured
source do. Printed: each run's time, the account, and the process's peak resident memory
(``ru_maxrss``, DuckDB's own memory included).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"

from analysis.engine.sources import open_source  # noqa: E402
from benchmarks.extracts import big_csv  # noqa: E402

#: The sample's study date (a Parquet file has no title row to say it).
STUDY_DATE = "2026-09-30"


def cells_parquet(n: int) -> Path:
    """The tiled extract's cells as text in one Parquet file, written once."""
    import duckdb

    path = OUT / f"cells_{n}.parquet"
    if not path.exists():
        csv = big_csv(n)
        tmp = path.with_suffix(".tmp")
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv}', all_varchar = true, skip = 1, header = true)) TO '{tmp}' (FORMAT parquet)")
        tmp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000, help="policies in the book (default 1,000,000)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="the engine (default duckdb)")
    parser.add_argument("--runs", type=int, default=1, help="opens, one after the other (default 1)")
    args = parser.parse_args()
    path = cells_parquet(args.policies)
    print(f"{path.relative_to(ROOT)}: {args.policies:,} policies, {path.stat().st_size / 1e6:,.0f} MB")
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        book = open_source(path, engine=args.engine, study_date=STUDY_DATE)
        took = time.perf_counter() - started
        account = book.account
        print(
            f"  open {run}: {took:.1f} s — {account.rows_read:,} rows read = {account.accepted:,} accepted + "
            f"{account.repaired:,} repaired + {account.rejected:,} rejected; {book.policies:,} policies"
        )
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
