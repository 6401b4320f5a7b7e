"""Aalen–Johansen cumulative incidence from the engine's counts: lifelines without ties, a hand-worked example with ties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import load_extract
from analysis.engine.backend import bind, run
from analysis.engine.survival import incidence_counts_expr
from analysis.survival.curves import km_curves, survival_data
from analysis.survival.incidence import CAUSES, cumulative_incidence, incidence_from_counts


def counts_of(durations: np.ndarray, causes: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The aggregate from rows (every row enters at 0; cause 0 censors)."""
    rows = pd.DataFrame({"time": durations, "cause": causes})
    out = rows.groupby("time").agg(removed=("cause", "size"), observed=("cause", lambda c: int((c > 0).sum())))
    for code, name in enumerate(names, start=1):
        out[f"observed_{name}"] = rows.groupby("time")["cause"].apply(lambda c, k=code: int((c == k).sum()))
    out["entered"] = 0
    out = out.reset_index()
    start = pd.DataFrame({"time": [0.0], "removed": [0], "observed": [0], "entered": [len(rows)], **{f"observed_{n}": [0] for n in names}})
    return pd.concat([start, out], ignore_index=True)


def test_without_ties_the_incidence_equals_lifelines_to_1e_10() -> None:
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(7)
    durations = np.round(rng.exponential(30.0, 800), 9) + 0.001
    assert len(np.unique(durations)) == len(durations)
    causes = rng.choice([0, 1, 2, 3], size=800, p=[0.4, 0.3, 0.2, 0.1])
    names = ["lapse", "surrender", "death"]
    mine = incidence_from_counts(counts_of(durations, causes, names), causes=names, scale=1.0)
    for code, name in enumerate(names, start=1):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no tie, so no jitter
            fitter = AalenJohansenFitter(calculate_variance=True).fit(durations, causes, event_of_interest=code)
        theirs = pd.concat([fitter.cumulative_density_, fitter.confidence_interval_], axis=1)
        theirs.columns = ["incidence", "lower", "upper"]
        ours = mine[mine["cause"] == name].set_index("month")
        assert np.allclose(ours.index.to_numpy(), theirs.index.to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours["incidence"].to_numpy(), theirs["incidence"].to_numpy(), rtol=1e-10, atol=1e-12)
        both = theirs["lower"].notna().to_numpy() & ours["lower"].notna().to_numpy()
        assert both.sum() > 100
        for column in ("lower", "upper"):
            np.testing.assert_allclose(ours[column].to_numpy()[both], theirs[column].to_numpy()[both], rtol=1e-10, atol=1e-12)


def test_ties_of_different_causes_are_kept_exact() -> None:
    # Four policies: at month 1 one lapses and one dies; at month 2 one of the two left lapses; one censored at 3.
    counts = counts_of(np.array([1.0, 1.0, 2.0, 3.0]), np.array([1, 3, 1, 0]), ["lapse", "surrender", "death"])
    cif = incidence_from_counts(counts, causes=["lapse", "surrender", "death"], scale=1.0)
    lapse = cif[cif["cause"] == "lapse"].set_index("month")["incidence"]
    death = cif[cif["cause"] == "death"].set_index("month")["incidence"]
    assert lapse.to_dict() == pytest.approx({0.0: 0.0, 1.0: 0.25, 2.0: 0.5, 3.0: 0.5})  # 1/4, then S(1) = 1/2 times 1/2
    assert death.to_dict() == pytest.approx({0.0: 0.0, 1.0: 0.25, 2.0: 0.25, 3.0: 0.25})
    assert set(cif["cause"]) == {"lapse", "death"}  # no surrender: no curve


@pytest.fixture(scope="module")
def sample(root):
    return load_extract(root / "data" / "sample_policies.csv")


def test_the_engine_counts_equal_the_rows_on_every_engine(sample, engine) -> None:
    events = frozenset(s for statuses in CAUSES.values() for s in statuses)
    table, backend = bind(sample.policies, engine)
    counts = run(backend, incidence_counts_expr(table, causes=CAUSES, study_date=sample.study_date)).sort_values("time")
    rows = survival_data(sample.policies, events=events, study_date=sample.study_date)
    days = np.rint(rows["duration"].to_numpy() * 30.4375).astype(int)
    status = sample.policies.loc[rows.index, "status"].to_numpy()
    event = rows["event"].to_numpy(dtype=bool)
    assert counts["removed"].sum() == counts["entered"].sum() == len(rows)
    by_day = pd.Series(1, index=days).groupby(level=0).sum()
    exits = counts.set_index("time")["removed"]
    assert exits[exits > 0].to_dict() == by_day.to_dict()
    for cause, statuses in CAUSES.items():
        hits = pd.Series(event & np.isin(status, statuses), index=days).groupby(level=0).sum()
        got = counts.set_index("time")[f"observed_{cause}"]
        assert got[got > 0].to_dict() == hits[hits > 0].to_dict(), cause


def test_the_incidences_add_up_to_one_minus_survival_exactly(sample) -> None:
    cif = cumulative_incidence(sample.policies, study_date=sample.study_date)
    events = frozenset(s for statuses in CAUSES.values() for s in statuses)
    overall = km_curves(survival_data(sample.policies, events=events, study_date=sample.study_date)).set_index("month")["survival"]
    total = cif.groupby("month")["incidence"].sum()
    np.testing.assert_allclose(total.to_numpy(), 1 - overall.loc[total.index].to_numpy(), atol=1e-12)
