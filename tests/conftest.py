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


#: The real data sets the tests read from SHARED_DATA.
SHARED_FILES = ("uslapseagent.csv", "eusavingULnoPS.csv")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data sets beside the repository (``../shared/data``).

    A plain clone has no such folder: the tests that need it are skipped, saying why. On CI
    (``CI`` set) the data must be there, so its absence fails them instead of hiding them.
    """
    missing = [name for name in SHARED_FILES if not (SHARED_DATA / name).is_file()]
    if missing:
        reason = f"the real data sets are expected in {SHARED_DATA} (the shared/ folder beside the repository): no {', '.join(missing)}"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(reason)
        pytest.skip(reason + " — skipped outside CI")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_risk(root: Path):
    """The bundled sample, its feature choices and its lapse-risk model with the default features.

    Trained once per test session (about ten seconds) and shared by every risk test; treat
    it as read-only. Returns ``(loaded, choices, risk)``.
    """
    from analysis import load_extract
    from analysis.risk.model import build_risk
    from analysis.risk.rows import feature_choices

    loaded = load_extract(root / "data" / "sample_policies.csv")
    choices = feature_choices(loaded.policies, loaded.study_date)
    return loaded, choices, build_risk(loaded.policies, loaded.study_date, choices.options())
