"""The loud account: a reason that touches many rows is said at the top, with what it does to the figures.

A data-quality account lists every row, which is right and easy to overlook: a third of
the book rejected for one reason reads like any other line of the table. :func:`loud_reasons`
picks out each reason (a problem kind, and what was done: rejected, repaired, flagged) that
touches more than :data:`LOUD_SHARE` of the policy rows; :func:`loud_sentences` words them
from the catalogue (``loud.<action>``, with the kind's label and its effect on the figures,
``loud.effect.<kind>``, or the action's own when the kind has none). The Data page and
``python -m analysis check`` show them first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pandas as pd

from analysis.ingest.ledger import FLAGGED, REJECTED, REPAIRED
from analysis.report.catalogue import translate

#: A reason is loud when it touches more than this share of the policy rows read …
LOUD_SHARE: Final = 0.05
#: … and at least this many rows: in a small file one odd row is already over 5 %, and one odd row
#: is no pattern to shout about (the account lists it like any other).
LOUD_MIN_ROWS: Final = 2
#: The kinds whose effect on the figures has a sentence of its own (``loud.effect.<kind>``);
#: any other kind is said with its action's (``loud.effect.<action>``).
KIND_EFFECTS: Final = (
    "missing_required",
    "exit_without_date",
    "exit_dated",
    "date_after_study",
    "id_precision_lost",
    "duplicate",
    "conflicting_duplicate",
    "ragged_row",
    "reinstated_without_lapse",
)
#: Every member of the family ``loud.effect.{}``.
EFFECTS: Final = (*KIND_EFFECTS, REJECTED, REPAIRED, FLAGGED)
#: The sentence of a loud reason, by what was done to its rows.
_SENTENCES: Final = {REJECTED: "loud.rejected", REPAIRED: "loud.repaired", FLAGGED: "loud.flagged"}
#: Shares under this are shown with one decimal (6.3 %), larger ones as whole percents (31 %).
_WHOLE_PERCENT_FROM = 0.1


@dataclass(frozen=True)
class LoudReason:
    """One reason that touches many rows.

    Attributes
    ----------
    kind, action : str
        The problem kind and what was done to its rows (rejected, repaired, flagged).
    rows : int
        Policy rows it touches (a row counts once, however many of its values it touches).
    share : float
        ``rows`` over the policy rows read.
    effect : str
        The member of ``loud.effect.{}`` that says what it does to the figures.
    """

    kind: str
    action: str
    rows: int
    share: float
    effect: str


def loud_reasons(problems: pd.DataFrame, rows_read: int, *, share: float = LOUD_SHARE, min_rows: int = LOUD_MIN_ROWS) -> list[LoudReason]:
    """The reasons (kind and action) that touch more than ``share`` of the ``rows_read`` policy rows, most rows first.

    A reason must also touch at least ``min_rows`` rows.

    Parameters
    ----------
    problems : pandas.DataFrame
        ``[row, kind, action]`` at least, as ``LoadResult.problems``.
    rows_read : int
        The policy rows read (``LoadResult.rows_read``): the base of the share.

    Examples
    --------
    >>> problems = pd.DataFrame({"row": [2, 3, 3], "kind": ["exit_without_date"] * 3, "action": ["rejected"] * 3})
    >>> [(r.kind, r.rows, r.share) for r in loud_reasons(problems, 20, min_rows=1)]
    [('exit_without_date', 2, 0.1)]
    """
    if rows_read <= 0 or problems.empty:
        return []
    counts: pd.Series = problems.drop_duplicates(["kind", "action", "row"]).groupby(["kind", "action"], sort=False)["row"].count()
    touched = counts.to_numpy()
    loud = counts[(touched > share * rows_read) & (touched >= min_rows)].sort_values(ascending=False, kind="stable")
    reasons = []
    for (kind_code, action_code), rows in zip(loud.index.tolist(), loud.tolist()):
        kind, action = str(kind_code), str(action_code)
        if action in _SENTENCES:
            effect = kind if kind in KIND_EFFECTS else action
            reasons.append(LoudReason(kind=kind, action=action, rows=int(rows), share=int(rows) / rows_read, effect=effect))
    return reasons


def loud_sentences(reasons: list[LoudReason], rows_read: int, language: str) -> list[str]:
    """Each loud reason as one sentence in ``language``: how many rows, what was done, why, and what it does to the figures."""
    sentences = []
    for reason in reasons:
        percent = f"{reason.share:.0%}" if reason.share >= _WHOLE_PERCENT_FROM else f"{reason.share:.1%}"
        sentences.append(
            translate(
                _SENTENCES[reason.action],
                language,
                rows=f"{reason.rows:,}",
                total=f"{rows_read:,}",
                share=percent,
                reason=translate(f"kind.{reason.kind}", language),
                effect=translate(f"loud.effect.{reason.effect}", language),
            )
        )
    return sentences
