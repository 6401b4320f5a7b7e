"""Where things are, for every test module wherever it sits under tests/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = TESTS / "artifacts"
#: Where each test process leaves the counts of its fuzz cases (printed in the run's summary).
FUZZ_SUMMARY_DIR = ARTIFACTS / "fuzz"


def missing_on_ci(reason: str) -> None:
    """A test's outside need is absent: skip, saying why — or fail on CI (``CI`` set), where it must be there."""
    import os

    import pytest

    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(reason)
    pytest.skip(reason + " — skipped outside CI")
