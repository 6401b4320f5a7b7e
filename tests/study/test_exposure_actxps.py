"""Agreement with actxps (the reference implementation) on the real US agency data set.

The fixtures were written by ``benchmarks/actxps_reference.py`` with actxps 1.1.0 from
``../shared/data/uslapseagent.csv`` (exit date = issue + floor(duration × 365.25/4) days,
in-force policies censored at their own exit date, study window 1995-01-01 .. 2010-07-19).
actxps departs from the plain anniversary rule for a few month-end issues on the
policy-month basis (11 policies here, see the script's docstring), so that basis is not
compared; policy years and calendar years agree to 1e-9.
"""

from __future__ import annotations

import pandas as pd
import pytest
from paths import FIXTURES

from analysis import load_extract, load_preset
from analysis.study.exposure import StudySpec, exposures
from analysis.study.rates import lapse_rates

START, END = pd.Timestamp("1995-01-01"), pd.Timestamp("2010-07-19")


@pytest.fixture(scope="module")
def us_book(root, shared_data):
    loaded = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    return loaded.policies


def ours(policies, *, period="policy_year", basis="initial", by=(), backend=None) -> pd.DataFrame:
    spec = StudySpec(period=period, basis=basis, study_start=START, study_end=END)
    return lapse_rates(exposures(policies, by=by, spec=spec, study_date=END, backend=backend), by=by)


@pytest.mark.parametrize(("basis", "fixture"), [("initial", "py_initial"), ("central", "py_central")])
def test_policy_year_exposures_and_rates_agree_with_actxps(us_book, basis: str, fixture: str, engine) -> None:
    reference = pd.read_csv(FIXTURES / f"actxps_uslapseagent_{fixture}.csv").set_index("policy_year")
    mine = ours(us_book, basis=basis, backend=engine).set_index("period")
    assert mine.index.tolist() == reference.index.tolist()
    pd.testing.assert_series_equal(mine["exposure"], reference["exposure"], check_names=False, check_index_type=False, rtol=1e-9, atol=0)
    assert mine["events"].tolist() == reference["events"].tolist()
    pd.testing.assert_series_equal(mine["rate"], reference["q"], check_names=False, check_index_type=False, rtol=1e-9, atol=0)


def test_policy_year_by_premium_frequency_agrees_with_actxps(us_book, engine) -> None:
    reference = pd.read_csv(FIXTURES / "actxps_uslapseagent_py_by_frequency_initial.csv")
    mine = ours(us_book, by=("premium.frequency",), backend=engine).rename(
        columns={"premium.frequency": "premium_frequency", "period": "policy_year"}
    )
    merged = reference.merge(mine, on=["premium_frequency", "policy_year"], how="outer", suffixes=("_ref", ""), validate="one_to_one")
    assert merged["exposure"].notna().all() and merged["exposure_ref"].notna().all()
    pd.testing.assert_series_equal(merged["exposure"], merged["exposure_ref"], check_names=False, rtol=1e-9, atol=0)
    pd.testing.assert_series_equal(merged["rate"], merged["q"], check_names=False, rtol=1e-9, atol=0)


def test_calendar_year_agrees_with_actxps(us_book, engine) -> None:
    reference = pd.read_csv(FIXTURES / "actxps_uslapseagent_cy_initial.csv").set_index("calendar_year")
    mine = ours(us_book, period="calendar_year", backend=engine).set_index("period")
    pd.testing.assert_series_equal(mine["exposure"], reference["exposure"], check_names=False, check_index_type=False, rtol=1e-9, atol=0)
    assert mine["events"].tolist() == reference["events"].tolist()


def test_policy_month_totals_are_close_to_actxps(us_book) -> None:
    # Not exact (actxps's month-end quirk moves 11 of 29,317 policies), but the book's total
    # monthly exposure must be within a few policy-months of the reference.
    reference = pd.read_csv(FIXTURES / "actxps_uslapseagent_pm_initial.csv")
    mine = ours(us_book, period="policy_month")
    assert mine["events"].sum() == reference["events"].sum()
    assert abs(mine["exposure"].sum() - reference["exposure"].sum()) < 20
