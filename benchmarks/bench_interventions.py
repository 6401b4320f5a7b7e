"""Intervention budgets of issue [6/7], on the bundled sample (50,000 policies).

Run: ``.venv/bin/python benchmarks/bench_interventions.py``

Budgets: a scenario recomputes in ≤ 1 s on the sample; 1,000 uncertainty draws take ≤ 2 s.
The page caches the baseline (one Kaplan–Meier per target) and, for the low-premium lever, the
model's premium response; a recompute is the projection with its draws and break-even. The
first computation of a target (baseline included) and the campaign evaluation are timed too.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.interventions.baseline import baseline_for  # noqa: E402
from analysis.interventions.campaign import evaluate_campaign  # noqa: E402
from analysis.interventions.effects import premium_response  # noqa: E402
from analysis.interventions.projection import project  # noqa: E402
from analysis.interventions.scenario import Economics, Effect, Scenario, Target  # noqa: E402
from analysis.risk.model import build_risk  # noqa: E402
from analysis.risk.rows import RiskOptions  # noqa: E402
from analysis.study.cohorts import YOUNG_NEW_EARNERS  # noqa: E402
from benchmarks.extracts import median_time  # noqa: E402


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    loaded = load_extract(ROOT / "data" / "sample_policies.csv")
    policies, study_date = loaded.policies, loaded.study_date
    young = Target(YOUNG_NEW_EARNERS)
    education = Scenario(
        "education",
        "education",
        Effect("hazard_ratio", 0.75, 0.67, 0.84),
        target=young,
        economics=Economics(take_up=0.6, cost_per_participant=80, fixed_cost=50_000, horizon_years=5),
    )
    whole_book = Scenario(
        "reminders, whole book, 30 years",
        "reminder",
        Effect("relative_reduction", 0.15, 0.05, 0.25),
        economics=Economics(take_up=0.8, cost_per_contact=5, horizon_years=30),
    )
    for scenario in (education, whole_book):
        baseline = baseline_for(policies, study_date=study_date, target=scenario.target)
        first = median_time(lambda s=scenario: project(s, baseline_for(policies, study_date=study_date, target=s.target)))
        recompute = median_time(lambda s=scenario, b=baseline: project(s, b))
        point = median_time(lambda s=scenario, b=baseline: project(s, b, draws=0))
        draws = max(recompute - point, 0.0)
        print(
            f"{scenario.name}: {baseline.policies:,} policies at {len(baseline.durations)} "
            f"durations, {scenario.economics.horizon_months} months"
        )
        print(f"  scenario recompute, cached baseline, 1,000 draws: {recompute:.3f} s (budget 1 s)")
        print(f"  1,000 uncertainty draws alone: {draws:.3f} s (budget 2 s); point figures and break-even: {point:.3f} s")
        print(f"  first computation of the target (baseline + projection): {first:.3f} s")
    seconds = median_time(lambda: evaluate_campaign(policies, treatment="教育活动", study_date=study_date), runs=1)
    print(f"campaign evaluation (window, KM, log-rank, Cox with PH check, balance, T-learner uplift): {seconds:.2f} s")
    risk = build_risk(policies, study_date, RiskOptions(explain_sample=1000))
    mask = young.mask(policies)
    seconds = median_time(lambda: premium_response(risk.model, risk.scores, premium_cut=0.4, mask=mask))
    response = premium_response(risk.model, risk.scores, premium_cut=0.4, mask=mask)
    print(
        "model's premium response for a 40 % cut, young new earners in force "
        f"({response.policies:,} policies scored twice): {seconds:.3f} s "
        f"(once per target and cut; the model itself trains in the background for the risk pages); HR {response.hazard_ratio:.3f}"
    )


if __name__ == "__main__":
    main()
