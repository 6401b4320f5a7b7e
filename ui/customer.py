"""The customer file page's glue: the book's and the history's indexes (built once), a file, its risk, the timeline chart.

The indexes are ``cache_resource`` (read-only, shared by every session with the same book or
history, keyed by the book's key and the history's key), so opening a file costs a hash
probe and a slice (:mod:`analysis.payments.customer`). The risk comes from the session's
cached model (:func:`ui.risk.model_for`): a policy's scored row is found by its index in
``scores``, never by scanning it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import LoadResult
from analysis import schema as S
from analysis.payments.customer import (
    AT_STUDY_DATE,
    IN_GRACE,
    ISSUED,
    LAPSED_EVENT,
    LATE,
    LATE_AFTER_DAYS,
    ON_TIME,
    REINSTATED_EVENT,
    STATUS_DATED,
    UNPAID,
    BookIndex,
    CustomerFile,
    PaymentIndex,
    customer_file,
    index_book,
    index_payments,
)
from analysis.payments.table import DUE_DATE, FAILED_DEBIT, PAID_DATE, PaymentHistory
from analysis.personal import mask_value
from analysis.risk.actions import PolicyReasons, policy_reasons
from analysis.risk.explain import PolicyExplanation, explain_row
from analysis.risk.model import RiskResult
from analysis.store.datasets import DataSetChoice
from ui import payments as ui_payments
from ui.charts import PALETTE, inert
from ui.study import dataset_key

#: Policies offered in the page's picker (the highest lapse probabilities first).
PICKER_POLICIES = 200
#: The colour of each timeline state.
STATE_COLOURS = {ON_TIME: PALETTE[2], LATE: PALETTE[4], IN_GRACE: PALETTE[1], UNPAID: PALETTE[0]}
#: The catalogue key of each timeline state and of each status-history event.
STATE_KEYS = {
    ON_TIME: "customer.state.on_time",
    LATE: "customer.state.late",
    IN_GRACE: "customer.state.in_grace",
    UNPAID: "customer.state.unpaid",
}
EVENT_KEYS = {
    ISSUED: "customer.event.issued",
    LAPSED_EVENT: "customer.event.lapsed",
    REINSTATED_EVENT: "customer.event.reinstated",
    STATUS_DATED: "customer.event.status_dated",
    AT_STUDY_DATE: "customer.event.at_study_date",
}


@st.cache_resource(max_entries=4, show_spinner=False)
def _book_index(key: str, _result: LoadResult) -> BookIndex:
    # The file's own headers of mapped columns: a 投保人编号 the door read as ``name`` still groups by customer.
    return index_book(_result.policies, sources={column: match.source for column, match in _result.mapping.items()})


def book_index(choice: DataSetChoice, result: LoadResult) -> BookIndex:
    """The book's index by policy number and customer (built once per book)."""
    return _book_index(dataset_key(choice), result)


@st.cache_resource(max_entries=4, show_spinner=False)
def _payment_index(key: str, _history: PaymentHistory) -> PaymentIndex:
    return index_payments(_history.payments)


def payment_index(history: PaymentHistory) -> PaymentIndex:
    """The history's index by policy (built once per history)."""
    return _payment_index(ui_payments.payments_key(), history)


def open_file(choice: DataSetChoice, result: LoadResult, text: str) -> CustomerFile | None:
    """The file a search opens (a customer key or a policy number, exact), or None when nothing matches."""
    index = book_index(choice, result)
    key, positions = index.find(text, result.policies)
    if len(positions) == 0:
        return None
    history = ui_payments.current_payments()
    return customer_file(
        result.policies,
        positions,
        study_date=result.study_date,
        key=key,
        column=index.column,
        payments=None if history is None else history.payments,
        payment_index=None if history is None else payment_index(history),
        grace_days=result.preset.grace_days,
    )


def picker_ids(risk: RiskResult | None, result: LoadResult) -> list[str]:
    """Policy numbers to pick from: the highest lapse probabilities first, else the book's first policies."""
    if risk is not None and len(risk.scores):
        top = risk.scores["probability"].nlargest(PICKER_POLICIES).index
        return risk.scores.loc[top, "policy_id"].astype(str).tolist()
    return result.policies[S.POLICY_ID].astype(str).head(PICKER_POLICIES).tolist()


def scored_rows(risk: RiskResult, policies: pd.DataFrame) -> pd.DataFrame:
    """The scored rows (features and ``probability``) of the file's policies in force, found by index."""
    found = risk.scores.index.get_indexer(policies.index)
    return risk.scores.iloc[found[found >= 0]]


@dataclass(frozen=True)
class PolicyRisk:
    """One in-force policy's explanation and reasons (with its lever: the next best action)."""

    explanation: PolicyExplanation
    reasons: PolicyReasons


def policy_risk(risk: RiskResult, row: pd.DataFrame) -> PolicyRisk:
    """The explanation and reasons of one scored row."""
    explanation = explain_row(risk, row)
    return PolicyRisk(explanation, policy_reasons(explanation))


def shown_id(value: object, show: bool) -> str:
    """An identifier as the page shows it: masked (``886***0005``) unless the user ticked "show identifiers"."""
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return text if show or not text else mask_value(text)


def masked_ids(frame: pd.DataFrame, columns: list[str], show: bool) -> pd.DataFrame:
    """A copy of ``frame`` with these identifier columns masked unless shown."""
    out = frame.copy()
    for column in columns:
        if column in out:
            out[column] = [shown_id(v, show) for v in out[column]]
    return out


@inert
def timeline_chart(
    timeline: pd.DataFrame,
    *,
    names: dict[str, str],
    policy_names: dict[str, str],
    failed_name: str,
    x_title: str,
    y_title: str,
    grace_days: int,
) -> go.Figure:
    """The payment timeline: each due at its due date, its delay in days (paid − due), coloured by state; failed debits circled.

    An unpaid due (in grace or past it) is drawn at the grace line. Dashed lines mark the
    lateness threshold and the end of grace.
    """
    figure = go.Figure()
    delay = timeline["delay_days"].astype("Float64").fillna(float(grace_days)).astype(float)
    hover = [
        f"{policy_names.get(str(p), str(p))} · {d:%Y-%m-%d} → {'—' if pd.isna(q) else f'{q:%Y-%m-%d}'}"
        for p, d, q in zip(timeline[S.POLICY_ID], timeline[DUE_DATE], timeline[PAID_DATE])
    ]
    hover_series = pd.Series(hover, index=timeline.index)
    for state, colour in STATE_COLOURS.items():
        picked = (timeline["state"] == state).to_numpy()
        if picked.any():
            figure.add_trace(
                go.Scatter(
                    x=timeline.loc[picked, DUE_DATE],
                    y=delay[picked],
                    mode="markers",
                    name=names[state],
                    marker={"color": colour, "size": 9, "symbol": "x" if state in (UNPAID, IN_GRACE) else "circle"},
                    text=hover_series[picked],
                    hovertemplate="%{text}<br>%{y:.0f}<extra></extra>",
                )
            )
    failed = timeline[FAILED_DEBIT].fillna(False).astype(bool).to_numpy()
    if failed.any():
        figure.add_trace(
            go.Scatter(
                x=timeline.loc[failed, DUE_DATE],
                y=delay[failed],
                mode="markers",
                name=failed_name,
                marker={"color": PALETTE[3], "size": 16, "symbol": "circle-open", "line": {"width": 2}},
                text=hover_series[failed],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for level in (LATE_AFTER_DAYS, grace_days):
        figure.add_hline(y=level, line_dash="dot", line_color="#95a5a6")
    figure.update_layout(
        xaxis_title=x_title, yaxis_title=y_title, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"}, height=360
    )
    figure.update_yaxes(rangemode="tozero")
    return figure


def timeline_counts(timeline: pd.DataFrame) -> dict[str, int]:
    """Dues by state and the failed debits: ``{state: n, ..., 'failed_debit': n, 'dues': n}``."""
    counts = {state: int((timeline["state"] == state).sum()) for state in STATE_COLOURS}
    counts["failed_debit"] = int(timeline[FAILED_DEBIT].fillna(False).astype(bool).sum()) if len(timeline) else 0
    counts["dues"] = len(timeline)
    return counts


def highest_risk_first(rows: pd.DataFrame) -> list[str]:
    """The scored policies of a file, highest probability first."""
    return rows.sort_values("probability", ascending=False, kind="stable")["policy_id"].astype(str).tolist()


def positions_of(index: BookIndex, ids: list[str]) -> np.ndarray:
    """Book positions of these policy numbers."""
    found = [index.policy_rows(i) for i in ids]
    return np.concatenate(found) if found else np.array([], dtype=np.int64)
