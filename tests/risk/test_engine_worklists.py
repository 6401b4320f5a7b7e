"""The action lists' candidates from the engine, pinned against a policy-by-policy rebuild, on DuckDB and Spark."""

from __future__ import annotations

import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from records import records

from analysis import load_extract
from analysis import schema as S
from analysis.engine.backend import bind
from analysis.engine.worklists import book_columns, due_candidates, reinstatable_candidates

EPOCH = pd.Timestamp("1970-01-01")


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


def known(value) -> bool:
    return value is not None and not pd.isna(value)


def day(value: pd.Timestamp) -> int:
    return int((pd.Timestamp(value).normalize() - EPOCH).days)


@pytest.mark.parametrize(("days", "grace"), [(30, 60), (0, 15)])
def test_due_or_in_grace_equals_the_rebuild(sample, engine, days: int, grace: int) -> None:
    study = day(sample.study_date)
    got = due_candidates(*bind(book_columns(sample.policies), engine), study_day=study, days=days, grace_days=grace)
    expected = []
    for row, p in enumerate(records(sample.policies)):
        is_grace = p[S.STATUS] == S.GRACE
        due = p.get(S.PAID_TO_DATE)
        if not known(due) and is_grace and known(p.get(S.STATUS_DATE)):
            due = p[S.STATUS_DATE]
        if not known(due):
            continue
        to_due = day(due) - study
        in_grace = (to_due < 0 or (is_grace and to_due <= 0)) and to_due >= -grace
        if in_grace or 0 <= to_due <= days:
            expected.append((row, day(due), in_grace))
    assert list(got.itertuples(index=False, name=None)) == expected
    assert any(g for *_, g in expected) and not all(g for *_, g in expected)


@pytest.mark.parametrize("years", [2, 1])
def test_reinstatable_equals_the_rebuild(sample, engine, years: int) -> None:
    study = pd.Timestamp(sample.study_date).normalize()
    got = reinstatable_candidates(*bind(book_columns(sample.policies), engine), study_day=day(study), reinstatement_years=years)
    expected = []
    for row, p in enumerate(records(sample.policies)):
        if p[S.STATUS] != S.LAPSED:
            continue
        start = p.get(S.LAPSE_DATE) if known(p.get(S.LAPSE_DATE)) else p.get(S.STATUS_DATE)
        if not known(start):
            continue
        deadline = pd.Timestamp(start) + relativedelta(years=years)  # 29 Feb → 28 Feb
        if deadline > study and pd.Timestamp(start) <= study:
            expected.append((row, day(start), day(deadline)))
    assert list(got.itertuples(index=False, name=None)) == expected and expected
