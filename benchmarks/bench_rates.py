"""Cohort-study budgets of issue [2/7], on 1,000,000 policies.

Run: ``.venv/bin/python benchmarks/bench_rates.py``

Budgets: policy-year rates by two cohort keys ≤ 1.5 s; policy-month rates ≤ 5 s and
≤ 2 GB peak memory; a repeated (cached) interaction in the app ≤ 300 ms.

Two 1M books are timed: the US agency data set tiled 34 times (the book the actxps
comparison uses, see ``benchmarks/actxps_reference.py``) and the bundled sample tiled
20 times. The canonical frame is loaded before timing starts: loading has its own
benchmark (``bench_ingest.py``).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract, load_preset  # noqa: E402
from analysis.study.exposure import StudySpec, exposures  # noqa: E402
from analysis.study.rates import lapse_rates  # noqa: E402
from analysis.study.run import StudyRequest, run_study  # noqa: E402
from benchmarks.extracts import big_csv  # noqa: E402

N = 1_000_000


def tiled_us_book(n: int = N) -> tuple[pd.DataFrame, pd.Timestamp]:
    loaded = load_extract(
        ROOT.parent / "shared" / "data" / "uslapseagent.csv", preset=load_preset(ROOT / "data" / "presets" / "uslapseagent.toml")
    )
    base = loaded.policies
    reps = -(-n // len(base))
    book = pd.concat([base] * reps, ignore_index=True).head(n)
    book["policy_id"] = np.char.add("T", np.arange(n).astype(str))
    return book, loaded.study_date


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return peak_mb()


def timed(label: str, budget: float | None, work, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    verdict = "" if budget is None else ("within budget" if median <= budget else "OVER BUDGET")
    print(f"  {label:<58}{median:>8.3f} s  (budget {budget if budget is not None else '-'} s)  {verdict}")
    return median


def actxps(stage: str) -> dict[str, float] | None:
    """Time one actxps stage in its own virtualenv (see benchmarks/actxps_reference.py), if installed."""
    python = os.environ.get("ACTXPS_PYTHON", "/tmp/actxps-venv/bin/python")
    if not Path(python).exists():
        return None
    script = ROOT / "benchmarks" / "actxps_reference.py"
    done = subprocess.run([python, str(script), "--stage", stage, "--time", str(N)], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  actxps {stage} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    print(f"US agency book tiled to {N:,} policies (the book actxps is timed on)")
    book, study_date = tiled_us_book()
    ours_py = timed(
        "policy-year rates by policy year × premium.frequency",
        1.5,
        lambda: lapse_rates(exposures(book, by=["premium.frequency"], spec=StudySpec(), study_date=study_date), by=["premium.frequency"]),
    )
    base = current_mb()
    ours_pm = timed(
        "policy-month rates (whole book)",
        5.0,
        lambda: lapse_rates(exposures(book, spec=StudySpec(period="policy_month"), study_date=study_date)),
    )
    print(f"  policy-month peak memory {peak_mb():,.0f} MB, of which {base:,.0f} MB was the loaded book before it (budget 2,048 MB)")
    expose_py, stats_py, expose_pm = actxps("py"), actxps("stats"), actxps("pm")
    if expose_py and stats_py and expose_pm:
        theirs_py = expose_py["seconds"] + stats_py["seconds"]
        print(f"  actxps: ExposedDF(policy year) + exp_stats {theirs_py:.2f} s → ours is {theirs_py / ours_py:.0f}× faster")
        print(
            f"  actxps: ExposedDF(policy month) {expose_pm['seconds']:.2f} s, peak {expose_pm['peak_mb']:,.0f} MB "
            f"→ ours is {expose_pm['seconds'] / ours_pm:.0f}× faster"
        )
    else:
        print("  actxps not installed: see benchmarks/actxps_reference.py for its virtualenv (ACTXPS_PYTHON)")

    print(f"Bundled sample tiled to {N:,} policies (benchmarks/out/extract_{N}.csv)")
    loaded = load_extract(big_csv(N))
    request = StudyRequest(by=("channel", "age_band"))
    timed(
        "study: cohort columns + policy-year rates by channel × age band",
        1.5,
        lambda: run_study(loaded.policies, request, study_date=loaded.study_date),
    )
    timed(
        "policy-month rates by young new earners",
        5.0,
        lambda: run_study(loaded.policies, StudyRequest(by=("young_new_earners",), period="policy_month"), study_date=loaded.study_date),
    )
    print(f"  peak memory {peak_mb():,.0f} MB (includes the loaded 1M-policy frame)")

    print("Repeated interaction in the app (AppTest rerun of the Cohort explorer on the sample, cached)")
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    app.switch_page("views/cohorts.py").run()
    timed("rerun with unchanged controls", 0.3, lambda: app.run(), runs=5)


if __name__ == "__main__":
    main()
