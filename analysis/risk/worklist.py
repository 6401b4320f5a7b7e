"""A call list a service team can work: filtered, capped at a day's capacity, with reasons an agent can act on.

The due list (:func:`analysis.risk.actions.scored_due_list`, ranked by expected premium at
risk, ``P(lapse) × annual premium``: the premium a call saves if it keeps the policy) is
narrowed by branch, agent and risk band, and cut at the team's **capacity** ("we can call 200
today"). Only those rows are explained (SHAP is the costly step, so a page moves in well
under a second however long the whole list is).

Each row's reasons are split in two:

* **reasons** (:data:`ACTIONABLE`) — what the agent can change with the customer: how the
  premium is paid (auto-debit, payment frequency; with a payment history, late payments, the
  longest delay, failed debits) and what it costs (the premium, the premium to income); the
  lever follows from them (:func:`analysis.risk.actions.lever_for`);
* **context** — what explains the risk but no call can change (policy year, age, channel …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Final

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.risk.actions import (
    DUE_FIRST,
    IN_GRACE,
    MIN_POINTS,
    PAYMENT_REASONS,
    TOP_REASONS,
    lever_for,
    on_auto_debit,
    reason_columns,
    scored_due_list,
)
from analysis.risk.explain import explain, probability_points
from analysis.risk.model import RiskResult
from analysis.risk.rows import PREMIUM_TO_INCOME

#: Features an agent can act on: how the premium is paid (and, with a payment history, how it has
#: been paid: late payments, delays, failed debits) and what it costs the customer.
ACTIONABLE: Final = frozenset({S.AUTO_DEBIT, S.PAYMENT_FREQUENCY, S.ANNUAL_PREMIUM, PREMIUM_TO_INCOME, *PAYMENT_REASONS})
#: Risk bands by the model's probability of a voluntary exit within its horizon.
HIGH, MEDIUM, LOW = "high", "medium", "low"
RISK_BANDS: Final = (HIGH, MEDIUM, LOW)
#: A policy is high risk from this probability, medium from :data:`MEDIUM_RISK_FROM`.
HIGH_RISK_FROM: Final = 0.20
MEDIUM_RISK_FROM: Final = 0.10
#: Calls a team makes in a day, by default.
DEFAULT_CAPACITY: Final = 200
#: Context items named per policy.
TOP_CONTEXT: Final = 2


def context_columns(k: int) -> tuple[str, str, str]:
    """The columns of the ``k``-th context item (1-based): its feature, the policy's value, and the probability points."""
    return f"context_{k}_feature", f"context_{k}_value", f"context_{k}_points"


@dataclass(frozen=True)
class WorklistRequest:
    """What the team asks for: at most ``capacity`` calls (None: all), of these branches, agents and risk bands (empty: any)."""

    capacity: int | None = DEFAULT_CAPACITY
    branches: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Worklist:
    """The day's calls and what they leave out.

    ``rows`` are the calls (at most the capacity), best first; ``matched`` the policies that
    meet the filters, ``matched_at_risk`` their expected premium at risk, and ``at_risk`` that
    of the rows, so a page can say what share of the money today's calls cover.
    """

    rows: pd.DataFrame
    matched: int
    matched_in_grace: int
    matched_at_risk: float
    at_risk: float


def risk_band(probability: pd.Series) -> pd.Series:
    """Each probability's band code (:data:`RISK_BANDS`); blank when unknown."""
    values = probability.to_numpy(dtype=float)
    bands = np.where(values >= HIGH_RISK_FROM, HIGH, np.where(values >= MEDIUM_RISK_FROM, MEDIUM, LOW))
    coded = bands.astype(object)
    coded[np.isnan(values)] = None
    return pd.Series(coded, index=probability.index, dtype=object)


def select(due: pd.DataFrame, request: WorklistRequest) -> pd.DataFrame:
    """The rows of a ranked list that meet the request's branch, agent and band filters (order kept, not capped)."""
    keep = pd.Series(True, index=due.index)
    for column, wanted in ((S.BRANCH, request.branches), (S.AGENT, request.agents), ("risk_band", request.bands)):
        if wanted and column in due:
            keep &= due[column].astype("string").isin(list(wanted)).fillna(False).astype(bool)
    return due[keep]


def _ranked(
    points: pd.DataFrame, rows: pd.DataFrame, names: list[str], top: int, columns: Callable[[int], tuple[str, str, str]]
) -> pd.DataFrame:
    """The ``top`` features among ``names`` that raise each row's probability by at least MIN_POINTS, as coded columns."""
    out = pd.DataFrame(index=rows.index)
    values = points[names].to_numpy(dtype=float) if names else np.zeros((len(rows), 0))
    order = np.argsort(-values, axis=1)[:, :top] if names else np.zeros((len(rows), 0), dtype=int)
    for k in range(top):
        feature, value, shift = columns(k + 1)
        if k < order.shape[1]:
            j = order[:, k]
            moved = values[np.arange(len(rows)), j]
            named = moved >= MIN_POINTS
            chosen = np.array(names, dtype=object)[j]
            raw = np.empty(len(rows), dtype=object)
            for name in set(chosen.tolist()):  # the policy's own value, as the user wrote it
                hit = chosen == name
                raw[hit] = rows[name].to_numpy(dtype=object)[hit]
            out[feature] = np.where(named, chosen, "")
            raw[~named] = None
            out[value] = raw
            out[shift] = np.where(named, moved, np.nan).astype(float)
        else:
            out[feature], out[value], out[shift] = "", None, np.nan
    return out


def explained(result: RiskResult, rows: pd.DataFrame, *, top: int = TOP_REASONS, context: int = TOP_CONTEXT) -> pd.DataFrame:
    """Reasons an agent can act on (``reason_k_*``, :data:`ACTIONABLE`), the lever they suggest, and the context (``context_k_*``).

    ``rows`` is a slice of ``result.scores``; the frame returned is on its index.
    """
    if rows.empty:
        names = [c for k in range(top) for c in reason_columns(k + 1)] + [c for k in range(context) for c in context_columns(k + 1)]
        return pd.DataFrame(columns=[*names, "lever"], index=rows.index)
    matrix = result.model.matrix(rows)
    points, _, _ = probability_points(explain(result.model.model, matrix, threads=result.model.threads))
    features = [str(c) for c in points.columns]
    acting = [f for f in features if f in ACTIONABLE]
    rest = [f for f in features if f not in ACTIONABLE]
    reasons = _ranked(points, rows, acting, top, reason_columns)
    background = _ranked(points, rows, rest, context, context_columns)
    seen = {f: matrix[f].astype(str).to_numpy(dtype=object) for f in acting}
    named = np.column_stack([reasons[reason_columns(k + 1)[0]].to_numpy(dtype=object) for k in range(top)])
    levers = []
    automatic = on_auto_debit(rows)
    for n, row in enumerate(named):  # at most the day's capacity
        features = [str(f) for f in row if f]
        levers.append(lever_for(features, [seen[f][n] for f in features], auto_debit=automatic[n]))
    reasons["lever"] = levers
    return reasons.join(background)


def worklist(
    policies: pd.DataFrame, result: RiskResult, request: WorklistRequest, *, days: int, grace_days: int = S.GRACE_DAYS
) -> Worklist:
    """The day's calls: the due list narrowed by ``request``, cut at its capacity, explained.

    Returns the columns of :data:`~analysis.risk.actions.DUE_FIRST` (reasons only those an
    agent can act on), ``risk_band``, the context columns, then the contact columns.
    """
    due = scored_due_list(policies, result, days=days, grace_days=grace_days)
    due = due.assign(risk_band=risk_band(due["probability"]))
    matched = select(due, request)
    calls = matched if request.capacity is None else matched.head(max(int(request.capacity), 0))
    rows = calls.join(explained(result, result.scores.loc[calls.index]))
    first = [c for c in (*DUE_FIRST[:5], "risk_band", *DUE_FIRST[5:]) if c in rows]
    context = [c for k in range(TOP_CONTEXT) for c in context_columns(k + 1)]
    ordered = rows[first + context + [c for c in rows if c not in first and c not in context]].reset_index(drop=True)
    return Worklist(
        rows=ordered,
        matched=len(matched),
        matched_in_grace=int((matched["state"] == IN_GRACE).sum()),
        matched_at_risk=float(matched["premium_at_risk"].sum()),
        at_risk=float(calls["premium_at_risk"].sum()),
    )


def worklist_in_words(rows: pd.DataFrame, language: str, *, reasons: bool = True) -> pd.DataFrame:
    """The calls with reasons, lever, state and risk band in words, and the context as one column ``context``.

    ``reasons=False`` words only the context and the band (for
    :func:`analysis.risk.words.worklist_workbook`, which words the reasons itself).
    """
    from analysis.report.catalogue import translate
    from analysis.risk.words import reason_text, reasons_in_words

    out = reasons_in_words(rows, language) if reasons else rows.copy()
    items: list[list[str]] = [[] for _ in range(len(out))]
    for k in range(1, TOP_CONTEXT + 1):
        feature, value, points = context_columns(k)
        if feature not in out:
            continue
        for n, (f, v, p) in enumerate(zip(out[feature], out[value].to_numpy(dtype=object), out[points])):
            if f:
                items[n].append(reason_text(str(f), v, float(p), language))
        out = out.drop(columns=[feature, value, points])
    joiner = "；" if language == "zh" else "; "
    if any(items) or "risk_band" in out:
        out["context"] = [joiner.join(i) for i in items]
    if "risk_band" in out:
        out["risk_band"] = [translate(f"worklist.band.{b}", language) if b else "" for b in out["risk_band"]]
    return out
