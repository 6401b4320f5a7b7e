"""Canonical policy schema: column names, status vocabulary and header aliases.

Every other module imports its column names from here, so a rename happens in
one place. The vocabulary follows ``shared/DOMAIN.md`` §1 and §3.
"""

from __future__ import annotations

from typing import Final

# --- canonical columns -------------------------------------------------------
POLICY_ID: Final = "policy_id"
COVERAGE: Final = "coverage"
PRODUCT: Final = "product"
ISSUE_DATE: Final = "issue_date"
STATUS: Final = "status"
STATUS_DATE: Final = "status_date"
LAPSE_DATE: Final = "lapse_date"
PAID_TO_DATE: Final = "paid_to_date"
REINSTATEMENT_DATE: Final = "reinstatement_date"
OBSERVED_TO: Final = "observed_to"
ANNUAL_PREMIUM: Final = "annual_premium"
SUM_ASSURED: Final = "sum_assured"
PAYMENT_FREQUENCY: Final = "payment_frequency"
AUTO_DEBIT: Final = "auto_debit"
WAIVER: Final = "waiver"
CHANNEL: Final = "channel"
AGE: Final = "age"
BIRTH_DATE: Final = "birth_date"
ID_NUMBER: Final = "id_number"
GENDER: Final = "gender"
INCOME: Final = "income"
OCCUPATION: Final = "occupation"
BRANCH: Final = "branch"
AGENT: Final = "agent"
NAME: Final = "name"
PHONE: Final = "phone"
STATUS_RAW: Final = "status_source"
SOURCE_ROW: Final = "source_row"

REQUIRED_COLUMNS: Final = (POLICY_ID, ISSUE_DATE, STATUS)
DATE_COLUMNS: Final = (
    ISSUE_DATE,
    STATUS_DATE,
    LAPSE_DATE,
    PAID_TO_DATE,
    REINSTATEMENT_DATE,
    BIRTH_DATE,
)
#: Columns that identify a person: masked in every export unless the user opts out.
PERSONAL_COLUMNS: Final = (NAME, PHONE, ID_NUMBER)

#: Every canonical column a source header can be mapped to, in display order.
CANONICAL_COLUMNS: Final = (
    POLICY_ID,
    COVERAGE,
    PRODUCT,
    ISSUE_DATE,
    STATUS,
    STATUS_DATE,
    LAPSE_DATE,
    PAID_TO_DATE,
    REINSTATEMENT_DATE,
    ANNUAL_PREMIUM,
    SUM_ASSURED,
    PAYMENT_FREQUENCY,
    AUTO_DEBIT,
    WAIVER,
    CHANNEL,
    BRANCH,
    AGENT,
    AGE,
    BIRTH_DATE,
    GENDER,
    INCOME,
    OCCUPATION,
    ID_NUMBER,
    NAME,
    PHONE,
)

# --- contract terms (defaults; a mapping preset may set its own, DOMAIN.md §1) -------
#: Grace period after a missed due date, in days (宽限期).
GRACE_DAYS: Final = 60
#: Reinstatement window after suspension, in years (复效期): how long a lapsed policy may still be reinstated.
REINSTATEMENT_YEARS: Final = 2
#: Free-look period after issue, in days (犹豫期; at least 15 for personal life and health policies over a year in China):
#: a free-look cancellation without a status date is dated at issue + this.
FREE_LOOK_DAYS: Final = 15

# --- statuses ----------------------------------------------------------------
IN_FORCE: Final = "in_force"
GRACE: Final = "grace"
APL: Final = "apl"
LAPSED: Final = "lapsed"
REINSTATED: Final = "reinstated"
SURRENDERED: Final = "surrendered"
TERMINATED_AFTER_LAPSE: Final = "terminated_after_lapse"
FREE_LOOK_CANCELLED: Final = "free_look_cancelled"
DEATH_CLAIM: Final = "death_claim"
MATURED: Final = "matured"
PAID_UP: Final = "paid_up"
UNMAPPED: Final = "unmapped"

STATUSES: Final = (
    IN_FORCE,
    GRACE,
    APL,
    LAPSED,
    REINSTATED,
    SURRENDERED,
    TERMINATED_AFTER_LAPSE,
    FREE_LOOK_CANCELLED,
    DEATH_CLAIM,
    MATURED,
    PAID_UP,
    UNMAPPED,
)
#: Statuses under which the policy is still on the books and premiums are expected.
ACTIVE_STATUSES: Final = frozenset({IN_FORCE, GRACE, APL, REINSTATED, PAID_UP})
#: The default studied event: all voluntary exits (DOMAIN.md §1).
VOLUNTARY_EXITS: Final = frozenset({LAPSED, SURRENDERED, TERMINATED_AFTER_LAPSE})
#: Statuses that end a policy's exposure, so they can be studied as events.
EXIT_STATUSES: Final = (LAPSED, SURRENDERED, TERMINATED_AFTER_LAPSE, DEATH_CLAIM, MATURED, FREE_LOOK_CANCELLED)

#: Source status words → canonical status. Keys are compared after
#: :func:`analysis.ingest.parsing.normalise_key` (lower case, no spaces, half-width).
STATUS_ALIASES: Final[dict[str, str]] = {
    # in force
    "有效": IN_FORCE,
    "缴费有效": IN_FORCE,
    "交费有效": IN_FORCE,
    "正常": IN_FORCE,
    "正常有效": IN_FORCE,
    "保单有效": IN_FORCE,
    "inforce": IN_FORCE,
    "in-force": IN_FORCE,
    "in_force": IN_FORCE,
    "active": IN_FORCE,
    "premiumpaying": IN_FORCE,
    # grace
    "宽限期": GRACE,
    "宽限期内": GRACE,
    "宽限": GRACE,
    "grace": GRACE,
    "ingrace": GRACE,
    # automatic premium loan
    "垫交": APL,
    "自动垫交": APL,
    "垫缴": APL,
    "apl": APL,
    # lapsed / suspended
    "失效": LAPSED,
    "中止": LAPSED,
    "效力中止": LAPSED,
    "保单失效": LAPSED,
    "lapsed": LAPSED,
    "lapse": LAPSED,
    "suspended": LAPSED,
    # reinstated
    "复效": REINSTATED,
    "已复效": REINSTATED,
    "reinstated": REINSTATED,
    # surrendered
    "退保": SURRENDERED,
    "已退保": SURRENDERED,
    "解约": SURRENDERED,
    "解除": SURRENDERED,
    "退保终止": SURRENDERED,
    "surrender": SURRENDERED,
    "surrendered": SURRENDERED,
    # terminated after lapse
    "永久失效": TERMINATED_AFTER_LAPSE,
    "中止满2年解除": TERMINATED_AFTER_LAPSE,
    "失效终止": TERMINATED_AFTER_LAPSE,
    "terminated_after_lapse": TERMINATED_AFTER_LAPSE,
    # free-look cancellation
    "犹豫期撤单": FREE_LOOK_CANCELLED,
    "撤单": FREE_LOOK_CANCELLED,
    "犹豫期退保": FREE_LOOK_CANCELLED,
    "free_look_cancelled": FREE_LOOK_CANCELLED,
    "freelook": FREE_LOOK_CANCELLED,
    # death / claim
    "身故": DEATH_CLAIM,
    "理赔终止": DEATH_CLAIM,
    "身故终止": DEATH_CLAIM,
    "死亡": DEATH_CLAIM,
    "death": DEATH_CLAIM,
    "claim": DEATH_CLAIM,
    "death_claim": DEATH_CLAIM,
    # matured
    "满期": MATURED,
    "期满终止": MATURED,
    "满期终止": MATURED,
    "matured": MATURED,
    "maturity": MATURED,
    # paid up
    "交清": PAID_UP,
    "缴清": PAID_UP,
    "减额交清": PAID_UP,
    "缴费期满": PAID_UP,
    "交费期满": PAID_UP,
    "paid_up": PAID_UP,
    "paidup": PAID_UP,
}
# The canonical names themselves are always accepted.
STATUS_ALIASES.update({s: s for s in STATUSES if s != UNMAPPED})

# --- header aliases ----------------------------------------------------------
#: Canonical column → known source headers (Chinese and English), best first.
HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    POLICY_ID: (
        "保单号",
        "保单号码",
        "保单合同号",
        "合同号",
        "保险合同号",
        "policy_id",
        "policy_no",
        "policy_number",
        "policy.id",
        "policy id",
        "policyno",
    ),
    COVERAGE: ("险种代码", "险种编码", "coverage", "coverage_code", "plan_code"),
    PRODUCT: ("险种名称", "产品名称", "产品", "险种", "product", "product_name", "plan"),
    ISSUE_DATE: (
        "生效日期",
        "承保日期",
        "签单日期",
        "投保日期",
        "保单生效日",
        "生效日",
        "issue_date",
        "issue.date",
        "issue date",
        "effective_date",
        "inception_date",
    ),
    STATUS: (
        "保单状态",
        "状态",
        "保单效力状态",
        "合同状态",
        "status",
        "policy_status",
        "termination.cause",
        "lapse.reason",
    ),
    STATUS_DATE: (
        "状态日期",
        "状态变更日期",
        "终止日期",
        "退保日期",
        "status_date",
        "termination_date",
        "termination.date",
        "exit_date",
    ),
    LAPSE_DATE: ("失效日期", "中止日期", "效力中止日期", "lapse_date", "suspension_date"),
    PAID_TO_DATE: ("交至日期", "缴至日期", "交费至日期", "paid_to_date", "paid_to", "ptd"),
    REINSTATEMENT_DATE: ("复效日期", "reinstatement_date", "reinstated_date"),
    ANNUAL_PREMIUM: (
        "年化保费",
        "期交保费",
        "标准保费",
        "保费",
        "年交保费",
        "年缴保费",
        "期缴保费",
        "每期保费",
        "annual_premium",
        "annual.premium",
        "premium",
        "annualised_premium",
        "annualized_premium",
    ),
    SUM_ASSURED: ("基本保额", "保额", "保险金额", "sum_assured", "face_amount", "face.amount", "sum_insured"),
    PAYMENT_FREQUENCY: (
        "缴费方式",
        "交费间隔",
        "交费频率",
        "缴费频率",
        "缴费间隔",
        "payment_frequency",
        "premium_frequency",
        "frequency",
    ),
    AUTO_DEBIT: (
        "交费方式",
        "收费途径",
        "自动转账",
        "自动扣款",
        "银行代扣",
        "auto_debit",
        "pay_method",
        "payment_method",
    ),
    WAIVER: ("豁免保费", "保费豁免", "豁免", "豁免标志", "waiver", "premium_waiver", "waiver_of_premium"),
    CHANNEL: ("销售渠道", "渠道", "channel", "distribution_channel", "sales_channel"),
    BRANCH: ("管理机构", "分公司", "机构", "branch", "branch_code", "office"),
    AGENT: ("代理人工号", "代理人", "业务员工号", "网点", "agent", "agent_id", "agent_code"),
    AGE: ("投保年龄", "被保人年龄", "年龄", "age", "issue_age", "underwriting.age", "underwriting_age"),
    BIRTH_DATE: ("出生日期", "被保人出生日期", "birth_date", "date_of_birth", "dob"),
    GENDER: ("性别", "被保人性别", "gender", "sex"),
    INCOME: ("年收入", "收入", "家庭年收入", "income", "annual_income"),
    OCCUPATION: ("职业", "职业类别", "occupation", "occupation_class"),
    ID_NUMBER: ("身份证号", "证件号码", "身份证号码", "证件号", "id_number", "national_id"),
    NAME: ("投保人姓名", "被保人姓名", "投保人", "姓名", "客户姓名", "name", "customer_name", "insured_name"),
    PHONE: ("手机号", "联系电话", "手机号码", "电话", "phone", "mobile", "telephone"),
}

#: Source payment-frequency words → months between premiums (0 = single premium).
FREQUENCY_ALIASES: Final[dict[str, int]] = {
    "趸交": 0,
    "趸缴": 0,
    "一次交清": 0,
    "一次性": 0,
    "single": 0,
    "unique": 0,
    "月交": 1,
    "月缴": 1,
    "monthly": 1,
    "季交": 3,
    "季缴": 3,
    "quarterly": 3,
    "半年交": 6,
    "半年缴": 6,
    "semiannual": 6,
    "semi-annual": 6,
    "half-yearly": 6,
    "年交": 12,
    "年缴": 12,
    "annual": 12,
    "yearly": 12,
    "0": 0,
    "1": 1,
    "3": 3,
    "6": 6,
    "12": 12,
}

GENDER_ALIASES: Final[dict[str, str]] = {
    "男": "M",
    "女": "F",
    "m": "M",
    "f": "F",
    "male": "M",
    "female": "F",
    "1": "M",
    "2": "F",
}

#: Yes / no words (a waiver of premium in force, and the like).
YES_NO_ALIASES: Final[dict[str, bool]] = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "有": True,
    "无": False,
}

#: Words meaning "premium collected by automatic bank debit" (True) or not (False).
AUTO_DEBIT_ALIASES: Final[dict[str, bool]] = {
    "银行代扣": True,
    "自动转账": True,
    "自动扣款": True,
    "代扣": True,
    "银行转账": True,
    "是": True,
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "auto": True,
    "autodebit": True,
    "auto_debit": True,
    "bankdebit": True,
    "否": False,
    "n": False,
    "no": False,
    "false": False,
    "0": False,
    "现金": False,
    "柜面现金": False,
    "柜面": False,
    "网银转账": False,
    "网银": False,
    "cash": False,
    "online": False,
    "manual": False,
}

#: First-cell words that mark a summary or note row below the data.
FOOTER_MARKERS: Final = ("合计", "总计", "小计", "注", "说明", "备注", "制表", "total", "note")
#: Words in a title row that announce the study date.
STUDY_DATE_MARKERS: Final = ("统计截止日", "统计截止日期", "截止日期", "数据截止", "截至", "截止日", "as of", "study date")
