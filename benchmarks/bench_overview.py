"""Persistency-overview budgets of issue [3/7], on 1,000,000 policies.

Run: ``.venv/bin/python benchmarks/bench_overview.py``

Budgets: the whole overview renders in ≤ 2 s; the monthly report is produced in ≤ 10 s.
The extract is loaded first (its own budget is in ``bench_ingest.py``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import load_extract  # noqa: E402
from analysis.persistency.league import league_table  # noqa: E402
from analysis.persistency.overview import overview_figures  # noqa: E402
from analysis.persistency.projection import projected_persistency  # noqa: E402
from analysis.report.monthly import monthly_report  # noqa: E402
from benchmarks.extracts import big_csv, median_time  # noqa: E402

N = 1_000_000


def main() -> None:
    from analysis.ingest.reading import prefer_jemalloc

    prefer_jemalloc()  # as the app and the command line do
    path = big_csv(N)
    loaded = load_extract(path)
    policies, study = loaded.policies, loaded.study_date

    def figures() -> None:  # as the page does: one persistency query and one status query, then a league table
        overview_figures(policies, study_date=study)
        league_table(policies, "channel", study_date=study)

    seconds = median_time(lambda: projected_persistency(policies, study_date=study))
    print(f"projection of the cohorts not yet at 13/25 months on {N:,} policies: {seconds:.2f} s")
    seconds = median_time(figures)
    print(
        "overview figures (KPIs, trend, projection, triangle, snapshot, funnel, "
        f"one league table) on {N:,} policies: {seconds:.2f} s (budget 2 s)"
    )

    from streamlit.testing.v1 import AppTest

    from ui import state
    from ui.datasets import content_version

    data = path.read_bytes()
    version = content_version(data)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    app.session_state[state.UPLOADS] = {version: data}
    app.session_state[state.ACTIVE] = state.DataSetChoice(name=path.name, version=version)
    app.run()  # the Data page: loads and caches the 1M extract
    started = time.perf_counter()
    app.switch_page("views/overview.py").run()
    first = time.perf_counter() - started
    assert not app.exception, app.exception
    started = time.perf_counter()
    app.run()
    again = time.perf_counter() - started
    print(
        f"Overview page, first render on {N:,} policies (figures computed, report "
        f"built only on click): {first:.2f} s; cached rerun {again:.2f} s (budget 2 s)"
    )

    seconds = median_time(lambda: monthly_report(loaded, dataset=path.name, lang="zh"))
    print(f"monthly report workbook on {N:,} policies: {seconds:.2f} s (budget 10 s)")


if __name__ == "__main__":
    main()
