"""The translation catalogue: every label the UI shows, in 中文 and English.

``t(key, **params)`` looks a key up in the session's language. A key missing
from the catalogue is a bug: tests check that every key used by the pages
exists in both languages.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from ui.state import LANGUAGE

LANGUAGES: Final = {"zh": "中文", "en": "English"}

CATALOGUE: Final[dict[str, dict[str, str]]] = {
    # app frame
    "app.title": {"zh": "失效保单洞察 LapseLens", "en": "LapseLens 失效保单洞察"},
    "app.language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "app.dataset": {"zh": "当前数据集", "en": "Active data set"},
    "app.dataset_line": {
        "zh": "{name}：{rows:,} 张保单，统计截止日 {study_date}",
        "en": "{name}: {rows:,} policies, study date {study_date}",
    },
    "app.sample_name": {"zh": "内置样例数据", "en": "Bundled sample"},
    "app.signed_in": {"zh": "已登录：{user}", "en": "Signed in as {user}"},
    "app.sign_out": {"zh": "退出登录", "en": "Sign out"},
    "app.sign_in_needed": {"zh": "请先登录以使用 LapseLens。", "en": "Please sign in to use LapseLens."},
    "app.sign_in": {"zh": "登录", "en": "Sign in"},
    "nav.data": {"zh": "数据导入", "en": "Data"},
    "nav.cohorts": {"zh": "分群失效率", "en": "Cohort explorer"},
    # cohort explorer
    "cohort.title": {"zh": "分群失效率分析", "en": "Cohort explorer: lapse rates by cohort"},
    "cohort.caption": {
        "zh": "按暴露数计算的失效率（非“当前失效保单占比”），附 95% 置信区间、有限波动可信度与实际/预期比。",
        "en": "Exposure-based lapse rates (not the share currently lapsed), with 95 % intervals, limited-fluctuation credibility and actual-to-expected.",
    },
    "cohort.named": {"zh": "命名分群（可编辑）", "en": "Named cohort (editable)"},
    "cohort.named_help": {
        "zh": "用 JSON 定义一个可读的筛选条件；条件之间为“且”。内置“刚入职场的年轻客户”。",
        "en": "A readable filter in JSON; conditions are combined with AND. Ships with “young new earners”.",
    },
    "cohort.named_definition": {"zh": "分群定义", "en": "Definition"},
    "cohort.named_reads": {"zh": "{name}：{text}", "en": "{name}: {text}"},
    "cohort.named_invalid": {"zh": "分群定义有误，已使用内置定义：{message}", "en": "The definition is not valid; using the built-in one: {message}"},
    "cohort.named_missing": {
        "zh": "当前数据缺少“{name}”所需的列：{columns}，该分群不可用。",
        "en": "This data set lacks the columns “{name}” needs ({columns}); the cohort is not available.",
    },
    "cohort.by1": {"zh": "分组维度一", "en": "Group by"},
    "cohort.by2": {"zh": "分组维度二（可选）", "en": "Then by (optional)"},
    "cohort.none": {"zh": "（无）", "en": "(none)"},
    "cohort.period": {"zh": "期间口径", "en": "Period basis"},
    "cohort.basis": {"zh": "暴露口径", "en": "Exposure basis"},
    "cohort.events": {"zh": "计入的事件", "en": "Events counted"},
    "cohort.weight": {"zh": "加权方式", "en": "Weighting"},
    "cohort.weight_count": {"zh": "按件数", "en": "Policy count"},
    "cohort.filters": {"zh": "筛选与预期基准", "en": "Filters and expected basis"},
    "cohort.filter_column": {"zh": "筛选列", "en": "Filter on"},
    "cohort.filter_values": {"zh": "保留的取值", "en": "Keep values"},
    "cohort.age_edges": {"zh": "年龄段分界（逗号分隔）", "en": "Age-band edges (comma-separated)"},
    "cohort.age_edges_invalid": {"zh": "年龄段分界须为数字，已使用默认值。", "en": "Age-band edges must be numbers; using the defaults."},
    "cohort.expected_rate": {"zh": "预期年失效率（统一假设，0 表示不计算 A/E）", "en": "Expected annual rate (flat; 0 = no A/E)"},
    "cohort.expected_table": {
        "zh": "或上传预期失效率表（CSV：period, expected_rate，可加分组列如 channel）",
        "en": "Or upload an expected basis (CSV: period, expected_rate, optionally a grouping column such as channel)",
    },
    "cohort.no_events": {"zh": "请至少选择一种事件。", "en": "Choose at least one event."},
    "cohort.empty": {"zh": "所选范围内没有暴露数据。", "en": "No exposure in the chosen scope."},
    "cohort.policies_used": {"zh": "纳入保单", "en": "Policies studied"},
    "cohort.share_used": {"zh": "筛选后保留 {share:.1%} 的保单。", "en": "{share:.1%} of the policies remain after the filters."},
    "cohort.total_events": {"zh": "事件数", "en": "Events"},
    "cohort.total_exposure": {"zh": "暴露数", "en": "Exposure"},
    "cohort.overall_rate": {"zh": "整体失效率", "en": "Overall rate"},
    "cohort.rest": {"zh": "其他客户", "en": "Everyone else"},
    "cohort.totals": {"zh": "各分群合计（全部期间）", "en": "Totals by cohort (all periods)"},
    "cohort.detail": {"zh": "分群 × 期间明细", "en": "Cohort × period detail"},
    "cohort.low_credibility_note": {
        "zh": "可信度 < 0.5（事件数少于 271）的单元格标记为低可信度；完全可信需 1,082 个事件（90% 概率误差在 5% 以内）。",
        "en": "Cells with credibility < 0.5 (fewer than 271 events) are marked low-credibility; full credibility needs 1,082 events (90 % probability of being within 5 %).",
    },
    "cohort.download": {"zh": "下载失效率表（Excel）", "en": "Download the rate table (Excel)"},
    "cohort.meaning.policy_year": {
        "zh": "失效率 = 事件数 ÷ 暴露数：保单年度内的年失效概率（期初暴露口径下，发生事件的保单计满整年）。",
        "en": "Rate = events ÷ exposure: the annual lapse probability by policy year (on initial exposure an exiting policy counts the whole year).",
    },
    "cohort.meaning.policy_month": {
        "zh": "失效率 = 事件数 ÷ 暴露数：保单月度内的月失效概率。",
        "en": "Rate = events ÷ exposure: the monthly lapse probability by policy month.",
    },
    "cohort.meaning.calendar_year": {
        "zh": "失效率 = 事件数 ÷ 暴露数：自然年度内的年失效概率。",
        "en": "Rate = events ÷ exposure: the annual lapse probability by calendar year.",
    },
    "period.policy_year": {"zh": "保单年度", "en": "Policy year"},
    "period.policy_month": {"zh": "保单月度", "en": "Policy month"},
    "period.calendar_year": {"zh": "自然年度", "en": "Calendar year"},
    "basis.initial": {"zh": "期初暴露", "en": "Initial exposure"},
    "basis.central": {"zh": "中心暴露", "en": "Central exposure"},
    # data page
    "data.title": {"zh": "数据导入与质量核对", "en": "Data: import and quality account"},
    "data.caption": {
        "zh": "上传保单明细（CSV、Excel 或 Parquet），核对字段映射；每一行都有去向：接受、修复或拒绝。",
        "en": "Upload a policy extract (CSV, Excel or Parquet) and check the mapping; every row is accounted for: accepted, repaired or rejected.",
    },
    "data.upload": {"zh": "上传保单明细", "en": "Upload a policy extract"},
    "data.upload_help": {
        "zh": "支持 CSV（UTF-8、带 BOM、GBK/GB18030）、.xlsx、.xls、Parquet；单个文件上限 {limit} MB。",
        "en": "CSV (UTF-8, with BOM, GBK/GB18030), .xlsx, .xls or Parquet; at most {limit} MB per file.",
    },
    "data.preset": {"zh": "映射方案", "en": "Mapping preset"},
    "data.preset_auto": {"zh": "自动识别表头", "en": "Recognise headers automatically"},
    "data.preset_upload": {"zh": "或上传映射方案（TOML）", "en": "Or upload a mapping preset (TOML)"},
    "data.sheet": {"zh": "工作表", "en": "Sheet"},
    "data.study_date_override": {"zh": "手动指定统计截止日", "en": "Override the study date"},
    "data.study_date": {"zh": "统计截止日", "en": "Study date"},
    "data.load": {"zh": "导入此文件", "en": "Load this file"},
    "data.back_to_sample": {"zh": "切换回内置样例数据", "en": "Back to the bundled sample"},
    "data.load_failed": {"zh": "无法导入 {name}：{message}", "en": "Could not load {name}: {message}"},
    "data.kept_previous": {"zh": "仍在使用之前的数据集：{name}。", "en": "Still using the previous data set: {name}."},
    "data.loaded": {"zh": "已导入 {name}。", "en": "Loaded {name}."},
    "data.account": {"zh": "数据质量核对", "en": "Data-quality account"},
    "data.account_identity": {
        "zh": "读取 {rows_read:,} 行保单 = 接受 {accepted:,} + 修复/标记 {repaired:,} + 拒绝 {rejected:,}；另有 {skipped:,} 行非保单行（标题、表头、空行、合计）已跳过。",
        "en": "{rows_read:,} policy rows read = {accepted:,} accepted + {repaired:,} repaired or flagged + {rejected:,} rejected; {skipped:,} non-policy rows (title, header, blank, totals) skipped.",
    },
    "data.rows_read": {"zh": "读取行数", "en": "Rows read"},
    "data.accepted": {"zh": "接受", "en": "Accepted"},
    "data.repaired": {"zh": "修复/标记", "en": "Repaired / flagged"},
    "data.rejected": {"zh": "拒绝", "en": "Rejected"},
    "data.skipped": {"zh": "跳过的非保单行", "en": "Non-policy rows skipped"},
    "data.study_date_from": {
        "zh": "统计截止日 {date}（来源：{source}）",
        "en": "Study date {date} (from: {source})",
    },
    "data.source.argument": {"zh": "手动指定", "en": "set by you"},
    "data.source.preset": {"zh": "映射方案", "en": "the mapping preset"},
    "data.source.title row": {"zh": "标题行", "en": "the title row"},
    "data.source.latest date": {"zh": "数据中最晚的日期", "en": "the latest date in the data"},
    "data.file_facts": {
        "zh": "格式 {kind}{encoding}{sheet}；表头在第 {header_row} 行。",
        "en": "Format {kind}{encoding}{sheet}; header on row {header_row}.",
    },
    "data.problems": {"zh": "逐行问题（修复、标记、拒绝）", "en": "Row problems (repaired, flagged, rejected)"},
    "data.no_problems": {"zh": "没有需要修复或拒绝的行。", "en": "No row needed a repair or was rejected."},
    "data.problem_filter": {"zh": "只看", "en": "Show"},
    "data.column_notes": {"zh": "整列处理说明", "en": "What was done to whole columns"},
    "data.skipped_rows": {"zh": "跳过的非保单行", "en": "Skipped non-policy rows"},
    "data.statuses": {"zh": "保单状态映射", "en": "Status mapping"},
    "data.statuses_help": {
        "zh": "每个原始状态值对应的标准状态；“unmapped”表示未识别，可在此修改后点击“应用映射”。",
        "en": "The canonical status of each source value; “unmapped” means not recognised: change it here and press “Apply mapping”.",
    },
    "data.mapping": {"zh": "字段映射", "en": "Column mapping"},
    "data.mapping_tab": {"zh": "字段与状态映射", "en": "Column and status mapping"},
    "data.mapping_help": {
        "zh": "左列为标准字段，右列为文件中的表头；置信度 1.0 为精确匹配。可逐项修改。",
        "en": "Canonical column on the left, the file's header on the right; confidence 1.0 is an exact alias. Change any of them.",
    },
    "data.apply_mapping": {"zh": "应用映射", "en": "Apply mapping"},
    "data.download_preset": {"zh": "下载映射方案（TOML）", "en": "Download mapping preset (TOML)"},
    "data.download_account_xlsx": {"zh": "下载核对结果（Excel）", "en": "Download the account (Excel)"},
    "data.download_account_csv": {"zh": "下载核对结果（CSV）", "en": "Download the account (CSV)"},
    "data.preview": {"zh": "标准化后的保单预览（前 200 行）", "en": "Canonical policies preview (first 200 rows)"},
    "data.status_counts": {"zh": "各状态保单数", "en": "Policies by status"},
    "data.attributes": {"zh": "保留为分组属性的其他列：{names}", "en": "Other columns kept as cohort attributes: {names}"},
    "data.unmapped_statuses": {
        "zh": "{n:,} 张保单的状态未识别（{values}）：请在“保单状态映射”中指定。",
        "en": "{n:,} policies have an unrecognised status ({values}): map them under “Status mapping”.",
    },
    # column headers of the account tables
    "col.row": {"zh": "行号", "en": "Row"},
    "col.verdict": {"zh": "处理", "en": "Verdict"},
    "col.column": {"zh": "列", "en": "Column"},
    "col.kind": {"zh": "问题类型", "en": "Problem"},
    "col.action": {"zh": "处理", "en": "Action"},
    "col.value": {"zh": "原始值", "en": "Source value"},
    "col.detail": {"zh": "说明", "en": "Detail"},
    "col.reason": {"zh": "原因", "en": "Reason"},
    "col.count": {"zh": "数量", "en": "Count"},
    "col.canonical": {"zh": "标准字段", "en": "Canonical column"},
    "col.source": {"zh": "文件表头", "en": "Source header"},
    "col.confidence": {"zh": "置信度", "en": "Confidence"},
    "col.status_value": {"zh": "原始状态值", "en": "Source status"},
    "col.status": {"zh": "标准状态", "en": "Canonical status"},
    "col.period": {"zh": "期间", "en": "Period"},
    "col.events": {"zh": "事件数", "en": "Events"},
    "col.exposure": {"zh": "暴露数", "en": "Exposure"},
    "col.rate": {"zh": "失效率", "en": "Rate"},
    "col.lower": {"zh": "95% 下限", "en": "95% lower"},
    "col.upper": {"zh": "95% 上限", "en": "95% upper"},
    "col.credibility": {"zh": "可信度", "en": "Credibility"},
    "col.low_credibility": {"zh": "低可信度", "en": "Low credibility"},
    "col.expected": {"zh": "预期事件数", "en": "Expected events"},
    "col.ae": {"zh": "实际/预期", "en": "A/E"},
    "col.expected_rate": {"zh": "预期失效率", "en": "Expected rate"},
    "col.age_band": {"zh": "年龄段", "en": "Age band"},
    "col.premium_band": {"zh": "保费分位段", "en": "Premium band"},
    "col.issue_year": {"zh": "生效年度", "en": "Issue year"},
    "col.issue_quarter": {"zh": "生效季度", "en": "Issue quarter"},
    "col.issue_month": {"zh": "生效月份", "en": "Issue month"},
    "col.young_new_earners": {"zh": "刚入职场的年轻客户", "en": "Young new earners"},
    "col.exposure_annual_premium": {"zh": "暴露保费", "en": "Premium exposure"},
    "col.events_annual_premium": {"zh": "事件保费", "en": "Premium of events"},
    "col.exposure_sum_assured": {"zh": "暴露保额", "en": "Sum-assured exposure"},
    "col.events_sum_assured": {"zh": "事件保额", "en": "Sum assured of events"},
    # verdicts and actions
    "action.rejected": {"zh": "拒绝", "en": "rejected"},
    "action.repaired": {"zh": "修复", "en": "repaired"},
    "action.flagged": {"zh": "标记", "en": "flagged"},
    "action.skipped": {"zh": "跳过", "en": "skipped"},
    "action.all": {"zh": "全部", "en": "all"},
    # problem kinds
    "kind.missing_required": {"zh": "必填项为空", "en": "required value empty"},
    "kind.invalid_date": {"zh": "日期无法识别", "en": "not a date"},
    "kind.invalid_number": {"zh": "数字无法识别", "en": "not a number"},
    "kind.negative_amount": {"zh": "金额为负", "en": "negative amount"},
    "kind.implausible_age": {"zh": "年龄不合理", "en": "implausible age"},
    "kind.unknown_code": {"zh": "代码无法识别", "en": "unknown code"},
    "kind.id_precision_lost": {"zh": "保单号被 Excel 截断", "en": "policy number damaged by Excel"},
    "kind.date_order": {"zh": "日期先后矛盾", "en": "dates out of order"},
    "kind.status_corrected": {"zh": "状态已更正", "en": "status corrected"},
    "kind.reinstated_without_lapse": {"zh": "复效但无失效记录", "en": "reinstated without a lapse"},
    "kind.after_study_date": {"zh": "生效日晚于统计截止日", "en": "issued after the study date"},
    "kind.duplicate": {"zh": "完全重复行", "en": "exact duplicate"},
    "kind.conflicting_duplicate": {"zh": "保单号重复且内容冲突", "en": "conflicting duplicate"},
    "kind.ragged_row": {"zh": "列数与表头不符", "en": "wrong number of fields"},
    "kind.reformatted": {"zh": "格式已规范", "en": "reformatted"},
    "kind.derived": {"zh": "推导得出", "en": "derived"},
    "kind.unusable_column": {"zh": "整列不可用", "en": "unusable column"},
    "kind.duplicate_header": {"zh": "表头重复", "en": "duplicate header"},
    "kind.blank_header": {"zh": "表头为空", "en": "blank header"},
    "kind.other_encoding": {"zh": "混合编码", "en": "mixed encoding"},
    "kind.not_a_policy_row": {"zh": "非保单行", "en": "not a policy row"},
    # Chinese wording of row problems (English keeps the analysis layer's own detail text)
    "detail.invalid_date": {"zh": "“{value}”不是日期", "en": ""},
    "detail.invalid_number": {"zh": "“{value}”不是数字；已留空", "en": ""},
    "detail.negative_amount": {"zh": "金额“{value}”为负，不可能；已留空", "en": ""},
    "detail.implausible_age": {"zh": "年龄“{value}”超出 0–120；已留空", "en": ""},
    "detail.unknown_code": {"zh": "无法识别“{value}”；已留空", "en": ""},
    "detail.id_precision_lost": {
        "zh": "保单号“{value}”经过 Excel 数字单元格，末几位已丢失（Excel 只保留 15 位有效数字）；请将该列以文本格式导出",
        "en": "",
    },
    "detail.missing_required": {"zh": "必填项“{column}”为空", "en": ""},
    "detail.status_corrected": {"zh": "状态“{value}”但有复效日期：按复效（失效后恢复有效）计", "en": ""},
    "detail.after_study_date": {"zh": "生效日期 {value} 晚于统计截止日", "en": ""},
    "detail.date_order": {"zh": "“{column}” {value} 与生效日期先后矛盾", "en": ""},
    "detail.duplicate": {"zh": "与第 {ref} 行完全相同", "en": ""},
    "detail.conflicting_duplicate": {"zh": "保单号与第 {ref} 行相同，但以下字段不同：{rest}", "en": ""},
    "detail.ragged_row": {"zh": "字段数与表头不符：{rest}", "en": ""},
    "detail.reinstated_without_lapse": {"zh": "有复效记录但没有失效日期，无法确定失效时间", "en": ""},
    "reason.header row": {"zh": "表头行", "en": "header row"},
    "reason.blank row": {"zh": "空行", "en": "blank row"},
    "reason.above the header: title or group-header row": {"zh": "表头上方的标题行或分组表头行", "en": "above the header: title or group-header row"},
    "reason.summary or note row (合计/注) below the data": {"zh": "合计、注释等汇总行", "en": "summary or note row (合计/注)"},
    # canonical columns
    "canon.policy_id": {"zh": "保单号", "en": "Policy number"},
    "canon.coverage": {"zh": "险种代码", "en": "Coverage code"},
    "canon.product": {"zh": "险种名称", "en": "Product"},
    "canon.issue_date": {"zh": "生效日期", "en": "Issue date"},
    "canon.status": {"zh": "保单状态", "en": "Status"},
    "canon.status_date": {"zh": "状态日期", "en": "Status date"},
    "canon.lapse_date": {"zh": "失效日期", "en": "Lapse date"},
    "canon.paid_to_date": {"zh": "交至日期", "en": "Paid-to date"},
    "canon.reinstatement_date": {"zh": "复效日期", "en": "Reinstatement date"},
    "canon.annual_premium": {"zh": "年化保费", "en": "Annual premium"},
    "canon.sum_assured": {"zh": "基本保额", "en": "Sum assured"},
    "canon.payment_frequency": {"zh": "缴费频率", "en": "Payment frequency"},
    "canon.auto_debit": {"zh": "自动扣款", "en": "Auto-debit"},
    "canon.channel": {"zh": "销售渠道", "en": "Channel"},
    "canon.branch": {"zh": "管理机构", "en": "Branch"},
    "canon.agent": {"zh": "代理人", "en": "Agent"},
    "canon.age": {"zh": "投保年龄", "en": "Age at issue"},
    "canon.birth_date": {"zh": "出生日期", "en": "Birth date"},
    "canon.gender": {"zh": "性别", "en": "Gender"},
    "canon.income": {"zh": "年收入", "en": "Income"},
    "canon.occupation": {"zh": "职业", "en": "Occupation"},
    "canon.id_number": {"zh": "证件号码", "en": "ID number"},
    "canon.name": {"zh": "姓名", "en": "Name"},
    "canon.phone": {"zh": "电话", "en": "Phone"},
    "canon.observed_to": {"zh": "观察截止日", "en": "Observed to"},
    "canon.status_source": {"zh": "原始状态", "en": "Source status"},
    "canon.source_row": {"zh": "源文件行号", "en": "Source row"},
    # statuses
    "status.in_force": {"zh": "有效", "en": "in force"},
    "status.grace": {"zh": "宽限期", "en": "in grace"},
    "status.apl": {"zh": "垫交", "en": "premium loan"},
    "status.lapsed": {"zh": "失效（效力中止）", "en": "lapsed (suspended)"},
    "status.reinstated": {"zh": "复效", "en": "reinstated"},
    "status.surrendered": {"zh": "退保", "en": "surrendered"},
    "status.terminated_after_lapse": {"zh": "永久失效", "en": "terminated after lapse"},
    "status.free_look_cancelled": {"zh": "犹豫期撤单", "en": "free-look cancelled"},
    "status.death_claim": {"zh": "身故/理赔终止", "en": "death / claim"},
    "status.matured": {"zh": "满期", "en": "matured"},
    "status.paid_up": {"zh": "交清", "en": "paid up"},
    "status.unmapped": {"zh": "未识别", "en": "unmapped"},
    # errors by code
    "error.empty_file": {"zh": "文件是空的，没有任何行。请重新导出。", "en": "The file is empty: it has no rows. Export it again."},
    "error.header_only": {
        "zh": "文件只有表头（第 {row} 行），下面没有保单数据。请确认导出时包含了数据。",
        "en": "The file has a header row (row {row}) but no policy rows below it. Check that the export includes the data.",
    },
    "error.not_a_table": {
        "zh": "这个文件是{what}，不是表格。请上传 CSV、Excel 或 Parquet 格式的保单明细。",
        "en": "The file is {what}, not a table. Upload the extract as CSV, Excel or Parquet.",
    },
    "error.corrupt_workbook": {
        "zh": "工作簿已损坏或不完整，无法打开。请在 Excel 中另存一份或从源系统重新导出。",
        "en": "The workbook is corrupt or truncated and cannot be opened. Save a fresh copy in Excel or export it again.",
    },
    "error.encrypted_workbook": {
        "zh": "工作簿设置了打开密码（已加密）。请在 Excel 中取消密码（文件 → 信息 → 保护工作簿）后另存再上传。",
        "en": "The workbook is password-protected. Remove the password in Excel (File → Info → Protect Workbook), save a copy and upload that.",
    },
    "error.too_large": {
        "zh": "文件大小 {size} MB，超过上传上限 {limit} MB。请按生效年度等拆分文件，或使用命令行（无大小限制）。",
        "en": "The file is {size} MB, above the upload limit of {limit} MB. Split it (e.g. by issue year) or use the command line, which has no limit.",
    },
    "error.missing_required": {
        "zh": "找不到{columns}对应的列。文件中的表头：{found}。请在字段映射中指定，或载入映射方案。",
        "en": "No column looks like the {columns}. Headers found: {found}. Map it in the column mapping, or load a mapping preset.",
    },
    "error.no_valid_dates": {
        "zh": "“{column}”列共 {count} 个值，没有一个是日期，例如“{example}”（第 {row} 行）。请改映射其他列为生效日期，或修正导出的日期格式。",
        "en": "Column {column} has {count} values and none is a date, e.g. '{example}' (row {row}). Map another column to the issue date or fix the export's date format.",
    },
    "error.bad_preset": {"zh": "映射方案有误：{detail}", "en": "The mapping preset is not valid: {detail}"},
    "error.no_such_sheet": {"zh": "工作簿中没有工作表“{sheet}”；现有：{sheets}。", "en": "The workbook has no sheet '{sheet}'; its sheets are {sheets}."},
}


def language() -> str:
    """The session's UI language code (``zh`` or ``en``)."""
    lang = st.session_state.get(LANGUAGE, "zh")
    return lang if lang in LANGUAGES else "zh"


def t(key: str, **params: object) -> str:
    """Translate ``key`` into the session's language, filling ``{params}``."""
    entry = CATALOGUE.get(key)
    if entry is None:
        return key
    text = entry.get(language()) or entry["en"]
    return text.format(**params) if params else text


def has(key: str) -> bool:
    """True when the catalogue has ``key``."""
    return key in CATALOGUE
