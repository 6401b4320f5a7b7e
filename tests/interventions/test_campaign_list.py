"""Campaign lists: the row account, staggered entry on a hand-worked book, several arms with a correction, the sample's truth, the CLI."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from artefacts import sample_extract
from clirun import run_cli
from scipy import stats

from analysis import ExtractError
from analysis import schema as S
from analysis.interventions.campaign_list import REJECTED, REPAIRED, campaign_list_from_cells, read_campaign_list
from analysis.interventions.multi_arm import compare_arms, evaluate_arms, holm, pair_hazard_ratio, rank_arms
from analysis.interventions.staggered import enrolled_data
from analysis.study.rates import Z95
from analysis.survival.cox import PENALIZER
from analysis.survival.curves import DAYS_PER_MONTH

#: The keys of a two-arm campaign column's output (CampaignResult.summary()).
TWO_ARM_KEYS = (
    "treated",
    "control",
    "lapse_treated",
    "lapse_control",
    "difference",
    "difference_lower",
    "difference_upper",
    "hazard_ratio",
    "hazard_ratio_lower",
    "hazard_ratio_upper",
)


def _list(rows: list[tuple[str, str, str]], **extra: list[str]) -> bytes:
    frame = pd.DataFrame(rows, columns=["保单号", "组别", "入组日期"]).assign(**extra)
    return frame.to_csv(index=False).encode("utf-8")


# --- the row account ------------------------------------------------------------------------


def test_the_row_account_names_every_row_it_does_not_accept() -> None:
    data = _list(
        [
            ("P1", "对照组", "2020-01-11"),  # row 2: accepted
            ("P2", "短信提醒", "2020/1/15"),  # row 3: accepted (another date form)
            ("P2", "短信提醒", "2020-01-15"),  # row 4: the same policy, arm and date again: duplicate
            ("P3", "对照组", "2020-01-15"),  # row 5 and row 6 disagree on the arm: both rejected
            ("P3", "短信提醒", "2020-01-15"),
            ("", "对照组", "2020-01-15"),  # row 7: no policy number
            ("P4", "", "2020-01-15"),  # row 8: no arm
            ("P5", "对照组", "2023-02-30"),  # row 9: not a date
            ("123.0", "短信提醒", "2020-02-01"),  # row 10: repaired, the .0 of a number cell removed
            ("P6", "短信提醒", "2020-02-01"),  # row 11: cost not a number: repaired, cost blank
        ],
        成本=["0", "2", "2", "0", "2", "0", "0", "0", "2", "two"],
    )
    listed = read_campaign_list(data, filename="list.csv")
    account = listed.account.set_index("row")
    assert account.loc[[2, 3], "outcome"].tolist() == ["accepted", "accepted"]
    assert account.loc[4, "reason"] == "duplicate" and account.loc[4, "outcome"] == REJECTED
    assert account.loc[[5, 6], "reason"].tolist() == ["conflicting_rows"] * 2
    assert account.loc[[7, 8, 9], "reason"].tolist() == ["blank_policy_id", "blank_arm", "bad_enrolment_date"]
    assert account.loc[[10, 11], "outcome"].tolist() == [REPAIRED, REPAIRED]
    assert account.loc[[10, 11], "reason"].tolist() == ["id_float_tail", "bad_cost"]
    assert listed.entries[S.POLICY_ID].tolist() == ["P1", "P2", "123", "P6"]
    assert listed.entries["cost"].tolist()[:3] == [0.0, 2.0, 2.0] and np.isnan(listed.entries["cost"].iloc[3])
    assert listed.control == "对照组" and listed.arms == ("对照组", "短信提醒")
    counts = listed.counts()
    assert counts["rows"] == 10 == counts["accepted"] + counts["repaired"] + counts["rejected"]
    assert (counts["accepted"], counts["repaired"], counts["rejected"]) == (2, 2, 6)


def test_a_workbook_list_with_date_and_number_cells(tmp_path) -> None:
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["保单号", "分组", "入组日期", "成本"])
    sheet.append([88637201, "对照组", dt.datetime(2020, 1, 11), 0])  # a number cell and a date cell
    sheet.append(["886372018100000006", "教育讲座", "2020-02-01", "¥80"])
    sheet.append(["8.86372E+17", "教育讲座", "2020-02-01", "80"])  # a long number Excel shortened: rejected
    path = tmp_path / "list.xlsx"
    book.save(path)
    listed = read_campaign_list(path)
    assert listed.entries[S.POLICY_ID].tolist() == ["88637201", "886372018100000006"]
    assert listed.entries["enrolment_date"].tolist() == [pd.Timestamp("2020-01-11"), pd.Timestamp("2020-02-01")]
    assert listed.entries["cost"].tolist() == [0.0, 80.0] and listed.account["row"].tolist() == [2, 3, 4]
    assert listed.account["reason"].iloc[2] == "id_precision_lost"


def test_english_headers_and_a_named_control_arm() -> None:
    cells = pd.DataFrame({"Policy No": ["A", "B"], "Group": ["holdout", "sms"], "Contact Date": ["2020-01-01", "2020-01-02"]}, dtype=object)
    listed = campaign_list_from_cells(cells, np.array([2, 3]))
    assert listed.headers == {S.POLICY_ID: "Policy No", "arm": "Group", "enrolment_date": "Contact Date"}
    assert listed.control == "holdout"
    assert campaign_list_from_cells(cells, np.array([2, 3]), control="sms").control == "sms"


@pytest.mark.parametrize(
    ("cells", "control", "match"),
    [
        (pd.DataFrame({"保单号": ["A"], "入组日期": ["2020-01-01"]}, dtype=object), None, "missing_columns"),
        (pd.DataFrame({"保单号": ["A"], "组别": ["短信"], "入组日期": ["not a date"]}, dtype=object), None, "no_rows"),
        (pd.DataFrame({"保单号": ["A", "B"], "组别": ["短信", "讲座"], "入组日期": ["2020-01-01"] * 2}, dtype=object), None, "no_control"),
        (pd.DataFrame({"保单号": ["A"], "组别": ["对照组"], "入组日期": ["2020-01-01"]}, dtype=object), "x", "unknown_control"),
    ],
)
def test_a_list_without_its_columns_rows_or_control_is_refused(cells: pd.DataFrame, control: str | None, match: str) -> None:
    with pytest.raises(ExtractError, match="campaign list|control arm") as caught:
        campaign_list_from_cells(cells, np.arange(len(cells)) + 2, control=control)
    assert (caught.value.code, caught.value.reason) == ("campaign_list", match)


# --- staggered entry on a hand-worked book --------------------------------------------------

STUDY = pd.Timestamp("2022-01-01")


def _book() -> pd.DataFrame:
    rows = [
        # policy, issue, status, status date, lapse date, reinstatement date
        ("P1", "2020-01-01", S.IN_FORCE, None, None, None),
        ("P2", "2020-01-01", S.LAPSED, "2020-03-01", "2020-03-01", None),
        ("P3", "2020-01-01", S.LAPSED, "2020-01-10", "2020-01-10", None),
        ("P4", "2020-06-01", S.IN_FORCE, None, None, None),
        ("P5", "2021-06-01", S.IN_FORCE, None, None, None),
        ("P6", "2020-01-01", S.DEATH_CLAIM, "2020-02-01", None, None),
        ("P7", "2020-01-01", S.SURRENDERED, "2020-12-31", None, None),
        ("P8", "2019-01-01", S.REINSTATED, "2019-08-01", "2019-06-01", "2019-08-01"),
    ]
    frame = pd.DataFrame(rows, columns=[S.POLICY_ID, S.ISSUE_DATE, S.STATUS, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE])
    for column in (S.ISSUE_DATE, S.STATUS_DATE, S.LAPSE_DATE, S.REINSTATEMENT_DATE):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def test_each_clock_starts_at_its_own_enrolment_and_early_lapses_count() -> None:
    cells = pd.DataFrame(
        {
            "保单号": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P99", "P1x"],
            "组别": ["对照组", "短信", "短信", "对照组", "对照组", "短信", "短信", "对照组", "短信", "短信"],
            "入组日期": [
                "2020-01-11",
                "2020-01-15",
                "2020-01-15",
                "2020-05-20",
                "2021-06-01",
                "2020-01-05",
                "2020-01-01",
                "2019-09-01",
                "2020-01-01",
                "2020-01-01",
            ],
        },
        dtype=object,
    )
    listed = campaign_list_from_cells(cells, np.arange(10) + 2)
    data, listed = enrolled_data(_book(), listed, study_date=STUDY)
    got = data.set_index(S.POLICY_ID)
    days = (got["duration"] * DAYS_PER_MONTH).round().astype(int)
    # P1: in force, 2020-01-11 -> censored 2022-01-01 = 721 days; window 2020-01-11 .. 2021-01-11 (366 days) seen whole.
    # P2: enrolled 2020-01-15, lapsed 2020-03-01 = 46 days after: an early lapse inside the window, counted.
    # P5: enrolled 2021-06-01, censored 2022-01-01 = 214 days: the window is not over, its outcome unknown.
    # P6: died 2020-02-01, 27 days after enrolment: censored, window outcome unknown.
    # P7: surrendered 2020-12-31, 365 days after enrolment 2020-01-01 (window 366 days): a lapse within the window.
    # P8: lapsed 2019-06-01, reinstated 2019-08-01, enrolled 2019-09-01: in force, censored 2022-01-01 = 853 days.
    assert days.to_dict() == {"P1": 721, "P2": 46, "P5": 214, "P6": 27, "P7": 365, "P8": 853}
    assert got["event"].to_dict() == {"P1": False, "P2": True, "P5": False, "P6": False, "P7": True, "P8": False}
    assert got["lapsed_within"].to_dict() == {"P1": False, "P2": True, "P5": False, "P6": False, "P7": True, "P8": False}
    assert got["known_within"].to_dict() == {"P1": True, "P2": True, "P5": False, "P6": False, "P7": True, "P8": True}
    assert (got["entry"] == 0).all()
    assert got["months_in_force"].mul(DAYS_PER_MONTH).round().astype(int).to_dict() == {
        "P1": 10,
        "P2": 14,
        "P5": 0,
        "P6": 4,
        "P7": 0,
        "P8": 243,
    }
    reasons = listed.account.set_index(S.POLICY_ID)["reason"]
    # P3 lapsed 2020-01-10, before its enrolment; P4 was enrolled before it was issued; P99 and P1x are not in the book.
    assert reasons[["P3", "P4", "P99", "P1x"]].tolist() == ["lapsed_before_enrolment", "not_yet_issued", "not_in_book", "not_in_book"]
    assert listed.counts()["rejected"] == 4 and len(listed.entries) == len(data) == 6


def test_enrolment_on_the_study_date_and_exits_on_the_enrolment_day_are_rejected() -> None:
    book = _book()
    cells = pd.DataFrame({"保单号": ["P1", "P3"], "组别": ["对照组", "短信"], "入组日期": ["2022-01-01", "2020-01-10"]}, dtype=object)
    data, listed = enrolled_data(book, campaign_list_from_cells(cells, np.array([2, 3])), study_date=STUDY)
    assert data.empty
    assert listed.account["reason"].tolist() == ["enrolled_after_study_date", "lapsed_before_enrolment"]


# --- several arms against the control -------------------------------------------------------


def _three_arms(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    """Exponential lapse times with hazard 0.02/month × (0.8 for 短信, 0.6 for 讲座) × 1.5 for monthly payers; censored at 36 months."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["对照组", "短信", "讲座"], n)
    monthly = rng.random(3 * n) < 0.4
    rate = 0.02 * np.select([arm == "短信", arm == "讲座"], [0.8, 0.6], 1.0) * np.where(monthly, 1.5, 1.0)
    time = rng.exponential(1 / rate)
    duration = np.minimum(time, 36.0)
    return pd.DataFrame(
        {
            "arm": arm,
            "duration": duration,
            "event": time <= 36.0,
            "entry": 0.0,
            "lapsed_within": time <= 12.0,
            "known_within": True,
            S.PAYMENT_FREQUENCY: np.where(monthly, "12", "1"),
            "cost": np.select([arm == "短信", arm == "讲座"], [2.0, 80.0], 0.0),
        }
    )


def test_holm_by_hand() -> None:
    # Sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> running maximum 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_a_pair_hazard_ratio_is_lifelines_cox_on_the_two_arms() -> None:
    from lifelines import CoxPHFitter

    data = _three_arms()
    hr, se, p = pair_hazard_ratio(data, "讲座", "对照组", [S.PAYMENT_FREQUENCY])
    pair = data[data["arm"].isin(["讲座", "对照组"])]
    frame = pd.DataFrame(
        {
            "treated": (pair["arm"] == "讲座").astype(float),
            "monthly": (pair[S.PAYMENT_FREQUENCY] == "12").astype(float),
            "duration": pair["duration"],
            "event": pair["event"],
        }
    )
    fitter = CoxPHFitter(penalizer=PENALIZER).fit(frame, duration_col="duration", event_col="event")
    assert hr == pytest.approx(float(np.exp(fitter.params_["treated"])), rel=1e-6)
    assert se == pytest.approx(float(fitter.standard_errors_["treated"]), rel=1e-4)
    assert p == pytest.approx(float(fitter.summary.loc["treated", "p"]), rel=1e-4)


def test_every_arm_against_the_control_with_holm_and_bonferroni() -> None:
    data = _three_arms()
    table = compare_arms(data, control="对照组", covariates=[S.PAYMENT_FREQUENCY]).set_index("arm")
    assert table.index.tolist() == ["短信", "讲座"] and (table["reference"] == "对照组").all()
    for arm, truth in (("短信", 0.8), ("讲座", 0.6)):
        assert table.loc[arm, "hazard_ratio_lower"] < truth < table.loc[arm, "hazard_ratio_upper"]
    assert table["p_value_holm"].to_numpy() == pytest.approx(holm(table["p_value"].to_numpy()))
    # Two comparisons: the simultaneous interval uses z at 1 - 0.05 / 4, wider than the plain one by that ratio on the log scale.
    width = np.log(table["hazard_ratio_upper"] / table["hazard_ratio_lower"])
    adjusted = np.log(table["hazard_ratio_upper_adjusted"] / table["hazard_ratio_lower_adjusted"])
    assert (adjusted / width).to_numpy() == pytest.approx([stats.norm.ppf(1 - 0.0125) / Z95] * 2)
    # The window's difference: control minus arm, with the counts it comes from.
    row = table.loc["讲座"]
    assert row["difference"] == pytest.approx(row["reference_lapses"] / row["reference_known"] - row["lapses"] / row["known"])
    assert row["difference_lower"] < row["difference"] < row["difference_upper"]


def test_pairwise_comparisons_join_the_correction() -> None:
    table = compare_arms(_three_arms(), control="对照组", covariates=[], pairwise=True)
    assert list(zip(table["arm"], table["reference"])) == [("短信", "对照组"), ("讲座", "对照组"), ("讲座", "短信")]
    assert table["p_value_holm"].to_numpy() == pytest.approx(holm(table["p_value"].to_numpy()))


def test_arms_ranked_by_effect_and_by_value_per_contact() -> None:
    data = _three_arms()
    result = evaluate_arms(data, control="对照组", covariates=[S.PAYMENT_FREQUENCY], value_per_retained=1000.0, uplift=True)
    assert set(result.uplift) == {"短信", "讲座"} and len(result.uplift["讲座"].scores) == 2 * len(data) // 3
    ranking = result.ranking.set_index("arm")
    assert ranking.loc["讲座", "rank_effect"] == 1
    # value per contact = lapses prevented in the window per contact × 1000 − the list's cost per contact
    expected = ranking["difference"] * 1000.0 - pd.Series({"短信": 2.0, "讲座": 80.0})
    assert ranking["value_per_contact"].to_numpy() == pytest.approx(expected[ranking.index].to_numpy())
    assert result.best_value_arm == ranking["value_per_contact"].idxmax()
    cheap = rank_arms(result.comparisons, data, control="对照组", value_per_retained=1000.0, cost_per_contact={"短信": 0.0, "讲座": 500.0})
    assert cheap.set_index("arm").loc["短信", "rank_value"] == 1
    assert set(result.balance["arm"]) == {"短信", "讲座"} and result.logrank["p_value"].iloc[0] < 0.05


def test_an_arms_effect_can_be_a_scenarios_measured_effect() -> None:
    from analysis.interventions.effects import with_measured_effect
    from analysis.interventions.scenario import Effect, Scenario

    result = evaluate_arms(_three_arms(), control="对照组", covariates=[])
    effect = result.effect("讲座")
    row = result.comparisons.set_index("arm").loc["讲座"]
    assert (effect.hazard_ratio, effect.hazard_ratio_lower, effect.hazard_ratio_upper) == (
        row["hazard_ratio"],
        row["hazard_ratio_lower"],
        row["hazard_ratio_upper"],
    )
    scenario = with_measured_effect(Scenario(name="讲座", lever="education", effect=Effect(source="measured", treatment="组别")), effect)
    assert scenario.effect.value == effect.hazard_ratio and scenario.effect.upper == effect.hazard_ratio_upper
    with pytest.raises(ExtractError, match="not an arm compared"):
        result.effect("对照组")


def test_too_small_arms_are_refused() -> None:
    data = _three_arms(n=20)
    with pytest.raises(ExtractError, match="each need 30 policies in force") as caught:
        evaluate_arms(data, control="对照组")
    assert caught.value.reason == "small_arms"


# --- the sample's campaign list -------------------------------------------------------------


def _generator(root):
    spec = importlib.util.spec_from_file_location("make_campaign_list", root / "data" / "make_campaign_list.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample(root):
    return sample_extract()


@pytest.fixture(scope="module")
def sample_list(root, sample):
    listed = read_campaign_list(root / "data" / "sample_campaign_list.csv")
    data, listed = enrolled_data(sample.policies, listed, study_date=sample.study_date)
    return data, listed, evaluate_arms(data, control=listed.control, value_per_retained=3000.0)


def test_a_list_with_one_common_date_reproduces_the_campaign_column(sample) -> None:
    from analysis.interventions.campaign import evaluate_campaign

    policies, start = sample.policies, pd.Timestamp("2024-03-01")
    column = evaluate_campaign(policies, treatment="教育活动", study_date=sample.study_date, start=start, uplift=False)
    enrolled = policies[policies["教育活动"].notna()]
    cells = pd.DataFrame({"保单号": enrolled[S.POLICY_ID], "组别": enrolled["教育活动"], "入组日期": "2024-03-01"}, dtype=object)
    data, _ = enrolled_data(policies, campaign_list_from_cells(cells, np.arange(len(cells)) + 2), study_date=sample.study_date)
    listed = evaluate_arms(data, control="对照组")
    row = listed.comparisons.rename(columns={"policies": "treated", "reference_policies": "control"}).iloc[0]
    row = row.rename({"lapse": "lapse_treated", "reference_lapse": "lapse_control"})
    for key, value in column.summary().items():
        assert row[key] == pytest.approx(value, rel=1e-9), key
    assert listed.covariates == column.covariates


def test_the_sample_list_is_what_its_generator_writes(root, sample) -> None:
    rows = _generator(root).campaign_list(sample.policies, sample.study_date)
    written = pd.read_csv(root / "data" / "sample_campaign_list.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    pd.testing.assert_frame_equal(rows.astype(str).reset_index(drop=True), written)


def test_every_enrolled_policy_counts_and_every_arm_covers_its_true_hazard_ratio(root, sample_list) -> None:
    data, listed, result = sample_list
    counts = listed.counts()
    # data/README.md: 3,631 rows; 4 rejected on reading (2 duplicates, 2 bad dates), 3 not in the book,
    # 117 not in force at enrolment (21 lapsed, 96 gone otherwise, mostly free-look cancellations).
    assert counts["rows"] == 3631 and counts["accepted"] == len(data) == 3507
    assert (counts["duplicate"], counts["bad_enrolment_date"], counts["not_in_book"]) == (2, 2, 3)
    assert counts["lapsed_before_enrolment"] + counts["exited_before_enrolment"] == 117
    # Enrolments run from 2019 to mid-2025 and all count (the common start would keep only the last issue's survivors).
    assert data["enrolment_date"].min() < pd.Timestamp("2019-02-01") and data["enrolment_date"].max() > pd.Timestamp("2025-06-01")
    truth = _generator(root).TRUE_HAZARD_RATIOS
    table = result.comparisons.set_index("arm")
    assert set(table.index) == set(truth)
    for arm, ratio in truth.items():
        assert table.loc[arm, "hazard_ratio_lower"] < ratio < table.loc[arm, "hazard_ratio_upper"], arm
    assert result.best_value_arm == "短信提醒"
    assert result.ranking.set_index("arm").loc["教育讲座", "rank_effect"] == 1


# --- the command line -----------------------------------------------------------------------


def test_cli_json_gives_each_arm_against_the_control(root) -> None:
    done = run_cli(
        "campaign",
        "data/sample_policies.csv",
        "--campaign-list",
        "data/sample_campaign_list.csv",
        "--value-per-retained",
        "3000",
        "--format",
        "json",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["control"] == "对照组" and out["correction"] == "holm" and out["best_value_arm"] == "短信提醒"
    assert out["account"]["rows"] == 3631 and len(out["account"]["rejected_rows"]) == out["account"]["rejected"]
    for comparison in out["comparisons"]:
        assert set(TWO_ARM_KEYS) <= set(comparison)
        assert {"arm", "reference", "p_value", "p_value_holm", "hazard_ratio_lower_adjusted"} <= set(comparison)
    assert {a["arm"] for a in out["arms"]} == {"对照组", "短信提醒", "教育讲座"}


def test_cli_two_arm_list_keeps_the_campaign_columns_keys(root, tmp_path) -> None:
    rows = pd.read_csv(root / "data" / "sample_campaign_list.csv", dtype=str, encoding="utf-8-sig")
    path = tmp_path / "two.csv"
    rows[rows["组别"] != "短信提醒"].to_csv(path, index=False)
    done = run_cli("campaign", "data/sample_policies.csv", "--campaign-list", str(path), "--format", "json", cwd=root)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(TWO_ARM_KEYS) <= set(out) and out["arm"] == "教育讲座"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--campaign-list", "data/sample_campaign_list.csv", "--treatment", "教育活动"), "not both"),
        (("--campaign-list", "data/sample_campaign_list.csv", "--start", "2024-03-01"), "own enrolment date"),
        ((), "--campaign-list FILE"),
    ],
)
def test_cli_refuses_a_campaign_it_cannot_name(root, extra, words) -> None:
    done = run_cli("campaign", "data/sample_policies.csv", *extra, cwd=root)
    assert done.returncode == 2 and words in done.stderr


def test_cli_values_a_retained_policy_as_the_page_does_when_not_told(root) -> None:
    from analysis.interventions.campaign_list import read_campaign_list
    from analysis.interventions.staggered import enrolled_data
    from analysis.interventions.targeting import value_per_retained_default

    done = run_cli("campaign", "data/sample_policies.csv", "--campaign-list", "data/sample_campaign_list.csv", "--format", "json", cwd=root)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    loaded = sample_extract()
    data, _ = enrolled_data(loaded.policies, read_campaign_list(root / "data" / "sample_campaign_list.csv"), study_date=loaded.study_date)
    assert out["value_per_retained"] == value_per_retained_default(loaded.policies, data) > 0
    assert out["best_value_arm"] == max(out["ranking"], key=lambda arm: arm["value_per_contact"])["arm"]
