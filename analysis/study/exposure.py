"""Exposure engine: policies → ``cohort × period → exposure, events`` without exploding rows.

Follows the SOA / actxps conventions (``../shared/DOMAIN.md`` §2.2):

* a policy year runs from an anniversary to the day before the next one (29 February
  issues have their anniversary on 28 February in non-leap years); a policy month from a
  monthiversary to the day before the next; a calendar year from 1 January;
* exposure in a period = days in force inside the period and the study window, divided
  by the days in that period; the issue day and the exit day both count (as in actxps:
  a surrender dated on an anniversary opens the next policy year with one day);
* with *initial* exposure a policy that exits by a studied event gets the whole period of
  its event; with *central* exposure it gets the days it actually spent;
* other exits and the study end censor the policy; policies issued before the study
  start enter late.

Every policy contributes at most two partial periods (the one it enters in and the one it
leaves in) and a run of whole periods between them. The partial periods are summed by a
groupby, the whole ones by a difference array per cohort, so memory grows with the
number of policies, never with policies × periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.study.calendar import DAY, add_months, as_days, calendar_year, calendar_year_start, whole_months

PERIODS = ("policy_year", "policy_month", "calendar_year")
BASES = ("initial", "central")
#: Statuses whose event date is the start of the suspension (lapse), not the status date.
LAPSE_LIKE = frozenset({S.LAPSED, S.TERMINATED_AFTER_LAPSE, S.REINSTATED})


@dataclass(frozen=True)
class StudySpec:
    """What an experience study measures.

    Attributes
    ----------
    period : str
        ``policy_year``, ``policy_month`` or ``calendar_year``.
    events : frozenset of str
        Canonical statuses counted as events (default: voluntary exits). When
        ``lapsed`` is studied, reinstated policies count their lapse episode.
    basis : str
        ``initial`` (events get their whole period) or ``central``.
    study_start, study_end : Timestamp
        The study window, both days included.
    """

    period: str = "policy_year"
    events: frozenset[str] = S.VOLUNTARY_EXITS
    basis: str = "initial"
    study_start: pd.Timestamp | None = None
    study_end: pd.Timestamp | None = None


def event_dates(policies: pd.DataFrame, events: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The date each policy leaves the study and whether that exit is a studied event.

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


def _period_bounds(issue: np.ndarray, day: np.ndarray, period: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index (1-based for policy periods, the year for calendar years), start and end of the period holding ``day``."""
    if period == "calendar_year":
        year = calendar_year(day)
        return year, calendar_year_start(year), calendar_year_start(year + 1)
    months = whole_months(issue, day)
    step = 12 if period == "policy_year" else 1
    index = months // step
    return index + 1, add_months(issue, index * step), add_months(issue, (index + 1) * step)


def exposures(
    policies: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    spec: StudySpec,
    study_date: pd.Timestamp,
    weights: Sequence[str] = (),
) -> pd.DataFrame:
    """Exposure and events by cohort and period, aggregated straight from policies.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies (``issue_date``, ``status`` and the date columns used
        by :func:`event_dates`) plus the cohort columns named in ``by``.
    by : sequence of str
        Cohort columns (already banded); empty for the whole book.
    spec : StudySpec
        Period, events, basis and study window.
    study_date : Timestamp
        The extract's study date: the default study end.
    weights : sequence of str
        Numeric columns (annual premium, sum assured) to also sum exposure and
        events weighted by.

    Returns
    -------
    DataFrame
        ``[*by, period, exposure, events, *exposure_<w>, *events_<w>]``: one
        row per cohort and period with any exposure or event. ``exposure`` is in
        period units (policy years, policy months or calendar years).
    """
    _check_study(policies, spec=spec, columns=[*by, *weights])
    empty = pd.DataFrame(
        columns=[*by, "period", "exposure", "events", *(f"exposure_{w}" for w in weights), *(f"events_{w}" for w in weights)]
    )
    stays = _stays(policies, spec=spec, study_date=study_date)
    if stays is None:
        return empty
    keep, issue, entry, stop, is_event = stays
    frame_codes, cohorts = cohort_codes(policies, by)
    codes = frame_codes[keep]
    weight_values = {w: np.nan_to_num(pd.to_numeric(policies[w], errors="coerce").to_numpy(dtype=float)[keep]) for w in weights}
    parts = _period_parts(issue, entry, stop, is_event, spec=spec)
    lo, table = _grids(codes, len(cohorts), parts, is_event, weight_values)
    exposure, events = table["exposure"], table["events"]
    cohort_index, period_index = np.nonzero((exposure > 1e-12) | (events > 0))
    out = cohorts.iloc[cohort_index].reset_index(drop=True)
    out["period"] = period_index + lo
    for name, grid in table.items():
        out[name] = grid[cohort_index, period_index]
    return out


def _check_study(policies: pd.DataFrame, *, spec: StudySpec, columns: Sequence[str]) -> None:
    """Refuse an unknown period or basis, and cohort or weight columns the policies lack."""
    if spec.period not in PERIODS:
        raise ExtractError("bad_option", reason="study_period", period=spec.period, allowed=", ".join(PERIODS))
    if spec.basis not in BASES:
        raise ExtractError("bad_option", reason="study_basis", basis=spec.basis)
    missing = [c for c in columns if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_study", column=missing[0], columns=", ".join(map(str, policies.columns)))


def _stays(
    policies: pd.DataFrame, *, spec: StudySpec, study_date: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Each policy's stay in the study window: ``(keep, issue, entry, stop, is_event)``, or None when nobody stays.

    ``keep`` marks the policies with a known issue date that are in force for at least a day
    of the window; the other arrays are for those policies only. ``entry`` is the first day of
    exposure, ``stop`` the day after the last (the exit day itself counts, as in SOA /
    actxps), ``is_event`` whether the stay ends in a studied event inside the window.
    """
    end_day = np.datetime64(pd.Timestamp(spec.study_end if spec.study_end is not None else study_date).date(), "D")
    issue = as_days(policies[S.ISSUE_DATE])
    if len(issue) == 0 or np.isnat(issue).all():
        return None
    if spec.study_start is not None and pd.Timestamp(spec.study_start) > pd.Timestamp(end_day):
        raise ExtractError(
            "bad_option", reason="study_window", start=pd.Timestamp(spec.study_start).date(), end=pd.Timestamp(end_day).date()
        )
    start_day = np.datetime64(pd.Timestamp(spec.study_start).date(), "D") if spec.study_start is not None else np.nanmin(issue)
    exit_day, is_event = event_dates(policies, spec.events)
    window_end = end_day + DAY  # first day after the study
    after_window = ~np.isnat(exit_day) & (exit_day > end_day)
    is_event = is_event & ~after_window
    # The exit day itself is a day of exposure (SOA / actxps): the stay ends the day after.
    stop = np.where(np.isnat(exit_day) | after_window, window_end, exit_day + DAY)
    entry = np.maximum(issue, start_day)
    alive = stop > entry
    keep = alive & ~np.isnat(issue)
    if not keep.any():
        return None
    return keep, issue[keep], entry[keep], stop[keep], is_event[keep]


@dataclass(frozen=True)
class _Parts:
    """The periods a stay enters and leaves in, and the share of each it is exposed for."""

    e_index: np.ndarray
    x_index: np.ndarray
    first_part: np.ndarray
    last_part: np.ndarray
    same: np.ndarray


def _period_parts(issue: np.ndarray, entry: np.ndarray, stop: np.ndarray, is_event: np.ndarray, *, spec: StudySpec) -> _Parts:
    """The entry and exit periods of each stay and its exposure in them (whole periods between come later)."""
    last = stop - DAY  # last day of exposure: the exit day, or the study end
    e_index, e_start, e_end = _period_bounds(issue, entry, spec.period)
    x_index, x_start, x_end = _period_bounds(issue, last, spec.period)
    e_len = (e_end - e_start).astype(np.int64)
    x_len = (x_end - x_start).astype(np.int64)
    same = e_index == x_index
    first_part = np.where(same, (stop - entry).astype(np.int64), (e_end - entry).astype(np.int64)) / e_len
    last_part = np.where(same, 0.0, (stop - x_start).astype(np.int64) / x_len)
    if spec.basis == "initial":
        # The event's period counts whole ("full-year credit", DOMAIN.md §2.2; "gets the full
        # period" in the issue; actxps does the same), also for a policy that entered it late.
        first_part = np.where(is_event & same, 1.0, first_part)
        last_part = np.where(is_event & ~same, 1.0, last_part)
    return _Parts(e_index, x_index, first_part, last_part, same)


def _grids(
    codes: np.ndarray, n_cohorts: int, parts: _Parts, is_event: np.ndarray, weight_values: dict[str, np.ndarray]
) -> tuple[int, dict[str, np.ndarray]]:
    """``cohort × period`` grids of exposure and events (and their weighted sums), and the first period's index.

    The partial entry and exit periods are summed by ``bincount``; the whole periods strictly
    between them by a difference array (+1 from the period after entry, −1 from the exit
    period) accumulated along the periods, so memory grows with policies, not policies × periods.
    """
    e_index, x_index, first_part, last_part, same = parts.e_index, parts.x_index, parts.first_part, parts.last_part, parts.same
    offset = int(min(e_index.min(initial=0), 0)) if len(e_index) else 0
    pieces = [
        (codes, e_index, first_part, np.zeros(len(codes))),
        (codes[~same], x_index[~same], last_part[~same], np.zeros(int((~same).sum()))),
        (codes[is_event], x_index[is_event], np.zeros(int(is_event.sum())), np.ones(int(is_event.sum()))),
    ]
    cohort_col = np.concatenate([p[0] for p in pieces])
    period_col = np.concatenate([p[1] for p in pieces]).astype(np.int64)
    exposure_col = np.concatenate([p[2] for p in pieces])
    event_col = np.concatenate([p[3] for p in pieces])
    span = x_index - e_index >= 2
    run_cohort = np.concatenate([codes[span], codes[span]])
    run_period = np.concatenate([e_index[span] + 1, x_index[span]]).astype(np.int64)
    run_delta = np.concatenate([np.ones(int(span.sum())), -np.ones(int(span.sum()))])

    lo = int(min(period_col.min(initial=0), run_period.min(initial=0), offset))
    hi = int(max(period_col.max(initial=0), run_period.max(initial=0)))
    width = hi - lo + 1
    flat = cohort_col * width + (period_col - lo)
    size = n_cohorts * width

    def grid(values: np.ndarray, at: np.ndarray = flat) -> np.ndarray:
        return np.bincount(at, weights=values, minlength=size).reshape(n_cohorts, width)

    run_flat = run_cohort * width + (run_period - lo)
    table = {"exposure": grid(exposure_col) + np.cumsum(grid(run_delta, run_flat), axis=1), "events": grid(event_col)}
    for w, values in weight_values.items():
        w_exposure = np.concatenate([values * first_part, values[~same] * last_part[~same], np.zeros(int(is_event.sum()))])
        w_events = np.concatenate([np.zeros(len(codes)), np.zeros(int((~same).sum())), values[is_event]])
        w_runs = np.cumsum(grid(np.concatenate([values[span], -values[span]]), run_flat), axis=1)
        table[f"exposure_{w}"] = grid(w_exposure) + w_runs
        table[f"events_{w}"] = grid(w_events)
    return lo, table


def cohort_codes(policies: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer code of each policy's group and the table of groups (missing is a group too)."""
    if not by:
        return np.zeros(len(policies), dtype=np.int64), pd.DataFrame(index=range(1))
    keys = policies[list(by)]
    if len(by) == 1:
        codes, uniques = pd.factorize(keys.iloc[:, 0], use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), pd.DataFrame({by[0]: uniques})
    codes, pairs = pd.MultiIndex.from_frame(keys).factorize()
    return np.asarray(codes, dtype=np.int64), pd.DataFrame(list(pairs), columns=list(by))
