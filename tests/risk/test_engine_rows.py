"""The risk model's rows from the engine, pinned against a policy-by-policy rebuild, on DuckDB and Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from records import records

from analysis import load_extract
from analysis import schema as S
from analysis.engine.backend import bind
from analysis.engine.risk_rows import (
    DRAW_MULTIPLIERS,
    DRAW_PRIME,
    book_columns,
    first_drawn,
    in_force_rows,
    training_draw,
    training_selection,
)
from analysis.risk.draw import draw_training
from analysis.risk.rows import LEAK_MAX_ROWS, feature_choices, training_dates, training_rows

LAPSE_LIKE = {S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED}


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


def known(value) -> bool:
    return value is not None and not pd.isna(value)


def day(value) -> pd.Timestamp | None:
    return pd.Timestamp(value).normalize() if known(value) else None


def policy_rows(row: dict) -> dict:
    """One policy's dates by the stated rules (DOMAIN.md §2.2; analysis/risk/rows.py)."""
    status = row[S.STATUS]
    lapse, status_day, observed = day(row.get(S.LAPSE_DATE)), day(row.get(S.STATUS_DATE)), day(row.get(S.OBSERVED_TO))
    own = lapse if status in LAPSE_LIKE and lapse is not None else status_day
    reinstated = status == S.REINSTATED
    active = status in S.ACTIVE_STATUSES and not reinstated
    left = observed if active else own
    voluntary = (status in S.VOLUNTARY_EXITS and own is not None) or (reinstated and lapse is not None)
    return {
        "issue": day(row[S.ISSUE_DATE]),
        "left": left,
        "voluntary": voluntary,
        "voluntary_day": left,
        "lapse": lapse,
        "back": day(row.get(S.REINSTATEMENT_DATE)),
        "observed": observed,
        "reinstated": reinstated,
    }


def in_force_then(p: dict, at: pd.Timestamp) -> bool:
    if p["issue"] is None or p["issue"] > at:
        return False
    if p["left"] is not None and p["left"] <= at and not p["reinstated"]:
        return False
    if p["reinstated"] and p["lapse"] is not None and p["lapse"] <= at and (p["back"] is None or p["back"] > at):
        return False
    return not (p["observed"] is not None and p["observed"] < at)


def rebuild(policies: pd.DataFrame, dates: list[pd.Timestamp], horizon: int = 12) -> list[tuple[int, pd.Timestamp, bool]]:
    """``(position, as-of date, target)`` of every training row, one policy at a time."""
    books = [policy_rows(row) for row in records(policies)]
    out = []
    for at in dates:
        end = at + relativedelta(months=horizon)
        for position, p in enumerate(books):
            if not in_force_then(p, at):
                continue
            v = p["voluntary_day"]
            target = p["voluntary"] and v is not None and at < v <= end
            competing = p["left"] is not None and at < p["left"] <= end and not target
            censored = p["observed"] is not None and p["observed"] < end and not target
            if not competing and not censored:
                out.append((position, at, target))
    return out


def test_training_rows_equal_the_policy_by_policy_rebuild(sample) -> None:
    dates = training_dates(sample.policies, sample.study_date)
    rows = training_rows(sample.policies, as_of=dates)
    expected = rebuild(sample.policies, dates)
    ids = sample.policies[S.POLICY_ID].to_numpy()
    assert list(rows["policy_id"]) == [ids[p] for p, _, _ in expected]
    assert list(rows["as_of"]) == [at for _, at, _ in expected]
    assert rows["lapsed_within"].tolist() == [t for _, _, t in expected]
    assert 0 < rows["lapsed_within"].mean() < 0.5


def draw_key(row: int, at: int, seed: int) -> int:
    a, b, c, d = DRAW_MULTIPLIERS
    p = DRAW_PRIME
    mixed = ((row % p) * a % p + (at % p) * b % p + (seed % p) * c % p) % p
    return ((mixed * mixed % p) * d % p + mixed) % p


def test_the_draw_is_the_same_rows_on_every_engine(sample, engine) -> None:
    dates = training_dates(sample.policies, sample.study_date)
    days = [int((d - pd.Timestamp("1970-01-01")).days) for d in dates]
    ends = [int((d + relativedelta(months=12) - pd.Timestamp("1970-01-01")).days) for d in dates]
    table, backend = bind(book_columns(sample.policies), engine)
    every = training_selection(table, backend, as_of_days=days, horizon_ends=ends, max_rows=None, random_state=0)
    drawn = training_selection(table, backend, as_of_days=days, horizon_ends=ends, max_rows=5000, random_state=3)
    order = {d: k for k, d in enumerate(days)}
    keyed = sorted(every.itertuples(index=False), key=lambda r: (draw_key(r.book_row, r.as_of_day, 3), order[r.as_of_day], r.book_row))
    chosen = sorted(keyed[:5000], key=lambda r: (order[r.as_of_day], r.book_row))
    assert len(drawn) == 5000 < len(every)
    assert list(zip(drawn["book_row"], drawn["as_of_day"])) == [(r.book_row, r.as_of_day) for r in chosen]
    # the draw spreads over the book and the dates, and keeps the outcome mix
    assert drawn["as_of_day"].nunique() == len(days)
    assert abs(drawn["target"].mean() - every["target"].mean()) < 0.02
    low, high = every["book_row"].min(), every["book_row"].max()
    assert drawn["book_row"].max() > low + 0.95 * (high - low) and drawn["book_row"].min() < low + 0.05 * (high - low)


def test_in_force_on_the_study_date_on_every_engine(sample, engine) -> None:
    at = int((sample.study_date - pd.Timestamp("1970-01-01")).days)
    rows = in_force_rows(*bind(book_columns(sample.policies), engine), day=at)
    study = pd.Timestamp(sample.study_date).normalize()
    expected = [k for k, row in enumerate(records(sample.policies)) if in_force_then(policy_rows(row), study)]
    assert rows.tolist() == expected
    assert np.isin(sample.policies[S.STATUS].to_numpy()[rows], [S.GRACE]).any()


def test_a_draw_serves_every_smaller_cap_with_the_rows_a_new_draw_takes(sample, engine) -> None:
    dates = training_dates(sample.policies, sample.study_date)
    days = [int((d - pd.Timestamp("1970-01-01")).days) for d in dates]
    ends = [int((d + relativedelta(months=12) - pd.Timestamp("1970-01-01")).days) for d in dates]
    table, backend = bind(book_columns(sample.policies), engine)
    draw = training_draw(table, backend, as_of_days=days, horizon_ends=ends, max_rows=8000, random_state=2)
    assert len(draw) == 8000
    for cap in (1, 3000, 8000):
        alone = training_selection(table, backend, as_of_days=days, horizon_ends=ends, max_rows=cap, random_state=2)
        pd.testing.assert_frame_equal(first_drawn(draw, as_of_days=days, max_rows=cap), alone)


def test_the_draw_below_a_bound_is_the_draw_of_every_row(sample, engine, monkeypatch) -> None:
    """Given the book's size, the engine sorts only the rows below a key bound; too few there, it sorts them all."""
    import analysis.engine.risk_rows as risk_rows

    dates = training_dates(sample.policies, sample.study_date)
    days = [int((d - pd.Timestamp("1970-01-01")).days) for d in dates]
    ends = [int((d + relativedelta(months=12) - pd.Timestamp("1970-01-01")).days) for d in dates]
    table, backend = bind(book_columns(sample.policies), engine)
    n = len(sample.policies)
    queries = []
    run = risk_rows.run
    monkeypatch.setattr(risk_rows, "run", lambda backend, expression: queries.append(expression) or run(backend, expression))
    # the bound holds the draw (two caps); a book said to be 1,000 times larger: the bound holds too few rows, asked again
    for cap, size in ((2000, n), (6000, n), (2000, 1000 * n)):
        queries.clear()
        bounded = training_draw(table, backend, as_of_days=days, horizon_ends=ends, max_rows=cap, random_state=4, policies=size)
        assert len(queries) == (1 if size == n else 2)
        every = training_draw(table, backend, as_of_days=days, horizon_ends=ends, max_rows=cap, random_state=4)
        pd.testing.assert_frame_equal(bounded, every)
        assert len(bounded) == cap


def test_the_leak_checks_draw_gives_the_model_the_same_training_rows(sample, monkeypatch) -> None:
    import analysis.risk.rows as rows_module

    policies, study = sample.policies, sample.study_date
    dates = training_dates(policies, study)
    extra = ("agent",)
    draw = draw_training(policies, as_of=dates, horizon_months=12, max_rows=20_000, random_state=0)
    expected = {cap: training_rows(policies, as_of=dates, extra_features=extra, max_rows=cap) for cap in (500, 20_000)}
    asked = []
    selection = rows_module.training_selection
    monkeypatch.setattr(rows_module, "training_selection", lambda *a, **k: asked.append(k) or selection(*a, **k))
    for cap, rows in expected.items():
        pd.testing.assert_frame_equal(training_rows(policies, as_of=dates, extra_features=extra, max_rows=cap, draw=draw), rows)
    assert asked == []  # both caps came from the draw, the engine was not asked again
    days = draw.as_of_days
    assert draw.selection(policies, days, draw.horizon_ends, 20_000, 0) is not None
    # not the rows asked for: another seed, horizon, set of dates or book, or more rows than were drawn
    assert draw.selection(policies, days, draw.horizon_ends, 500, 1) is None
    assert draw.selection(policies, days, tuple(e + 1 for e in draw.horizon_ends), 500, 0) is None
    assert draw.selection(policies, days[:-1], draw.horizon_ends[:-1], 500, 0) is None
    assert draw.selection(policies.iloc[:-1], days, draw.horizon_ends, 500, 0) is None
    assert draw.selection(policies, days, draw.horizon_ends, 20_001, 0) is None
    assert draw.selection(policies, days, draw.horizon_ends, None, 0) is None
    # a book of the same size is another book: other row labels, or other dates on the rows the fingerprint reads
    assert draw.selection(policies.set_axis(policies.index + 1), days, draw.horizon_ends, 500, 0) is None
    moved = policies.copy()
    moved.loc[moved.index[::7], S.ISSUE_DATE] -= pd.Timedelta(days=1)
    assert draw.selection(moved, days, draw.horizon_ends, 500, 0) is None
    assert draw.selection(policies.copy(), days, draw.horizon_ends, 500, 0) is not None  # a copy is the same book
    # a draw that took every row there is serves any cap, and none
    whole = draw_training(policies, as_of=dates[:1], horizon_months=12, max_rows=10**9, random_state=0)
    monkeypatch.setattr(rows_module, "training_selection", selection)
    every = training_rows(policies, as_of=dates[:1])
    pd.testing.assert_frame_equal(training_rows(policies, as_of=dates[:1], draw=whole), every)
    pd.testing.assert_frame_equal(training_rows(policies, as_of=dates[:1], max_rows=10**10, draw=whole), every)


def test_feature_choices_keep_the_draw_and_the_default_model_takes_it(sample, monkeypatch) -> None:
    import analysis.risk.model as model_module

    choices = feature_choices(sample.policies, sample.study_date)
    options = choices.options()
    assert choices.draw is not None and choices.draw.max_rows >= max(LEAK_MAX_ROWS, options.max_training_rows)
    dates = training_dates(sample.policies, sample.study_date, options)
    days = [int((d - pd.Timestamp("1970-01-01")).days) for d in dates]
    ends = [int((d + relativedelta(months=options.horizon_months) - pd.Timestamp("1970-01-01")).days) for d in dates]
    assert choices.draw.selection(sample.policies, days, ends, options.max_training_rows, options.random_state) is not None
    handed = []
    monkeypatch.setattr(model_module, "build_risk", lambda *a, draw=None, **k: handed.append(draw))
    model_module.default_risk(sample.policies, sample.study_date)
    assert len(handed) == 1 and handed[0] == choices.draw  # the same draw (book, dates, horizon, seed, cap)
    pd.testing.assert_frame_equal(handed[0].rows, choices.draw.rows)
