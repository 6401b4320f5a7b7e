"""Risk-model budgets of issue [5/7], on 1,000,000 policies.

Run: ``.venv/bin/python benchmarks/bench_risk.py``

Budgets: training on 1M policies ≤ 60 s (in the app it runs in the background with a
progress bar); SHAP for the global views on a stated sample of 20,000 policies ≤ 15 s;
one policy's explanation on demand ≤ 200 ms. Threads: 2 (this machine's cores).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.risk.explain import explain_policy, explain_rows  # noqa: E402
from analysis.risk.model import build_risk  # noqa: E402
from analysis.risk.rows import RiskOptions, candidate_features, suspected_leaks  # noqa: E402
from benchmarks.extracts import big_csv, median_time  # noqa: E402

N = 1_000_000


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    loaded = load_extract(big_csv(N))
    policies = loaded.policies
    extras = candidate_features(policies)
    leaks = suspected_leaks(policies, loaded.study_date, extras)
    options = RiskOptions(extra_features=tuple(c for c in extras if c not in leaks))
    print(f"{len(policies):,} policies; user columns as features: {list(options.extra_features)} (left out as leaks: {leaks})")
    started = time.perf_counter()
    result = build_risk(policies, loaded.study_date, options)
    total = time.perf_counter() - started
    m = result.model.metrics
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items() if k != "total")
    print(f"Training on {len(policies):,} policies, end to end: {total:.1f} s (budget 60 s) — {steps}")
    print(
        f"  {int(m['train_rows']):,} training rows (cap {options.max_training_rows:,}), "
        f"{int(m['holdout_rows']):,} holdout rows, {int(m['trees'])} trees; "
        f"AUC {m['auc']:.3f} vs baseline {m['baseline_auc']:.3f}"
    )
    seconds = median_time(lambda: explain_rows(result.model, result.scores, sample=20_000), runs=3)
    print(f"SHAP for the global views, 20,000 in-force policies: {seconds:.2f} s (budget 15 s)")
    ids = result.scores["policy_id"].sample(20, random_state=0).astype(str).tolist()
    times = []
    for policy in ids:
        mark = time.perf_counter()
        explain_policy(result, policy)
        times.append(time.perf_counter() - mark)
    times.sort()
    print(f"One policy's explanation: median {times[len(times) // 2] * 1000:.0f} ms, worst {times[-1] * 1000:.0f} ms of 20 (budget 200 ms)")


if __name__ == "__main__":
    main()
