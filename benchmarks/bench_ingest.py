"""Ingestion budgets of issue [1/7]: median and best of 3 runs, each in a fresh process, and peak memory.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--sizes csv:1000000,xlsx:1000000,csv:5000000] [--runs 3]``

Budgets: 1M-row CSV → canonical frame ≤ 3 s and ≤ 1.5 GB peak; 1M-row .xlsx ≤ 10 s;
5M-row CSV ≤ 15 s (and < 8 GB peak, issue [7/7]).

The machine has 2 cores: anything else running slows the door down. Each run prints the
1-minute load average seen just before it started and the CPU seconds the load took, so
a busy machine shows (wall time well above CPU time, a load average above ~0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.extracts import big_csv, big_xlsx  # noqa: E402

BUDGETS = {("csv", 1_000_000): 3.0, ("xlsx", 1_000_000): 10.0, ("csv", 5_000_000): 15.0}
MEMORY_BUDGETS_MB = {("csv", 1_000_000): 1536, ("csv", 5_000_000): 8192}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from analysis import load_extract
from analysis.ingest.reading import prefer_jemalloc
prefer_jemalloc()  # as the app and the command line do
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu_before = cpu()
started = time.perf_counter()
result = load_extract({path!r})
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "cpu": cpu() - cpu_before, "peak_mb": peak, "rows": result.rows_read, "accepted": result.accepted}}))
"""


def run_once(path: Path) -> dict[str, float]:
    load = os.getloadavg()[0]
    code = CHILD.format(root=str(ROOT), path=str(path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["load"] = load
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="csv:1000000,xlsx:1000000,csv:5000000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'file':<28}{'rows':>10}{'median s':>10}{'best s':>8}{'budget s':>10}{'peak MB':>9}  verdict")
    for item in args.sizes.split(","):
        kind, size = item.split(":")
        n = int(size)
        path = big_csv(n) if kind == "csv" else big_xlsx(n)
        runs = []
        for _ in range(args.runs):
            runs.append(run_once(path))
            last = runs[-1]
            print(f"  run: {last['seconds']:.2f} s wall, {last['cpu']:.2f} s CPU, load average before {last['load']:.2f}", flush=True)
        median = statistics.median(r["seconds"] for r in runs)
        best = min(r["seconds"] for r in runs)
        peak = max(r["peak_mb"] for r in runs)
        budget = BUDGETS.get((kind, n))
        verdict = "" if budget is None else ("within budget" if median <= budget else "OVER BUDGET")
        memory = MEMORY_BUDGETS_MB.get((kind, n))
        if memory is not None:
            verdict += f"; memory {'within' if peak <= memory else 'OVER'} {memory / 1024:.1f} GB"
        print(
            f"{path.name:<28}{runs[0]['rows']:>10,}{median:>10.2f}{best:>8.2f}{budget or float('nan'):>10.1f}{peak:>9.0f}  {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
