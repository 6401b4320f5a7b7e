"""How well the Overview's projection of persistency lands: a back-test on the sample and the real books.

Run: ``.venv/bin/python benchmarks/backtest_projection.py``

For each data set, study dates 6, 12 and 18 months before the extract's own are taken; the
cohorts that had not reached 13 (25) months then are projected, and the projection is set
against what those cohorts actually did by the extract's study date (the trend's persistency).
Cells that had developed by the earlier date do not depend on later events, so the earlier
date sees only what was known then. Prints the number of cohort × month cells compared, the
mean error (projected − actual, in percentage points) and the mean and largest absolute error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.ingest.presets import load_preset  # noqa: E402
from analysis.persistency.overview import persistency_trend  # noqa: E402
from analysis.persistency.projection import projected_persistency  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BOOKS = [
    ("bundled sample", ROOT / "data" / "sample_policies.csv", None),
    ("uslapseagent", SHARED / "uslapseagent.csv", ROOT / "data" / "presets" / "uslapseagent.toml"),
    ("eusavingULnoPS", SHARED / "eusavingULnoPS.csv", ROOT / "data" / "presets" / "eusavingULnoPS.toml"),
]


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    print(f"{'book':<16} {'back':>5} {'month':>5} {'cells':>5} {'mean pp':>8} {'mean |pp|':>9} {'max |pp|':>8}")
    for name, path, preset in BOOKS:
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        loaded = load_extract(path, preset=load_preset(preset) if preset else None)
        actual = persistency_trend(loaded.policies, study_date=loaded.study_date, months=(13, 25))
        for back in (6, 12, 18):
            earlier = loaded.study_date - pd.DateOffset(months=back)
            projection = projected_persistency(loaded.policies, study_date=earlier, months=(13, 25))
            both = projection.merge(actual, on=["cohort", "month"])
            if both.empty:
                print(f"{name:<16} {back:>4}m  no cohort to compare (persistency leaves out single-premium policies by default)")
                continue
            for month, cells in both.groupby("month"):
                error = (cells["projected"] - cells["persistency"]) * 100
                print(
                    f"{name:<16} {back:>4}m {month:>5} {len(cells):>5} {error.mean():>+8.2f} "
                    f"{error.abs().mean():>9.2f} {error.abs().max():>8.2f}"
                )


if __name__ == "__main__":
    main()
