"""Big files (issue [7/7] §5): a 5,000,000-policy extract end to end within 8 GB peak memory.

Run: ``.venv/bin/python benchmarks/bench_big.py [--policies 5000000] [--format csv|parquet] [--no-report]``

The extract is the bundled sample tiled with fresh policy numbers (``benchmarks/extracts.py``;
written once to ``benchmarks/out/``, not timed). Then, in one process, as the pages do:

1. load: ``load_extract`` on the file (reading, mapping, checks, the account);
2. cohort rates: ``run_study`` by channel × age band on policy years, and by young new
   earners on policy months (the heavier table);
3. persistency: 13/25-month ratios by issue year, and the overview's figures in one pass
   (``overview_figures``: KPIs, trend, triangle and projection, status snapshot, collections
   funnel) with the league table of every column the page offers (``league_tables``, one pass);
   the monthly report workbook, which reuses those figures as the page's download does (skip
   with ``--no-report``);
4. survival: Kaplan–Meier curves and log-rank tests by young new earners on every policy
   (``survival_study``, as the Survival page asks),
   Cox with 10 covariates on its documented 200,000-policy sample (``cox_study``), Aalen–Johansen
   cumulative incidence on every policy;
5. risk model: the default feature choices (``feature_choices``: the leak check, which draws
   the training rows once) and ``build_risk`` on them (training rows capped at 500,000, taken
   from that draw; scoring every in-force policy, SHAP on 20,000).

Printed: each step's time, the process RSS after it and its peak during it (VmRSS sampled
every 0.1 s), the peak of the whole run from ``getrusage`` (ru_maxrss), and the total.
Budget: 8 GB peak (8,192 MB). LightGBM uses two threads (this machine's cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.persistency.league import LEAGUE_COLUMNS, league_tables  # noqa: E402
from analysis.persistency.overview import OverviewFigures, overview_figures  # noqa: E402
from analysis.persistency.ratios import PersistencyOptions, persistency_ratios  # noqa: E402
from analysis.report.monthly import monthly_report  # noqa: E402
from analysis.risk.model import build_risk  # noqa: E402
from analysis.risk.rows import feature_choices  # noqa: E402
from analysis.study.run import StudyRequest, run_study  # noqa: E402
from analysis.survival.incidence import cumulative_incidence  # noqa: E402
from analysis.survival.result import cox_study, survival_study  # noqa: E402
from benchmarks.extracts import OUT, big_csv, big_table  # noqa: E402

BUDGET_MB = 8 * 1024
STUDY_DATE = "2026-09-30"  # the title row of the CSV says so; a Parquet file has no title row
COX_COVARIATES = [
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
T = TypeVar("T")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler(threading.Thread):
    """The process's VmRSS every ``interval`` seconds; ``peak`` since the last ``reset``."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.overall = interval, 0.0, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            value = rss_mb()
            self.peak, self.overall = max(self.peak, value), max(self.overall, value)
            self._stop_event.wait(self.interval)

    def reset(self) -> None:
        self.peak = rss_mb()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


class Steps:
    """Times each step and reports memory after and during it."""

    def __init__(self, sampler: RssSampler) -> None:
        self.sampler, self.total = sampler, 0.0

    def __call__(self, label: str, work: Callable[[], T]) -> T:
        self.sampler.reset()
        started = time.perf_counter()
        out = work()
        seconds = time.perf_counter() - started
        self.total += seconds
        print(
            f"  {label:<62}{seconds:>8.1f} s   RSS after {rss_mb():>6,.0f} MB, peak in step {max(self.sampler.peak, rss_mb()):>6,.0f} MB",
            flush=True,
        )
        return out


def parquet_extract(n: int) -> Path:
    """The same tiled book as a Parquet file (no title row, so the study date is passed in)."""
    import pyarrow.parquet as pq

    path = OUT / f"extract_{n}.parquet"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(big_table(n), tmp)
        tmp.rename(path)
    return path


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=5_000_000, help="policies in the extract (default 5,000,000)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format of the extract (default csv)")
    parser.add_argument("--no-report", action="store_true", help="skip the monthly report workbook")
    args = parser.parse_args()
    n = args.policies

    made = time.perf_counter()
    path = big_csv(n) if args.format == "csv" else parquet_extract(n)
    print(
        f"{path.relative_to(ROOT)}: {n:,} policies, {path.stat().st_size / 1e6:,.0f} "
        f"MB (ready in {time.perf_counter() - made:.0f} s, not counted)"
    )
    sampler = RssSampler()
    sampler.start()
    step = Steps(sampler)
    print(f"  {'step':<62}{'time':>10}   memory (process RSS; budget {BUDGET_MB:,} MB peak)")

    loaded = step("load: read, map, check, account", lambda: load_extract(path, study_date=None if args.format == "csv" else STUDY_DATE))
    policies, study = loaded.policies, loaded.study_date
    print(
        f"    {loaded.rows_read:,} rows read = {loaded.accepted:,} accepted + {loaded.repaired:,} repaired + {loaded.rejected:,} rejected; "
        f"{len(policies):,} policies, study date {study.date()}, frame {policies.memory_usage(deep=True).sum() / 1e6:,.0f} MB"
    )

    rates = step(
        "cohort rates: policy years by channel × age band",
        lambda: run_study(policies, StudyRequest(by=("channel", "age_band")), study_date=study),
    )
    step(
        "cohort rates: policy months by young new earners",
        lambda: run_study(policies, StudyRequest(by=("young_new_earners",), period="policy_month"), study_date=study),
    )
    print(f"    {len(rates.rates):,} cohort × period cells; {rates.policies_used:,} policies studied")

    ratios = step(
        "persistency: 13/25-month ratios by issue year",
        lambda: persistency_ratios(policies, study_date=study, options=PersistencyOptions()),
    )

    options = PersistencyOptions(grace_days=loaded.preset.grace_days)  # the Overview page's defaults

    def overview() -> OverviewFigures:
        # As the Overview page draws: its figures in one pass, then the league table of every column it offers (one pass).
        figures = overview_figures(policies, study_date=study, options=options)
        league_tables(policies, LEAGUE_COLUMNS, study_date=study, options=options)
        return figures

    figures = step("persistency: the overview's figures and league tables", overview)
    cards = "; ".join(f"{k.month}-month {k.count:.1%} by count, {k.premium:.1%} by premium" for k in figures.kpis)
    print(f"    {len(ratios):,} ratio rows; KPI cards: {cards}")
    if not args.no_report:
        # The page's download: the workbook reuses the figures the page already has (ui/overview.monthly_report_bytes).
        workbook = step(
            "persistency: monthly report workbook",
            lambda: monthly_report(loaded, dataset=path.name, lang="zh", options=options, figures=figures),
        )
        print(f"    workbook {len(workbook) / 1e6:.1f} MB")

    def curves() -> tuple[int, object]:
        result = survival_study(policies, study_date=study, by="young_new_earners")  # as the Survival page asks
        return len(result.curves), result.overall.iloc[0].to_dict() if result.overall is not None else None

    km_rows, logrank = step("survival: Kaplan–Meier and log-rank by young new earners", curves)
    chi2 = f"χ² {logrank['test_statistic']:,.0f}, p {logrank['p_value']:.2g}" if logrank else "no test"
    print(f"    {km_rows:,} curve points; log-rank {chi2}")

    def cox() -> object:
        return cox_study(policies, study_date=study, covariates=COX_COVARIATES)

    cox_result = step(f"survival: Cox, {len(COX_COVARIATES)} covariates, on a 200,000-policy sample", cox)
    print(
        f"    fitted on {cox_result.policies_used:,} of {cox_result.policies_total:,} policies, "
        f"{len(cox_result.hazard_ratios)} terms, PH check on {cox_result.ph_policies:,}"
    )
    incidence = step(
        "survival: Aalen–Johansen cumulative incidence, every policy", lambda: cumulative_incidence(policies, study_date=study)
    )
    print(f"    {len(incidence):,} incidence rows")

    def risk() -> object:
        # As the Risk drivers page: the default feature choices (the leak check draws the training rows), then the model on them.
        choices = feature_choices(policies, study)
        return build_risk(policies, study, choices.options(), draw=choices.draw)

    result = step("risk model: training rows, fit, baseline, scoring, SHAP sample", risk)
    m = result.model.metrics
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items() if k != "total")
    print(
        f"    {parts}; {int(m['train_rows']):,} training rows (cap 500,000), {int(m['trees'])} trees, AUC {m['auc']:.3f} "
        f"(baseline {m['baseline_auc']:.3f}); {len(result.scores):,} in-force policies scored"
    )

    sampler.stop()
    peak = max(maxrss_mb(), sampler.overall)
    print(
        f"total {step.total:.1f} s for {n:,} policies; peak memory {peak:,.0f} MB "
        f"(ru_maxrss {maxrss_mb():,.0f} MB, sampled {sampler.overall:,.0f} MB) — "
        f"{'within' if peak <= BUDGET_MB else 'OVER'} the {BUDGET_MB:,} MB budget"
    )


if __name__ == "__main__":
    main()
