"""The side tables through the door: the sample's payment history and campaign list, read as a user attaches them.

Reads ``data/sample_payments.csv`` (about 585,000 payments, generated on first use by
``data/make_payments.py``) with :func:`analysis.payments.table.read_payments` and
``data/sample_campaign_list.csv`` with :func:`analysis.interventions.campaign_list.read_campaign_list`:
the guard's worker reads the cells, the parent trims them, parses them and accounts for every
row. Each is read ``--repeat`` times; prints each time, the best and the median, the rows and the
machine's load.

Usage: ``.venv/bin/python benchmarks/bench_side_tables.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.interventions.campaign_list import read_campaign_list  # noqa: E402
from analysis.payments.table import read_payments  # noqa: E402


def _history() -> Path:
    spec = importlib.util.spec_from_file_location("make_payments", ROOT / "data" / "make_payments.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path: Path = module.cached_sample_payments()
    return path


def main(argv: list[str] | None = None) -> int:
    """Print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    history, campaign = _history(), ROOT / "data" / "sample_campaign_list.csv"
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, path, read in (("payment history", history, read_payments), ("campaign list", campaign, read_campaign_list)):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = read(path)
            times.append(time.perf_counter() - start)
        rows = len(result.account)
        shown = ", ".join(f"{t:.2f}" for t in times)
        size = f"{path.name}, {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB"
        print(f"{name} ({size}): {shown} s; best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
