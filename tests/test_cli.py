"""The command line: one real ``python -m analysis`` run (the entry point, imports and exit code of a
fresh process); everything else about the CLI runs in-process through :func:`clirun.run_cli`."""

from __future__ import annotations

import json
import subprocess
import sys

from clirun import run_cli


def test_python_m_analysis_check_runs_as_a_real_process(root) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "check", "data/sample_policies.csv", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # data/README.md: 50,003 rows, 11 rejected (5 blank statuses, 3 exact duplicates, 3 status dates before issue)
    assert (report["rows_read"], report["accepted"], report["repaired"], report["rejected"]) == (50003, 49992, 0, 11)
    assert report["study_date"] == "2026-09-30"


def test_a_usage_error_exits_2_with_argparse_usage() -> None:
    missing = run_cli("check")
    assert missing.returncode == 2 and missing.stdout == ""
    assert "usage: python -m analysis check" in missing.stderr
    assert "the following arguments are required: file" in missing.stderr
    unknown = run_cli("bogus")
    assert unknown.returncode == 2
    assert "invalid choice: 'bogus'" in unknown.stderr


def test_help_exits_0_in_process() -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and "usage: python -m analysis" in done.stdout and done.stderr == ""
