"""Every personal identifier masked, every export neutralised (issue [7/7], items 7 and 8).

An extract may carry applicant and insured (投保人姓名 and 被保人姓名), two phone columns
(手机号 and 联系电话), two ID columns (身份证号 and 证件号码), an English ``name`` and phone
or ID numbers typed into remarks. The door maps one column per kind; the others stay
attributes and must be masked wherever data leaves, never offered as cohorts, and ID
numbers stay text.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from clirun import run_cli
from paths import ROOT

from analysis import load_extract
from analysis.personal import mask_identifiers, mask_numbers_in_text, personal_columns, personal_kind
from analysis.report.export import is_formula, neutralise, to_csv_bytes
from analysis.risk.rows import candidate_features
from analysis.study.cohorts import cohort_dimensions

ROWS = 300
#: Raw personal values planted in the extract: none may be printed or exported as it is.
APPLICANT, INSURED, ENGLISH = "欧阳娜娜", "司马相如", "Alice Wong"
MOBILE, LANDLINE = "13812345678", "13987654321"
ID_A, ID_B = "11010519900307123X", "110105199003071234"
REMARK_PHONE, REMARK_ID = "15011112222", "320102198811115555"
RAW = [APPLICANT, INSURED, ENGLISH, MOBILE, LANDLINE, ID_A, ID_B, REMARK_PHONE, REMARK_ID]
HYPERLINK = '=HYPERLINK("https://evil.example","点此登录")'


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The sample's first rows with two columns of every personal kind, a remark and a hostile channel."""
    sample = pd.read_csv(ROOT / "data" / "sample_policies.csv", header=1, dtype=str, nrows=ROWS, encoding="utf-8-sig")
    sample = sample.assign(
        投保人姓名=APPLICANT,
        被保人姓名=INSURED,
        **{"Insured Name": ENGLISH},
        手机号=MOBILE,
        联系电话=LANDLINE,
        身份证号=ID_A,
        证件号码=ID_B,
        备注=f"客户电话{REMARK_PHONE}，证件{REMARK_ID}，已回访",
    )
    sample.loc[sample.index[:40], "销售渠道"] = HYPERLINK
    sample.loc[sample.index[40:80], "销售渠道"] = "\u200b=cmd|' /C calc'!A0"
    sample.loc[sample.index[80:120], "销售渠道"] = "＝1+1"
    path = tmp_path_factory.mktemp("masking") / "personal.csv"
    path.write_bytes(sample.to_csv(index=False).encode("utf-8-sig"))
    return path.read_bytes()


@pytest.fixture(scope="module")
def loaded(extract: bytes):
    return load_extract(extract, study_date="2026-09-30")


@pytest.fixture(scope="module")
def extract_path(extract: bytes, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("cli") / "personal.csv"
    path.write_bytes(extract)
    return path


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("投保人姓名", "name"),
        ("被保险人姓名", "name"),
        ("被保人", "name"),
        ("手机号码", "phone"),
        ("联系电话", "phone"),
        ("证件号码", "id_number"),
        ("身份证号", "id_number"),
        ("name", "name"),
        ("Insured Name", "name"),
        ("customerName", "name"),
        ("mobile_no", "phone"),
        ("national_id", "id_number"),
        ("ID number", "id_number"),
        ("电话", "phone"),
        ("姓名 (2)", "name"),
        ("product_name", None),
        ("policy_id", None),
        ("证件类型", None),
        ("电话回访次数", None),
        ("险种名称", None),
        ("备注", None),
        ("销售渠道", None),
    ],
)
def test_headers_of_every_personal_kind_are_recognised(header: str, kind: str | None) -> None:
    assert personal_kind(header) == kind


def test_every_personal_column_is_found_and_ids_stay_text(loaded) -> None:
    policies = loaded.policies
    found = set(personal_columns(policies))
    second = {"被保人姓名", "联系电话", "证件号码"} & set(policies.columns)
    assert {"name", "phone", "id_number"} <= found and len(second) == 3 and second <= found
    assert not pd.api.types.is_float_dtype(policies["证件号码"]) and set(policies["证件号码"].dropna()) == {ID_B}
    assert "备注" not in found and "销售渠道" not in found  # a remark is masked where it holds numbers, not whole


def test_personal_columns_are_never_cohorts_nor_features(loaded) -> None:
    policies = loaded.policies
    personal = set(personal_columns(policies))
    assert not (personal | {"备注"}) & set(cohort_dimensions(policies))  # nor a remark with a phone number in it
    assert not (personal | {"备注"}) & set(candidate_features(policies))
    # Few distinct values would have made them cohorts before: one value each here.
    assert policies["被保人姓名"].nunique() == 1


def test_masking_leaves_no_raw_identifier(loaded) -> None:
    masked = mask_identifiers(loaded.policies)
    text = masked.astype(str).to_csv(index=False)
    assert not [raw for raw in RAW if raw in text]
    assert "138****5678" in text and "已回访" in text  # masked, the remark's words kept
    assert (masked["policy_id"] == loaded.policies["policy_id"]).all()  # codes are left alone
    assert masked["annual_premium"].equals(loaded.policies["annual_premium"])


def test_numbers_inside_free_text_are_masked() -> None:
    assert mask_numbers_in_text("请致电 138-1234-5678 或 010-87654321") == "请致电 138******5678 或 010*****4321"
    assert mask_numbers_in_text("+86 13812345678") == "+86********5678"
    assert (
        mask_numbers_in_text("保单 886372018100000005 金额 2875.08 日期 20240101") == "保单 886372018100000005 金额 2875.08 日期 20240101"
    )


def test_neutralise_catches_every_variant_and_keeps_numbers() -> None:
    cells = ["＝1+1", "＋1", "－1", "＠SUM(A1)", "\u200b=cmd", "\ufeff=x", " =1", "\u3000@x", "﹦1", "−cmd"]
    plain = ["-12.5", "+3", "-1e-3", "-¥1,234", "-12.2%", "渠道A", "a=b", "", "12-34"]  # numbers, also as formatted for reading
    frame = pd.DataFrame({"t": cells + plain, "n": np.arange(len(cells) + len(plain)) - 5.5})
    safe = neutralise(frame)
    assert safe["t"].tolist() == ["'" + c for c in cells] + plain
    assert safe["n"].equals(frame["n"])  # negative numbers are numbers
    categorical = neutralise(pd.DataFrame({"c": pd.Categorical(["=1", "a", "=1"])}))
    assert categorical["c"].tolist() == ["'=1", "a", "'=1"] and isinstance(categorical["c"].dtype, pd.CategoricalDtype)
    assert neutralise(pd.DataFrame({"\u200b=h": [1]})).columns.tolist() == ["'\u200b=h"]
    assert not is_formula("-5") and is_formula("-5+A1") and is_formula("\t5")


def test_csv_export_reads_back_inert() -> None:
    frame = pd.DataFrame({"渠道": ["＝1+1", "\u200b=cmd|' /C calc'!A0", "渠道A"], "x": [-1.5, 2, 3]})
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig")
    assert back["渠道"].tolist() == ["'＝1+1", "'\u200b=cmd|' /C calc'!A0", "渠道A"] and back["x"].tolist() == [-1.5, 2, 3]


def _leaks(text: str) -> list[str]:
    found = [raw for raw in RAW if raw in text]
    for line in text.splitlines():
        for cell in line.split(","):
            stripped = cell.strip().strip('"').lstrip("\u200b\ufeff ")
            if stripped.startswith(("=", "＝", "+", "@")) or (stripped.startswith("-") and not stripped[1:2].isdigit()):
                found.append(cell)
    return found


@pytest.mark.parametrize(
    "args",
    [
        ("rates", "--by", "被保人姓名"),
        ("rates", "--by", "备注"),
        ("rates", "--by", "channel"),
        ("rates", "--by", "channel", "--format", "json"),
        ("persistency", "--by", "channel"),
        ("persistency", "--by", "证件号码"),
        ("survival", "--by", "channel", "--format", "csv"),
        ("survival", "--by", "联系电话", "--format", "json"),
    ],
)
def test_cli_outputs_are_masked_and_inert(extract_path, args: tuple[str, ...]) -> None:
    done = run_cli(args[0], str(extract_path), *args[1:], "--study-date", "2026-09-30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    if "json" in args:
        records = json.loads(done.stdout)
        cells = [str(v) for record in records for v in record.values()]
        assert not [raw for raw in RAW if any(raw in c for c in cells)]
        assert not [c for c in cells if is_formula(c)]
    else:
        assert _leaks(done.stdout) == []
    if "channel" in args:
        assert "'=HYPERLINK" in done.stdout.replace('""', '"') and "'＝1+1" in done.stdout


def test_cli_check_prints_no_identifier(extract_path) -> None:
    for extra in ((), ("--json",)):
        done = run_cli("check", str(extract_path), "--study-date", "2026-09-30", *extra)
        assert done.returncode == 0, done.stderr
        assert not [raw for raw in RAW if raw in done.stdout]


# --- the tables on screen: what the toolbar downloads --------------------------------------------


def test_table_toolbar_gets_masked_inert_data() -> None:
    from ui.tables import safe_table

    frame = pd.DataFrame(
        {
            "保单号": [MOBILE, "P2"],  # a policy number that looks like a phone number stays as it is
            "姓名": [APPLICANT, INSURED],
            "证件号码": [ID_A, ID_B],
            "备注": [f"电话{REMARK_PHONE}", HYPERLINK],
            "渠道": pd.Categorical(["＝1+1", "个险"]),
            "保费": [-12.5, 3.0],
        }
    )
    safe = safe_table(frame)
    text = safe.astype(str).to_csv(index=False)
    assert not [raw for raw in RAW if raw in text.replace(MOBILE + ",", "")]
    assert safe["保单号"].tolist() == [MOBILE, "P2"] and safe["保费"].tolist() == [-12.5, 3.0]
    assert safe["备注"].tolist()[1].startswith("'=") and safe["渠道"].tolist()[0] == "'＝1+1"
    shown = safe_table(frame, show_identifiers=True)  # the page's own tick box: shown, still inert
    assert shown["姓名"].tolist() == [APPLICANT, INSURED] and shown["备注"].tolist()[1].startswith("'=")


def test_a_header_equal_to_a_label_keeps_its_own_column() -> None:
    from ui.tables import safe_table, translate_columns

    frame = pd.DataFrame(
        {"id_number": [ID_A], "证件号码": [ID_B], "phone": [MOBILE], "电话": [LANDLINE], "name": [APPLICANT], "姓名": [INSURED]}
    )
    translated = translate_columns(frame)
    assert len(set(translated.columns)) == 6
    assert not [raw for raw in RAW if raw in safe_table(translated).to_csv(index=False)]


def _extract_with_label_headers() -> bytes:
    """40 policies whose file has its own 证件号码, 电话 and 姓名 beside mapped identifiers, and a remark."""
    lines = ["保单号,生效日期,保单状态,销售渠道,身份证号,证件号码,手机号,电话,投保人姓名,姓名,备注"]
    person = f"{ID_A},{ID_B},{MOBILE},{LANDLINE},{APPLICANT},{INSURED},回电{REMARK_PHONE}"
    for i in range(40):
        channel = "=cmd|' /C calc'!A0" if i % 2 else "个险"
        lines.append(f"P{i:02d},2023-0{i % 9 + 1}-10,{'有效' if i % 3 else '失效'},{channel},{person}")
    return ("\n".join(lines) + "\n").encode()


def test_pages_show_no_identifier_and_offer_none_as_cohort() -> None:
    from streamlit.testing.v1 import AppTest

    from ui import datasets as ds
    from ui import state

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    data = _extract_with_label_headers()
    version = ds.content_version(data)
    at.session_state[state.UPLOADS] = {version: data}
    at.session_state[state.ACTIVE] = state.DataSetChoice(name="personal.csv", version=version, study_date="2026-09-30")
    at.run()
    assert not at.exception, at.exception
    tables = [frame.value.astype(str).to_csv(index=False) for frame in at.dataframe]
    assert tables and not [raw for raw in RAW if any(raw in table for table in tables)]
    at.switch_page("views/cohorts.py").run()
    assert not at.exception, at.exception
    offered = {str(option) for box in at.selectbox for option in box.options}
    assert offered and not offered & {"证件号码", "电话", "姓名", "备注", "id_number", "phone", "name"}


def test_identifiers_read_as_numbers_become_text_and_are_masked(tmp_path) -> None:
    """A Parquet book with int64 and float64 identifier columns: text of whole numbers, then masked."""
    n = 40
    book = pd.DataFrame(
        {
            "保单号": [f"P{i}" for i in range(n)],
            "生效日期": ["2023-01-10"] * n,
            "保单状态": ["有效"] * n,
            "身份证号": [110105199003071234] * n,
            "证件号码": [320102198811115555] * n,
            "手机号": [13812345678] * n,
            "联系电话": [13987654321.0] * (n - 1) + [None],
        }
    )
    buffer = io.BytesIO()
    book.to_parquet(buffer)
    policies = load_extract(buffer.getvalue(), filename="book.parquet", study_date="2026-09-30").policies
    assert policies["证件号码"].iloc[0] == "320102198811115555" and policies["联系电话"].iloc[0] == "13987654321"
    assert pd.isna(policies["联系电话"].iloc[-1])
    masked = mask_identifiers(policies)
    assert masked["证件号码"].iloc[0] == "320***********5555" and masked["联系电话"].iloc[0] == "139****4321"
    assert mask_identifiers(pd.DataFrame({"手机号": [13812345678.0]}))["手机号"].iloc[0] == "138****5678"
    floats = io.BytesIO()
    book.assign(身份证号=[110105199003071234.0] * n).to_parquet(floats)  # a float already lost the last digits: still no 1.1e+17
    ids = load_extract(floats.getvalue(), filename="book.parquet", study_date="2026-09-30").policies["id_number"]
    assert ids.str.fullmatch(r"[0-9]{18}").all()


def test_json_outputs_are_inert(tmp_path) -> None:
    from analysis.interventions.scenario import Economics, Effect, Scenario, scenario_to_dict

    scenario = Scenario(HYPERLINK, "education", Effect("hazard_ratio", 0.75, 0.67, 0.84), economics=Economics(take_up=0.5))
    spec = scenario_to_dict(scenario)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    done = run_cli("scenario", "data/sample_policies.csv", "--spec", str(path), "--format", "json", "--draws", "50", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "'" + HYPERLINK
