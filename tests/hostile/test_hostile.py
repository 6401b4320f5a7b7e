"""Issue [7/7]: no file, preset, scenario or link can crash, hang or starve the server.

Every case of :mod:`corpus` goes through the guard (a real worker process, as the app and the
command line use it) and must end, within the time limit, in a load with every row accounted
for or in a refusal whose sentence is in the catalogue in both languages — never a
traceback, an abort or a hang. ``LAPSELENS_HOSTILE_BIG=1`` makes each case the size the issue
reported (hundreds of MB; minutes in all).
"""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from pathlib import Path

import pytest
from clirun import CliRun, run_cli
from corpus import EXTRACTS, PRESETS, SCENARIOS, Case, _csv
from paths import ROOT
from streamlit.testing.v1 import AppTest

from analysis import ExtractError, parse_preset
from analysis.ingest.guard import GuardLimits, guarded_load, guarded_sheets
from analysis.ingest.presets import guarded_preset
from analysis.interventions.scenario import Effect, Scenario, guarded_scenarios, scenarios_from_json, scenarios_to_json
from analysis.report.catalogue import CATALOGUE

BIG = os.environ.get("LAPSELENS_HOSTILE_BIG") == "1"
#: The time a case may take, worker start included (the guard's limit is far longer; these are the cheap checks).
SECONDS = 120 if BIG else 20
LIMITS = GuardLimits(memory_mb=6_000, seconds=SECONDS)


def catalogued(error: ExtractError) -> None:
    """The refusal's sentence exists in both languages and fills in."""
    for language in ("zh", "en"):
        assert error.key in CATALOGUE, error.key
        assert error.text(language) and error.key not in error.text(language)


def accounted(result) -> None:  # noqa: ANN001
    assert result.rows_read == result.accepted + result.repaired + result.rejected
    assert len(result.policies) == result.accepted + result.repaired
    assert result.policies.columns.is_unique


def outcome(case: Case, make: bool = True) -> tuple[str, object, float]:
    data = case.make(BIG)
    started = time.perf_counter()
    try:
        if case.target == "extract":
            value: object = guarded_load(data, filename=case.filename, limits=LIMITS)
        elif case.target == "preset":
            value = guarded_preset(data.decode("utf-8"))
        else:
            value = guarded_scenarios(data)
    except ExtractError as exc:
        return "refused", exc, time.perf_counter() - started
    return "loaded", value, time.perf_counter() - started


@pytest.mark.parametrize("case", EXTRACTS + PRESETS + SCENARIOS, ids=lambda c: c.name)
def test_each_hostile_input_loads_or_is_refused_in_time(case: Case) -> None:
    kind, value, seconds = outcome(case)
    assert seconds < SECONDS
    if case.expect != "either":
        assert kind == ("loaded" if case.expect == "load" else "refused"), value
    if kind == "refused":
        assert isinstance(value, ExtractError)
        catalogued(value)
    elif case.target == "extract":
        accounted(value)


def _extract(case_name: str):  # noqa: ANN202
    case = next(c for c in EXTRACTS if c.name == case_name)
    return guarded_load(case.make(False), filename=case.filename, limits=LIMITS)


def test_duplicate_headers_get_distinct_names_and_a_note() -> None:
    result = _extract("duplicate_headers")
    assert {"备注", "备注.1", "备注.2", "备注.3"} <= set(result.policies.columns)
    notes = result.column_notes
    assert set(notes.loc[notes["kind"] == "duplicate_header", "column"]) == {"备注.2", "备注.3"}
    assert result.policies["备注.1"].tolist() == ["c"] * 3  # the file's own 备注.1 keeps its values


def test_headers_named_like_our_columns_are_renamed_and_noted() -> None:
    beside = _extract("canonical_beside_mapped")
    assert beside.policies["policy_id"].tolist() == ["P0001", "P0002", "P0003"]
    assert beside.policies["policy_id (source)"].tolist() == ["X9"] * 3
    internal = _extract("internal_collision")
    assert internal.policies["source_row"].tolist() == [3, 4, 5]
    assert internal.policies["source_row (source)"].tolist() == ["x"] * 3
    renamed = internal.column_notes.loc[internal.column_notes["kind"] == "reserved_header", "column"]
    assert {"observed_to (source)", "source_row (source)", "status_source (source)"} <= set(renamed)


@pytest.mark.parametrize("name", ["parquet_bad_pandas_metadata", "parquet_stale_pandas_metadata"])
def test_damaged_pandas_metadata_is_ignored_with_a_note(name: str) -> None:
    result = _extract(name)
    assert result.accepted == 3
    assert "parquet_metadata" in set(result.column_notes["kind"])


def test_unsupported_parquet_columns_are_refused_by_name() -> None:
    with pytest.raises(ExtractError, match="'blob'.*binary"):
        _extract("parquet_binary_column")


def test_a_study_date_with_a_time_zone_is_its_day() -> None:
    preset = parse_preset("[settings]\nstudy_date = 2024-06-30T23:30:00+08:00\n")
    assert preset.settings["study_date"] == "2024-06-30"
    result = guarded_load(_csv("保单号,生效日期,保单状态"), filename="x.csv", study_date="2024-06-30T00:00+08:00", limits=LIMITS)
    assert str(result.study_date.date()) == "2024-06-30"


def test_the_guard_stops_a_load_past_its_time_limit_and_the_caller_goes_on() -> None:
    sample = (ROOT / "data" / "sample_policies.csv").read_bytes()
    started = time.perf_counter()
    with pytest.raises(ExtractError) as refused:
        guarded_load(sample, filename="s.csv", limits=GuardLimits(memory_mb=6_000, seconds=0.2))
    assert (refused.value.code, refused.value.reason) == ("guard", "timeout")
    assert time.perf_counter() - started < 5
    catalogued(refused.value)
    assert guarded_load(sample, filename="s.csv", limits=LIMITS).rows_read == 50_003  # the same process loads the next file


def test_the_guard_turns_a_worker_out_of_memory_into_a_refusal() -> None:
    sample = (ROOT / "data" / "sample_policies.csv").read_bytes()
    with pytest.raises(ExtractError) as refused:
        guarded_load(sample, filename="s.csv", limits=GuardLimits(memory_mb=100, seconds=60))
    assert refused.value.code == "guard" and refused.value.reason in ("memory", "crashed", "internal")
    catalogued(refused.value)


@pytest.mark.parametrize("target", ["preset", "scenarios"])
def test_presets_and_scenarios_are_parsed_in_the_worker(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.ingest.guard as guard

    preset = (ROOT / "data" / "presets" / "uslapseagent.toml").read_text(encoding="utf-8")
    scenarios = scenarios_to_json([Scenario("讲座", "education", Effect("hazard_ratio", 0.8))])
    jobs: list[str] = []
    real_worker = guard._worker

    def watched(job: str, *args: object) -> object:  # the real worker, its job noted
        jobs.append(job)
        return real_worker(job, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(guard, "_worker", watched)
    if target == "preset":
        assert guarded_preset(preset) == parse_preset(preset)
    else:
        assert guarded_scenarios(scenarios) == scenarios_from_json(scenarios)
    assert jobs == [target]
    deep = "[settings]\n" + "a." * 40_000 + "b = 1\n" if target == "preset" else "[" * 100_000
    with pytest.raises(ExtractError) as refused:
        guarded_preset(deep) if target == "preset" else guarded_scenarios(deep)
    catalogued(refused.value)
    assert jobs == [target, target]  # refused by the worker's cheap checks


def test_sheet_names_of_a_hostile_workbook_are_refused_in_the_worker() -> None:
    case = next(c for c in EXTRACTS if c.name == "workbook_huge_dimension")
    with pytest.raises(ExtractError, match="17,179,869,184 cells"):
        guarded_sheets(case.make(False), filename="x.xlsx")


def _cli(capfd: pytest.CaptureFixture[str], *args: str) -> CliRun:
    """``python -m analysis ARGS`` in this process (tests/test_cli.py keeps the one real subprocess run), within the time limit.

    ``stderr`` holds what the command wrote and whatever reached the process's error stream at
    the descriptor level (the guard's worker process writes there), so a traceback anywhere shows.
    """
    capfd.readouterr()
    started = time.perf_counter()
    done = run_cli(*args)
    assert time.perf_counter() - started < SECONDS * 3
    streams = capfd.readouterr()
    return CliRun(done.returncode, done.stdout + streams.out, done.stderr + streams.err)


@pytest.mark.parametrize("name", ["workbook_cell_beyond_limit", "parquet_stale_pandas_metadata", "duplicate_headers"])
def test_the_command_line_reads_hostile_files_through_the_guard(name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    case = next(c for c in EXTRACTS if c.name == name)
    path = tmp_path / case.filename
    path.write_bytes(case.make(False))
    done = _cli(capfd, "check", str(path))
    assert "Traceback" not in done.stderr
    assert done.returncode == (2 if case.expect == "refuse" else 0), done.stderr
    if done.returncode == 2:
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda c: c.name)
def test_the_command_line_refuses_hostile_scenario_files(case: Case, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.json"
    spec.write_bytes(case.make(False))
    done = _cli(capfd, "scenario", str(ROOT / "data" / "sample_policies.csv"), "--spec", str(spec))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ")


# --- share links -----------------------------------------------------------------------------


def link(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii")


REMINDER = {"name": "提醒", "lever": "reminder", "effect": {"source": "hazard_ratio", "value": 0.9}}
HOSTILE_LINKS = {
    "deep": link("[" * 296 + "]" * 296),
    "huge_integer": link('[{"name": "a", "lever": "reminder", "new_policies": 1' + "0" * 400 + "}]"),
    "nan": link(json.dumps([{**REMINDER, "economics": {"take_up": float("nan")}}])),
    "huge_cost": link(json.dumps([{**REMINDER, "economics": {"cost_per_contact": 1e308}}])),
    "negative_take_up": link(json.dumps([{**REMINDER, "economics": {"take_up": -0.5}}])),
    "long_name": link(json.dumps([{**REMINDER, "name": "x" * 50_000_000}])),
    "long_link": "A" * 70_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_LINKS))
def test_a_hostile_link_is_refused_with_a_reason(name: str) -> None:
    from ui.interventions import decode

    started = time.perf_counter()
    with pytest.raises(ExtractError) as refused:
        decode(HOSTILE_LINKS[name])
    assert time.perf_counter() - started < 2
    assert refused.value.code == "bad_scenario"
    catalogued(refused.value)


def test_a_sound_link_still_opens() -> None:
    from ui.interventions import decode, encode

    assert decode(encode([REMINDER]))[0]["name"] == "提醒"


def test_the_page_opened_with_a_hostile_link_warns_and_draws_nothing() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["scenarios"] = HOSTILE_LINKS["huge_cost"]
    at.run()
    at.switch_page("views/interventions.py").run()
    assert not at.exception
    assert at.warning and at.caption
    assert any("1e+308" in c.value.replace("\\", "") for c in at.caption)  # says which number, and its bounds
    assert "scenarios" not in at.query_params  # the refused link leaves the address


def test_the_app_refuses_a_file_once_then_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused load is remembered: the next click does not run the worker again (a hostile file may take minutes)."""
    from ui import datasets as ds

    monkeypatch.setenv("LAPSELENS_DATA_DIR", str(tmp_path))
    data = next(c for c in EXTRACTS if c.name == "parquet_binary_column").make(False)
    version = ds.content_version(data)
    for _ in range(2):
        started = time.perf_counter()
        with pytest.raises(ExtractError, match="'blob'"):
            ds._load(version, "x.parquet", "", None, None, data)
        seconds = time.perf_counter() - started
    assert seconds < 0.05  # the second refusal comes from memory, not from a worker
    good = (ROOT / "data" / "sample_policies.csv").read_bytes()
    assert ds._load(ds.content_version(good), "s.csv", "", None, None, good).rows_read == 50_003


def test_a_remembered_refusal_holds_no_frames_and_no_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal is remembered without its traceback (whose frames held the file's bytes); each click raises a fresh one."""
    from ui import datasets as ds

    monkeypatch.setenv("LAPSELENS_DATA_DIR", str(tmp_path))
    data = next(c for c in EXTRACTS if c.name == "parquet_binary_column").make(False)
    version = ds.content_version(data)
    raised = []
    for _ in range(3):
        with pytest.raises(ExtractError) as refused:
            ds._load(version, "held.parquet", "", None, None, data)
        raised.append(refused.value)
    kept = ds._refusals()[ds.book_key_hash(ds._book_key(version, "held.parquet", "", None, None))]
    assert kept.code == raised[0].code and str(kept) == str(raised[0])
    assert kept.__traceback__ is None and kept.__context__ is None and kept.__cause__ is None
    assert len({id(e) for e in [*raised, kept]}) == 4  # each click gets its own error; the remembered one gathers no frames
    # The guard's worker object in the first refusal's traceback let go of the bytes once they were on disk.
    import traceback

    workers = [
        v for frame, _ in traceback.walk_tb(raised[0].__traceback__) for v in frame.f_locals.values() if type(v).__name__ == "_worker"
    ]
    assert workers and all(w.source == b"" for w in workers)


def test_a_remembered_sheet_list_refusal_gathers_no_frames() -> None:
    """The sheet list's remembered refusal is raised as a fresh copy each time: the kept one never takes a traceback.

    Raising the kept error itself gave it the raising run's frames, which held that session's
    uploads (a 200 MB refused CSV) and page globals after the session had gone.
    """
    from ui import datasets as ds

    data = next(c for c in EXTRACTS if c.name == "workbook_huge_dimension").make(False)
    raised = []
    for _ in range(2):
        with pytest.raises(ExtractError) as refused:
            ds.sheet_names(data, "held-sheets.xlsx")
        raised.append(refused.value)
    kept = ds._sheets(ds.content_version(data), "held-sheets.xlsx", data)
    assert isinstance(kept, ExtractError) and kept.code == raised[0].code
    assert kept.__traceback__ is None and kept.__context__ is None
    assert all(e is not kept for e in raised) and raised[0] is not raised[1]


def test_a_load_through_the_guard_gives_the_same_result_as_in_process() -> None:
    import pandas as pd

    from analysis import load_extract

    path = ROOT / "data" / "sample_policies.csv"
    here, there = load_extract(path), guarded_load(path, limits=LIMITS)
    for frame in ("policies", "problems", "skipped_rows", "column_notes", "status_values"):
        pd.testing.assert_frame_equal(getattr(here, frame), getattr(there, frame))
    assert here.summary() == there.summary() and here.mapping == there.mapping and here.preset == there.preset
