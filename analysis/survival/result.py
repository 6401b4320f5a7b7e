"""The survival study as one call: cohort column → durations → Kaplan–Meier, summary and tests.

The engine counts the book by cohort and duration
(:func:`~analysis.survival.curves.survival_counts`); the curves and the log-rank tests are
derived from that small table. The Survival page (through ``ui/survival.py``'s cache) and
``python -m analysis survival`` both call :func:`survival_study`, so the curves they show are
the same; the decisions the page states in words (do the cohorts differ, which of two lapses
sooner) are read from the result here, at :data:`~analysis.survival.logrank.SIGNIFICANCE_LEVEL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import ibis.expr.types as ir
import pandas as pd

from analysis import schema as S
from analysis.study.cohorts import YOUNG_NEW_EARNERS, NamedCohort
from analysis.study.run import StudyRequest, study_frame, study_table
from analysis.survival.cox import COX_SAMPLE, COX_SEED, CoxResult, fit_cox
from analysis.survival.curves import MISSING_COHORT, RMST_HORIZON, km_from_counts, survival_counts, survival_data, survival_summary
from analysis.survival.logrank import SIGNIFICANCE_LEVEL, PairVerdict, logrank_from_counts, pair_verdicts

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


@dataclass(frozen=True)
class SurvivalResult:
    """Curves, summary and tests for one cohort split.

    Attributes
    ----------
    curves : DataFrame
        :func:`~analysis.survival.curves.km_from_counts`' table, one curve per cohort (cohorts in sorted order).
    summary : DataFrame
        :func:`~analysis.survival.curves.survival_summary` of the curves.
    overall, pairwise : DataFrame or None
        :func:`~analysis.survival.logrank.logrank_from_counts`; None without a cohort column or with
        one cohort only.
    alpha : float
        The significance level the decisions below are made at.
    """

    curves: pd.DataFrame
    summary: pd.DataFrame
    overall: pd.DataFrame | None
    pairwise: pd.DataFrame | None
    alpha: float = SIGNIFICANCE_LEVEL

    @property
    def overall_p(self) -> float | None:
        """The p-value of the k-sample log-rank test, or None when no test was run."""
        return None if self.overall is None else float(self.overall["p_value"].iloc[0])

    @property
    def cohorts_differ(self) -> bool | None:
        """Whether the curves differ significantly (overall test), or None when no test was run."""
        p = self.overall_p
        return None if p is None else p < self.alpha

    @property
    def pair_verdicts(self) -> tuple[PairVerdict, ...]:
        """Each pairwise test as a verdict (worse, better, significant), in the pairwise table's order."""
        if self.pairwise is None:
            return ()
        return pair_verdicts(self.pairwise, self.summary, alpha=self.alpha)


def survival_study(
    policies: pd.DataFrame | ir.Table,
    *,
    study_date: pd.Timestamp,
    by: str | None = None,
    events: frozenset[str] = S.VOLUNTARY_EXITS,
    named: Sequence[NamedCohort] = (YOUNG_NEW_EARNERS,),
    horizon: float = RMST_HORIZON,
    study_start: pd.Timestamp | str | None = None,
    compare: bool = True,
    backend: BaseBackend | None = None,
) -> SurvivalResult:
    """Kaplan–Meier curves by one cohort column, their summary and the log-rank tests between them.

    Parameters
    ----------
    policies : DataFrame or Ibis table
        Canonical policies (a pandas book, or a table of any engine); ``by`` may also name a
        derived cohort (``age_band``, ``issue_year``, a named cohort's key).
    study_date : Timestamp
        The study end.
    by : str, optional
        The cohort column; one curve for the whole book when omitted.
    events : frozenset of str
        The studied exits (default: voluntary exits).
    named : sequence of NamedCohort
        Named cohorts ``by`` may name.
    horizon : float
        Months of the restricted mean survival time in the summary.
    study_start : Timestamp or str, optional
        A later study start: policies issued before it enter late (left truncation).
    compare : bool
        Run the log-rank tests between the cohorts (the command line, which prints the curves
        only, skips them).

    Returns
    -------
    SurvivalResult
        The tests are run when asked and ``by`` splits the book into two or more cohorts.
    """
    columns = (by,) if by else ()
    request = StudyRequest(by=columns, named=tuple(named))
    frame: pd.DataFrame | ir.Table
    if isinstance(policies, pd.DataFrame):
        frame = study_frame(policies, request)
    else:  # a book on an engine: its cohort columns are made there too
        frame, backend, _ = study_table(policies, request, backend=backend)
    start = pd.Timestamp(study_start) if study_start else None
    counts = survival_counts(frame, events=events, study_date=study_date, study_start=start, by=by, backend=backend)
    curves = km_from_counts(counts)
    summary = survival_summary(curves, horizon=horizon)
    overall = pairwise = None
    if compare and by and counts.loc[counts["cohort"] != MISSING_COHORT, "cohort"].nunique() > 1:
        overall, pairwise = logrank_from_counts(counts)
    return SurvivalResult(curves, summary, overall, pairwise)


def cox_study(
    policies: pd.DataFrame,
    *,
    study_date: pd.Timestamp,
    covariates: Sequence[str],
    strata: Sequence[str] = (),
    events: frozenset[str] = S.VOLUNTARY_EXITS,
    named: Sequence[NamedCohort] = (YOUNG_NEW_EARNERS,),
) -> CoxResult:
    """A Cox model on covariates that may be derived cohorts (bands, issue years, named cohorts).

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    study_date : Timestamp
        The study end.
    covariates, strata : sequence of str
        As :func:`~analysis.survival.cox.fit_cox` takes them.
    events : frozenset of str
        The studied exits.
    named : sequence of NamedCohort
        Named cohorts a covariate may name.

    Returns
    -------
    CoxResult
        On a book of more than :data:`COX_SAMPLE` policies, fitted on a seeded sample of that many
        policies, drawn before the covariates are derived: at 5,000,000 policies, making ten cohort
        columns for every policy to keep 200,000 of them cost about 11 s and 3 GB (benchmarks/bench_big.py).
    """
    columns = tuple(dict.fromkeys([*covariates, *strata]))
    total = len(policies)
    if total > COX_SAMPLE:  # a large book is fitted on a seeded sample: draw it before the cohort columns are made
        policies = policies.sample(n=COX_SAMPLE, random_state=COX_SEED)
    frame = study_frame(policies, StudyRequest(by=columns, named=tuple(named)))
    data = survival_data(frame, events=events, study_date=study_date, by=list(columns))
    return fit_cox(data, covariates, strata=strata, total=total)  # fit_cox's own sample and seed are COX_SAMPLE and COX_SEED
