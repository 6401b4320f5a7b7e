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

import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract, load_preset  # noqa: E402
from analysis.exposure import StudySpec, exposures  # noqa: E402
from analysis.rates import lapse_rates  # noqa: E402
from analysis.study import StudyRequest, run_study  # noqa: E402
from benchmarks.extracts import big_csv  # noqa: E402

N = 1_000_000


def tiled_us_book(n: int = N) -> tuple[pd.DataFrame, pd.Timestamp]:
    loaded = load_extract(ROOT.parent / "shared" / "data" / "uslapseagent.csv", preset=load_preset(ROOT / "data" / "presets" / "uslapseagent.toml"))
    base = loaded.policies
    reps = -(-n // len(base))
    book = pd.concat([base] * reps, ignore_index=True).head(n)
    book["policy_id"] = np.char.add("T", np.arange(n).astype(str))
    return book, loaded.study_date


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def main() -> None:
    print(f"US agency book tiled to {N:,} policies")
    book, study_date = tiled_us_book()
    timed(
        "policy-year rates by premium.frequency × gender",
        1.5,
        lambda: lapse_rates(exposures(book, by=["premium.frequency", "gender"], spec=StudySpec(), study_date=study_date), by=["premium.frequency", "gender"]),
    )
    before = peak_mb()
    timed("policy-month rates (whole book)", 5.0, lambda: lapse_rates(exposures(book, spec=StudySpec(period="policy_month"), study_date=study_date)))
    print(f"  peak memory so far {peak_mb():,.0f} MB (before the policy-month runs: {before:,.0f} MB; budget 2,048 MB)")

    print(f"Bundled sample tiled to {N:,} policies (benchmarks/out/extract_{N}.csv)")
    loaded = load_extract(big_csv(N))
    request = StudyRequest(by=("channel", "age_band"))
    timed("study: cohort columns + policy-year rates by channel × age band", 1.5, lambda: run_study(loaded.policies, request, study_date=loaded.study_date))
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
