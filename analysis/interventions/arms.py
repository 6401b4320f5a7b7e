"""Who is in a campaign's arms: the treatment column's words, the columns that are campaigns, the start date.

A campaign is read from a **treatment column** of the extract. Its values may be words or
codes: ``treated``/``control``, ``实验组``/``对照组``, ``是``/``否``, ``yes``/``no``, ``1``/``0``,
``True``/``False`` (see :data:`TREATED_WORDS`, :data:`CONTROL_WORDS`; the caller can name
its own values). Every other value, and a blank, means *not in the campaign*.

**Which columns are campaigns** (:func:`campaign_columns`): those with few values that
split the policies into a treated and a control arm of at least :data:`MIN_ARM` each —
columns naming the arms outright first, yes/no flags after — except outcome flags
(``surrender = 0/1``, ``death = 0/1``), which also split the book in two but one of whose
arms has nearly all left already.

**Start date.** The campaign starts on a date the user gives (the sample's education campaign:
2024-03-01, stated in ``data/README.md``). Nothing in an extract records it reliably, so
nothing is inferred from outcomes. When the user gives none, :func:`default_start` proposes
the *latest issue date among the campaign's policies*: every policy in a randomised arm was
in force when it was assigned, so the assignment cannot have come before that day — it is
the earliest date from which the comparison makes sense. On the sample it is 2024-03-01,
the true date. The page should show it as an editable default.

**Before/after is not evidence** (DOMAIN.md §5): cohort persistency drifts by several points
from one year to the next. :func:`has_concurrent_control` says whether a treatment column has
a control arm at all; :func:`is_before_after` whether two compared groups are only periods
of time.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from analysis import schema as S
from analysis.errors import ExtractError

#: Treatment-column values read as "treated" (compared after stripping and lower-casing).
TREATED_WORDS = frozenset(
    {"treated", "treatment", "test", "t", "实验组", "试验组", "处理组", "干预组", "参与", "是", "yes", "y", "true", "1", "1.0"}
)
#: Treatment-column values read as "control".
CONTROL_WORDS = frozenset({"control", "holdout", "c", "对照组", "控制组", "未参与", "否", "no", "n", "false", "0", "0.0"})
#: Values that name an experiment's arms outright (as opposed to a yes/no flag).
ARM_WORDS = frozenset({"实验组", "试验组", "对照组", "控制组", "处理组", "干预组", "treated", "treatment", "control", "holdout", "test"})
TREATED, CONTROL = "treated", "control"
#: An arm needs at least this many policies for the evaluation.
MIN_ARM = 30
#: Default outcome window after a campaign's start, in months.
WINDOW_MONTHS = 12
#: A campaign column has at most this many distinct values.
MAX_CAMPAIGN_VALUES = 10
#: A column one of whose arms has at least this share of policies already gone is an outcome flag, not a campaign.
OUTCOME_SHARE = 0.95


def treatment_arms(
    values: pd.Series, *, treated_values: Sequence[str] | None = None, control_values: Sequence[str] | None = None
) -> pd.Series:
    """Each policy's arm: ``treated``, ``control`` or missing (not in the campaign).

    Parameters
    ----------
    values : Series
        The treatment column as the extract has it (words, codes or booleans).
    treated_values, control_values : sequence of str, optional
        The values that mean treated / control; by default :data:`TREATED_WORDS` and
        :data:`CONTROL_WORDS`. Compared after stripping blanks and lower-casing.
    """
    treated = {str(v).strip().lower() for v in treated_values} if treated_values is not None else TREATED_WORDS
    control = {str(v).strip().lower() for v in control_values} if control_values is not None else CONTROL_WORDS
    text = values.astype("string").str.strip().str.lower()
    arms = pd.Series(pd.NA, index=values.index, dtype="string")
    arms[text.isin(list(treated)).fillna(False).astype(bool)] = TREATED
    arms[text.isin(list(control)).fillna(False).astype(bool)] = CONTROL
    return arms


def has_concurrent_control(arms: pd.Series, *, minimum: int = MIN_ARM) -> bool:
    """Whether a campaign has a control arm of at least ``minimum`` policies beside its treated one.

    ``arms`` is the output of :func:`treatment_arms`. Without one, any comparison the user
    makes is before/after (or treated vs everyone else), which is not evidence of an effect.
    """
    counts = arms.value_counts()
    return bool(counts.get(TREATED, 0) >= minimum and counts.get(CONTROL, 0) >= minimum)


def is_before_after(first: tuple[pd.Timestamp, pd.Timestamp], second: tuple[pd.Timestamp, pd.Timestamp]) -> bool:
    """Whether two compared groups are only two periods of time (``(start, end)`` each) that do not overlap.

    Such a comparison has no concurrent control: the page must warn that it is not evidence.
    """
    a0, a1 = (pd.Timestamp(d) for d in first)
    b0, b1 = (pd.Timestamp(d) for d in second)
    return bool(a1 < b0 or b1 < a0)


def campaign_columns(policies: pd.DataFrame) -> list[str]:
    """Columns whose values split policies into a treated and a control arm of :data:`MIN_ARM` or more each.

    Columns that say "treated/control" in so many words (:data:`ARM_WORDS`) come first,
    yes/no flags after, each in the data set's column order; outcome flags are left out
    (see the module docstring).
    """
    named: list[str] = []
    other: list[str] = []
    for column in policies.columns:
        values = policies[column]
        if values.nunique(dropna=True) > MAX_CAMPAIGN_VALUES:
            continue
        if has_concurrent_control(treatment_arms(values)):
            words = {str(v).strip().lower() for v in values.dropna().unique()}
            (named if words & ARM_WORDS else other).append(str(column))
    # Outcome flags (surrender = 0/1, death = 0/1) also split policies in two; they are not
    # campaigns: nearly every policy of one of their arms has already left.
    exited = policies[S.STATUS].isin(S.EXIT_STATUSES).to_numpy()
    out = []
    for column in (*named, *other):
        arms = treatment_arms(policies[column])
        shares = [exited[(arms == arm).fillna(False).to_numpy(dtype=bool)].mean() for arm in (TREATED, CONTROL)]
        if max(shares) < OUTCOME_SHARE:
            out.append(column)
    return out


def default_start(policies: pd.DataFrame, arms: pd.Series) -> pd.Timestamp:
    """The latest issue date among the campaign's policies: the earliest date the campaign can have started.

    See the module docstring; the user should confirm or change it.

    Raises
    ------
    ExtractError
        ``no_campaign`` when no policy is in either arm.
    """
    issued = policies.loc[arms.notna().to_numpy(), S.ISSUE_DATE]
    if issued.empty or issued.isna().all():
        raise ExtractError("no_campaign")
    return pd.Timestamp(issued.max()).normalize()


def proposed_start(policies: pd.DataFrame, treatment: str) -> pd.Timestamp:
    """:func:`default_start` for the campaign in column ``treatment`` (its values read by :func:`treatment_arms`)."""
    return default_start(policies, treatment_arms(policies[treatment]))
