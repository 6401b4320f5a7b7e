"""The Action lists page's slider step on the bundled sample: the day's call list against the whole explained list.

Budget: a step under 1 s (issue [4/7]). Run: ``.venv/bin/python -m benchmarks.bench_worklist``.
Each figure is one uncached computation (the page caches each step once computed).
"""

from __future__ import annotations

import time
from pathlib import Path

from analysis import load_extract
from analysis.risk.actions import due_list
from analysis.risk.model import build_risk
from analysis.risk.rows import feature_choices
from analysis.risk.worklist import DEFAULT_CAPACITY, WorklistRequest, worklist

BUDGET_SECONDS = 1.0
STEPS = (0, 15, 30, 45, 60, 90)


def main() -> None:
    loaded = load_extract(Path(__file__).resolve().parent.parent / "data" / "sample_policies.csv")
    risk = build_risk(loaded.policies, loaded.study_date, feature_choices(loaded.policies, loaded.study_date).options())
    request = WorklistRequest(capacity=DEFAULT_CAPACITY)
    for days in STEPS:
        started = time.perf_counter()
        work = worklist(loaded.policies, risk, request, days=days)
        step = time.perf_counter() - started
        started = time.perf_counter()
        whole = due_list(loaded.policies, risk, days=days)
        before = time.perf_counter() - started
        verdict = "ok" if step < BUDGET_SECONDS else "OVER BUDGET"
        print(
            f"days {days:2d}: {work.matched:6,} due, {len(work.rows)} calls in {step:.2f} s ({verdict}); "
            f"the whole list explained ({len(whole):,} rows): {before:.2f} s"
        )


if __name__ == "__main__":
    main()
