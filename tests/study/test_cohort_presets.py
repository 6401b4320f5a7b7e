"""Cohort presets: several named cohorts as TOML, read through the presets' guard (issue [4/7] item 7)."""

from __future__ import annotations

import pytest
from artefacts import sample_extract

from analysis import ExtractError
from analysis.study.cohort_presets import (
    MAX_COHORTS,
    cohort_key,
    cohorts_from_toml,
    cohorts_to_toml,
    condition_columns,
    typed_value,
)
from analysis.study.cohorts import YOUNG_NEW_EARNERS, cohort_from_dict, filter_mask

BANK = cohort_from_dict(
    {
        "key": "bank",
        "name": {"zh": "银保", "en": "Bank"},
        "all": [{"column": "channel", "op": "in", "value": ["银保"]}, {"column": "lapse_date", "op": "is blank"}],
    }
)


def test_cohorts_go_to_toml_and_back_unchanged() -> None:
    text = cohorts_to_toml([YOUNG_NEW_EARNERS, BANK])
    assert text.count("[[cohort]]") == 2 and "is blank" in text
    assert cohorts_from_toml(text) == (YOUNG_NEW_EARNERS, BANK)
    with pytest.raises(ExtractError, match="only"):  # an empty preset holds no [[cohort]] table
        cohorts_from_toml("")


def test_the_shipped_preset_loads_and_applies_to_the_sample(root) -> None:
    cohorts = cohorts_from_toml((root / "data" / "presets" / "cohorts" / "examples.toml").read_text(encoding="utf-8"))
    assert [c.key for c in cohorts] == ["young_new_earners", "bancassurance_2024", "large_premium"]
    sample = sample_extract().policies
    bank = filter_mask(sample, cohorts[1].conditions)
    by_hand = (sample["channel"] == "银保") & (sample["issue_date"].dt.year == 2024)
    assert bank.sum() == by_hand.sum() > 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[[cohort]\nkey = 1", "preset_toml"),
        ('title = "x"\n[[cohort]]\nkey = "a"', "preset_shape"),
        ("cohort = 3", "preset_shape"),
        ("a = [[[[[[1]]]]]]", "preset_too_deep"),
        ("a.b.c.d.e = 1", "preset_too_deep"),
        ("# " + "x" * 600_000, "preset_too_long"),
        ('[[cohort]]\nkey = "a"\n[[cohort]]\nkey = "a"', "duplicate_key"),
        ("".join(f'[[cohort]]\nkey = "k{i}"\n' for i in range(MAX_COHORTS + 1)), "too_many"),
        ('[[cohort]]\nkey = "a"\n[[cohort.all]]\ncolumn = "age"\nop = "~"', "operator"),
        ('[[cohort]]\nkey = "period"', "reserved_key"),
    ],
)
def test_a_bad_preset_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        cohorts_from_toml(text, source="mine.toml")
    assert (caught.value.code, caught.value.reason) == ("bad_cohort", reason)


def test_keys_values_and_columns_of_the_builder(root) -> None:
    assert cohort_key("Bank 2024") == "bank_2024"
    assert cohort_key("银保新客户") == "named" and cohort_key("银保", taken=["named", "named_2"]) == "named_3"
    assert cohort_key("Period") == "cohort_period"  # a reserved name is not a key
    assert typed_value(" 30 ", numeric=True) == 30 and typed_value("2.5", numeric=True) == 2.5
    assert typed_value("30", numeric=False) == "30" and typed_value("abc", numeric=True) == "abc"
    sample = sample_extract().policies
    columns = condition_columns(sample)
    assert {"channel", "branch", "首单客户", "age", "annual_premium", "issue_date"} <= set(columns)
    assert not {"age_band", "issue_year", "policy_id", "status"} & set(columns)  # derived cohorts and identifiers are not offered


def test_a_cohort_preset_is_read_in_the_guard_s_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.ingest import guard
    from analysis.study.cohort_presets import guarded_cohorts

    jobs: list[str] = []
    real_worker = guard._worker

    def watched(job: str, *args: object) -> object:  # the real worker, its job noted
        jobs.append(job)
        return real_worker(job, *args)  # type: ignore[arg-type]

    monkeypatch.setenv(guard.GUARD_ENV, "1")
    monkeypatch.setattr(guard, "_worker", watched)
    text = cohorts_to_toml([YOUNG_NEW_EARNERS, BANK])
    assert guarded_cohorts(text, source="mine.toml") == (YOUNG_NEW_EARNERS, BANK)
    with pytest.raises(ExtractError) as caught:
        guarded_cohorts("a = " + "[" * 3000 + "]" * 3000, source="deep.toml")
    assert caught.value.reason == "preset_too_deep"  # refused by the worker's cheap checks
    assert jobs == ["cohorts", "cohorts"]
