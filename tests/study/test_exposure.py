"""The exposure engine: hand-worked cases, a brute-force reference and invariants."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.engine.stays import LAPSE_LIKE
from analysis.study.calendar import add_months, add_years, as_days, whole_months, whole_years
from analysis.study.exposure import StudySpec, exposures

END = pd.Timestamp("2022-12-31")


def book(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("issue_date", "status_date", "lapse_date", "observed_to"):
        frame[column] = pd.to_datetime(frame.get(column), errors="coerce")
    return frame


def table(policies: pd.DataFrame, backend=None, **spec) -> pd.DataFrame:
    study_end = spec.pop("study_end", END)
    return exposures(policies, spec=StudySpec(study_end=study_end, **spec), study_date=study_end, backend=backend).set_index("period")


def test_anniversary_arithmetic() -> None:
    issue = as_days(pd.Series(pd.to_datetime(["2020-02-29", "2021-01-31", "2021-01-31"])))
    assert add_years(issue[:1], 1)[0] == np.datetime64("2021-02-28")
    assert add_years(issue[:1], 4)[0] == np.datetime64("2024-02-29")
    assert add_months(issue[1:2], 1)[0] == np.datetime64("2021-02-28")
    assert add_months(issue[1:2], 2)[0] == np.datetime64("2021-03-31")
    day = as_days(pd.Series(pd.to_datetime(["2021-02-27", "2021-02-28", "2021-03-30"])))
    assert whole_years(issue[:1].repeat(3), day).tolist() == [0, 1, 1]
    assert whole_months(issue[1:2].repeat(3), day).tolist() == [0, 1, 1]


def test_leap_day_issue(engine) -> None:
    # Issued 2020-02-29, in force to the end of 2022 (study window opens before issue).
    # Year 1: 2020-02-29 .. 2021-02-27 (anniversary 2021-02-28): 365 days, all in force → 1.
    # Year 2: 2021-02-28 .. 2022-02-27: 365 days → 1.
    # Year 3: 2022-02-28 .. 2023-02-27: 365 days, in force 2022-02-28 .. 2022-12-31 = 307 days.
    rates = table(book({"issue_date": "2020-02-29", "status": "in_force"}), engine)
    assert rates.loc[1, "exposure"] == 1.0 and rates.loc[2, "exposure"] == 1.0
    assert rates.loc[3, "exposure"] == pytest.approx(307 / 365, abs=1e-15)
    assert rates["events"].sum() == 0


def test_31_january_issue_by_policy_month(engine) -> None:
    # Issued 2021-01-31, surrendered 2021-04-15, central exposure by policy month.
    # Month 1: 01-31 .. 02-27 (monthiversary 02-28): 28 days → 1.
    # Month 2: 02-28 .. 03-30 (monthiversary 03-31): 31 days → 1.
    # Month 3: 03-31 .. 04-29: 30 days; exposed 03-31 .. 04-15 (the exit day counts) = 16 days.
    policies = book({"issue_date": "2021-01-31", "status": "surrendered", "status_date": "2021-04-15"})
    rates = table(policies, engine, period="policy_month", basis="central")
    assert rates["exposure"].tolist() == [1.0, 1.0, pytest.approx(16 / 30)]
    assert rates["events"].tolist() == [0, 0, 1]
    initial = table(policies, engine, period="policy_month")
    assert initial.loc[3, "exposure"] == 1.0


def test_exit_on_an_anniversary_opens_the_next_year() -> None:
    # Issued 2020-03-01; exit dated 2021-03-01, the first anniversary. The exit day counts
    # (SOA / actxps), so year 1 (2020-03-01 .. 2021-02-28, 365 days) is whole and the event
    # falls on day 1 of year 2 (2021-03-01 .. 2022-02-28, 365 days).
    policies = book({"issue_date": "2020-03-01", "status": "lapsed", "lapse_date": "2021-03-01"})
    central = table(policies, basis="central")
    assert central.loc[1, "exposure"] == 1.0 and central.loc[1, "events"] == 0
    assert central.loc[2, "exposure"] == pytest.approx(1 / 365) and central.loc[2, "events"] == 1
    assert table(policies).loc[2, "exposure"] == 1.0  # initial: the event's year counts whole


def test_exit_on_the_study_end_counts_and_after_it_censors() -> None:
    on_end = book({"issue_date": "2022-01-01", "status": "surrendered", "status_date": "2022-12-31"})
    rates = table(on_end, basis="central")
    assert rates.loc[1, "events"] == 1
    assert rates.loc[1, "exposure"] == 1.0  # 2022-01-01 .. 2022-12-31, the exit day included
    after = book({"issue_date": "2022-01-01", "status": "surrendered", "status_date": "2023-01-05"})
    rates = table(after, basis="central")
    assert rates.loc[1, "events"] == 0 and rates.loc[1, "exposure"] == 1.0  # the whole year 2022


def test_a_policy_issued_on_the_last_day_of_the_window_is_left_out_as_actxps_does(engine) -> None:
    # actxps's expose() keeps issue_date < end_date; a policy issued on the study end would
    # otherwise add one day of exposure to policy year 1.
    policies = book({"issue_date": "2020-06-01", "status": "in_force"}, {"issue_date": END, "status": "in_force"})
    rates = table(policies, engine)
    assert rates.loc[1, "exposure"] == 1.0


def test_late_entry_starts_at_the_study_start() -> None:
    # Issued 2019-07-01, study from 2020-01-01 to 2020-12-31.
    # Year 1 = 2019-07-01 .. 2020-06-30 (366 days, it holds 2020-02-29): in the window 182 days.
    # Year 2 = 2020-07-01 .. 2021-06-30 (365 days): in the window 184 days.
    policies = book({"issue_date": "2019-07-01", "status": "in_force"})
    rates = exposures(
        policies, spec=StudySpec(study_start=pd.Timestamp("2020-01-01"), study_end=pd.Timestamp("2020-12-31")), study_date=END
    ).set_index("period")
    assert rates.loc[1, "exposure"] == pytest.approx(182 / 366, abs=1e-15)
    assert rates.loc[2, "exposure"] == pytest.approx(184 / 365, abs=1e-15)


def test_a_late_entrant_gets_full_credit_for_its_event_year_on_initial() -> None:
    # "With initial exposure, a policy that exits by a studied event gets the full period"
    # (full-year credit, as actxps): issued 2019-07-01, study from 2020-01-01, surrendered
    # 2020-03-01 → initial 1.0 for year 1; central 2020-01-01 .. 2020-03-01 = 61 of 366.
    policies = book({"issue_date": "2019-07-01", "status": "surrendered", "status_date": "2020-03-01"})
    spec = {"study_start": pd.Timestamp("2020-01-01"), "study_end": pd.Timestamp("2020-12-31")}
    initial = exposures(policies, spec=StudySpec(**spec), study_date=END).set_index("period")
    central = exposures(policies, spec=StudySpec(basis="central", **spec), study_date=END).set_index("period")
    assert initial.loc[1, "exposure"] == 1.0
    assert central.loc[1, "exposure"] == pytest.approx(61 / 366)  # 2020-01-01 .. 2020-03-01


def test_reinstated_policy_counts_its_lapse_episode() -> None:
    # Lapsed (suspended) 2021-05-01, reinstated 2021-08-01: a lapse in year 2 when lapses
    # are studied; in force throughout when only surrenders are.
    policies = book({"issue_date": "2020-01-01", "status": "reinstated", "lapse_date": "2021-05-01", "status_date": "2021-08-01"})
    lapses = table(policies)
    assert lapses["events"].to_dict() == {1: 0, 2: 1}
    assert lapses.index.max() == 2
    surrenders = table(policies, events=frozenset({"surrendered"}))
    assert surrenders["events"].sum() == 0 and surrenders.index.max() == 3


def test_competing_exits_censor() -> None:
    policies = book({"issue_date": "2020-01-01", "status": "death_claim", "status_date": "2020-07-01"})
    rates = table(policies)
    assert rates["events"].sum() == 0
    assert rates.loc[1, "exposure"] == pytest.approx(183 / 366)  # 2020-01-01 .. 2020-07-01


def event_dates(policies: pd.DataFrame, events: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The date each policy leaves the study and whether that exit is a studied event (the rules of ``DOMAIN.md`` §2.2, in numpy).

    Parameters
    ----------
    policies : DataFrame
        Canonical policies: ``status`` and whichever of ``status_date``,
        ``lapse_date``, ``observed_to`` exist.
    events : iterable of str
        Studied statuses.

    Returns
    -------
    (exit_day, is_event) : tuple of numpy arrays
        ``exit_day`` (``datetime64[D]``) is the first day the policy is no longer
        in force for this study (the lapse date of a suspension, the date of a
        surrender or a competing exit), or the censoring date ``observed_to`` of
        a policy observed only so far; NaT for policies in force at the study
        end. Policies whose exit has no known date get NaT and ``is_event``
        False: they are counted in force, so check the account for such rows.
    """
    events = frozenset(events)
    status = policies[S.STATUS]
    n = len(policies)

    def having(values: Iterable[str]) -> np.ndarray:
        return status.isin(list(values)).to_numpy(dtype=bool)

    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    status_day = as_days(policies[S.STATUS_DATE]) if S.STATUS_DATE in policies else nat
    lapse_day = as_days(policies[S.LAPSE_DATE]) if S.LAPSE_DATE in policies else nat
    observed = as_days(policies[S.OBSERVED_TO]) if S.OBSERVED_TO in policies else nat
    lapse_like = having(LAPSE_LIKE)
    own_day = np.where(lapse_like & ~np.isnat(lapse_day), lapse_day, status_day)
    is_reinstated = having([S.REINSTATED])
    active = having(S.ACTIVE_STATUSES) & ~is_reinstated
    studies_lapse = S.LAPSED in events
    is_event = having(events) & ~np.isnat(own_day)
    # A reinstated policy left the study at its lapse when lapses are studied.
    reinstated = is_reinstated & ~np.isnat(lapse_day)
    if studies_lapse:
        is_event |= reinstated
    exit_day = np.where(active, observed, own_day)
    # Reinstated policies whose lapse is not studied stay in force.
    exit_day = np.where(is_reinstated & ~studies_lapse, observed, exit_day)
    if not studies_lapse:
        is_event &= ~is_reinstated
    return exit_day.astype("datetime64[D]"), is_event


def brute_force(policies: pd.DataFrame, spec: StudySpec, study_end: pd.Timestamp) -> pd.Series:
    """Day-by-day reference: walk every policy's periods one at a time."""
    exit_day, is_event = event_dates(policies, spec.events)
    totals: dict[int, list[float]] = {}
    start = pd.Timestamp(spec.study_start) if spec.study_start is not None else policies["issue_date"].min()
    for i, issue in enumerate(policies["issue_date"]):
        exit_ = pd.Timestamp(exit_day[i]) if not np.isnat(exit_day[i]) else None
        stop = exit_ + pd.Timedelta(days=1) if exit_ is not None and exit_ <= study_end else study_end + pd.Timedelta(days=1)
        event = bool(is_event[i]) and not np.isnat(exit_day[i]) and pd.Timestamp(exit_day[i]) <= study_end
        entry = max(issue, start)
        if stop <= entry:
            continue  # gone before the study window opened
        k = 1
        while True:
            p_start = issue + pd.DateOffset(years=k - 1)
            p_end = issue + pd.DateOffset(years=k)
            if p_start >= stop:
                break
            days = (min(stop, p_end) - max(entry, p_start)).days
            last = p_start <= stop - pd.Timedelta(days=1) < p_end
            share = max(days, 0) / (p_end - p_start).days
            if event and last and spec.basis == "initial":
                share = 1.0
            bucket = totals.setdefault(k, [0.0, 0.0])
            if share > 0 or (event and last):
                bucket[0] += share
                bucket[1] += 1.0 if event and last else 0.0
            if last:
                break
            k += 1
    return pd.Series({k: v[0] for k, v in totals.items() if v[0] > 0 or v[1] > 0})


@pytest.mark.parametrize("basis", ["initial", "central"])
def test_engine_matches_a_day_by_day_walk_on_random_policies(basis: str, engine) -> None:
    rng = np.random.default_rng(7)
    n = 300
    issue = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 365 * 7, n), unit="D")
    length = pd.to_timedelta(rng.integers(0, 365 * 6, n), unit="D")
    status = rng.choice(["in_force", "lapsed", "surrendered", "death_claim", "reinstated"], n)
    policies = pd.DataFrame({"issue_date": issue, "status": status})
    policies["status_date"] = (issue + length).where(status != "in_force")
    policies["lapse_date"] = (issue + length).where(np.isin(status, ["lapsed", "reinstated"]))
    spec = StudySpec(basis=basis, study_start=pd.Timestamp("2017-03-15"), study_end=pd.Timestamp("2021-06-30"))
    mine = exposures(policies, spec=spec, study_date=END, backend=engine).set_index("period")["exposure"]
    reference = brute_force(policies, spec, pd.Timestamp("2021-06-30"))
    pd.testing.assert_series_equal(mine.sort_index(), reference.sort_index(), check_names=False, rtol=1e-12)


def test_regrouping_identity_and_weights() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    issue = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 365 * 6, n), unit="D")
    status = rng.choice(["in_force", "lapsed", "surrendered"], n)
    policies = pd.DataFrame(
        {"issue_date": issue, "status": status, "channel": rng.choice(["个险", "银保"], n), "annual_premium": rng.uniform(1000, 5000, n)}
    )
    policies["status_date"] = (issue + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")).where(status != "in_force")
    policies["lapse_date"] = policies["status_date"].where(status == "lapsed")
    spec = StudySpec()
    whole = exposures(policies, spec=spec, study_date=END, weights=["annual_premium"]).set_index("period")
    split = (
        exposures(policies, by=["channel"], spec=spec, study_date=END, weights=["annual_premium"]).groupby("period").sum(numeric_only=True)
    )
    pd.testing.assert_frame_equal(whole.sort_index(), split.sort_index(), rtol=1e-12)
    assert (whole["exposure"] >= 0).all() and (whole["events"] <= whole["exposure"] + 1e-9).all()
    assert whole["events"].sum() == ((policies["status"] != "in_force") & (policies["status_date"] <= END)).sum()
    # a constant weight w scales exposure and events by w
    policies["w"] = 2.5
    scaled = exposures(policies, spec=spec, study_date=END, weights=["w"]).set_index("period")
    np.testing.assert_allclose(scaled["exposure_w"], 2.5 * scaled["exposure"], rtol=1e-12)
    np.testing.assert_allclose(scaled["events_w"], 2.5 * scaled["events"], rtol=1e-12)


def test_chunks_add_up_so_the_aggregation_can_run_out_of_core() -> None:
    # Each policy's contribution is independent: summing the tables of two halves gives the
    # table of the whole, which is what lets the engine run chunk by chunk or on a cluster.
    rng = np.random.default_rng(5)
    n = 1000
    issue = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 365 * 6, n), unit="D")
    status = rng.choice(["in_force", "lapsed", "surrendered"], n)
    policies = pd.DataFrame({"issue_date": issue, "status": status, "channel": rng.choice(["a", "b"], n)})
    policies["status_date"] = (issue + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")).where(status != "in_force")
    policies["lapse_date"] = policies["status_date"].where(status == "lapsed")
    whole = exposures(policies, by=["channel"], spec=StudySpec(), study_date=END).set_index(["channel", "period"]).sort_index()
    parts = pd.concat(
        [
            exposures(policies.iloc[:400], by=["channel"], spec=StudySpec(), study_date=END),
            exposures(policies.iloc[400:], by=["channel"], spec=StudySpec(), study_date=END),
        ]
    )
    summed = parts.groupby(["channel", "period"]).sum().sort_index()
    pd.testing.assert_frame_equal(whole, summed, rtol=1e-12)
