r"""Generate the bundled LapseLens sample extract (个人寿险保单明细).

The output imitates a policy extract exported from a Chinese life insurer's core
system: a title row carrying the study date (统计截止日), a Chinese header row,
50,000 policy rows, a few planted data-quality problems and a 合计 footer row.
Policy lives are simulated from known hazard ratios so that the app's analyses
can be checked against a ground truth (see ``data/README.md``).

Usage
-----
``python data/make_sample.py``                 write ``data/sample_policies.csv``
``python data/make_sample.py --out PATH``      write elsewhere
``python data/make_sample.py --check [PATH]``  read a generated file back and
print persistency, status counts and the campaign comparison.

The generator is deterministic: a fixed seed, no dependence on today's date,
fixed row order, explicit number formats and ``\n`` line endings, so two runs
give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------
# Frame of the extract
# --------------------------------------------------------------------------
SEED = 22
N_POLICIES = 50_000
ISSUE_START = np.datetime64("2018-10-01")
ISSUE_END = np.datetime64("2026-09-30")
STUDY_DATE = np.datetime64("2026-09-30")
N_POLICY_MONTHS = 96  # policy months 0..95 cover every issue date up to the study
COMPANY_TITLE = "某某人寿保险股份有限公司 个人寿险保单明细"
DEFAULT_OUT = Path(__file__).resolve().parent / "sample_policies.csv"

# Legal clock (DOMAIN.md §1)
GRACE_DAYS = 60  # suspended from due date + 61 days
REINSTATEMENT_YEARS = 2  # 永久失效 on the day 2 years after suspension
FREE_LOOK_DAYS = 15

# --------------------------------------------------------------------------
# Base hazards: annual rates for the reference profile (age 30-44, annual or
# half-yearly pay, 银行代扣, 个险, branch HR 1.0, no SMS, no flexible payment,
# not in the campaign).  Index 0..3 = policy year 1, 2, 3, 4+.  A missed
# premium due at policy month m (m = 1..12 -> year 1) counts for policy year
# ceil(m / 12): failing to pay the 2nd-year premium is a first-year lapse.
# --------------------------------------------------------------------------
BASE_LAPSE_HAZARD = np.array([0.076, 0.047, 0.034, 0.025])
BASE_SURRENDER_HAZARD = np.array([0.014, 0.012, 0.011, 0.010])

# --------------------------------------------------------------------------
# True effects: multiplicative hazard ratios (ground truth, see README)
# --------------------------------------------------------------------------
YOUNG_NEW_EARNER_AGES = (22, 30)  # inclusive, age at issue
YOUNG_NEW_EARNER_INCOMES = ("5万以下", "5-10万")
HR_YOUNG_NEW_EARNER_LAPSE = 1.8  # replaces the age factor on lapse
HR_AGE_UNDER_30 = 1.3  # both decrements (on lapse: not for young new earners)
HR_AGE_30_44 = 1.0
HR_AGE_45_PLUS = 0.8
HR_MONTHLY_QUARTERLY = 1.25  # 月交 / 季交, both decrements
HR_NO_AUTODEBIT_LAPSE = 1.7  # 柜面现金 / 网银转账, lapse only
HR_CHANNEL_LAPSE = {"个险": 1.0, "银保": 1.0, "经代": 1.1, "互联网": 1.3, "电销": 1.5}
HR_CHANNEL_SURRENDER = {
    "个险": 1.0,
    "银保": 1.8,
    "经代": 1.1,
    "互联网": 1.3,
    "电销": 1.5,
}
HR_LOW_PREMIUM_LAPSE = 0.7  # 青春守护定期寿险, lapse only
HR_CAMPAIGN = 0.75  # 教育活动 实验组 vs 对照组, both decrements, from CAMPAIGN_DATE
HR_SMS_LAPSE = 0.85  # 短信提醒 = 是, lapse only
HR_FLEX_LAPSE = 0.80  # 灵活缴费 = 是, lapse only
HR_BRANCH = {
    "北京分公司": 0.90,
    "上海分公司": 0.85,
    "广东分公司": 1.05,
    "四川分公司": 1.20,
    "江苏分公司": 0.95,
    "浙江分公司": 0.90,
    "山东分公司": 1.00,
    "河南分公司": 1.15,
}

# Education campaign (randomised)
CAMPAIGN_DATE = np.datetime64("2024-03-01")
CAMPAIGN_AGES = (22, 35)  # inclusive, attained age on CAMPAIGN_DATE
CAMPAIGN_TREATED_SHARE = 0.5

# Low-premium product for young customers
LOW_PREMIUM_LAUNCH = np.datetime64("2022-07-01")
LOW_PREMIUM_SHARE_YOUNG_NEW_EARNER = 0.35  # of their new business after launch
LOW_PREMIUM_SHARE_OTHER_UNDER_30 = 0.08
LOW_PREMIUM_PRICE_RATIO = 0.40  # premium vs the comparable 定期寿险

# Other decrements and statuses
GOMPERTZ_A = 4.0e-5  # death force mu(x) = A * exp(B * x), males
GOMPERTZ_B = 0.085
FEMALE_MORTALITY_RATIO = 0.6
FREE_LOOK_RATE = {"个险": 0.008, "银保": 0.010, "经代": 0.010, "互联网": 0.015, "电销": 0.020}
REINSTATEMENT_RATE = 0.15  # of suspended policies, within 2 years
REINSTATEMENT_FAST_SHARE = 0.8  # exponential delay, mean 60 days ...
REINSTATEMENT_FAST_MEAN_DAYS = 60.0
REINSTATEMENT_SLOW_DAYS = (180, 729)  # ... otherwise uniform in this range
APL_RATE = 0.30  # of lapses with cash value (month >= 36) in the last 365 days
APL_MIN_MONTH = 36
LATE_PAYER_RATE_AUTODEBIT = 0.03  # pays inside grace, 宽限期 at the study date
LATE_PAYER_RATE_OTHER = 0.15

# --------------------------------------------------------------------------
# Portfolio mix
# --------------------------------------------------------------------------
ANNUAL_GROWTH = 0.06  # new-business volume growth per year
MONTH_SEASONALITY = np.array(  # 开门红: Q1 sales push
    [1.6, 1.2, 1.4, 1.0, 0.95, 1.0, 0.9, 0.9, 0.95, 0.85, 0.9, 0.95]
)
COVID_MONTH_FACTOR = {np.datetime64("2020-02"): 0.5}

CHANNELS = np.array(["个险", "银保", "经代", "互联网", "电销"])
CHANNEL_SHARE = np.array([0.55, 0.20, 0.08, 0.10, 0.07])
CHANNEL_MEAN_AGE = np.array([36.0, 44.0, 36.0, 30.0, 38.0])
BRANCHES = np.array(list(HR_BRANCH))
BRANCH_CODE = np.array(["11", "31", "44", "51", "32", "33", "37", "41"])
BRANCH_SHARE = np.array([0.09, 0.09, 0.18, 0.12, 0.15, 0.12, 0.13, 0.12])

# product key -> (险种代码, 险种名称)
PRODUCTS = {
    "WL": ("1121", "福寿安康终身寿险"),
    "TERM": ("1131", "安心保定期寿险"),
    "ENDOW": ("1141", "金禧两全保险"),
    "ANN": ("1151", "鑫享年金保险"),
    "CI": ("1161", "健康无忧重大疾病保险"),
    "LOWP": ("1171", "青春守护定期寿险"),
}
PRODUCT_KEYS = np.array(["WL", "TERM", "ENDOW", "ANN", "CI"])  # LOWP by override
PRODUCT_MIX_BY_CHANNEL = np.array(
    [  # WL    TERM  ENDOW  ANN   CI
        [0.25, 0.15, 0.20, 0.10, 0.30],  # 个险
        [0.10, 0.00, 0.25, 0.65, 0.00],  # 银保
        [0.20, 0.30, 0.00, 0.10, 0.40],  # 经代
        [0.00, 0.50, 0.10, 0.00, 0.40],  # 互联网
        [0.00, 0.30, 0.30, 0.00, 0.40],  # 电销
    ]
)
PREMIUM_MEDIAN = {  # annualised premium (元) at age 35, income 10-20万
    "WL": 9000.0,
    "TERM": 2600.0,
    "ENDOW": 7000.0,
    "ANN": 12000.0,
    "CI": 5500.0,
    "LOWP": 2600.0 * LOW_PREMIUM_PRICE_RATIO,
}
PREMIUM_SIGMA = 0.5
SINGLE_PREMIUM_FACTOR = 5.0  # 趸交 premium vs annual premium of the same buyer
SINGLE_PREMIUM_RATE = {"ANN_银保": 0.18, "ANN_other": 0.08, "ENDOW_银保": 0.03}

# payment frequencies in months: 1 月交, 3 季交, 6 半年交, 12 年交 (0 = 趸交)
FREQ_MONTHS = np.array([1, 3, 6, 12])
FREQ_NAME = {0: "趸交", 1: "月交", 3: "季交", 6: "半年交", 12: "年交"}
FREQ_MIX_BY_CHANNEL = np.array(
    [  # 月交  季交  半年交 年交
        [0.20, 0.08, 0.07, 0.65],  # 个险
        [0.05, 0.03, 0.02, 0.90],  # 银保
        [0.25, 0.05, 0.05, 0.65],  # 经代
        [0.60, 0.05, 0.05, 0.30],  # 互联网
        [0.55, 0.10, 0.05, 0.30],  # 电销
    ]
)
AUTODEBIT_RATE_BY_CHANNEL = np.array([0.60, 0.75, 0.55, 0.40, 0.65])
ONLINE_SHARE_OF_NON_AUTODEBIT = np.array([0.35, 0.30, 0.50, 0.90, 0.60])

INCOME_BANDS = np.array(["5万以下", "5-10万", "10-20万", "20-50万", "50万以上"])
INCOME_MIX = {  # by age group at issue: <=30, 31-45, 46+
    "young": [0.28, 0.40, 0.22, 0.08, 0.02],
    "mid": [0.10, 0.30, 0.35, 0.20, 0.05],
    "old": [0.15, 0.30, 0.30, 0.18, 0.07],
}
INCOME_PREMIUM_FACTOR = np.array([0.6, 0.8, 1.0, 1.4, 2.2])
INCOME_BLANK_RATE = 0.05
FIRST_POLICY_RATE = {"young": 0.85, "mid": 0.55, "old": 0.40}

OCCUPATIONS = np.array(["企业职员", "公务员/事业单位", "个体经营", "自由职业", "学生/应届毕业生", "其他"])
OCCUPATION_MIX = {
    "under25": [0.35, 0.02, 0.03, 0.10, 0.45, 0.05],
    "other": [0.45, 0.15, 0.18, 0.10, 0.00, 0.12],
}

N_AGENTS = 1500
AGENT_ID_RATE = {"个险": 1.0, "银保": 1.0, "经代": 0.3, "互联网": 0.0, "电销": 0.0}

# enrolment models (not randomised: enrolment is confounded with risk)
SMS_BASE, SMS_AGENCY, SMS_AGE30, SMS_AUTODEBIT = 0.20, 0.15, 0.10, 0.10
FLEX_BASE, FLEX_ONLINE, FLEX_FROM_2022 = 0.12, 0.15, 0.10

# --------------------------------------------------------------------------
# Planted messiness (counts)
# --------------------------------------------------------------------------
N_MESSY_DATES = 15  # 5 each: 2023/5/6, 2023年5月6日, 20230506
N_MESSY_PREMIUMS = 10  # 5 each: "¥3,231.46", "0.52万"
N_BLANK_STATUS = 5
N_DUPLICATES = 3
N_STATUS_BEFORE_ISSUE = 3

HEADERS = [
    "保单号",
    "险种代码",
    "险种名称",
    "生效日期",
    "交至日期",
    "缴费方式",
    "交费方式",
    "年化保费（元）",
    "基本保额",
    "销售渠道",
    "管理机构",
    "代理人工号",
    "投保年龄",
    "性别",
    "年收入",
    "职业",
    "首单客户",
    "保单状态",
    "状态日期",
    "失效日期",
    "复效日期",
    "教育活动",
    "短信提醒",
    "灵活缴费",
]
STATUS_ORDER = [
    "有效",
    "宽限期",
    "垫交",
    "失效",
    "复效",
    "退保",
    "永久失效",
    "身故",
    "满期",
    "犹豫期撤单",
]
FAR_FUTURE = np.datetime64("2200-01-01")
DAY = np.timedelta64(1, "D")


# --------------------------------------------------------------------------
# Date helpers (vectorised, datetime64[D])
# --------------------------------------------------------------------------
def add_months(dates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Add whole months to dates, clipping to the last day of the month.

    Parameters
    ----------
    dates : numpy.ndarray
        ``datetime64[D]`` array; broadcast against ``months``.
    months : numpy.ndarray or int
        Number of months to add.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]``: the monthly anniversary of each date, computed from
        the original date (31 Jan + 1 month = 28/29 Feb, + 2 months = 31 Mar).
    """
    month = dates.astype("datetime64[M]")
    day_offset = dates - month.astype("datetime64[D]")
    target = month + months
    last_day = (target + 1).astype("datetime64[D]") - DAY
    return np.minimum(target.astype("datetime64[D]") + day_offset, last_day)


def months_elapsed(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Count whole months from ``start`` to ``end``.

    Parameters
    ----------
    start, end : numpy.ndarray
        ``datetime64[D]`` arrays (broadcastable).

    Returns
    -------
    numpy.ndarray
        Largest integer ``e`` with ``add_months(start, e) <= end``.
    """
    diff = (end.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(np.int64)
    return diff - (add_months(start, diff) > end)


def next_due_after(issue: np.ndarray, when: np.ndarray, freq: np.ndarray, pay_months: np.ndarray) -> np.ndarray:
    """Return the first premium due date strictly after ``when``.

    Parameters
    ----------
    issue, when : numpy.ndarray
        ``datetime64[D]`` issue dates and reference dates.
    freq : numpy.ndarray
        Payment interval in months (0 = single premium gives NaT).
    pay_months : numpy.ndarray
        Premium term in months; the paid-to date never passes it.

    Returns
    -------
    numpy.ndarray
        ``datetime64[D]`` paid-to date (交至日期) of a policy whose premiums
        were all paid up to ``when``.
    """
    safe = np.where(freq > 0, freq, 12)
    elapsed = months_elapsed(issue, when)
    month = np.minimum((elapsed // safe + 1) * safe, pay_months)
    out = add_months(issue, month)
    return np.where(freq > 0, out, np.datetime64("NaT"))


def format_cents(cents: np.ndarray) -> np.ndarray:
    """Format integer cents as plain yuan text with two decimals.

    Parameters
    ----------
    cents : numpy.ndarray
        Non-negative integer amounts in cents (分).

    Returns
    -------
    numpy.ndarray
        Text such as ``"3231.46"`` (no thousands separator, no currency).
    """
    whole = (cents // 100).astype(str)
    frac = np.char.zfill((cents % 100).astype(str), 2)
    return np.char.add(np.char.add(whole, "."), frac).astype(object)


def _fmt_dates(dates: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(dates.astype("datetime64[D]"), unit="D")
    return np.where(np.isnat(dates), "", text).astype(object)


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one category index per row from a row-wise probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return (u > cum).sum(axis=1)


# --------------------------------------------------------------------------
# Portfolio
# --------------------------------------------------------------------------
def draw_portfolio(rng: np.random.Generator) -> pd.DataFrame:
    """Draw the policy attributes known at issue.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        One row per policy, sorted by issue date, with the issue-time
        attributes (channel, product, frequency, premium, customer fields,
        enrolment flags) and the product terms (``freq``, ``pay_months``,
        ``term_months``).
    """
    n = N_POLICIES
    days = np.arange(ISSUE_START, ISSUE_END + DAY)
    years = (days - ISSUE_START).astype(np.int64) / 365.25
    month_index = days.astype("datetime64[M]").astype(np.int64) % 12
    weight = np.exp(np.log1p(ANNUAL_GROWTH) * years) * MONTH_SEASONALITY[month_index]
    for month, factor in COVID_MONTH_FACTOR.items():
        weight[days.astype("datetime64[M]") == month] *= factor
    issue = np.sort(rng.choice(days, size=n, p=weight / weight.sum()))

    channel_idx = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE)
    channel = CHANNELS[channel_idx]
    branch_idx = rng.choice(len(BRANCHES), size=n, p=BRANCH_SHARE)

    # age at issue: channel-specific bulk plus a flat tail, 18..65
    bulk = rng.normal(CHANNEL_MEAN_AGE[channel_idx], 8.0)
    flat = rng.uniform(18, 66, size=n)
    age = np.where(rng.random(n) < 0.85, bulk, flat)
    age = np.clip(np.floor(age), 18, 65).astype(np.int64)
    age_group = np.where(age <= 30, 0, np.where(age <= 45, 1, 2))
    groups = ("young", "mid", "old")
    female = rng.random(n) < 0.52

    income_mix = np.array([INCOME_MIX[g] for g in groups])
    income_idx = _pick(rng, income_mix[age_group])
    income = INCOME_BANDS[income_idx].astype(object)
    income_blank = rng.random(n) < INCOME_BLANK_RATE
    income[income_blank] = ""
    first_rate = np.array([FIRST_POLICY_RATE[g] for g in groups])
    first_policy = rng.random(n) < first_rate[age_group]
    occ_mix = np.array([OCCUPATION_MIX["under25"], OCCUPATION_MIX["other"]])
    occupation = OCCUPATIONS[_pick(rng, occ_mix[(age >= 25).astype(np.int64)])]

    young_new_earner = (
        (age >= YOUNG_NEW_EARNER_AGES[0]) & (age <= YOUNG_NEW_EARNER_AGES[1]) & np.isin(income, YOUNG_NEW_EARNER_INCOMES) & first_policy
    )

    product = PRODUCT_KEYS[_pick(rng, PRODUCT_MIX_BY_CHANNEL[channel_idx])]
    after_launch = issue >= LOW_PREMIUM_LAUNCH
    low_share = np.where(
        young_new_earner,
        LOW_PREMIUM_SHARE_YOUNG_NEW_EARNER,
        np.where(age < 30, LOW_PREMIUM_SHARE_OTHER_UNDER_30, 0.0),
    )
    product = np.where(after_launch & (rng.random(n) < low_share), "LOWP", product)

    single_rate = np.select(
        [
            (product == "ANN") & (channel == "银保"),
            product == "ANN",
            (product == "ENDOW") & (channel == "银保"),
        ],
        [
            SINGLE_PREMIUM_RATE["ANN_银保"],
            SINGLE_PREMIUM_RATE["ANN_other"],
            SINGLE_PREMIUM_RATE["ENDOW_银保"],
        ],
        0.0,
    )
    single = rng.random(n) < single_rate
    freq = FREQ_MONTHS[_pick(rng, FREQ_MIX_BY_CHANNEL[channel_idx])]
    freq = np.where(single, 0, freq)

    # product terms (months): coverage term and premium term
    u = rng.random(n)
    endow_term = np.where(u < 0.35, 60, np.where(u < 0.75, 120, 240))
    term_months = np.select(
        [product == "ENDOW", np.isin(product, ["TERM", "LOWP"])],
        [endow_term, 240],
        1200,  # whole of life
    )
    pay_months = np.select(
        [
            product == "WL",
            product == "CI",
            product == "ANN",
        ],
        [
            np.where(rng.random(n) < 0.5, 120, 240),
            np.where(rng.random(n) < 0.6, 240, 360),
            120,
        ],
        term_months,
    )
    pay_months = np.where(single, 0, pay_months)

    autodebit = rng.random(n) < AUTODEBIT_RATE_BY_CHANNEL[channel_idx]
    online = rng.random(n) < ONLINE_SHARE_OF_NON_AUTODEBIT[channel_idx]
    pay_method = np.where(autodebit, "银行代扣", np.where(online, "网银转账", "柜面现金"))

    # premium: lognormal around a product median, scaled by age and income
    median = pd.Series(product).map(PREMIUM_MEDIAN).to_numpy()
    income_factor = np.where(income_blank, 1.0, INCOME_PREMIUM_FACTOR[income_idx])
    annual = median * np.exp(0.02 * (age - 35)) * income_factor * np.exp(rng.normal(0.0, PREMIUM_SIGMA, size=n))
    annual = np.where(product == "LOWP", np.clip(annual, 300, 6000), annual)
    annual = np.where(product != "LOWP", np.clip(annual, 600, 300_000), annual)
    annual = np.where(single, annual * SINGLE_PREMIUM_FACTOR, annual)
    # modal premium in cents; the annualised premium is modal x payments/year
    per_year = np.where(freq > 0, 12 // np.where(freq > 0, freq, 12), 1)
    modal_cents = np.round(annual * 100 / per_year).astype(np.int64)
    premium_cents = modal_cents * per_year

    premium = premium_cents / 100
    sum_assured = np.select(
        [
            product == "WL",
            np.isin(product, ["TERM"]),
            product == "LOWP",
            product == "ENDOW",
            product == "ANN",
        ],
        [
            np.round(premium * rng.uniform(18, 30, n), -4),
            np.round(premium * rng.uniform(120, 220, n), -4),
            np.round(premium / LOW_PREMIUM_PRICE_RATIO * rng.uniform(120, 220, n), -4),
            np.round(premium * np.where(single, 1.0, pay_months / 12) * 1.05, -3),
            np.round(
                premium * np.where(single, 0.10, 0.25) * rng.uniform(0.9, 1.1, n),
                -2,
            ),
        ],
        np.round(premium * rng.uniform(40, 80, n), -4),  # CI
    )
    sum_assured = np.maximum(sum_assured, 10_000 * (product != "ANN")).astype(np.int64)
    sum_assured = np.maximum(sum_assured, 100)

    # agents: 1,500 ids spread over branches; productive agents write more
    agent_numbers = np.sort(rng.choice(900_000, size=N_AGENTS, replace=False)) + 100_000
    agent_numbers = rng.permutation(agent_numbers)
    per_branch = np.floor(BRANCH_SHARE * N_AGENTS).astype(np.int64)
    per_branch[-1] += N_AGENTS - per_branch.sum()
    offset = np.concatenate([[0], np.cumsum(per_branch)[:-1]])
    pick = np.floor(per_branch[branch_idx] * rng.random(n) ** 1.6).astype(np.int64)
    agent = np.char.add("A", agent_numbers[offset[branch_idx] + pick].astype(str))
    has_agent = rng.random(n) < pd.Series(channel).map(AGENT_ID_RATE).to_numpy()
    agent = np.where(has_agent, agent, "")

    sms = rng.random(n) < (SMS_BASE + SMS_AGENCY * (channel == "个险") + SMS_AGE30 * (age >= 30) + SMS_AUTODEBIT * autodebit)
    flex = rng.random(n) < (FLEX_BASE + FLEX_ONLINE * (channel == "互联网") + FLEX_FROM_2022 * (issue >= np.datetime64("2022-01-01")))

    # policy number: 886 + province code + issue year + 9-digit serial
    serial = 100_000_000 + np.cumsum(rng.integers(1, 20, size=n))
    issue_year = issue.astype("datetime64[Y]").astype(np.int64) + 1970
    policy_no = np.char.add(
        np.char.add(np.char.add("886", BRANCH_CODE[branch_idx]), issue_year.astype(str)),
        serial.astype(str),
    )

    return pd.DataFrame(
        {
            "policy_no": policy_no,
            "product": product,
            "issue": issue,
            "freq": freq,
            "pay_months": pay_months,
            "term_months": term_months,
            "pay_method": pay_method,
            "autodebit": autodebit,
            "premium_cents": premium_cents,
            "sum_assured": sum_assured,
            "channel": channel,
            "branch": BRANCHES[branch_idx],
            "agent": agent,
            "age": age,
            "female": female,
            "income": income,
            "occupation": occupation,
            "first_policy": first_policy,
            "young_new_earner": young_new_earner,
            "sms": sms,
            "flex": flex,
        }
    )


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------
def hazard_multipliers(portfolio: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Compute each policy's time-constant hazard ratios.

    Parameters
    ----------
    portfolio : pandas.DataFrame
        Output of :func:`draw_portfolio`.

    Returns
    -------
    lapse, surrender : numpy.ndarray
        Multipliers on the non-payment lapse and surrender base hazards (the
        campaign effect is time-varying and applied in :func:`simulate`).
    """
    age = portfolio["age"].to_numpy()
    age_hr = np.select([age < 30, age < 45], [HR_AGE_UNDER_30, HR_AGE_30_44], HR_AGE_45_PLUS)
    yne = portfolio["young_new_earner"].to_numpy()
    freq = portfolio["freq"].to_numpy()
    modal_hr = np.where(np.isin(freq, [1, 3]), HR_MONTHLY_QUARTERLY, 1.0)
    channel = portfolio["channel"]
    branch_hr = portfolio["branch"].map(HR_BRANCH).to_numpy()

    lapse = (
        np.where(yne, HR_YOUNG_NEW_EARNER_LAPSE, age_hr)
        * modal_hr
        * np.where(portfolio["autodebit"].to_numpy(), 1.0, HR_NO_AUTODEBIT_LAPSE)
        * channel.map(HR_CHANNEL_LAPSE).to_numpy()
        * np.where(portfolio["product"].to_numpy() == "LOWP", HR_LOW_PREMIUM_LAPSE, 1.0)
        * np.where(portfolio["sms"].to_numpy(), HR_SMS_LAPSE, 1.0)
        * np.where(portfolio["flex"].to_numpy(), HR_FLEX_LAPSE, 1.0)
        * branch_hr
    )
    surrender = age_hr * modal_hr * channel.map(HR_CHANNEL_SURRENDER).to_numpy() * branch_hr
    return lapse, surrender


def _first_crossing(rng: np.random.Generator, increments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invert a piecewise cumulative hazard at an Exp(1) draw per row.

    Returns the row mask of rows with an event, the event column and the
    fraction of the column's hazard used up at the event.
    """
    cum = np.cumsum(increments, axis=1)
    target = rng.exponential(size=len(increments))
    hit = cum >= target[:, None]
    has_event = hit[:, -1]
    col = np.argmax(hit, axis=1)
    rows = np.arange(len(increments))
    step = increments[rows, col]
    before = cum[rows, col] - step
    frac = np.where(step > 0, (target - before) / np.where(step > 0, step, 1), 0)
    return has_event, col, np.clip(frac, 0.0, 1.0 - 1e-9)


def simulate(rng: np.random.Generator, portfolio: pd.DataFrame) -> pd.DataFrame:
    """Simulate each policy's history up to the study date.

    Non-payment lapse is decided at premium due dates (discrete hazard per
    due date, so every payment frequency has the same annual rate), surrender
    is continuous (piecewise-constant monthly hazard), death follows a
    Gompertz law, 5-year endowments mature, a few policies are cancelled in
    the free-look period.  The first event wins; a lapse becomes a suspension
    on due date + 61 days, may be reinstated, or ends after 2 years.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    portfolio : pandas.DataFrame
        Output of :func:`draw_portfolio`.

    Returns
    -------
    pandas.DataFrame
        ``portfolio`` plus ``status``, ``status_date``, ``paid_to``,
        ``lapse_date``, ``reinstate_date`` and ``campaign``.
    """
    n = len(portfolio)
    issue = portfolio["issue"].to_numpy().astype("datetime64[D]")
    freq = portfolio["freq"].to_numpy()
    pay_months = portfolio["pay_months"].to_numpy()
    term_months = portfolio["term_months"].to_numpy()
    product = portfolio["product"].to_numpy()
    age = portfolio["age"].to_numpy()
    lapse_hr, surrender_hr = hazard_multipliers(portfolio)

    # campaign arm: drawn for everyone, used for those in force on the date
    age_at_campaign = age + months_elapsed(issue, np.full(n, CAMPAIGN_DATE)) // 12
    maybe_eligible = (issue <= CAMPAIGN_DATE) & (age_at_campaign >= CAMPAIGN_AGES[0]) & (age_at_campaign <= CAMPAIGN_AGES[1])
    treated = rng.random(n) < CAMPAIGN_TREATED_SHARE
    campaign_hr_applies = maybe_eligible & treated

    months = np.arange(N_POLICY_MONTHS + 1)
    bounds = add_months(issue[:, None], months[None, :])
    starts, ends = bounds[:, :-1], bounds[:, 1:]
    month = months[:-1]
    campaign = np.where(campaign_hr_applies[:, None] & (starts >= CAMPAIGN_DATE), HR_CAMPAIGN, 1.0)

    # surrender: continuous, monthly piecewise-constant hazard
    year_index = np.minimum(month // 12, 3)
    surrender_inc = BASE_SURRENDER_HAZARD[year_index][None, :] / 12 * surrender_hr[:, None] * campaign
    has_s, col_s, frac_s = _first_crossing(rng, surrender_inc)
    rows = np.arange(n)
    span = (ends[rows, col_s] - starts[rows, col_s]).astype(np.int64)
    surrender_date = starts[rows, col_s] + np.floor(frac_s * span).astype(np.int64) * DAY
    surrender_date = np.where(has_s, surrender_date, FAR_FUTURE)

    # non-payment lapse: discrete hazard at each due month f, 2f, ... < pay term
    safe_freq = np.where(freq > 0, freq, 1)
    is_due = (
        (freq[:, None] > 0) & (month[None, :] >= 1) & (month[None, :] % safe_freq[:, None] == 0) & (month[None, :] < pay_months[:, None])
    )
    due_year_index = np.minimum(np.maximum(month - 1, 0) // 12, 3)
    lapse_inc = np.where(
        is_due,
        BASE_LAPSE_HAZARD[due_year_index][None, :] * (safe_freq[:, None] / 12) * lapse_hr[:, None] * campaign,
        0.0,
    )
    has_l, col_l, _ = _first_crossing(rng, lapse_inc)
    missed_due = np.where(has_l, starts[rows, col_l], FAR_FUTURE)
    missed_month = np.where(has_l, col_l, -1)
    suspension = np.where(has_l, missed_due + (GRACE_DAYS + 1) * DAY, FAR_FUTURE)

    # death: Gompertz force from the issue age, closed-form inverse
    a = GOMPERTZ_A * np.where(portfolio["female"].to_numpy(), FEMALE_MORTALITY_RATIO, 1)
    level = a * np.exp(GOMPERTZ_B * age)
    t_years = np.log1p(rng.exponential(size=n) * GOMPERTZ_B / level) / GOMPERTZ_B
    death_days = np.minimum(t_years * 365.25, 200 * 365.25).astype(np.int64)
    death_date = issue + death_days * DAY

    maturity = np.where(term_months <= N_POLICY_MONTHS, add_months(issue, term_months), FAR_FUTURE)

    free_look_date = issue + rng.integers(1, FREE_LOOK_DAYS + 1, size=n) * DAY
    free_look = (rng.random(n) < portfolio["channel"].map(FREE_LOOK_RATE).to_numpy()) & (free_look_date <= STUDY_DATE)

    # first event wins
    first_date = np.minimum.reduce([surrender_date, suspension, death_date, maturity])
    first_kind = np.select(
        [
            first_date == surrender_date,
            first_date == suspension,
            first_date == death_date,
        ],
        ["surrender", "lapse", "death"],
        "maturity",
    )
    happened = first_date <= STUDY_DATE

    # after a suspension: automatic premium loan, reinstatement or termination
    u = rng.random(n)
    apl = (
        happened
        & (first_kind == "lapse")
        & np.isin(product, ["WL", "ENDOW", "ANN"])
        & (missed_month >= APL_MIN_MONTH)
        & (suspension > STUDY_DATE - 365 * DAY)
        & (u < APL_RATE)
    )
    fast = rng.random(n) < REINSTATEMENT_FAST_SHARE
    delay = (
        np.where(
            fast,
            np.minimum(rng.exponential(REINSTATEMENT_FAST_MEAN_DAYS, size=n), 729),
            rng.uniform(*REINSTATEMENT_SLOW_DAYS, size=n),
        ).astype(np.int64)
        + 1
    )
    reinstate_date = suspension + delay * DAY
    reinstated = happened & (first_kind == "lapse") & ~apl & (rng.random(n) < REINSTATEMENT_RATE) & (reinstate_date <= STUDY_DATE)
    terminate_date = add_months(suspension, 12 * REINSTATEMENT_YEARS)
    matured_after_reinstatement = reinstated & (maturity <= STUDY_DATE)

    # in grace at the study date: a missed due date whose grace is still open,
    # or a late payer who will pay inside grace
    elapsed = months_elapsed(issue, np.full(n, STUDY_DATE))
    last_due_month = elapsed // safe_freq * safe_freq
    last_due = add_months(issue, last_due_month)
    late_window = (freq > 0) & (last_due_month >= freq) & (last_due_month < pay_months) & (last_due + (GRACE_DAYS + 1) * DAY > STUDY_DATE)
    late_rate = np.where(
        portfolio["autodebit"].to_numpy(),
        LATE_PAYER_RATE_AUTODEBIT,
        LATE_PAYER_RATE_OTHER,
    )
    in_force = ~happened
    grace_missed = in_force & (missed_due <= STUDY_DATE)
    grace_late = in_force & ~grace_missed & late_window & (rng.random(n) < late_rate)

    lapse_first = happened & (first_kind == "lapse")
    conditions = [
        free_look,
        grace_missed,
        grace_late,
        in_force,
        matured_after_reinstatement,
        apl,
        reinstated,
        lapse_first & (terminate_date <= STUDY_DATE),
        lapse_first,
        first_kind == "surrender",
        first_kind == "death",
    ]
    status = np.select(
        conditions,
        [
            "犹豫期撤单",
            "宽限期",
            "宽限期",
            "有效",
            "满期",
            "垫交",
            "复效",
            "永久失效",
            "失效",
            "退保",
            "身故",
        ],
        "满期",
    )
    nat = np.datetime64("NaT")
    status_date = np.select(
        conditions,
        [
            free_look_date,
            missed_due,
            last_due,
            nat,
            maturity,
            suspension,
            reinstate_date,
            terminate_date,
            suspension,
            surrender_date,
            death_date,
        ],
        maturity,
    ).astype("datetime64[D]")

    due_after_study = next_due_after(issue, np.full(n, STUDY_DATE), freq, pay_months)
    first_due = np.where(freq > 0, add_months(issue, safe_freq), nat)
    paid_to = np.select(
        conditions,
        [
            first_due,
            missed_due,
            last_due,
            due_after_study,
            maturity,
            due_after_study,
            due_after_study,
            missed_due,
            missed_due,
            next_due_after(issue, surrender_date, freq, pay_months),
            next_due_after(issue, np.minimum(death_date, FAR_FUTURE), freq, pay_months),
        ],
        maturity,
    ).astype("datetime64[D]")
    paid_to = np.where(freq > 0, paid_to, nat)
    # a matured regular-premium policy is paid to its maturity date
    paid_to = np.where((status == "满期") & (freq > 0), maturity, paid_to)

    lapse_date = np.where(np.isin(status, ["失效", "永久失效", "复效"]), suspension, nat).astype("datetime64[D]")
    reinstate_out = np.where(status == "复效", reinstate_date, nat).astype("datetime64[D]")

    cancelled_by_campaign = free_look & (free_look_date <= CAMPAIGN_DATE)
    in_force_on_campaign = (
        (issue <= CAMPAIGN_DATE)
        & ~cancelled_by_campaign
        & ((first_date > CAMPAIGN_DATE) | (lapse_first & reinstated & (reinstate_date <= CAMPAIGN_DATE)) | (lapse_first & apl))
    )
    eligible = maybe_eligible & in_force_on_campaign
    campaign_arm = np.where(eligible, np.where(treated, "实验组", "对照组"), "")

    out = portfolio.copy()
    out["status"] = status
    out["status_date"] = status_date
    out["paid_to"] = paid_to
    out["lapse_date"] = lapse_date
    out["reinstate_date"] = reinstate_out
    out["campaign"] = campaign_arm
    return out


# --------------------------------------------------------------------------
# Output table, messiness, CSV
# --------------------------------------------------------------------------
def to_extract_rows(policies: pd.DataFrame) -> pd.DataFrame:
    """Render simulated policies as the text columns of the extract.

    Parameters
    ----------
    policies : pandas.DataFrame
        Output of :func:`simulate`.

    Returns
    -------
    pandas.DataFrame
        String columns named by :data:`HEADERS`, one row per policy.
    """
    code = policies["product"].map({k: v[0] for k, v in PRODUCTS.items()})
    name = policies["product"].map({k: v[1] for k, v in PRODUCTS.items()})
    premium = format_cents(policies["premium_cents"].to_numpy())
    yes_no = {True: "是", False: "否"}
    return pd.DataFrame(
        {
            "保单号": policies["policy_no"].to_numpy(),
            "险种代码": code.to_numpy(),
            "险种名称": name.to_numpy(),
            "生效日期": _fmt_dates(policies["issue"].to_numpy().astype("datetime64[D]")),
            "交至日期": _fmt_dates(policies["paid_to"].to_numpy()),
            "缴费方式": policies["freq"].map(FREQ_NAME).to_numpy(),
            "交费方式": policies["pay_method"].to_numpy(),
            "年化保费（元）": premium,
            "基本保额": policies["sum_assured"].astype(str).to_numpy(),
            "销售渠道": policies["channel"].to_numpy(),
            "管理机构": policies["branch"].to_numpy(),
            "代理人工号": policies["agent"].to_numpy(),
            "投保年龄": policies["age"].astype(str).to_numpy(),
            "性别": np.where(policies["female"].to_numpy(), "女", "男"),
            "年收入": policies["income"].to_numpy(),
            "职业": policies["occupation"].to_numpy(),
            "首单客户": policies["first_policy"].map(yes_no).to_numpy(),
            "保单状态": policies["status"].to_numpy(),
            "状态日期": _fmt_dates(policies["status_date"].to_numpy()),
            "失效日期": _fmt_dates(policies["lapse_date"].to_numpy()),
            "复效日期": _fmt_dates(policies["reinstate_date"].to_numpy()),
            "教育活动": policies["campaign"].to_numpy(),
            "短信提醒": policies["sms"].map(yes_no).to_numpy(),
            "灵活缴费": policies["flex"].map(yes_no).to_numpy(),
        }
    ).astype(object)


def plant_messiness(rng: np.random.Generator, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plant a small, documented set of real-world data-quality problems.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    rows : pandas.DataFrame
        Clean extract rows from :func:`to_extract_rows`.

    Returns
    -------
    messy : pandas.DataFrame
        The rows with problems planted and duplicate rows inserted.
    log : pandas.DataFrame
        One row per planted problem: ``line`` (1-based line number in the
        CSV file), ``policy_no``, ``problem``, ``written`` and ``clean``.
    """
    rows = rows.copy()
    n = len(rows)
    status = rows["保单状态"].to_numpy()
    order = rng.permutation(n)
    used: set[int] = set()

    def take(count: int, mask: np.ndarray) -> list[int]:
        free = mask & ~np.isin(np.arange(n), list(used))
        chosen = [int(i) for i in order[free[order]][:count]]
        used.update(chosen)
        return sorted(chosen)

    log = []

    def note(i: int, problem: str, written: str, clean: str) -> None:
        log.append((i, rows.iloc[i, 0], problem, written, clean))

    everywhere = np.ones(n, dtype=bool)
    date_rows = take(N_MESSY_DATES, everywhere)
    for k, i in enumerate(date_rows):
        clean = rows.loc[i, "生效日期"]
        y, m, d = (int(p) for p in clean.split("-"))
        written = [f"{y}/{m}/{d}", f"{y}年{m}月{d}日", f"{y}{m:02d}{d:02d}"][k % 3]
        rows.loc[i, "生效日期"] = written
        note(i, "生效日期 in another date format", written, clean)

    yuan_amounts = rows["年化保费（元）"].astype(float).to_numpy()
    premium_rows = take(N_MESSY_PREMIUMS, (status != "犹豫期撤单") & (yuan_amounts >= 3000))
    for k, i in enumerate(premium_rows):
        clean = rows.loc[i, "年化保费（元）"]
        if k % 2 == 0:
            whole, frac = clean.split(".")
            written = f"¥{int(whole):,}.{frac}"
        else:
            # 万 notation only has two decimals: store the rounded amount,
            # which is then the true premium of this policy
            yuan = round(float(clean), -2)
            clean = f"{yuan:.2f}"
            written = f"{yuan / 10000:.2f}万"
        rows.loc[i, "年化保费（元）"] = written
        note(i, "年化保费 written as text", written, clean)

    for i in take(N_BLANK_STATUS, everywhere):
        note(i, "保单状态 blank", "", rows.loc[i, "保单状态"])
        rows.loc[i, "保单状态"] = ""

    for i in take(N_STATUS_BEFORE_ISSUE, status == "退保"):
        issue = np.datetime64(rows.loc[i, "生效日期"])
        wrong = issue - int(rng.integers(30, 400)) * DAY
        clean = rows.loc[i, "状态日期"]
        rows.loc[i, "状态日期"] = str(wrong)
        note(i, "状态日期 before 生效日期", str(wrong), clean)

    # copy-paste duplicates: a copy of an earlier clean row pasted further down
    sources = take(N_DUPLICATES, everywhere)
    inserts = {src: min(n - 1, src + int(rng.integers(50, 3000))) for src in sources}
    positions = np.arange(n, dtype=float)
    extra = rows.loc[sources].copy()
    extra_pos = np.array([inserts[s] + 0.5 for s in sources])
    messy = pd.concat([rows, extra], ignore_index=True)
    messy = messy.iloc[np.argsort(np.concatenate([positions, extra_pos]), kind="stable")]
    messy = messy.reset_index(drop=True)
    new_line = np.empty(len(messy), dtype=np.int64)
    new_line[:] = np.arange(len(messy)) + 3  # title row, header row
    line_of_original = dict(
        zip(
            np.argsort(np.concatenate([positions, extra_pos]), kind="stable"),
            new_line,
            strict=True,
        )
    )
    records = [(line_of_original[i], pno, problem, written, clean) for i, pno, problem, written, clean in log]
    for k, src in enumerate(sources):
        records.append(
            (
                line_of_original[n + k],
                rows.iloc[src, 0],
                f"exact duplicate of line {line_of_original[src]}",
                "",
                "",
            )
        )
    log_frame = pd.DataFrame(records, columns=["line", "policy_no", "problem", "written", "clean"]).sort_values("line", ignore_index=True)
    return messy, log_frame


def write_extract(rows: pd.DataFrame, premium_total_cents: int, path: Path) -> None:
    r"""Write the extract CSV (UTF-8 with BOM, ``\n`` line endings).

    Parameters
    ----------
    rows : pandas.DataFrame
        Data rows with the :data:`HEADERS` columns, all text.
    premium_total_cents : int
        Premium total for the 合计 footer (the system total, before
        copy-paste duplicates).
    path : pathlib.Path
        Output file.
    """
    width = len(HEADERS)
    title = [COMPANY_TITLE, f"统计截止日：{STUDY_DATE}"] + [""] * (width - 2)
    footer = [""] * width
    footer[0] = "合计"
    footer[HEADERS.index("年化保费（元）")] = format_cents(np.array([premium_total_cents]))[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(title)
        writer.writerow(HEADERS)
        writer.writerows(rows[HEADERS].itertuples(index=False, name=None))
        writer.writerow(footer)


def generate(path: Path) -> pd.DataFrame:
    """Generate the sample extract and write it to ``path``.

    Parameters
    ----------
    path : pathlib.Path
        Output CSV file.

    Returns
    -------
    pandas.DataFrame
        Log of the planted data-quality problems (see :func:`plant_messiness`).
    """
    rng = np.random.default_rng(SEED)
    portfolio = draw_portfolio(rng)
    policies = simulate(rng, portfolio)
    rows = to_extract_rows(policies)
    messy, log = plant_messiness(rng, rows)
    total = int(policies["premium_cents"].sum())
    # the 万 rows were rounded to the hundred: their rounded amount is the truth
    for _, entry in log.iterrows():
        if entry["written"].endswith("万"):
            policy = rows["保单号"] == entry["policy_no"]
            old = round(float(rows.loc[policy, "年化保费（元）"].iloc[0]) * 100)
            total += round(float(entry["clean"]) * 100) - old
    write_extract(messy, total, path)
    return log


# --------------------------------------------------------------------------
# --check: read a generated file back and measure it
# --------------------------------------------------------------------------
def _parse_dates(text: pd.Series) -> pd.Series:
    out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"):
        missing = out.isna() & text.ne("")
        out[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    return out


def _parse_premium(text: pd.Series) -> pd.Series:
    clean = text.str.replace("¥", "", regex=False).str.replace(",", "", regex=False)
    wan = clean.str.endswith("万")
    value = pd.to_numeric(clean.str.rstrip("万"), errors="coerce")
    return value.where(~wan, value * 10_000)


def read_extract(path: Path) -> tuple[pd.DataFrame, str, float]:
    """Read a generated extract back into typed columns.

    Parameters
    ----------
    path : pathlib.Path
        CSV written by :func:`write_extract`.

    Returns
    -------
    policies : pandas.DataFrame
        Data rows (footer removed, exact duplicates dropped) with parsed
        dates (``datetime64``) and premiums (float).
    study_date : str
        The 统计截止日 from the title row.
    footer_total : float
        The premium total in the 合计 row.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        title = next(csv.reader(handle))
    study_date = title[1].split("：")[1]
    raw = pd.read_csv(
        path,
        skiprows=1,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    footer = raw["保单号"].eq("合计")
    footer_total = float(raw.loc[footer, "年化保费（元）"].iloc[0])
    policies = raw.loc[~footer].drop_duplicates().reset_index(drop=True)
    for column in ("生效日期", "交至日期", "状态日期", "失效日期", "复效日期"):
        policies[column] = _parse_dates(policies[column])
    policies["年化保费（元）"] = _parse_premium(policies["年化保费（元）"])
    policies["投保年龄"] = policies["投保年龄"].astype(int)
    return policies, study_date, footer_total


def persistency_flags(policies: pd.DataFrame, study_date: str, n_months: int) -> pd.DataFrame:
    """Flag cohort membership and persistence at month ``n_months``.

    Two definitions are computed side by side.  The *grace rule* (used for
    the figures in the README) asks whether the premium due at policy month
    N-1 (the first premium of the year that month N falls in) was paid by the
    end of its 60-day grace: a policy persists if its voluntary-exit date is
    later than issue + (N-1) months + 61 days; the cohort is every policy
    for which that date is on or before the study date.  The *simple rule*
    asks whether the exit date is later than issue + N months, for policies
    issued at least N+1 months before the study date; because a suspension
    starts 61 days after the missed due date, it misses annual payers who never
    paid their 2nd-year premium and so reads several points too high.

    Parameters
    ----------
    policies : pandas.DataFrame
        Output of :func:`read_extract`.
    study_date : str
        ISO study date.
    n_months : int
        13, 25, ...

    Returns
    -------
    pandas.DataFrame
        Indexed like ``policies`` but restricted to regular-premium policies
        other than 犹豫期撤单, 身故, 满期 (and blank status), with boolean
        columns ``cohort``, ``persisted``, ``cohort_simple``,
        ``persisted_simple`` and the float column ``premium``.  The
        voluntary-exit date is 失效日期 for 失效/永久失效/复效 and 状态日期
        for 退保.
    """
    study = pd.Timestamp(study_date)
    base = policies[policies["缴费方式"].ne("趸交") & ~policies["保单状态"].isin(["犹豫期撤单", "身故", "满期", ""])]
    issue = base["生效日期"]
    exit_date = base["状态日期"].where(base["保单状态"].eq("退保"))
    lapsed = base["保单状态"].isin(["失效", "永久失效", "复效"])
    exit_date = exit_date.where(~lapsed, base["失效日期"])

    grace_point = issue + pd.DateOffset(months=n_months - 1) + pd.Timedelta(days=GRACE_DAYS + 1)
    simple_point = issue + pd.DateOffset(months=n_months)
    return pd.DataFrame(
        {
            "cohort": grace_point <= study,
            "persisted": exit_date.isna() | (exit_date > grace_point),
            "cohort_simple": issue + pd.DateOffset(months=n_months + 1) <= study,
            "persisted_simple": exit_date.isna() | (exit_date > simple_point),
            "premium": base["年化保费（元）"],
        }
    )


def _ratio(flags: pd.DataFrame, mask: pd.Series | None = None) -> str:
    """Format count- and premium-basis persistency of a subgroup."""
    sel = flags["cohort"] if mask is None else flags["cohort"] & mask.reindex(flags.index)
    group = flags[sel]
    count = group["persisted"].mean()
    premium = group.loc[group["persisted"], "premium"].sum() / group["premium"].sum()
    return f"{count:.2%} count, {premium:.2%} premium (n={len(group):,})"


def campaign_comparison(policies: pd.DataFrame, study_date: str) -> pd.DataFrame:
    """Voluntary exits per policy-year after the campaign date, by arm.

    Parameters
    ----------
    policies : pandas.DataFrame
        Output of :func:`read_extract`.
    study_date : str
        ISO study date.

    Returns
    -------
    pandas.DataFrame
        Per arm: policies, voluntary exits (lapse or surrender) on or after
        the campaign date, exposure in policy-years and the exit rate; plus
        the share exiting within 12 months of the campaign date.
    """
    study = pd.Timestamp(study_date)
    start = pd.Timestamp(str(CAMPAIGN_DATE))
    arms = policies[policies["教育活动"].ne("")].copy()
    exit_date = arms["状态日期"].where(arms["保单状态"].eq("退保"))
    lapsed = arms["保单状态"].isin(["失效", "永久失效", "复效"])
    exit_date = exit_date.where(~lapsed, arms["失效日期"])
    exit_date = exit_date.where(exit_date >= start)
    other_end = arms["状态日期"].where(arms["保单状态"].isin(["身故", "满期", "犹豫期撤单"]))
    end = exit_date.fillna(other_end).fillna(study).clip(upper=study)
    arms["exposure"] = (end - start).dt.days / 365.25
    arms["exit"] = exit_date.notna()
    arms["exit_12m"] = exit_date < start + pd.DateOffset(months=12)
    table = arms.groupby("教育活动").agg(
        policies=("exit", "size"),
        exits=("exit", "sum"),
        policy_years=("exposure", "sum"),
        exit_12m=("exit_12m", "mean"),
    )
    table["rate"] = table["exits"] / table["policy_years"]
    return table


def check(path: Path) -> None:
    """Print the figures quoted in ``data/README.md`` for a generated file.

    Parameters
    ----------
    path : pathlib.Path
        CSV written by :func:`generate`.
    """
    policies, study_date, footer_total = read_extract(path)
    print(f"file: {path}  ({path.stat().st_size:,} bytes)")
    print(
        f"study date: {study_date}; data rows after dropping exact duplicates: "
        f"{len(policies):,}; unique 保单号: {policies['保单号'].nunique():,}"
    )
    print(f"合计 premium: {footer_total:,.2f}; sum of rows: {policies['年化保费（元）'].sum():,.2f}")
    print("\nstatus counts (blank = planted blank status):")
    counts = policies["保单状态"].value_counts()
    for name in [*STATUS_ORDER, ""]:
        print(f"  {name or '(blank)':<8} {counts.get(name, 0):>6,}")

    print("\npersistency (excl. 趸交, 犹豫期撤单, 身故, 满期; grace rule):")
    flags = {n_months: persistency_flags(policies, study_date, n_months) for n_months in (13, 25)}
    for n_months, fl in flags.items():
        simple = fl.loc[fl["cohort_simple"], "persisted_simple"].mean()
        print(f"  P{n_months}: {_ratio(fl)}; simple rule (exit > issue + {n_months} months): {simple:.2%} count")

    yne = (
        policies["投保年龄"].between(*YOUNG_NEW_EARNER_AGES)
        & policies["年收入"].isin(YOUNG_NEW_EARNER_INCOMES)
        & policies["首单客户"].eq("是")
    )
    f13 = flags[13]
    print(f"\nyoung new earners: {yne.sum():,} policies ({yne.mean():.1%})")
    print(f"  P13 young new earners: {_ratio(f13, yne)}")
    print(f"  P13 everyone else:     {_ratio(f13, ~yne)}")
    lowp = policies["险种名称"].eq(PRODUCTS["LOWP"][1])
    first_lowp = policies.loc[lowp, "生效日期"].min()
    print(f"  {PRODUCTS['LOWP'][1]}: {lowp.sum():,} policies, first issued {first_lowp:%Y-%m-%d}")
    launched = policies["生效日期"] >= pd.Timestamp(str(LOW_PREMIUM_LAUNCH))
    print(f"  P13 young new earners issued from launch, {PRODUCTS['LOWP'][1]}: {_ratio(f13, yne & launched & lowp)}")
    print(f"  P13 young new earners issued from launch, other products: {_ratio(f13, yne & launched & ~lowp)}")

    print("\nP13 by enrolment flag (naive, NOT causal: enrolment is confounded):")
    for column in ("短信提醒", "灵活缴费", "交费方式"):
        for value in sorted(policies[column].unique()):
            print(f"  {column}={value}: {_ratio(f13, policies[column].eq(value))}")
    print("\nP13 by issue year:")
    year = policies["生效日期"].dt.year
    for value in sorted(year[f13.index[f13["cohort"]]].unique()):
        print(f"  {value}: {_ratio(f13, year.eq(value))}")

    print("\neducation campaign (voluntary exits from 2024-03-01):")
    table = campaign_comparison(policies, study_date)
    print(table.to_string(float_format=lambda v: f"{v:,.4f}"))
    ratio = table.loc["实验组", "rate"] / table.loc["对照组", "rate"]
    half_width = 1.96 * np.sqrt((1 / table["exits"]).sum())
    low, high = ratio * np.exp(-half_width), ratio * np.exp(half_width)
    print(f"  rate ratio 实验组 / 对照组: {ratio:.3f} (95% CI {low:.3f}-{high:.3f}; true HR {HR_CAMPAIGN})")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV")
    parser.add_argument(
        "--check",
        nargs="?",
        const=True,
        default=False,
        metavar="PATH",
        help="read a generated file (default: --out) and print its figures",
    )
    args = parser.parse_args(argv)
    if args.check:
        check(args.out if args.check is True else Path(args.check))
        return 0
    log = generate(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    print("planted data-quality problems (1-based file line numbers):")
    print(log.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
