"""Issue [2/7], small books: below the training minimum the risk model is refused before anything is fitted."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli
from paths import ROOT

from analysis import ExtractError, load_extract
from analysis.risk.actions import action_lists, unscored_action_lists
from analysis.risk.model import default_risk
from analysis.risk.rows import (
    MIN_TRAINING_EVENTS,
    MIN_TRAINING_POLICIES,
    TARGET,
    TOO_SMALL,
    check_training_size,
    training_dates,
    training_rows,
)
from analysis.risk.words import worklist_workbook

#: The first 300 data rows of the bundled sample (its title row keeps the study date 2026-09-30).
SMALL_ROWS = 300


def small_book(tmp_path, rows: int = SMALL_ROWS):
    lines = (ROOT / "data" / "sample_policies.csv").read_bytes().split(b"\n")
    path = tmp_path / "small_book.csv"
    path.write_bytes(b"\n".join(lines[: rows + 2]) + b"\n")  # title row, header, then the rows
    return path


def rows_of(policies: int, events: int, *, repeat_events: int = 0) -> pd.DataFrame:
    """Training rows of ``policies`` distinct policies at two as-of dates, ``events`` of them leaving once."""
    ids = np.arange(policies).astype(str)
    first = pd.DataFrame({"policy_id": ids, "as_of": pd.Timestamp("2024-03-31"), TARGET: np.arange(policies) < events})
    # The second as-of date sees the first `repeat_events` leavers again (their exit inside both horizons).
    second = pd.DataFrame({"policy_id": ids, "as_of": pd.Timestamp("2024-09-30"), TARGET: np.arange(policies) < repeat_events})
    return pd.concat([first, second], ignore_index=True)


def test_the_minimum_counts_distinct_policies_and_each_leaver_once() -> None:
    assert (MIN_TRAINING_POLICIES, MIN_TRAINING_EVENTS) == (1000, 30)
    check_training_size(rows_of(1000, 30))  # exactly the minimum: trained
    # 999 policies make 1,998 rows, yet 999 policies: refused.
    with pytest.raises(ExtractError, match="999 policies in force") as caught:
        check_training_size(rows_of(999, 500))
    assert (caught.value.code, caught.value.reason) == (TOO_SMALL, "risk_model")
    assert caught.value.params == {"policies": "999", "events": "500", "months": "12", "min_policies": "1,000", "min_events": "30"}
    # 29 leavers, each seen leaving at both as-of dates (58 rows with the target): still 29 events, refused.
    with pytest.raises(ExtractError, match="29 of which left"):
        check_training_size(rows_of(5000, 29, repeat_events=29))


def test_a_small_book_is_refused_before_anything_is_fitted(tmp_path, monkeypatch) -> None:
    loaded = load_extract(small_book(tmp_path))
    assert len(loaded.policies) == SMALL_ROWS
    rows = training_rows(loaded.policies, as_of=training_dates(loaded.policies, loaded.study_date))
    # 1,597 rows (policy × as-of date) of 222 distinct policies; 71 rows leave within the horizon,
    # 37 distinct policies (a leaver is in the horizon of up to two as-of dates six months apart).
    assert (len(rows), rows["policy_id"].nunique()) == (1597, 222)
    assert (int(rows[TARGET].sum()), rows.loc[rows[TARGET], "policy_id"].nunique()) == (71, 37)

    def no_fit(*args, **kwargs):
        raise AssertionError("a model was fitted on a book below the minimum")

    monkeypatch.setattr("analysis.risk.model.fit_lapse_model", no_fit)
    with pytest.raises(ExtractError) as caught:
        default_risk(loaded.policies, loaded.study_date)
    assert caught.value.params["policies"] == "222" and caught.value.params["events"] == "37"
    zh = caught.value.text("zh")
    assert "222 张有效保单" in zh and "至少需要 1,000 张保单、30 张失效或退保" in zh


def test_without_a_model_the_lists_keep_their_policies_ranked_by_premium(sample_risk) -> None:
    loaded, _, risk = sample_risk
    scored, back_scored = action_lists(loaded.policies, risk)
    due, back = unscored_action_lists(loaded.policies, loaded.study_date)
    # The same policies are due or in grace, with or without a model; only the ranking and the model's columns differ.
    assert sorted(due["policy_id"]) == sorted(scored["policy_id"])
    assert set(scored.columns) - set(due.columns) == {
        "probability",
        "premium_at_risk",
        *(f"reason_{k}_{part}" for k in (1, 2, 3) for part in ("feature", "value", "points")),
        "lever",
    }
    assert due["annual_premium"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(back, back_scored)  # the reinstatable list never needed a model
    assert len(back) == 2745  # every 失效 policy in the sample
    sheet = pd.read_excel(io.BytesIO(worklist_workbook(due, back, study_date=loaded.study_date, scored=False)), sheet_name=0, header=None)
    cells = {str(c) for c in sheet.to_numpy().ravel()}
    assert any("按年化保费排序（保单太少，未训练风险模型）" in c for c in cells)
    assert not any("预测目标" in c for c in cells)  # no model, so no target to state


def test_cli_drivers_on_a_small_book_exits_2_with_the_sentence(tmp_path) -> None:
    done = run_cli("drivers", str(small_book(tmp_path)), "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: Too few policies to train the lapse-risk model: its training as-of dates hold 222 policies")
    assert "at least 1,000 policies and 30 such exits are needed" in done.stderr


def test_the_sample_is_far_above_the_minimum(sample_risk) -> None:
    loaded, _, risk = sample_risk
    m = risk.model.metrics
    assert m["trees"] > 1 and m["auc"] > 0.6  # trained as before, not a one-tree model
    assert len(loaded.policies) > 40 * MIN_TRAINING_POLICIES
