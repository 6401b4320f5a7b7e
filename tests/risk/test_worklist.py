"""The day's call list: filters, capacity, reasons an agent can act on kept apart from context."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.risk.actions import due_list, reason_columns
from analysis.risk.worklist import (
    ACTIONABLE,
    HIGH,
    HIGH_RISK_FROM,
    MEDIUM,
    MEDIUM_RISK_FROM,
    WorklistRequest,
    context_columns,
    risk_band,
    worklist,
    worklist_in_words,
)


def test_risk_bands_at_their_edges() -> None:
    p = pd.Series([0.0, MEDIUM_RISK_FROM - 1e-9, MEDIUM_RISK_FROM, HIGH_RISK_FROM - 1e-9, HIGH_RISK_FROM, 0.9, np.nan])
    assert risk_band(p).tolist() == ["low", "low", "medium", "medium", "high", "high", None]


def test_capacity_takes_the_top_of_the_full_list(sample_risk) -> None:
    loaded, _, risk = sample_risk
    full = due_list(loaded.policies, risk, days=30)
    work = worklist(loaded.policies, risk, WorklistRequest(capacity=200), days=30)
    assert len(work.rows) == 200 and work.matched == len(full)
    # The same policies in the same order as the whole explained list: the cut does not change the ranking.
    assert work.rows["policy_id"].tolist() == full["policy_id"].head(200).tolist()
    assert work.rows["premium_at_risk"].is_monotonic_decreasing
    assert np.isclose(work.at_risk, full["premium_at_risk"].head(200).sum())
    assert np.isclose(work.matched_at_risk, full["premium_at_risk"].sum())
    assert work.matched_in_grace == int((full["state"] == "in_grace").sum())
    everything = worklist(loaded.policies, risk, WorklistRequest(capacity=None), days=30)
    assert len(everything.rows) == len(full)


def test_branch_agent_and_band_filters(sample_risk) -> None:
    loaded, _, risk = sample_risk
    full = due_list(loaded.policies, risk, days=30)
    full_band = risk_band(full["probability"])
    request = WorklistRequest(capacity=50, branches=("广东分公司", "上海分公司"), bands=(HIGH, MEDIUM))
    work = worklist(loaded.policies, risk, request, days=30)
    expected = full[full["branch"].isin(["广东分公司", "上海分公司"]) & full_band.isin([HIGH, MEDIUM])]
    assert work.matched == len(expected) > 50
    assert set(work.rows["branch"]) <= {"广东分公司", "上海分公司"} and set(work.rows["risk_band"]) <= {HIGH, MEDIUM}
    assert work.rows["policy_id"].tolist() == expected["policy_id"].head(50).tolist()
    agent = str(full["agent"].iloc[0])
    one = worklist(loaded.policies, risk, WorklistRequest(agents=(agent,)), days=30)
    assert one.matched == int((full["agent"] == agent).sum()) and set(one.rows["agent"]) == {agent}


def test_reasons_an_agent_can_act_on_are_kept_apart_from_context(sample_risk) -> None:
    loaded, _, risk = sample_risk
    rows = worklist(loaded.policies, risk, WorklistRequest(capacity=300), days=30).rows
    reasons = {f for k in (1, 2, 3) for f in rows[reason_columns(k)[0]] if f}
    context = {f for k in (1, 2) for f in rows[context_columns(k)[0]] if f}
    assert reasons and reasons <= ACTIONABLE
    assert context and not context & ACTIONABLE
    assert "policy_year" in context  # the sample's strongest driver is context, not a reason to call about
    for k in (1, 2, 3):  # every named reason raises the probability, strongest first
        points = rows[reason_columns(k)[2]].dropna()
        assert (points > 0).all()
    assert (rows[reason_columns(1)[2]].fillna(0) >= rows[reason_columns(2)[2]].fillna(0)).all()
    # A payment reason leads to a payment lever; no reason at all to a service call.
    first = rows[reason_columns(1)[0]]
    assert set(rows.loc[first == "", "lever"]) <= {"service_call"}
    assert set(rows.loc[first.isin(["annual_premium", "premium_to_income"]), "lever"]) <= {"flexible_payment"}


def test_in_words(sample_risk) -> None:
    loaded, _, risk = sample_risk
    rows = worklist(loaded.policies, risk, WorklistRequest(capacity=20), days=30).rows
    zh = worklist_in_words(rows, "zh")
    assert {"reason_1", "context", "risk_band", "lever"} <= set(zh.columns)
    assert not any(c.startswith("context_") for c in zh.columns)
    assert set(zh["risk_band"]) <= {"高风险", "中风险", "低风险"}
    assert any("保单年度" in text for text in zh["context"])
    only_context = worklist_in_words(rows, "en", reasons=False)
    assert "reason_1_feature" in only_context.columns and set(only_context["risk_band"]) <= {"High", "Medium", "Low"}
