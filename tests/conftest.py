from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
# Every catalogue lookup in the tests (and in the app the browser tests start) must find its words.
os.environ.setdefault("LAPSELENS_STRICT_CATALOGUE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "uslapseagent.csv").exists():
        pytest.fail(f"the real data sets are expected in {SHARED_DATA} (the shared/ folder beside the repository)")
    return SHARED_DATA
