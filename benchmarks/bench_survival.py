"""Survival budgets of issue [4/7], on 1,000,000 policies.

Run: ``.venv/bin/python benchmarks/bench_survival.py``

Budgets: 20 cohort curves ≤ 0.5 s; Cox with 10 covariates ≤ 10 s, or a documented sample.
The reference, lifelines fitted on the raw durations of each cohort, is timed in the same run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.study.run import StudyRequest, study_frame  # noqa: E402
from analysis.survival.cox import fit_cox  # noqa: E402
from analysis.survival.curves import km_curves, survival_data  # noqa: E402
from benchmarks.extracts import big_csv, median_time  # noqa: E402

N = 1_000_000


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    loaded = load_extract(big_csv(N))
    cox_covariates = [
        "young_new_earners",
        "channel",
        "auto_debit",
        "payment_frequency",
        "gender",
        "age_band",
        "premium_band",
        "branch",
        "income",
        "occupation",
    ]
    frame = study_frame(loaded.policies, StudyRequest(by=("issue_year", *cox_covariates)))
    data = survival_data(frame, study_date=loaded.study_date, by=["issue_year", *cox_covariates])
    # 20 cohorts: issue year × two channel groups (8 years × 2 = 16) topped up with 4 age bands → build one 20-level key.
    key = data["issue_year"].astype(str) + "·" + data["channel"].astype(str)
    top = key.value_counts().index[:19]
    data["cohort20"] = key.where(key.isin(top), "rest")
    cohorts = data["cohort20"].nunique()
    seconds = median_time(lambda: km_curves(data, by="cohort20"))
    print(f"Kaplan–Meier, {cohorts} cohort curves on {len(data):,} policies (aggregated fast path): {seconds:.3f} s (budget 0.5 s)")

    from lifelines import KaplanMeierFitter

    def lifelines_curves() -> None:
        for _, group in data.groupby("cohort20"):
            KaplanMeierFitter().fit(group["duration"], group["event"], entry=group["entry"])

    print(f"  lifelines on the raw durations, same cohorts: {median_time(lifelines_curves, runs=1):.3f} s")

    started = time.perf_counter()
    cox = fit_cox(data, cox_covariates, sample=200_000)
    seconds = time.perf_counter() - started
    terms = len(cox.hazard_ratios)
    print(
        f"Cox with {len(cox_covariates)} covariates ({terms} terms) fitted on a "
        f"documented sample of {cox.policies_used:,} of {cox.policies_total:,}, "
        f"PH check on {cox.ph_policies:,}: {seconds:.2f} s (budget 10 s)"
    )


if __name__ == "__main__":
    main()
