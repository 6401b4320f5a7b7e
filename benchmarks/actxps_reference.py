"""Reference exposures and lapse rates from the Python package actxps (1.1.0) on shared/data/uslapseagent.csv.

This script is NOT part of the app and does not run in the project's .venv: actxps (and its polars,
plotnine, shiny ... dependencies) live in a separate virtualenv::

    python3 -m venv /tmp/actxps-venv && /tmp/actxps-venv/bin/pip install actxps==1.1.0 pandas pyarrow
    /tmp/actxps-venv/bin/python benchmarks/actxps_reference.py                 # writes tests/fixtures/actxps_*.csv
    /tmp/actxps-venv/bin/python benchmarks/actxps_reference.py --time 1000000  # ... and times actxps on 1M policies
    /tmp/actxps-venv/bin/python benchmarks/actxps_reference.py --extras /tmp/x # ... and writes extras (below) to /tmp/x

Generated with actxps 1.1.0, polars 2.1.0, pandas 3.1.1, Python 3.11+.

Census built from uslapseagent.csv (29,317 rows)
-------------------------------------------------
- policy id    ``R<line>``: the CSV line number, 2..29318 (line 1 is the header);
- issue_date   ``issue.date``;
- exit date    ``issue_date + floor(duration * 365.25 / 4)`` days (duration is in quarters; evaluated in IEEE
  double in that order, which equals the exact integer ``(round(100 * duration) * 1461) // 1600``; asserted);
- status       surrender -> "Surrender", other -> "Lapse" (canonical ``lapsed``), death -> "Death",
  in-force -> "Active" (actxps ``default_status``);
- term_date    the exit date for every policy, *including* in-force ones (variant A, the fixtures): actxps has no
  separate censoring column, but a record with a term_date and a non-target status is exactly a censoring
  at that date (partial exposure up to and including it, no event).  Variant B (``--extras``) gives in-force
  policies term_date = None, i.e. censors them at the study end date instead;
- study window start 1995-01-01 (before the first issue, 1995-01-02), end = max exit date = 2010-07-19.

Fixtures written to tests/fixtures/
-----------------------------------
``actxps_uslapseagent_py_initial.csv``   policy-year basis, target_status = [Surrender, Lapse] (initial exposure)
``actxps_uslapseagent_py_central.csv``   policy-year basis, no target_status (central exposure)
    columns: policy_year, exposure, events (Surrender + Lapse records), deaths, q (= events / exposure)
``actxps_uslapseagent_py_by_frequency_initial.csv``  premium_frequency, policy_year, exposure, events, q
``actxps_uslapseagent_py_first300_initial.csv``      policy_id, policy_year, period_start, period_end, exposure, status
``actxps_uslapseagent_pm_initial.csv``   policy_month, exposure, events, q   (policy-month basis, initial)
``actxps_uslapseagent_cy_initial.csv``   calendar_year, exposure, events, q  (calendar-year basis, initial)
Floats are written with ``repr`` (shortest round-trip, i.e. full precision).  Sums are polars group sums.
uslapseagent.csv is sorted by duration, so the first 300 policies all surrender in policy year 1 (exposure 1).
``--extras DIR`` (outside the repo) adds: per-policy-year detail of every policy (``*_py_detail_initial/central``),
variant B totals (``*_censor_at_end``) and ``anomalies_*.csv`` (policies where actxps departs from the plain rule).

actxps conventions (file:line in site-packages/actxps), policy basis, interval = 1 year or 1 month
-------------------------------------------------------------------------------------------------
With ``+k`` meaning polars ``dt.offset_by`` by k intervals from the *given* date (day clamped to the month
end: 2000-02-29 + 1y = 2001-02-28, 2001-01-31 + 1mo = 2001-02-28):

1. Filter (expose.py:253-266): keep issue_date < end_date (strict: issued ON the end date -> dropped) and
   (term_date null or term_date > start_date) (terminated ON the start date -> dropped).  term_date > end_date
   -> term_date = None.  term_date None -> status = default_status.  last_date = term_date or end_date.
2. Number of periods (expose.py:289-295, dates.py:254-305): with B_k = (issue_date - 1 day) + k intervals,
   n = max{k : B_k <= last_date}, rep_n = n if last_date == B_n else n + 1.
3. Rows k = 1..rep_n (expose.py:367-371): period k = [A_(k-1), A_k - 1 day] (both inclusive), A_k = issue + k.
4. Exposure (expose.py:372-383): 1 for k < rep_n; for k = rep_n: 1 if status in target_status, else
   (last_date - A_(k-1) + 1) / (A_k - A_(k-1))  [days, both ends inclusive; divisor is the actual period
   length, 365 / 366 or 28..31, never 365.25]; an exposure that is exactly 0 is replaced by 1.
   Status and term_date are kept only on row rep_n; earlier rows get default_status.
5. Window (expose.py:386-388): rows with A_(k-1) < start_date or A_(k-1) > end_date are DROPPED.  There is no
   partial late-entry exposure in the policy basis: a policy year that began before start_date vanishes,
   including an event in it.
Because B_k (anniversaries of issue - 1 day) and A_k - 1 day differ whenever the day is clamped, actxps
deviates from the plain "[anniv, next anniv)" rule for: issues on 29 Feb (year) / 29-31 (month), where the
first day of period k+1 can be put into period k with exposure > 1 (366/365, 29/28 ...); and issues on 1 Mar
of a non-leap year (year: termination on 29 Feb of a leap year) or on the 1st of a month following a shorter
month (month basis), where a phantom period k+1 is created whose exposure is 0 -> 1, or NEGATIVE
(e.g. issue 2001-03-01, censored 2001-03-29: month 2 exposure -2/30) and the event moves to period k+1.
``--extras DIR`` lists every such policy of this file (anomalies_*.csv) against a plain implementation.

Calendar basis (expose.py:268-286, 318-363): first_date = max(issue_date, start_date); periods are calendar
years from trunc(first_date) to last_date; exposure 1 if status in target_status (even when the policy entered
in that same year), else first&last period (last - cal_b + 1)/days - (first - cal_b)/days, first period
1 - (first - cal_b)/days, last period (last - cal_b + 1)/days, with days = 365/366; no window filter on rows.

exp_stats (exp_stats.py:166-211, 246-393): n_claims = number of exposure records whose status is in
target_status (the one given to exp_stats, else the ExposedDF's); claims = n_claims (no wt) or n_claims * wt;
exposure = sum(exposure) (or * wt); q_obs = claims / exposure.  credibility=True: Z = min(1,
sqrt(n_claims / (y (1 - q_obs)))), y = (norm.ppf((1 + conf_level) / 2) / cred_r)^2, defaults conf_level 0.95,
cred_r 0.05 -> y = 1536.6.  conf_int=True (no wt): binom.ppf(p, round(exposure), q_obs) / exposure.

Timing (``--time N``): N synthetic policies = the 29,317 census rows tiled with new ids (``R<line>_<copy>``),
columns pol_num, status, issue_date, term_date, premium_frequency.  Each stage runs in a fresh process and
reports wall seconds of the actxps call and the peak RSS (VmHWM) of that process; "base MB" is the RSS just
before the call (Python + actxps imports, about 270 MB, + the census):
(1) ExposedDF policy year, target [Surrender, Lapse]; (2) exp_stats grouped by
pol_yr x premium_frequency on that ExposedDF (peak includes building it); (3) ExposedDF policy month.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import gc
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import actxps as xp
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "uslapseagent.csv"
FIXTURES = ROOT / "tests" / "fixtures"
PREFIX = "actxps_uslapseagent_"
START = date(1995, 1, 1)
TARGET = ["Surrender", "Lapse"]
STATUS = {"surrender": "Surrender", "other": "Lapse", "death": "Death", "in-force": "Active"}
DEFAULT = "Active"


def load_census(path: Path, censor_in_force: bool = True) -> tuple[pl.DataFrame, date]:
    """Census as described in the module docstring; returns (census, end_date = max exit date)."""
    raw = pl.read_csv(path, try_parse_dates=True)
    days = (raw["duration"] * 365.25 / 4).floor().cast(pl.Int64)
    exact = ((raw["duration"] * 100).round().cast(pl.Int64) * 1461) // 1600
    assert (days == exact).all(), "floor(duration * 365.25 / 4) differs from the exact integer formula"
    census = pl.DataFrame(
        {
            "line": pl.int_range(2, raw.height + 2, eager=True),
            "issue_date": raw["issue.date"].cast(pl.Date),
            "days": days,
            "status": raw["termination.cause"].replace_strict(STATUS),
            "premium_frequency": raw["premium.frequency"],
        }
    ).with_columns(pol_num=pl.format("R{}", pl.col("line")), exit_date=pl.col("issue_date") + pl.duration(days=pl.col("days")))
    end = census["exit_date"].max()
    keep_date = pl.lit(True) if censor_in_force else pl.col("status") != DEFAULT
    census = census.with_columns(term_date=pl.when(keep_date).then(pl.col("exit_date")).otherwise(None))
    return census, end


def expose(census: pl.DataFrame, end: date, kind: str, target: list[str] | None) -> xp.ExposedDF:
    """actxps ExposedDF; kind in py / pm / cy."""
    make = {"py": xp.ExposedDF.expose_py, "pm": xp.ExposedDF.expose_pm, "cy": xp.ExposedDF.expose_cy}[kind]
    cols = ["pol_num", "status", "issue_date", "term_date", "premium_frequency"]
    return make(census.select(cols), end, start_date=START, target_status=target, default_status=DEFAULT)


def stats(expo: xp.ExposedDF, by: list[str], target: list[str]) -> pl.DataFrame:
    """exp_stats grouped by ``by`` for ``target``: by..., n_claims, claims, exposure, q_obs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = expo.group_by(*by).exp_stats(target_status=target).data
    expo.ungroup()
    return out


def summarise(expo: xp.ExposedDF, by: list[str], with_deaths: bool) -> pl.DataFrame:
    """Exposure, events (Surrender + Lapse), [deaths], q by ``by``."""
    lapses = stats(expo, by, TARGET)
    check = lapses["n_claims"] / lapses["exposure"]
    assert (check == lapses["q_obs"]).all(), "q_obs != n_claims / exposure"
    out = lapses.select(*by, "exposure", events=pl.col("n_claims").cast(pl.Int64), q=pl.col("q_obs"))
    if with_deaths:
        deaths = stats(expo, by, ["Death"]).select(*by, deaths=pl.col("n_claims").cast(pl.Int64))
        out = out.join(deaths, on=by, how="left").select(*by, "exposure", "events", "deaths", "q")
    return out


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """CSV with repr floats (shortest round-trip) and ISO dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(frame.columns)
        for row in frame.iter_rows():
            writer.writerow([repr(v) if isinstance(v, float) else ("" if v is None else str(v)) for v in row])
    print(f"wrote {path} ({frame.height} rows)")


# ---------------------------------------------------------------------------------------------------------
# A plain implementation ("[anniversary, next anniversary)", exposure = days / days in period) used only to
# list the policies where actxps departs from it.
# ---------------------------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Date plus whole months, day clamped to the month end (same as polars offset_by)."""
    year, month0 = divmod(day.month - 1 + months, 12)
    month = month0 + 1
    return date(year + day.year, month, min(day.day, calendar.monthrange(year + day.year, month)[1]))


def plain_policy(issue: date, last: date, is_target: bool, months: int) -> tuple[int, float]:
    """(index of the period holding last_date, exposure of that period) under the plain rule."""
    k = max(1, ((last.year - issue.year) * 12 + last.month - issue.month) // months)
    while k > 1 and add_months(issue, (k - 1) * months) > last:
        k -= 1
    while add_months(issue, k * months) <= last:
        k += 1
    begin, after = add_months(issue, (k - 1) * months), add_months(issue, k * months)
    return k, 1.0 if is_target else ((last - begin).days + 1) / (after - begin).days


def plain_calendar(first: date, last: date, is_target: bool) -> dict[int, float]:
    """{calendar year: exposure} under the plain rule (late entry partial, target gets the full last year)."""
    out = {}
    for year in range(first.year, last.year + 1):
        jan1, dec31 = date(year, 1, 1), date(year, 12, 31)
        days = 366 if calendar.isleap(year) else 365
        out[year] = ((min(last, dec31) - max(first, jan1)).days + 1) / days
    if is_target:
        out[last.year] = 1.0
    return out


def audit(census: pl.DataFrame, end: date, kind: str, expo: xp.ExposedDF, target: list[str] | None) -> pl.DataFrame:
    """Policies where actxps's rows differ from the plain rule: one row per policy, actxps vs plain."""
    targets = set(target or [])
    period = {"py": "pol_yr", "pm": "pol_mth", "cy": "cal_yr"}[kind]
    data = expo.data
    if kind == "cy":
        data = data.with_columns(pl.col("cal_yr").dt.year().cast(pl.Int64))
    got = data.group_by("pol_num").agg(
        n_rows=pl.len(),
        last_period=pl.col(period).max().cast(pl.Int64),
        exposure=pl.col("exposure").sum(),
        event_period=pl.col(period).filter(pl.col("status").cast(pl.String) != DEFAULT).first(),
    )
    got = {r["pol_num"]: r for r in got.iter_rows(named=True)}
    rows = []
    for pol, issue, term, status in census.select("pol_num", "issue_date", "term_date", "status").iter_rows():
        last = term if term is not None and term <= end else end
        is_event = term is not None and term <= end and status != DEFAULT
        is_target = is_event and status in targets
        if kind == "cy":
            per = plain_calendar(max(issue, START), last, is_target)
            n_rows, last_period, total = len(per), last.year, sum(per.values())
        else:
            last_period, last_expo = plain_policy(issue, last, is_target, 12 if kind == "py" else 1)
            n_rows, total = last_period, last_period - 1 + last_expo
        event_period = last_period if is_event else None
        mine = got.get(pol)
        if (
            mine is None
            or mine["n_rows"] != n_rows
            or mine["last_period"] != last_period
            or abs(mine["exposure"] - total) > 1e-12
            or mine["event_period"] != event_period
        ):
            rows.append(
                {
                    "policy_id": pol,
                    "issue_date": issue,
                    "last_date": last,
                    "status": status,
                    "actxps_periods": None if mine is None else mine["n_rows"],
                    "actxps_exposure": None if mine is None else mine["exposure"],
                    "actxps_event_period": None if mine is None else mine["event_period"],
                    "plain_periods": n_rows,
                    "plain_exposure": total,
                    "plain_event_period": event_period,
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def build_fixtures(data: Path, out_dir: Path, extras: Path | None) -> None:
    """Write the fixture CSVs (variant A) and, with ``extras``, variant B and the anomaly lists."""
    census, end = load_census(data)
    print(f"census: {census.height} policies, issue {census['issue_date'].min()}..{census['issue_date'].max()}, end_date {end}")
    print(f"actxps {xp.__version__ if hasattr(xp, '__version__') else '?'}, polars {pl.__version__}")

    py_initial = expose(census, end, "py", TARGET)
    py_central = expose(census, end, "py", None)
    frames = {
        "py_initial": summarise(py_initial, ["pol_yr"], True).rename({"pol_yr": "policy_year"}),
        "py_central": summarise(py_central, ["pol_yr"], True).rename({"pol_yr": "policy_year"}),
        "py_by_frequency_initial": summarise(py_initial, ["premium_frequency", "pol_yr"], False).rename({"pol_yr": "policy_year"}),
    }
    first = census.filter(pl.col("line") <= 301).select("pol_num", "line")
    frames["py_first300_initial"] = (
        py_initial.data.join(first, on="pol_num")
        .sort("line", "pol_yr")
        .select(
            policy_id=pl.col("pol_num"),
            policy_year=pl.col("pol_yr"),
            period_start=pl.col("pol_date_yr"),
            period_end=pl.col("pol_date_yr_end"),
            exposure=pl.col("exposure"),
            status=pl.col("status").cast(pl.String),
        )
    )
    pm_initial = expose(census, end, "pm", TARGET)
    frames["pm_initial"] = summarise(pm_initial, ["pol_mth"], False).rename({"pol_mth": "policy_month"})
    cy_initial = expose(census, end, "cy", TARGET)
    frames["cy_initial"] = (
        summarise(cy_initial, ["cal_yr"], False).with_columns(pl.col("cal_yr").dt.year()).rename({"cal_yr": "calendar_year"})
    )
    for name, frame in frames.items():
        write_csv(frame, out_dir / f"{PREFIX}{name}.csv")
    for name in ("py_initial", "py_central", "pm_initial", "cy_initial"):
        frame = frames[name]
        print(f"  {name:<12} exposure {frame['exposure'].sum()!r}  events {frame['events'].sum()}")

    if extras is None:
        return
    for name, expo in (("py_detail_initial", py_initial), ("py_detail_central", py_central)):
        detail = expo.data.join(census.select("pol_num", "line"), on="pol_num").sort("line", "pol_yr")
        detail = detail.select(
            policy_id=pl.col("pol_num"),
            policy_year=pl.col("pol_yr"),
            period_start=pl.col("pol_date_yr"),
            period_end=pl.col("pol_date_yr_end"),
            exposure=pl.col("exposure"),
            status=pl.col("status").cast(pl.String),
        )
        write_csv(detail, extras / f"{PREFIX}{name}.csv")
    census_b, end_b = load_census(data, censor_in_force=False)
    for name, target in (("py_initial", TARGET), ("py_central", None)):
        frame = summarise(expose(census_b, end_b, "py", target), ["pol_yr"], True).rename({"pol_yr": "policy_year"})
        write_csv(frame, extras / f"{PREFIX}{name}_censor_at_end.csv")
        print(f"  B {name:<10} exposure {frame['exposure'].sum()!r}  events {frame['events'].sum()}")
    for kind, expo, target in (
        ("py_initial", py_initial, TARGET),
        ("py_central", py_central, None),
        ("pm_initial", pm_initial, TARGET),
        ("cy_initial", cy_initial, TARGET),
    ):
        found = audit(census, end, kind[:2], expo, target)
        print(f"  anomalies {kind}: {found.height} policies differ from the plain rule")
        if found.height:
            write_csv(found, extras / f"anomalies_{kind}.csv")


# ---------------------------------------------------------------------------------------------------------
# Timing on a tiled synthetic census
# ---------------------------------------------------------------------------------------------------------


def synthetic(data: Path, n: int) -> tuple[pl.DataFrame, date]:
    """The census tiled to ``n`` policies with new ids."""
    census, end = load_census(data)
    copies = math.ceil(n / census.height)
    tiled = pl.concat([census.with_columns(copy=pl.lit(c)) for c in range(copies)]).head(n)
    tiled = tiled.with_columns(pol_num=pl.format("R{}_{}", pl.col("line"), pl.col("copy")))
    return tiled.select("pol_num", "status", "issue_date", "term_date", "premium_frequency"), end


def peak_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident set size of this process, MB.

    /proc/self/status rather than getrusage: on Linux ru_maxrss survives fork + exec, so a child started by
    a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stage(data: Path, n: int, stage: str) -> dict[str, float]:
    """One timing stage in this (fresh) process."""
    census, end = synthetic(data, n)
    gc.collect()
    base = peak_mb("VmRSS")
    if stage == "stats":
        expo = expose(census, end, "py", TARGET)
        started = time.perf_counter()
        result = stats(expo, ["pol_yr", "premium_frequency"], TARGET)
        rows = result.height
    else:
        started = time.perf_counter()
        expo = expose(census, end, "py" if stage == "py" else "pm", TARGET)
        rows = expo.data.height
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "base_mb": base, "rows": rows}


def time_actxps(data: Path, n: int) -> None:
    """Run each stage in a fresh process and print seconds and peak RSS."""
    labels = {
        "py": "ExposedDF policy year (target Surrender+Lapse)",
        "stats": "exp_stats by pol_yr x premium_frequency",
        "pm": "ExposedDF policy month (target Surrender+Lapse)",
    }
    print(f"\nactxps timing on {n:,} synthetic policies ({pl.thread_pool_size()} polars threads)")
    print(f"{'stage':<50}{'seconds':>10}{'peak MB':>10}{'base MB':>10}{'rows out':>14}")
    for stage, label in labels.items():
        cmd = [sys.executable, __file__, "--data", str(data), "--stage", stage, "--time", str(n)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{label:<50}  FAILED (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:] or ''}")
            continue
        res = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label:<50}{res['seconds']:>10.2f}{res['peak_mb']:>10.0f}{res['base_mb']:>10.0f}{res['rows']:>14,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=FIXTURES, help="fixture directory")
    parser.add_argument("--extras", type=Path, default=None, help="also write variant B and anomaly lists here")
    parser.add_argument("--time", type=int, default=0, metavar="N", help="also time actxps on N synthetic policies")
    parser.add_argument("--stage", choices=["py", "stats", "pm"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.data, args.time, args.stage)))
        return
    build_fixtures(args.data, args.out, args.extras)
    if args.time:
        time_actxps(args.data, args.time)


if __name__ == "__main__":
    main()
