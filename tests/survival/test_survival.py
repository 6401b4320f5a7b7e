"""Kaplan–Meier from the aggregated table equals lifelines on raw durations; tests between cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from analysis import load_extract, load_preset
from analysis.study.run import StudyRequest, study_frame
from analysis.survival.curves import km_curves, km_from_counts, survival_counts, survival_data, survival_summary
from analysis.survival.logrank import MAX_PAIRWISE_COHORTS, holm, logrank_from_counts, logrank_tests, multivariate_logrank


def lifelines_curve(data: pd.DataFrame) -> pd.DataFrame:
    fitter = KaplanMeierFitter().fit(data["duration"], data["event"], entry=data["entry"])
    table = pd.concat([fitter.survival_function_, fitter.confidence_interval_, fitter.event_table["at_risk"]], axis=1)
    table.columns = ["survival", "lower", "upper", "at_risk"]
    return table


def assert_same_as_lifelines(data: pd.DataFrame, by: str | None, curves: pd.DataFrame | None = None) -> None:
    """Each cohort's curve (from the engine's counts) equals lifelines fitted on the per-policy rows."""
    curves = km_curves(data, by=by) if curves is None else curves
    assert set(curves["cohort"]) == ({"all"} if by is None else set(data[by].astype(str)))
    for cohort, curve in curves.groupby("cohort"):
        subset = data if by is None else data[data[by].astype(str) == cohort]
        reference = lifelines_curve(subset)
        mine = curve.set_index("month")
        assert np.array_equal(mine.index.to_numpy(), reference.index.to_numpy())
        np.testing.assert_allclose(mine["survival"], reference["survival"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(mine["lower"], reference["lower"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(mine["upper"], reference["upper"], rtol=0, atol=1e-10)
        assert mine["at_risk"].tolist() == reference["at_risk"].tolist()


def test_fast_path_equals_lifelines_on_the_sample_by_cohort(root, engine) -> None:
    """The engine's cohort × day counts of the book give lifelines' curves, and its log-rank test lifelines' statistic."""
    from lifelines.statistics import multivariate_logrank_test

    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=("young_new_earners",)))
    data = survival_data(frame, study_date=loaded.study_date, by=["young_new_earners"])
    counts = survival_counts(frame, study_date=loaded.study_date, by="young_new_earners", backend=engine)
    assert_same_as_lifelines(data, "young_new_earners", km_from_counts(counts))
    assert_same_as_lifelines(data, "young_new_earners", km_curves(data, by="young_new_earners", backend=engine))
    expected = multivariate_logrank_test(data["duration"], data["young_new_earners"].astype(str), data["event"])
    overall, _ = logrank_from_counts(counts)
    assert overall.loc[0, "test_statistic"] == pytest.approx(float(expected.test_statistic), rel=1e-9)


def test_fast_path_equals_lifelines_on_the_us_agency_book(root, shared_data) -> None:
    loaded = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    data = survival_data(loaded.policies, study_date=loaded.study_date, by=["premium.frequency"])
    assert_same_as_lifelines(data, None)
    assert_same_as_lifelines(data, "premium.frequency")


def test_late_entry_is_left_truncation_and_matches_lifelines(root, engine) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    start = pd.Timestamp("2023-01-01")
    data = survival_data(loaded.policies, study_date=loaded.study_date, study_start=start)
    assert (data["entry"] > 0).any()
    counts = survival_counts(loaded.policies, study_date=loaded.study_date, study_start=start, backend=engine)
    assert counts["entered"].sum() == len(data) and counts["removed"].sum() == len(data)
    assert_same_as_lifelines(data, None, km_from_counts(counts))


def test_curves_start_at_one_never_rise_and_hold_their_band(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    curves = km_curves(survival_data(loaded.policies, study_date=loaded.study_date))
    first = curves.iloc[0]
    assert first["month"] == 0 and first["survival"] == 1 - first["events"] / first["at_risk"]  # 1 unless exits on day 0
    assert (np.diff(curves["survival"]) <= 1e-15).all()
    assert ((curves["lower"] <= curves["survival"] + 1e-12) & (curves["survival"] <= curves["upper"] + 1e-12)).all()


def test_young_new_earners_sit_below_the_rest_and_the_log_rank_test_says_so(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=("young_new_earners",)))
    data = survival_data(frame, study_date=loaded.study_date, by=["young_new_earners"])
    summary = survival_summary(km_curves(data, by="young_new_earners")).set_index("cohort")
    assert summary.loc["in", "survival_25"] < summary.loc["rest", "survival_25"] - 0.05
    assert summary.loc["in", "rmst"] < summary.loc["rest", "rmst"]
    overall, pairs = logrank_tests(data, by="young_new_earners")
    assert overall.loc[0, "p_value"] < 1e-6
    assert len(pairs) == 1


def test_survival_at_13_months_is_close_to_p13_on_the_us_book(root, shared_data) -> None:
    # ../shared/data/README.md: persistency at month 13 ≈ 90.6 % with deaths censored.
    loaded = load_extract(shared_data / "uslapseagent.csv", preset=load_preset(root / "data" / "presets" / "uslapseagent.toml"))
    summary = survival_summary(km_curves(survival_data(loaded.policies, study_date=loaded.study_date)))
    assert summary.loc[0, "survival_13"] == pytest.approx(0.906, abs=0.005)
    assert summary.loc[0, "survival_25"] == pytest.approx(0.843, abs=0.005)


@pytest.mark.parametrize("by", ["channel", "gender", "income", "agent"])
def test_k_sample_log_rank_equals_lifelines(root, by: str) -> None:
    from lifelines.statistics import multivariate_logrank_test

    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=(by,)))
    data = survival_data(
        frame, events=frozenset({"lapsed", "surrendered", "terminated_after_lapse", "reinstated"}), study_date=loaded.study_date, by=[by]
    )
    groups = data[by].astype(str)
    if by == "agent":  # lifelines takes a minute for all 1,500 agents; 40 is enough to compare
        keep = groups.isin(groups.value_counts().index[:40])
        data, groups = data[keep], groups[keep]
    expected = multivariate_logrank_test(data["duration"], groups, data["event"])
    statistic, p_value, dof = multivariate_logrank(
        data["duration"].to_numpy(dtype=float), data["event"].to_numpy(dtype=float), groups.to_numpy()
    )
    assert statistic == pytest.approx(float(expected.test_statistic), rel=1e-9)
    assert p_value == pytest.approx(float(expected.p_value), rel=1e-6)
    assert dof == groups.nunique() - 1


def test_k_sample_log_rank_hand_cases_equal_lifelines(engine) -> None:
    """Ties, a last subject alone at risk (n = 1), and a group censored before the first event."""
    from lifelines.statistics import multivariate_logrank_test

    duration = np.array([1, 1, 2, 3, 3, 3, 4, 5, 6, 8, 0.5, 0.5, 7, 9], dtype=float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    groups = np.array(["a", "b", "a", "b", "c", "a", "c", "b", "a", "c", "d", "d", "b", "a"])
    expected = multivariate_logrank_test(duration, groups, event)
    statistic, p_value, dof = multivariate_logrank(duration, event, groups, backend=engine)
    assert statistic == pytest.approx(float(expected.test_statistic), rel=1e-9)
    assert p_value == pytest.approx(float(expected.p_value), rel=1e-9)
    assert dof == 3
    assert multivariate_logrank(duration, np.zeros_like(event), groups)[:2] == (0.0, 1.0)


def test_pairwise_log_rank_tests_equal_lifelines(root) -> None:
    """Pair by pair from the counts, in lifelines' order (sorted cohorts); a missing income is a cohort of its own."""
    from lifelines.statistics import pairwise_logrank_test

    loaded = load_extract(root / "data" / "sample_policies.csv")
    data = survival_data(loaded.policies, study_date=loaded.study_date, by=["income"])
    _, pairwise = logrank_tests(data, by="income")
    expected = pairwise_logrank_test(data["duration"], data["income"].astype("string").astype(str), data["event"]).summary.reset_index()
    assert "<NA>" in set(pairwise["cohort_a"]) | set(pairwise["cohort_b"])
    assert pairwise["cohort_a"].tolist() == expected["level_0"].tolist() and pairwise["cohort_b"].tolist() == expected["level_1"].tolist()
    np.testing.assert_allclose(pairwise["test_statistic"], expected["test_statistic"], rtol=1e-9)
    np.testing.assert_allclose(pairwise["p_value"], expected["p"], rtol=1e-6)


def test_many_cohorts_get_the_overall_test_only(root) -> None:
    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=("agent",)))
    data = survival_data(frame, events=frozenset({"lapsed", "surrendered"}), study_date=loaded.study_date, by=["agent"])
    assert data["agent"].nunique() > MAX_PAIRWISE_COHORTS
    overall, pairwise = logrank_tests(data, by="agent")
    assert pairwise.empty and list(pairwise.columns) == ["cohort_a", "cohort_b", "test_statistic", "p_value", "p_holm"]
    assert overall.loc[0, "degrees_of_freedom"] == data["agent"].astype(str).nunique() - 1 and 0 <= overall.loc[0, "p_value"] <= 1


def test_holm_adjustment_hand_worked() -> None:
    # p = 0.01, 0.04, 0.03 → sorted 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 = 0.04 → monotone 0.06.
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


def test_cli_survival_prints_the_curve_table(root) -> None:
    import io

    from clirun import run_cli

    done = run_cli("survival", "data/sample_policies.csv", "--by", "channel", cwd=root)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(io.StringIO(done.stdout))
    assert table.columns.tolist() == ["cohort", "month", "at_risk", "events", "survival", "lower", "upper"]
    assert {"个险", "银保"} <= set(table["cohort"])


def test_cox_recovers_the_sample_true_effects_with_the_right_sign(root) -> None:
    from analysis.survival.cox import fit_cox

    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=("young_new_earners", "channel", "auto_debit")))
    data = survival_data(frame, study_date=loaded.study_date, by=["young_new_earners", "channel", "auto_debit"])
    cox = fit_cox(data, ["young_new_earners", "channel", "auto_debit"])
    hr = cox.hazard_ratios.set_index(["covariate", "level"])["hazard_ratio"]
    # data/README.md: young new earners ×1.8 on lapse (×1.3 on surrender), no auto-debit ×1.7 on
    # lapse, telemarketing ×1.5 and internet ×1.3 on both decrements: all above 1 here.
    assert hr[("young_new_earners", "in")] > 1.3
    assert hr[("auto_debit", "False")] > 1.3
    assert hr[("channel", "电销")] > 1.2 and hr[("channel", "互联网")] > 1.1
    assert set(cox.hazard_ratios["reference"]) >= {"rest", "个险", "True"}
    assert cox.policies_used == cox.policies_total == len(data)
    assert set(cox.ph_test.columns) == {"covariate", "level", "test_statistic", "p_value", "violated"}


def test_cox_samples_large_books_and_states_it(root) -> None:
    from analysis.survival.cox import fit_cox

    loaded = load_extract(root / "data" / "sample_policies.csv")
    data = survival_data(loaded.policies, study_date=loaded.study_date, by=["channel"])
    cox = fit_cox(data, ["channel"], sample=5000)
    assert (cox.policies_used, cox.policies_total) == (5000, len(data))


def test_cox_study_draws_its_sample_before_the_cohort_columns(root, monkeypatch: pytest.MonkeyPatch) -> None:
    """A book over COX_SAMPLE is sampled first (the cohort columns are made for the sample only), and says of how many."""
    import analysis.survival.result as result
    from analysis.survival.cox import fit_cox

    loaded = load_extract(root / "data" / "sample_policies.csv")
    made: list[int] = []
    real_frame = result.study_frame
    monkeypatch.setattr(result, "study_frame", lambda policies, request: made.append(len(policies)) or real_frame(policies, request))
    monkeypatch.setattr(result, "COX_SAMPLE", 20_000)
    covariates = ["young_new_earners", "channel", "auto_debit"]
    cox = result.cox_study(loaded.policies, study_date=loaded.study_date, covariates=covariates)
    assert made == [20_000]
    assert (cox.policies_used, cox.policies_total) == (20_000, len(loaded.policies))
    # The same seeded sample of policies as fit_cox would draw from every policy's durations.
    sample = loaded.policies.sample(n=20_000, random_state=0)
    data = survival_data(real_frame(sample, StudyRequest(by=tuple(covariates))), study_date=loaded.study_date, by=covariates)
    same = fit_cox(data, covariates)
    pd.testing.assert_frame_equal(cox.hazard_ratios, same.hazard_ratios)
    hr = cox.hazard_ratios.set_index(["covariate", "level"])["hazard_ratio"]
    assert hr[("young_new_earners", "in")] > 1.3 and hr[("auto_debit", "False")] > 1.3  # the planted effects, on the sample too


def test_cumulative_incidences_add_up_to_all_exits(root) -> None:
    from analysis.survival.incidence import cumulative_incidence

    loaded = load_extract(root / "data" / "sample_policies.csv")
    cif = cumulative_incidence(loaded.policies, study_date=loaded.study_date)
    assert set(cif["cause"]) == {"lapse", "surrender", "death"}
    events = frozenset({"lapsed", "terminated_after_lapse", "surrendered", "death_claim"})
    all_exits = km_curves(survival_data(loaded.policies, events=events, study_date=loaded.study_date))
    at = 60.0
    total = sum(float(c.loc[c["month"] <= at, "incidence"].iloc[-1]) for _, c in cif.groupby("cause"))
    survival = float(all_exits.loc[all_exits["month"] <= at, "survival"].iloc[-1])
    assert total == pytest.approx(1 - survival, abs=0.01)


def test_cox_groups_rare_levels_and_refuses_too_many_strata(root) -> None:
    from analysis import ExtractError
    from analysis.survival.cox import MAX_COX_LEVELS, OTHER, design_matrix, fit_cox

    loaded = load_extract(root / "data" / "sample_policies.csv")
    frame = study_frame(loaded.policies, StudyRequest(by=("agent", "channel")))
    data = survival_data(
        frame, events=frozenset({"lapsed", "surrendered", "terminated_after_lapse"}), study_date=loaded.study_date, by=["agent", "channel"]
    )
    matrix, references, levels = design_matrix(data, ["agent"])
    assert matrix.shape[1] == MAX_COX_LEVELS - 1  # 19 largest agents and (other), one of them the reference
    assert OTHER in {level for _, level in levels.values()} | set(references.values())
    cox = fit_cox(data, ("agent", "channel"))
    assert len(cox.hazard_ratios) == MAX_COX_LEVELS - 1 + data["channel"].nunique() - 1
    with pytest.raises(ExtractError, match="strata make more than"):
        fit_cox(data, ("channel",), strata=("agent",))
