"""League tables: every column's table from one pass equals the table of that column alone, on DuckDB and Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract

from analysis import schema as S
from analysis.payments.table import DUE_DATE, PAID_DATE
from analysis.persistency.league import LEAGUE_COLUMNS, at_min_volume, league_table, league_tables
from analysis.persistency.ratios import PersistencyOptions, persistency_book


@pytest.fixture(scope="module")
def book():
    """The sample with blank groups, a text column held as Python strings and a whole-number column (its own query)."""
    loaded = sample_extract()
    policies = loaded.policies.copy()
    rng = np.random.default_rng(7)
    policies.loc[rng.random(len(policies)) < 0.05, "channel"] = pd.NA
    policies["region"] = np.where(rng.random(len(policies)) < 0.5, "北区", None).astype(object)
    policies["grade"] = pd.array(rng.integers(1, 4, len(policies)), dtype="Int64")
    return policies, loaded.study_date


COLUMNS = (*LEAGUE_COLUMNS, "region", "grade")


def each(policies, study_date, **kw) -> dict[str, pd.DataFrame]:
    return {column: league_table(policies, column, study_date=study_date, **kw) for column in COLUMNS}


@pytest.mark.parametrize(("month", "min_policies"), [(13, 50), (25, 1)])
def test_one_pass_equals_each_table_on_its_own(book, month, min_policies) -> None:
    policies, study = book
    options = PersistencyOptions(grace_days=30, include_grace=True)
    together = league_tables(policies, COLUMNS, study_date=study, month=month, min_policies=min_policies, options=options)
    alone = each(policies, study, month=month, min_policies=min_policies, options=options)
    assert list(together) == list(COLUMNS)
    for column in COLUMNS:
        pd.testing.assert_frame_equal(together[column], alone[column])
    assert together["channel"]["channel"].isna().any()  # the blank group is a group, as on its own
    assert together["grade"]["grade"].dtype == policies["grade"].dtype
    assert len(together["agent"]) > 10


def test_a_higher_minimum_volume_cuts_the_tables_of_a_lower_one(book) -> None:
    policies, study = book
    every = league_tables(policies, COLUMNS, study_date=study, min_policies=0)
    for minimum in (1, 40, 400):
        for column in ("agent", "channel", "grade"):
            alone = league_table(policies, column, study_date=study, min_policies=minimum)
            pd.testing.assert_frame_equal(at_min_volume(every[column], minimum), alone)
    assert len(at_min_volume(every["agent"], 40)) < len(every["agent"])


def test_one_pass_on_each_engine_equals_each_table(book, engine) -> None:
    policies, study = book
    table, _ = persistency_book(policies, COLUMNS, engine)
    together = league_tables(table, COLUMNS, study_date=study, min_policies=20)
    for column, alone in each(table, study, min_policies=20).items():
        pd.testing.assert_frame_equal(together[column], alone, check_dtype=False)
    # and equal to the pandas book's tables on DuckDB
    from_frame = league_tables(policies, COLUMNS, study_date=study, min_policies=20)
    for column in COLUMNS:
        mine = together[column].assign(**{column: together[column][column].astype("string")})
        theirs = from_frame[column].assign(**{column: from_frame[column][column].astype("string")})
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False)


def test_on_premiums_received_and_for_columns_the_book_lacks(book) -> None:
    policies, study = book
    dues = policies[S.ISSUE_DATE] + pd.DateOffset(years=1)
    late = np.arange(len(policies)) % 7 == 0  # every seventh policy pays its second premium late
    paid = dues.where(~late, dues + pd.Timedelta(days=90))
    payments = pd.DataFrame({S.POLICY_ID: policies[S.POLICY_ID].to_numpy(), DUE_DATE: dues.to_numpy(), PAID_DATE: paid.to_numpy()})
    payments = payments[payments[DUE_DATE] <= study]
    together = league_tables(policies, ("missing", *COLUMNS), study_date=study, payments=payments)
    assert list(together) == list(COLUMNS)
    for column in COLUMNS:
        pd.testing.assert_frame_equal(together[column], league_table(policies, column, study_date=study, payments=payments))
    assert league_tables(policies, ("missing",), study_date=study) == {}


def test_groups_that_tie_are_ranked_in_their_order(book) -> None:
    """Two groups holding the same policies tie on every figure: the table names them in the groups' order."""
    policies, study = book
    twins = pd.concat([policies.assign(region="乙"), policies.assign(region="甲")], ignore_index=True)
    twins["region"] = twins["region"].astype("string")
    alone = league_table(twins, "region", study_date=study)
    together = league_tables(twins, ("region", "channel"), study_date=study)["region"]
    expected = sorted(["乙", "甲"])
    assert alone["region"].tolist() == together["region"].tolist() == expected
    assert alone["persistency"].nunique() == 1
    cut = at_min_volume(league_tables(twins, ("region",), study_date=study, min_policies=0)["region"], 50)
    pd.testing.assert_frame_equal(cut, alone)
