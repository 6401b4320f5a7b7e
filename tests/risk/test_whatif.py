"""What-if per policy: the levers applied to a scored row, and the model's probability before and after."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import schema as S
from analysis.errors import ExtractError
from analysis.risk.rows import PREMIUM_TO_INCOME
from analysis.risk.whatif import WhatIf, what_if, with_levers


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "policy_id": ["P1", "P2"],
            S.AUTO_DEBIT: pd.array([False, pd.NA], dtype="boolean"),
            S.PAYMENT_FREQUENCY: pd.array([1, 12], dtype="Int64"),
            S.ANNUAL_PREMIUM: [12_000.0, 5_000.0],
            PREMIUM_TO_INCOME: [0.12, 0.05],
            S.CHANNEL: ["个险", "银保"],
        },
        index=[7, 9],
    )


def test_the_levers_change_only_their_features_and_keep_the_types() -> None:
    rows = _rows()
    changed = with_levers(rows, WhatIf(auto_debit=True, payment_frequency=12, premium_change=-0.25))
    assert changed[S.AUTO_DEBIT].tolist() == [True, True] and changed[S.AUTO_DEBIT].dtype == rows[S.AUTO_DEBIT].dtype
    assert changed[S.PAYMENT_FREQUENCY].tolist() == [12, 12] and str(changed[S.PAYMENT_FREQUENCY].dtype) == "Int64"
    # 12,000 × 0.75 = 9,000; the ratio to income falls in proportion: 0.12 × 0.75 = 0.09.
    assert changed[S.ANNUAL_PREMIUM].tolist() == [9_000.0, 3_750.0]
    assert changed[PREMIUM_TO_INCOME].tolist() == pytest.approx([0.09, 0.0375])
    assert changed[S.CHANNEL].tolist() == ["个险", "银保"] and changed.index.tolist() == [7, 9]
    assert rows[S.AUTO_DEBIT].tolist()[0] is False  # the input is not changed
    assert WhatIf(auto_debit=True, premium_change=-0.1).features() == (S.AUTO_DEBIT, S.ANNUAL_PREMIUM)
    assert with_levers(rows, WhatIf()).equals(rows)


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        (
            WhatIf(payment_frequency=2),
            "whatif_frequency",
            "frequency of 2 months between premiums cannot be offered; choose one of 1, 3, 6, 12",
        ),
        (WhatIf(premium_change=0.1), "whatif_premium", "A premium change of 10% cannot be offered: lower the premium by at most 50%"),
        (WhatIf(premium_change=-0.6), "whatif_premium", "A premium change of -60% cannot be offered"),
    ],
)
def test_levers_the_insurer_cannot_offer_are_refused(change: WhatIf, reason: str, words: str) -> None:
    with pytest.raises(ExtractError, match=words) as refused:
        with_levers(_rows(), change)
    assert refused.value.code == "bad_option" and refused.value.reason == reason


def test_switching_to_automatic_debit_moves_the_models_probability(sample_risk) -> None:
    _, _, risk = sample_risk
    assert S.AUTO_DEBIT in risk.model.features
    scores = risk.scores
    row = scores[scores[S.AUTO_DEBIT] == False].iloc[[0]]  # noqa: E712 (a nullable boolean column)
    found = what_if(risk, row, WhatIf(auto_debit=True))
    assert found.before == pytest.approx(float(row["probability"].iloc[0]))
    expected = risk.model.probability(with_levers(row, WhatIf(auto_debit=True)))[0]
    assert found.after == pytest.approx(float(expected))
    assert found.after != found.before and found.difference == pytest.approx(found.after - found.before)
    assert found.changes.to_dict("records") == [{"feature": S.AUTO_DEBIT, "before": False, "after": True}]
    assert found.unused == ()
    # The levers of the sample's non-automatic-debit policies: on average the model associates automatic debit with less risk.
    others = scores[scores[S.AUTO_DEBIT] == False].head(500)  # noqa: E712
    moved = risk.model.probability(with_levers(others, WhatIf(auto_debit=True))) - others["probability"].to_numpy()
    assert moved.mean() < 0


def test_a_lever_the_model_does_not_use_changes_nothing_and_says_so(sample_risk) -> None:
    """A model trained on the sample without its automatic-debit column cannot be moved by that lever."""
    from analysis.risk.model import build_risk
    from analysis.risk.rows import RiskOptions

    loaded, _, _ = sample_risk
    risk = build_risk(
        loaded.policies.drop(columns=[S.AUTO_DEBIT]), loaded.study_date, RiskOptions(max_training_rows=40_000, explain_sample=100)
    )
    assert S.AUTO_DEBIT not in risk.model.features
    row = risk.scores.iloc[[0]]
    found = what_if(risk, row, WhatIf(auto_debit=True, premium_change=-0.3))
    assert found.unused == (S.AUTO_DEBIT,)
    assert found.changes["feature"].tolist() == [S.AUTO_DEBIT, S.ANNUAL_PREMIUM]
    assert found.changes["after"].iloc[1] == pytest.approx(row[S.ANNUAL_PREMIUM].iloc[0] * 0.7)
    alone = what_if(risk, row, WhatIf(auto_debit=True))
    assert alone.after == pytest.approx(alone.before) and alone.unused == (S.AUTO_DEBIT,)


def test_a_policy_not_in_force_has_no_what_if(sample_risk) -> None:
    _, _, risk = sample_risk
    with pytest.raises(ExtractError) as refused:
        what_if(risk, risk.scores.iloc[0:0], WhatIf(auto_debit=True))
    assert refused.value.code == "not_in_force"
