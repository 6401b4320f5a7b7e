"""Training and scoring rows of the lapse-risk model: in force at past as-of dates, known-then features.

**Target** (stated on the page): the probability that a policy in force at a date leaves
by a voluntary exit — lapse (suspension for non-payment), surrender, or termination after
lapse; a reinstated policy's lapse episode counts — within the ``horizon`` months after
that date (12 by default).

**Training rows.** For an as-of date A, the rows are the policies in force at A (issued
by A, not yet exited, not suspended at A). A policy that leaves by a competing exit
(death, maturity, free-look cancellation) inside the horizon is left out of that as-of
date: its outcome is unknown. Features are those known at A: the policy year at A, the
age at A, premium, premium to income (when income is a number), payment frequency,
auto-debit, channel, product, income, occupation, gender, branch, and the user's own
columns. (Whether a policy was reinstated before A is not a feature: a snapshot extract
keeps the reinstatement date only for policies still reinstated on the study date, so it
would leak that they did not lapse again.) Nothing dated after A (status, status date,
paid-to date) is a feature, which the tests check by changing the future.

**Leaks.** A user column recorded after the fact (a campaign arm assigned to the policies
in force on a later day, an outcome flag) would leak the future; :func:`suspected_leaks`
names such columns so they are left out by default (:func:`feature_choices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.engine.backend import bind
from analysis.engine.dates import day_of
from analysis.engine.risk_rows import (
    BOOK_ROW,
    book_columns,
    in_force_rows,
    leak_groups,
    training_selection,
)
from analysis.errors import ExtractError
from analysis.payments.features import Payments, payment_features
from analysis.personal import mentions_identifiers, personal_columns
from analysis.risk.draw import TrainingDraw, draw_training, horizon_days
from analysis.study.calendar import as_days, whole_months

#: Static features taken as they are (when the extract has them).
STATIC_FEATURES = (S.ANNUAL_PREMIUM, S.PAYMENT_FREQUENCY, S.AUTO_DEBIT, S.CHANNEL, S.PRODUCT, S.INCOME, S.OCCUPATION, S.GENDER, S.BRANCH)
ALL_EXITS = frozenset(S.EXIT_STATUSES)
#: Features computed at the as-of date.
POLICY_YEAR = "policy_year"
PREMIUM_TO_INCOME = "premium_to_income"
TARGET = "lapsed_within"
#: Columns of the training rows that are not features.
ROW_KEYS = ("policy_id", "as_of", TARGET)
#: Codes that are categories, not quantities (a payment every 12 months is not "more" than every 1).
CATEGORICAL_CODES = frozenset({S.PAYMENT_FREQUENCY})
#: A user column is offered as a feature when it has at least MIN_LEVELS and at most MAX_LEVELS distinct values.
MIN_LEVELS = 2
MAX_LEVELS = 50
#: The as-of dates count back from the day this share of the censored in-force policies is still observed.
OBSERVED_QUANTILE = 0.05
#: Leak checks need at least this many early exits and survivors.
LEAK_MIN_POLICIES = 30
#: A value held by at least this share of one side ...
LEAK_SHARE = 0.1
#: ... and by under 1/LEAK_RATIO as many, proportionally, of the other side is one-sided.
LEAK_RATIO = 5
#: A value never (or always) followed by a lapse is an outcome in disguise when it has this many rows ...
PURE_MIN_ROWS = 200
#: ... and this share of the training rows, while the book's lapse rate lies inside PURE_BOOK_RATE.
PURE_MIN_SHARE = 0.01
PURE_BOOK_RATE = (0.01, 0.99)
#: Training rows drawn for the outcome-in-disguise check.
LEAK_MAX_ROWS = 200_000
#: How a blank and "any non-blank value" read in the leak checks.
BLANK = "(blank)"
ANY_VALUE = "(any value)"
#: The model is not trained on fewer distinct policies in its training rows than this (a row
#: is a policy at one as-of date, so the rows themselves would overstate a small book) ...
MIN_TRAINING_POLICIES = 1000
#: ... nor on fewer of those policies leaving by a voluntary exit within a horizon (each
#: policy counted once, though its exit can fall inside the horizons of two as-of dates).
MIN_TRAINING_EVENTS = 30
#: The error code of a book below either minimum.
TOO_SMALL = "too_small"


@dataclass(frozen=True)
class RiskOptions:
    """How the model is built; every default is stated on the page.

    ``max_training_rows`` caps the rows (policy × as-of date) the trees learn from, drawn
    at random with ``random_state``; ``explain_sample`` is the number of in-force policies
    whose SHAP values feed the global views.
    """

    horizon_months: int = 12
    step_months: int = 6
    as_of_count: int = 8
    extra_features: tuple[str, ...] = ()
    max_training_rows: int = 500_000
    explain_sample: int = 20_000
    threads: int = 2
    random_state: int = 0


#: The options every default stated on the page describes.
DEFAULT_OPTIONS = RiskOptions()


def as_of_dates(study_date: pd.Timestamp, *, horizon_months: int = 12, step_months: int = 6, count: int = 8) -> list[pd.Timestamp]:
    """Past as-of dates whose whole horizon is observed by the study date, latest first."""
    latest = pd.Timestamp(study_date) - pd.DateOffset(months=horizon_months)
    return [latest - pd.DateOffset(months=step_months * k) for k in range(count)]


def observation_end(policies: pd.DataFrame, study_date: pd.Timestamp) -> pd.Timestamp:
    """The last day by which (nearly) the whole book is observed: the study date, or earlier.

    Experience-study extracts (such as the CASdatasets books) censor in-force policies at
    their own observation end (``observed_to``), spread over a few weeks; the as-of dates
    count back from the day 95 % of those policies are still observed, so the latest
    window does not lose its in-force policies to censoring.
    """
    if S.OBSERVED_TO in policies and policies[S.OBSERVED_TO].notna().any():
        return min(pd.Timestamp(study_date), pd.Timestamp(policies[S.OBSERVED_TO].quantile(OBSERVED_QUANTILE)).normalize())
    return pd.Timestamp(study_date)


def training_dates(policies: pd.DataFrame, study_date: pd.Timestamp, options: RiskOptions = DEFAULT_OPTIONS) -> list[pd.Timestamp]:
    """The as-of dates the model trains on for these policies and options, latest first.

    They count back from :func:`observation_end` by ``options.step_months``; the page
    states them, and :func:`suspected_leaks` and :func:`analysis.risk.model.build_risk` use them.
    """
    return as_of_dates(
        observation_end(policies, study_date),
        horizon_months=options.horizon_months,
        step_months=options.step_months,
        count=options.as_of_count,
    )


def candidate_features(policies: pd.DataFrame) -> list[str]:
    """The user's own columns that can be features: kept attributes with 2..50 distinct values, none personal."""
    known = {*S.CANONICAL_COLUMNS, "status_source", "source_row", S.LAPSE_DATE, "coverage", *personal_columns(policies)}
    out = []
    for column in policies.columns:
        if column in known or pd.api.types.is_datetime64_any_dtype(policies[column]):
            continue
        levels = policies[column].nunique(dropna=True)
        if MIN_LEVELS <= levels <= MAX_LEVELS and not mentions_identifiers(policies[column].dropna().unique()):
            out.append(str(column))
    return out


def _level_shares(values: pd.Series) -> pd.Series:
    """Each value's share as text (blank included), plus the share of "any non-blank value".

    The same shares as ``values.astype("string").fillna(BLANK).value_counts(normalize=True)``,
    with each distinct value converted to text once (not every row).
    """
    counts = values.value_counts(dropna=False)
    text = pd.Series(counts.index, dtype=object).astype("string").fillna(BLANK).to_numpy(dtype=object)
    by_text = counts.groupby(text).sum()
    shares = by_text / by_text.sum()
    # Any non-blank value counts as one more level: a flag set only for survivors.
    shares[ANY_VALUE] = 1.0 - shares.get(BLANK, 0.0)
    return shares


def _one_sided(survivors: pd.Series, exits: pd.Series) -> bool:
    """Whether a value held by survivors hardly occurs among early exits, or the other way round."""
    among_survivors, among_exits = _level_shares(survivors), _level_shares(exits)
    # Either way round: a value only survivors hold, or one only the early exits hold
    # (an outcome flag such as "surrender = 1").
    return any(
        share >= LEAK_SHARE and other.get(level, 0.0) < share / LEAK_RATIO
        for one, other in ((among_survivors, among_exits), (among_exits, among_survivors))
        for level, share in one.items()
    )


def _outcomes_in_disguise(
    policies: pd.DataFrame, columns: Sequence[str], dates: Sequence[pd.Timestamp], options: RiskOptions, draw: TrainingDraw | None
) -> list[str]:
    """Columns with a value whose policies never (or always) lapse in the training windows, though the book lapses.

    A "death = 1" flag is never followed by a lapse.
    """
    rows = training_rows(
        policies,
        as_of=dates,
        horizon_months=options.horizon_months,
        extra_features=columns,
        max_rows=LEAK_MAX_ROWS,
        random_state=options.random_state,
        draw=draw,
    )
    overall = float(rows[TARGET].mean()) if len(rows) else 0.0
    if not PURE_BOOK_RATE[0] <= overall <= PURE_BOOK_RATE[1]:
        return []
    out = []
    for column in columns:
        by_level = rows.groupby(rows[column].astype("string").fillna(BLANK), observed=True)[TARGET].agg(["size", "mean"])
        big = by_level["size"] >= max(PURE_MIN_ROWS, PURE_MIN_SHARE * len(rows))
        pure = by_level[big & ((by_level["mean"] == 0.0) | (by_level["mean"] == 1.0))]
        if len(pure) and len(by_level) > 1:
            out.append(column)
    return out


def suspected_leaks(
    policies: pd.DataFrame,
    study_date: pd.Timestamp,
    columns: Sequence[str],
    options: RiskOptions = DEFAULT_OPTIONS,
    *,
    draw: TrainingDraw | None = None,
) -> list[str]:
    """User columns whose values look recorded after the fact, so they would leak the future.

    A column is suspect when one of its values (blank included) is held by at least 10 %
    of the policies still in force at the latest as-of date but by under a fifth as many,
    proportionally, of the policies that had already left by a voluntary exit before the
    earliest one ("any non-blank value" counts as a value) — a value only survivors get, such as a campaign
    arm assigned to the policies in force on a later day — or the other way round, a value
    only the early exits hold (an outcome flag such as ``surrender = 1``). A real driver
    shifts the mix; it does not vanish from one side. A column is also suspect when one of
    its values, held by at least 200 training rows and 1 % of them, is never (or always)
    followed by a lapse within the horizon while the book does lapse: an outcome in disguise
    (``death = 1``). ``draw``: the book's training rows, drawn already (:class:`TrainingDraw`).
    """
    dates = training_dates(policies, study_date, options)
    survivor_rows, early_rows = leak_groups(*bind(book_columns(policies)), earliest=day_of(min(dates)), latest=day_of(max(dates)))
    survivors = np.zeros(len(policies), dtype=bool)
    survivors[survivor_rows] = True
    early_exits = np.zeros(len(policies), dtype=bool)
    early_exits[early_rows] = True
    if early_exits.sum() < LEAK_MIN_POLICIES or survivors.sum() < LEAK_MIN_POLICIES:
        return []
    suspects = []
    for column in columns:
        values = policies[column]
        if _one_sided(values[survivors], values[early_exits]):
            suspects.append(column)
    rest = [c for c in columns if c not in suspects]
    if rest:
        suspects += _outcomes_in_disguise(policies, rest, dates, options, draw)
    return [c for c in columns if c in suspects]


@dataclass(frozen=True)
class FeatureChoices:
    """The user columns that can be features, and those that look recorded after the fact.

    The default model takes every candidate not suspected of leaking (:attr:`default`);
    the page lets the user choose otherwise.
    """

    candidates: tuple[str, ...]
    leaks: tuple[str, ...]
    #: The training rows the leak check drew, for the model to take (:class:`TrainingDraw`).
    draw: TrainingDraw | None = field(default=None, repr=False, compare=False)

    @property
    def default(self) -> tuple[str, ...]:
        """The candidates not suspected of leaking, in the data set's column order."""
        return tuple(c for c in self.candidates if c not in self.leaks)

    def options(self, chosen: Sequence[str] | None = None) -> RiskOptions:
        """The model's options with ``chosen`` extra features (by default :attr:`default`); unknown columns are dropped."""
        picked = self.default if chosen is None else chosen
        return RiskOptions(extra_features=tuple(c for c in picked if c in self.candidates))


def feature_choices(policies: pd.DataFrame, study_date: pd.Timestamp) -> FeatureChoices:
    """:func:`candidate_features` and the ones :func:`suspected_leaks` names, at the default options.

    The training rows are drawn once, at the larger of the leak check's cap and the model's,
    and kept on the result (``draw``) for :func:`analysis.risk.model.build_risk`.
    """
    candidates = candidate_features(policies)
    options = DEFAULT_OPTIONS
    draw = draw_training(
        policies,
        as_of=training_dates(policies, study_date, options),
        horizon_months=options.horizon_months,
        max_rows=max(LEAK_MAX_ROWS, options.max_training_rows),
        random_state=options.random_state,
    )
    return FeatureChoices(tuple(candidates), tuple(suspected_leaks(policies, study_date, candidates, draw=draw)), draw)


def _features(
    policies: pd.DataFrame, positions: np.ndarray, days: np.ndarray, extra_features: Sequence[str], *, text_as_categories: bool = False
) -> pd.DataFrame:
    """The known-then features of the policies at ``positions`` on ``days`` (one day per row, or one day for every row).

    ``text_as_categories``: each text feature becomes a categorical as it is taken (:func:`_as_categories`).
    """
    years = whole_months(as_days(policies[S.ISSUE_DATE].iloc[positions]), days) // 12
    age = pd.to_numeric(policies[S.AGE], errors="coerce").to_numpy(dtype=float)[positions] if S.AGE in policies else np.nan
    # The policy numbers keep the book's type (Arrow text: no Python string per row; 3.9 million scored rows made 300 MB of them).
    ids = policies[S.POLICY_ID].iloc[positions].reset_index(drop=True)
    out = pd.DataFrame({"policy_id": ids, POLICY_YEAR: years + 1, S.AGE: age + years})
    for column in (*(c for c in STATIC_FEATURES if c in policies.columns), *extra_features):
        taken = policies[column].iloc[positions].reset_index(drop=True)
        out[column] = _as_categories(taken) if text_as_categories else taken
    if S.ANNUAL_PREMIUM in policies and S.INCOME in policies and pd.api.types.is_numeric_dtype(policies[S.INCOME]):
        income = pd.to_numeric(policies[S.INCOME], errors="coerce").to_numpy(dtype=float)[positions]
        premium = policies[S.ANNUAL_PREMIUM].to_numpy(dtype=float)[positions]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[PREMIUM_TO_INCOME] = np.where(income > 0, premium / income, np.nan)
    # No "reinstated before" feature: a snapshot extract keeps the reinstatement date only
    # for policies still reinstated on the study date, so the flag would mean "did not lapse again".
    return out


def training_rows(
    policies: pd.DataFrame,
    *,
    as_of: Sequence[pd.Timestamp],
    horizon_months: int = 12,
    extra_features: Sequence[str] = (),
    max_rows: int | None = None,
    random_state: int = 0,
    payments: Payments | None = None,
    draw: TrainingDraw | None = None,
) -> pd.DataFrame:
    """One row per policy in force at each as-of date, with its features then and its outcome.

    Parameters
    ----------
    policies : DataFrame
        Canonical policies.
    as_of : sequence of Timestamp
        The dates the rows are taken at (see :func:`as_of_dates`).
    horizon_months : int
        The target window after each as-of date.
    extra_features : sequence of str
        The user's own columns to add as features; only columns whose values were known
        at the as-of date belong here (the caller's responsibility).
    max_rows : int, optional
        Keep at most this many rows, drawn at random (``random_state``) before the
        features are built.
    random_state : int
        Seed of that draw.
    payments : PaymentHistory, DataFrame or ibis Table, optional
        A payment history: the payment features known at each row's as-of date are added
        (:data:`analysis.payments.features.PAYMENT_FEATURES`, only what was paid, or
        overdue past its grace, before that date). Without it nothing changes.
    draw : TrainingDraw, optional
        The book's training rows drawn already (:func:`feature_choices`): taken when it holds
        this selection (the same rows as a new draw), otherwise the engine draws.

    Returns
    -------
    DataFrame
        ``[policy_id, policy_year, age, *features, *payment features, as_of, lapsed_within]``.

    Raises
    ------
    ExtractError
        ``missing_column`` (reason ``in_policies``) for an extra feature the policies lack.
    """
    missing = [c for c in extra_features if c not in policies.columns]
    if missing:
        raise ExtractError("missing_column", reason="in_policies", column=missing[0])
    as_of_days, ends = horizon_days(as_of, horizon_months)
    selection = None if draw is None else draw.selection(policies, as_of_days, ends, max_rows, random_state)
    if selection is None:
        selection = training_selection(
            *bind(book_columns(policies)),
            as_of_days=as_of_days,
            horizon_ends=ends,
            max_rows=max_rows,
            random_state=random_state,
            policies=len(policies),
        )
    position = selection[BOOK_ROW].to_numpy(dtype=np.int64)
    taken_on = selection["as_of_day"].to_numpy(dtype=np.int64).astype("datetime64[D]")
    rows = _with_payments(_features(policies, position, taken_on, extra_features), taken_on, payments)
    rows["as_of"] = pd.to_datetime(taken_on).astype("datetime64[ns]")
    rows[TARGET] = selection["target"].to_numpy(dtype=bool)
    return rows


def check_training_size(rows: pd.DataFrame, *, horizon_months: int = 12) -> None:
    """Refuse training rows too few to learn from: :data:`MIN_TRAINING_POLICIES` and :data:`MIN_TRAINING_EVENTS`.

    Parameters
    ----------
    rows : DataFrame
        :func:`training_rows` (``policy_id`` and ``lapsed_within`` are read).
    horizon_months : int
        The target window, named in the sentence.

    Raises
    ------
    ExtractError
        ``too_small`` (reason ``risk_model``) with what was found (``policies``, ``events``)
        and what is needed (``min_policies``, ``min_events``).
    """
    policies = int(rows["policy_id"].nunique())
    events = int(rows.loc[rows[TARGET].astype(bool), "policy_id"].nunique())
    if policies < MIN_TRAINING_POLICIES or events < MIN_TRAINING_EVENTS:
        raise ExtractError(
            "too_small",  # TOO_SMALL, written out so the catalogue's test finds the sentence
            reason="risk_model",
            policies=f"{policies:,}",
            events=f"{events:,}",
            months=horizon_months,
            min_policies=f"{MIN_TRAINING_POLICIES:,}",
            min_events=f"{MIN_TRAINING_EVENTS:,}",
        )


def _with_payments(rows: pd.DataFrame, days: np.ndarray, payments: Payments | None) -> pd.DataFrame:
    """``rows`` plus the payment features of each row's policy known on its day (``days``); as they are without payments."""
    if payments is None:
        return rows
    pairs = pd.DataFrame({S.POLICY_ID: rows["policy_id"].to_numpy(), "as_of_day": days.astype(np.int64)})
    found = payment_features(pairs, payments)
    return pd.concat([rows, found.set_axis(rows.index)], axis=1)


def scoring_rows(
    policies: pd.DataFrame, study_date: pd.Timestamp, *, extra_features: Sequence[str] = (), payments: Payments | None = None
) -> pd.DataFrame:
    """The features of every policy in force on the study date (in grace, APL and reinstated included).

    The index is the policies' index, so scores join back to the policies. With ``payments``
    the payment features known before the study date are added (:func:`training_rows`).
    Text features are categoricals of the same values, and the policy numbers keep the book's type.
    """
    day = day_of(study_date)
    positions = in_force_rows(*bind(book_columns(policies)), day=day)
    days = np.full(len(positions), day).astype("datetime64[D]")
    # The features' month arithmetic takes the one day as it is (broadcast): its calendar parts are worked out once.
    rows = _with_payments(_features(policies, positions, days[:1], extra_features, text_as_categories=True), days, payments)
    rows.index = policies.index[positions]
    return rows


def _as_categories(values: pd.Series) -> pd.Series:
    """Text as a categorical of the same values (a small code per row, each text once); other values as they are.

    Every in-force policy is scored and kept, so text per row would be held millions of times
    (about 500 MB for 3.9 million policies); the model reads a categorical as it reads the text.
    """
    if isinstance(values.dtype, (pd.StringDtype, pd.ArrowDtype)) and pd.api.types.is_string_dtype(values):
        return values.astype("category")
    return values
