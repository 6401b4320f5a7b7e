"""Run the command line in-process, as ``python -m analysis ARGS`` would from the repository root.

A subprocess costs a fresh interpreter and fresh imports (about 2–4 s each); the suite keeps one
real subprocess run (the smoke test in ``tests/test_cli.py``) and calls :func:`run_cli` elsewhere.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from analysis.cli import main

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CliRun:
    """What a command returned and printed (the fields of ``subprocess.CompletedProcess`` the tests read)."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | str = ROOT) -> CliRun:
    """``python -m analysis *args`` in this process, from ``cwd`` (argparse's exits become return codes)."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse: --help, or a usage error (exit 2)
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(here)
    return CliRun(code, out.getvalue(), err.getvalue())
