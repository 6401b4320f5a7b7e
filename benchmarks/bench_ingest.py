"""Ingestion budgets of issue [1/7]: median of 3 runs, peak memory of one run in a fresh process.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--sizes csv:1000000,xlsx:1000000,csv:5000000]``

Budgets: 1M-row CSV → canonical frame ≤ 3 s and ≤ 1.5 GB peak; 1M-row .xlsx ≤ 10 s;
5M-row CSV ≤ 15 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.extracts import big_csv, big_xlsx  # noqa: E402

BUDGETS = {("csv", 1_000_000): 3.0, ("xlsx", 1_000_000): 10.0, ("csv", 5_000_000): 15.0}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from analysis import load_extract
started = time.perf_counter()
result = load_extract({path!r})
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "peak_mb": peak, "rows": result.rows_read, "accepted": result.accepted}}))
"""


def run_once(path: Path) -> dict[str, float]:
    code = CHILD.format(root=str(ROOT), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="csv:1000000,xlsx:1000000,csv:5000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'file':<26}{'rows':>10}{'median s':>10}{'budget s':>10}{'peak MB':>10}  verdict")
    for item in args.sizes.split(","):
        kind, size = item.split(":")
        n = int(size)
        path = big_csv(n) if kind == "csv" else big_xlsx(n)
        runs = [run_once(path) for _ in range(args.runs)]
        median = statistics.median(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        budget = BUDGETS.get((kind, n))
        verdict = "" if budget is None else ("within budget" if median <= budget else "OVER BUDGET")
        if (kind, n) == ("csv", 1_000_000):
            verdict += "; memory " + ("within 1.5 GB" if peak <= 1536 else "OVER 1.5 GB")
        print(f"{path.name:<26}{runs[0]['rows']:>10,}{median:>10.2f}{budget or float('nan'):>10.1f}{peak:>10.0f}  {verdict}")


if __name__ == "__main__":
    main()
