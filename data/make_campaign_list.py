"""Generate the sample campaign list (活动名单): a staggered, three-arm randomised welcome programme.

``data/sample_campaign_list.csv`` lists young new customers of the sample extract
(``data/sample_policies.csv``, which this script never changes) enrolled near their issue
date over six and a half years, in three arms: 对照组 (control), 短信提醒 (an SMS reminder
programme) and 教育讲座 (an education seminar). The arms' true hazard ratios against the
control are :data:`TRUE_HAZARD_RATIOS`; how they are realised on policies whose histories are
already fixed is explained in ``data/README.md`` ("The campaign list") and in :func:`thin`.

Usage: ``python data/make_campaign_list.py [--out PATH]`` (deterministic: ``default_rng(SEED)``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from analysis import load_extract  # noqa: E402
from analysis import schema as S  # noqa: E402
from analysis.interventions.campaign_list import campaign_list_from_cells  # noqa: E402
from analysis.interventions.staggered import enrolled_data  # noqa: E402
from analysis.survival.cox import design_matrix  # noqa: E402

SEED = 618
CONTROL, SMS, SEMINAR = "对照组", "短信提醒", "教育讲座"
#: The truth: each arm's hazard ratio of voluntary exit against the control, on time since enrolment.
TRUE_HAZARD_RATIOS = {SMS: 0.80, SEMINAR: 0.70}
#: What a contact costs (yuan) and its channel, per arm.
COSTS = {CONTROL: 0.0, SMS: 2.0, SEMINAR: 80.0}
CHANNELS = {CONTROL: "无", SMS: "短信", SEMINAR: "线下讲座"}
#: Who is enrolled: first-time customers under this age at issue, issued in this window, not in the education campaign.
MAX_AGE = 35
ISSUED = ("2019-01-01", "2025-06-30")
#: Enrolment: issue date plus 0 .. this many days (a welcome programme).
MAX_DELAY_DAYS = 30
#: The covariates of the outcome model the thinning uses (the sample's own columns).
MODEL_COVARIATES = (
    "age_at_start",
    "months_in_force",
    S.PAYMENT_FREQUENCY,
    S.AUTO_DEBIT,
    S.CHANNEL,
    S.PRODUCT,
    S.BRANCH,
    S.GENDER,
    "短信提醒",
    "灵活缴费",
)
#: Planted rows: policy numbers no book holds, and two rows whose enrolment date is not a date.
NOT_IN_BOOK = ("886372099900000001", "886372099900000002", "886372099900000003")
BAD_DATES = ("2023-02-30", "待定")
#: The first this many accepted rows are repeated once (copy-paste duplicates).
DUPLICATES = 2


def population(policies: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The programme's policies with an enrolment date and a random arm (equal shares)."""
    first, last = (pd.Timestamp(d) for d in ISSUED)
    chosen = policies[
        (policies[S.AGE] < MAX_AGE)
        & (policies["首单客户"] == "是")
        & policies["教育活动"].isna()
        & policies[S.ISSUE_DATE].between(first, last)
    ]
    delay = pd.to_timedelta(rng.integers(0, MAX_DELAY_DAYS + 1, len(chosen)), unit="D")
    arms = rng.choice([CONTROL, SMS, SEMINAR], size=len(chosen))
    return pd.DataFrame({"保单号": chosen[S.POLICY_ID].to_numpy(), "组别": arms, "入组日期": (chosen[S.ISSUE_DATE] + delay).to_numpy()})


def outcome_model(data: pd.DataFrame, policies: pd.DataFrame) -> np.ndarray:
    """Each evaluable policy's cumulative hazard ``H_i(t_i)`` at its own exit or censoring (a Cox fit, arms pooled)."""
    from lifelines import CoxPHFitter

    extra = policies.drop_duplicates(S.POLICY_ID).set_index(S.POLICY_ID).loc[data[S.POLICY_ID], ["短信提醒", "灵活缴费"]]
    frame = data.assign(**{c: extra[c].to_numpy() for c in extra.columns})
    matrix, _, _ = design_matrix(frame, [c for c in MODEL_COVARIATES if c in frame.columns])
    fit_frame = matrix.assign(duration=frame["duration"].to_numpy(), event=frame["event"].to_numpy())
    fitter = CoxPHFitter(penalizer=1e-5).fit(fit_frame, duration_col="duration", event_col="event")
    baseline = fitter.baseline_cumulative_hazard_.iloc[:, 0]
    at = np.searchsorted(baseline.index.to_numpy(), frame["duration"].to_numpy(), side="right") - 1
    h0 = np.where(at >= 0, baseline.to_numpy()[np.maximum(at, 0)], 0.0)
    return np.asarray(h0 * fitter.predict_partial_hazard(matrix).to_numpy(), dtype=float)


def thin(data: pd.DataFrame, cumulative_hazard: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which evaluable policies stay on the list, so that each treated arm's outcomes follow its true hazard ratio.

    The histories are fixed, so the effect is realised by selection (rejection sampling): a
    policy of an arm with true ratio ``h`` whose observed time is ``t`` (event ``d``) stays with
    probability ``w / max w``, ``w = h^d · exp((1 − h) · H_i(t))`` — the likelihood ratio of
    "hazard × h" against the fitted model for that policy, so the kept policies' outcomes follow
    hazard ``h × λ_i(t)`` while their covariates keep their distribution (``E[w | x] = 1``).
    The control arm is kept with one constant probability (the treated arms' mean), independent
    of outcomes.
    """
    keep = np.zeros(len(data), dtype=bool)
    arms = data["arm"].to_numpy()
    shares = []
    for arm, ratio in TRUE_HAZARD_RATIOS.items():
        inside = arms == arm
        weight = ratio ** data["event"].to_numpy(dtype=float)[inside] * np.exp((1 - ratio) * cumulative_hazard[inside])
        accept = weight / weight.max()
        keep[inside] = rng.random(inside.sum()) < accept
        shares.append(accept.mean())
    control = arms == CONTROL
    keep[control] = rng.random(control.sum()) < float(np.mean(shares))
    return keep


def campaign_list(policies: pd.DataFrame, study_date: pd.Timestamp) -> pd.DataFrame:
    """The list's rows as written to the CSV (Chinese headers), planted problems included."""
    rng = np.random.default_rng(SEED)
    listed = population(policies, rng)
    cells = listed.assign(入组日期=listed["入组日期"].dt.strftime("%Y-%m-%d")).astype(object)
    read = campaign_list_from_cells(cells, np.arange(len(cells)) + 2)
    data, _ = enrolled_data(policies, read, study_date=study_date)
    keep = thin(data, outcome_model(data, policies), rng)
    dropped = set(data.loc[~keep, S.POLICY_ID])
    rows = listed[~listed["保单号"].isin(dropped)].copy()  # policies not in force at enrolment stay listed
    rows["渠道"] = rows["组别"].map(CHANNELS)
    rows["成本"] = rows["组别"].map(COSTS)
    rows["入组日期"] = rows["入组日期"].dt.strftime("%Y-%m-%d")
    planted = pd.DataFrame(
        {
            "保单号": [*NOT_IN_BOOK, *rows["保单号"].iloc[-len(BAD_DATES) :]],
            "组别": [SMS, SEMINAR, CONTROL, CONTROL, SMS],
            "入组日期": ["2022-05-10", "2023-08-01", "2024-01-15", *BAD_DATES],
        }
    )
    planted["渠道"] = planted["组别"].map(CHANNELS)
    planted["成本"] = planted["组别"].map(COSTS)
    rows = pd.concat([rows.iloc[: -len(BAD_DATES)], rows.iloc[:DUPLICATES], planted], ignore_index=True)
    rows = rows.sort_values(["入组日期", "保单号"], kind="stable").reset_index(drop=True)
    rows["成本"] = rows["成本"].map(lambda v: f"{v:.2f}")
    return rows[["保单号", "组别", "入组日期", "渠道", "成本"]]


def main(argv: list[str] | None = None) -> int:
    """Write the list (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "sample_campaign_list.csv"))
    args = parser.parse_args(argv)
    loaded = load_extract(HERE / "sample_policies.csv")
    rows = campaign_list(loaded.policies, loaded.study_date)
    rows.to_csv(args.out, index=False, encoding="utf-8-sig", lineterminator="\n")
    print(f"{args.out}: {len(rows)} rows; arms {rows['组别'].value_counts().to_dict()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
