"""The premium basis: a premium per instalment is annualised, and the account says which basis was used."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import ExtractError, MappingPreset, load_extract, parse_preset
from analysis.ingest.headers import premium_basis_of
from analysis.report.catalogue import translate


def premium_csv(header: str = "期交保费（元）", *, frequency: bool = True) -> bytes:
    """Seven policies, each paying 100 per instalment: monthly, quarterly, half-yearly, yearly, single, blank, unknown."""
    rows = [("P1", "月交"), ("P2", "季交"), ("P3", "半年交"), ("P4", "年交"), ("P5", "趸交"), ("P6", ""), ("P7", "每周")]
    lines = ["保单号,生效日期,保单状态," + header + (",缴费方式" if frequency else "")]
    lines += [f"{pid},2023-01-01,有效,100" + (f",{word}" if frequency else "") for pid, word in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _premiums(result) -> list[float]:
    return result.policies.set_index("policy_id")["annual_premium"].tolist()


def _basis_notes(result) -> pd.DataFrame:
    return result.column_notes[result.column_notes["kind"] == "premium_basis"].reset_index(drop=True)


def test_the_header_says_which_basis() -> None:
    assert [premium_basis_of(h) for h in ("期交保费（元）", "每期保费", "年化保费", "年缴保费", "标准保费", "保费")] == [
        "instalment",
        "instalment",
        "annual",
        "annual",
        "annual",
        None,
    ]


def test_a_premium_per_instalment_is_annualised() -> None:
    """By hand: 100 × 12/1 = 1,200 (月交), × 12/3 = 400 (季交), × 12/6 = 200 (半年交), × 12/12 = 100 (年交);
    趸交 stays 100; a blank and an unknown frequency (每周) stay 100 as written."""
    result = load_extract(premium_csv(), filename="p.csv")
    assert _premiums(result) == [1200.0, 400.0, 200.0, 100.0, 100.0, 100.0, 100.0]
    notes = _basis_notes(result)
    assert notes["note"].tolist() == ["premium_instalment_header", "premium_not_annualised"]
    assert notes["count"].tolist() == [7, 2]
    assert notes["detail"].iloc[0] == (
        "期交保费（元） holds one instalment's premium, as its header says: 4 premiums annualised as instalment × 12 ÷ "
        "months between payments (monthly × 12, quarterly × 4, half-yearly × 2, yearly × 1); single premiums kept as written: 1"
    )
    chinese = translate("note.premium_instalment_header", "zh", **notes["params"].iloc[0])
    assert chinese.startswith("期交保费（元） 按表头所示为每期保费：4 笔按")


def test_the_setting_overrides_the_header() -> None:
    annual = load_extract(premium_csv(), filename="p.csv", preset=MappingPreset(settings={"premium_basis": "annual"}))
    assert _premiums(annual) == [100.0] * 7
    assert _basis_notes(annual)["note"].tolist() == ["premium_annual_setting"]
    instalment = load_extract(premium_csv("保费"), filename="p.csv", preset=MappingPreset(settings={"premium_basis": "instalment"}))
    assert _premiums(instalment)[:4] == [1200.0, 400.0, 200.0, 100.0]
    assert _basis_notes(instalment)["note"].tolist() == ["premium_instalment_setting", "premium_not_annualised"]


def test_an_annual_header_or_a_silent_one_is_read_as_annual_and_said_so() -> None:
    annual = load_extract(premium_csv("年化保费"), filename="p.csv")
    assert _premiums(annual) == [100.0] * 7
    assert _basis_notes(annual)["note"].tolist() == ["premium_annual_header"]
    silent = load_extract(premium_csv("保费"), filename="p.csv")
    assert _basis_notes(silent)["note"].tolist() == ["premium_annual_assumed"]
    assert 'set premium_basis = "instalment" in the mapping preset' in _basis_notes(silent)["detail"].iloc[0]


def test_without_a_frequency_column_nothing_can_be_annualised() -> None:
    result = load_extract(premium_csv(frequency=False), filename="p.csv")
    assert _premiums(result) == [100.0] * 7
    notes = _basis_notes(result)
    assert (notes["note"].tolist(), notes["count"].tolist()) == (["premium_instalment_no_frequency"], [7])


def test_the_preset_setting_is_checked() -> None:
    assert parse_preset('[settings]\npremium_basis = "instalment"\n').settings["premium_basis"] == "instalment"
    with pytest.raises(ExtractError, match="premium_basis 'monthly' in preset is not one of instalment, annual"):
        parse_preset('[settings]\npremium_basis = "monthly"\n')
