"""Exposure study: policies → ``cohort × period → exposure, events``, aggregated by the engine.

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

The aggregation itself is :mod:`analysis.engine.exposure` (DuckDB, Spark or another Ibis
backend); this module holds the study's definition (:class:`StudySpec`), its checks, and
the exit rules per policy are :func:`analysis.engine.stays.with_exits` (the risk model's rows
use them too, :mod:`analysis.engine.risk_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind
from analysis.engine.exposure import engine_exposures
from analysis.engine.stays import STAY_COLUMNS
from analysis.errors import ExtractError

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

PERIODS = ("policy_year", "policy_month", "calendar_year")
BASES = ("initial", "central")


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


def exposures(
    policies: pd.DataFrame | ir.Table,
    *,
    by: Sequence[str] = (),
    spec: StudySpec,
    study_date: pd.Timestamp,
    weights: Sequence[str] = (),
    backend: BaseBackend | None = None,
) -> pd.DataFrame:
    """Exposure and events by cohort and period, aggregated by the engine straight from policies.

    Parameters
    ----------
    policies : DataFrame or Ibis table
        Canonical policies (``issue_date``, ``status`` and the date columns used
        by :func:`analysis.engine.stays.with_exits`) plus the cohort columns named in ``by``: a pandas
        book (handed to ``backend``, DuckDB by default) or a table of any engine.
    by : sequence of str
        Cohort columns (already banded); empty for the whole book.
    spec : StudySpec
        Period, events, basis and study window.
    study_date : Timestamp
        The extract's study date: the default study end.
    weights : sequence of str
        Numeric columns (annual premium, sum assured) to also sum exposure and
        events weighted by.
    backend : Ibis backend, optional
        The engine for a pandas book (default DuckDB); a table keeps its own.

    Returns
    -------
    DataFrame
        ``[*by, period, exposure, events, *exposure_<w>, *events_<w>]``: one
        row per cohort and period with any exposure or event, sorted by cohort
        (missing last) and period. ``exposure`` is in period units (policy
        years, policy months or calendar years).
    """
    _check_study(policies, spec=spec, columns=[*by, *weights])
    if spec.study_start is not None and pd.Timestamp(spec.study_start) > _end(spec, study_date):
        raise ExtractError(
            "bad_option", reason="study_window", start=pd.Timestamp(spec.study_start).date(), end=_end(spec, study_date).date()
        )
    table, engine = bind(policies, backend, columns=[*STAY_COLUMNS, *by, *weights])
    out = engine_exposures(table, engine, by=by, spec=spec, study_date=study_date, weights=weights)
    if isinstance(policies, pd.DataFrame):
        for column in by:  # the cohort values as the caller's frame had them (categories, nullable types)
            out[column] = out[column].astype(policies[column].dtype)
    return out


def _end(spec: StudySpec, study_date: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(spec.study_end if spec.study_end is not None else study_date).normalize()


def _check_study(policies: pd.DataFrame | ir.Table, *, spec: StudySpec, columns: Sequence[str]) -> None:
    """Refuse an unknown period or basis, and cohort or weight columns the policies lack."""
    if spec.period not in PERIODS:
        raise ExtractError("bad_option", reason="study_period", period=spec.period, allowed=", ".join(PERIODS))
    if spec.basis not in BASES:
        raise ExtractError("bad_option", reason="study_basis", basis=spec.basis)
    missing = [c for c in columns if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_study", column=missing[0], columns=", ".join(map(str, policies.columns)))


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
