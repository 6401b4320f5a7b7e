"""Builders of messy extracts like the ones analysts really receive, with the expected account.

Each builder returns the file's bytes; ``EXPECTED`` says what the door must make of
the messy workbook, row by row (spreadsheet row numbers).
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

HEADER = [
    "保单号",
    "险种名称",
    "生效日期",
    "保单状态",
    "状态日期",
    "复效日期",
    "年化保费（元）",
    "缴费方式",
    "性别",
    "销售渠道",
    "备注",
    "备注",
]

# (policy id, product, issue date cell, status, status date, reinstatement, premium, frequency, gender, channel, note, note)
ROWS: list[list[object]] = [
    ["886100000000000001", "终身寿险", "2020-01-15", "有效", None, None, "3,231.46", "年交", "男", "个险", "", ""],  # row 4 accepted
    ["886100000000000002", "终身寿险", "2020/2/3", "失效", "2021/4/5", None, "¥3231", "月交", "女", "银保", "", ""],  # row 5 accepted
    ["886100000000000003", "定期寿险", "2020年3月6日", "退保", "2022年1月2日", None, "0.5万", "季交", "M", "电销", "", ""],  # 6 accepted
    ["886100000000000004", "定期寿险", "20200407", "效力中止", "20210608", None, "1200", "半年交", "F", "经代", "", ""],  # 7 accepted
    [
        "886100000000000005",
        "年金保险",
        43961,
        "身故",
        dt.datetime(2023, 5, 1),
        None,
        20000,
        "趸交",
        "1",
        "银保",
        "",
        "",
    ],  # 8 accepted (serial 43961 = 2020-05-10)
    [
        "886100000000000006",
        "年金保险",
        dt.datetime(2020, 6, 1),
        "有效",
        None,
        "2021-09-01",
        800,
        "年交",
        "2",
        "互联网",
        "",
        "",
    ],  # 9 repaired: status → reinstated
    [
        "886100000000000007",
        "终身寿险",
        "2020-07-01",
        "有效",
        None,
        None,
        "-300",
        "年交",
        "男",
        "个险",
        "",
        "",
    ],  # 10 repaired: negative premium
    ["886100000000000008", "终身寿险", "2020-08-01", "有效", None, None, 500, "年交", "X", "个险", "", ""],  # 11 repaired: unknown gender
    [None, None, None, None, None, None, None, None, None, None, None, None],  # 12 blank row: skipped
    ["886100000000000009", "终身寿险", "2023-13-45", "有效", None, None, 500, "年交", "男", "个险", "", ""],  # 13 rejected: bad date
    ["886100000000000010", "终身寿险", "2020-09-01", None, None, None, 500, "年交", "男", "个险", "", ""],  # 14 rejected: no status
    [
        "886100000000000011",
        "终身寿险",
        "2020-10-01",
        "失效",
        "2019-01-01",
        None,
        500,
        "年交",
        "男",
        "个险",
        "",
        "",
    ],  # 15 rejected: status date before issue
    [
        "886100000000000012",
        "终身寿险",
        "2025-01-01",
        "有效",
        None,
        None,
        500,
        "年交",
        "男",
        "个险",
        "",
        "",
    ],  # 16 rejected: after the study date
    [
        "886100000000000001",
        "终身寿险",
        "2020-01-15",
        "有效",
        None,
        None,
        "3,231.46",
        "年交",
        "男",
        "个险",
        "",
        "",
    ],  # 17 rejected: exact copy of row 4
    [
        "886100000000000002",
        "终身寿险",
        "2020/2/3",
        "有效",
        None,
        None,
        "¥3231",
        "月交",
        "女",
        "银保",
        "",
        "",
    ],  # 18 rejected: conflicts with row 5
    [
        "８８６１０００００００００００００１３",
        "两全保险",
        "２０２０－１１－０１",
        "满期",
        "2024-05-01",
        None,
        "１，０００",
        "年交",
        "女",
        "个险",
        "",
        "",
    ],  # 19 accepted (full-width)
    ["合计", None, None, None, None, None, 31231.46, None, None, None, None, None],  # 20 skipped
    ["注：本表由系统自动生成", None, None, None, None, None, None, None, None, None, None, None],  # 21 skipped
]

EXPECTED = {
    "rows_read": 15,
    "accepted": 6,
    "repaired": 3,
    "rejected": 6,
    "skipped": [1, 2, 3, 12, 20, 21],
    "rejected_rows": [13, 14, 15, 16, 17, 18],
    "repaired_rows": [9, 10, 11],
    "study_date": "2024-06-30",
}


def messy_workbook(*, date1904: bool = False, extra_sheet: bool = True) -> bytes:
    """A workbook with a title row, merged group headers, mixed dates, a 合计 row and more."""
    book = openpyxl.Workbook()
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet.title = "保单明细"
    sheet.append(["某某人寿 个人保单明细", None, None, "统计截止日：2024年6月30日"])
    sheet.append(["基本信息", None, None, "状态信息", None, None, "缴费信息", None, "客户信息", None, None, None])
    sheet.merge_cells("A2:C2")
    sheet.merge_cells("D2:F2")
    sheet.merge_cells("G2:H2")
    sheet.merge_cells("I2:L2")
    sheet.append(HEADER)
    for row in ROWS:
        cells = list(row)
        if date1904 and isinstance(cells[2], int):
            cells[2] = cells[2] - 1462  # the same day as a 1904-system serial
        sheet.append(cells)
    if extra_sheet:
        other = book.create_sheet("说明")
        other.append(["本工作簿第一张表为保单明细"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def messy_csv(*, encoding: str = "gb18030") -> bytes:
    """The messy workbook's first sheet as a CSV in ``encoding`` (dates as text)."""
    lines = ["某某人寿 个人保单明细,,,统计截止日：2024-06-30" + "," * 8, "基本信息,,,状态信息,,,缴费信息,,客户信息,,,", ",".join(HEADER)]
    for row in ROWS:
        cells = []
        for value in row:
            if value is None:
                cells.append("")
            elif isinstance(value, dt.datetime):
                cells.append(value.strftime("%Y-%m-%d"))
            else:
                text = str(value)
                cells.append(f'"{text}"' if "," in text or "，" in text else text)
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def mangled_ids_csv() -> bytes:
    """A CSV whose 20-digit policy numbers went through Excel: 15 digits then zeros, or E-notation."""
    lines = ["保单号,生效日期,保单状态"]
    lines += [f"8611234567890{i:02d}00000,2020-01-{i + 1:02d},有效" for i in range(10)]
    lines.append("8.61123456789012E+19,2020-02-01,有效")
    return "\n".join(lines).encode("utf-8")


def mangled_ids_workbook() -> bytes:
    """A workbook whose 20-digit policy numbers are number cells (Excel kept 15 digits)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["保单号", "生效日期", "保单状态"])
    for i in range(10):
        sheet.append([float(f"86112345678901{i}") * 1e5, dt.datetime(2020, 1, i + 1), "有效"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: Headers of :func:`every_problem_csv` (the preset duration column last).
EVERY_PROBLEM_HEADER = "保单号,生效日期,保单状态,状态日期,复效日期,年交保费,保额,投保年龄,缴费方式,自动扣款,豁免,性别,年收入,交至日期,期限"


def every_problem_csv() -> bytes:
    """A CSV with one row for every row problem the door knows (but Excel's cut IDs and the coverage grain).

    Read it with the settings ``duration_column = "期限"`` and ``study_date = "2024-06-30"``;
    each row's comment names the problem it carries (CSV line numbers: the title is line 1).
    """
    ok = "2020-01-01,有效,,,1000,50000,30,年交,是,否,男,60000,,"
    lines = [
        "某某人寿 保单明细",  # above the header
        EVERY_PROBLEM_HEADER,  # header row
        f"P01,{ok}",
        f",{ok}",  # missing_required.policy_id
        "P03,,有效,,,1000,50000,30,年交,是,否,男,60000,,",  # missing_required.issue_date
        "P04,2020-01-01,,,,1000,50000,30,年交,是,否,男,60000,,",  # missing_required.status
        "P05,2023-13-45,有效,,,1000,50000,30,年交,是,否,男,60000,,",  # invalid_date.not_a_date
        "P06,1700-01-01,有效,,,1000,50000,30,年交,是,否,男,60000,,",  # invalid_date.outside_range
        "P07,2020-01-01,退保,someday,,1000,50000,30,年交,是,否,男,60000,,",  # invalid_date.not_a_date_blanked
        "P08,2020-01-01,退保,1700-01-01,,1000,50000,30,年交,是,否,男,60000,,",  # invalid_date.outside_range_blanked
        "P09,2020-01-01,有效,,,abc,-5,30,年交,是,否,男,60000,,",  # invalid_number.amount, negative_amount
        "P10,2020-01-01,有效,,,1000,50000,old,年交,是,否,男,60000,,",  # invalid_number.age
        "P11,2020-01-01,有效,,,1000,50000,150,年交,是,否,男,60000,,",  # implausible_age
        "P12,2020-01-01,有效,,,1000,50000,30,每周,偶尔,也许,未知,60000,,",  # unknown_code × 4
        "P13,2020-01-01,有效,,,1000,50000,30,年交,是,否,男,plenty,,",  # invalid_number.income
        "P14,2020-01-01,退保,,,1000,50000,30,年交,是,否,男,60000,,forever",  # invalid_number.duration, exit_without_date
        "P15,2020-01-01,退保,2019-06-01,,1000,50000,30,年交,是,否,男,60000,,",  # date_order.status_date
        "P16,2020-01-01,失效,2021-03-01,2019-06-01,1000,50000,30,年交,是,否,男,60000,,",  # date_order.reinstatement_date
        "P17,2020-01-01,有效,,2022-01-01,1000,50000,30,年交,是,否,男,60000,,",  # status_corrected, reinstated_without_lapse
        "P18,2025-01-01,有效,,,1000,50000,30,年交,是,否,男,60000,,",  # date_after_study.issue_date
        "P19,2020-01-01,退保,2025-01-01,,1000,50000,30,年交,是,否,男,60000,,",  # date_after_study.status_date
        f"P01,{ok}",  # duplicate
        "P01,2020-01-01,退保,2021-01-01,,1000,50000,30,年交,是,否,男,60000,,",  # conflicting_duplicate.policy
        f"P22,{ok},extra,fields",  # ragged_row
        ",,,,,,,,,,,,,,",  # blank row
        "合计,,,,,,,,,,,,,,",  # footer row
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def dated_exits_csv() -> bytes:
    """Exits without a status date, dated by rule or not, and dates after the study date (issue [2/7]).

    Read it with ``study_date = "2024-06-30"``; again with the exit-dating rules switched off
    (``date_exits_at_paid_to``, ``date_free_look_at_issue``, ``date_lapses_from_paid_to`` false),
    when the rows marked "off" give the variant named there. CSV lines: the header is line 1.
    """
    lines = [
        "保单号,生效日期,保单状态,失效日期,复效日期,交至日期",
        "D01,2020-01-01,退保,,,2021-01-01",  # exit_dated.paid_to (off: exit_without_date.paid_to_rule_off)
        "D02,2020-01-01,犹豫期撤单,,,",  # exit_dated.free_look (off: exit_without_date.free_look_rule_off)
        "D03,2020-01-01,失效,,,2021-01-01",  # exit_dated.lapse (off: exit_without_date.lapse_rule_off)
        "D04,2020-01-01,复效,,2022-01-01,2021-01-01",  # exit_dated.reinstated (off: reinstated_without_lapse)
        "D05,2020-01-01,失效,,,",  # exit_without_date.no_lapse_or_paid_to
        "D06,2020-01-01,身故,,,2019-01-01",  # exit_without_date.paid_to_before_issue
        "D07,2020-01-01,失效,2025-01-01,,",  # date_after_study.lapse_date
        "D08,2020-01-01,复效,2021-03-01,2025-01-01,",  # date_after_study.reinstatement_date
        "D09,2024-01-01,满期,,,2024-12-01",  # exit_dated.paid_to, date_after_study.status_date_derived
        "D10,2023-01-01,失效,,,2024-06-01",  # exit_dated.lapse, date_after_study.lapse_date_derived
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def conflicting_coverages_csv() -> bytes:
    """Two rows of one policy and coverage that disagree: a conflicting duplicate at the grain policy+coverage."""
    lines = [
        "保单号,险种代码,生效日期,保单状态,状态日期",
        "P1,A,2020-01-01,有效,",
        "P1,B,2020-01-01,有效,",
        "P1,A,2020-01-01,退保,2021-01-01",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
