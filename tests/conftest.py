from __future__ import annotations

import functools
import gc
import json
import os
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Every catalogue lookup in the tests (and in the app the browser tests start) must find its words.
os.environ.setdefault("LAPSELENS_STRICT_CATALOGUE", "1")
# The product's OpenMP setting (app.py, analysis/__main__.py set it too): idle LightGBM threads
# sleep instead of spinning, so the tests fit and score the model as the app does.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from paths import FUZZ_SUMMARY_DIR, ROOT, SHARED_DATA, missing_on_ci  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """Data sets the app keeps for a refresh go to a temporary data directory, never the project's ``.lapselens/``."""
    from analysis.store.disk import DATA_DIR_ENV

    previous = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(tmp_path_factory.mktemp("lapselens-data"))
    yield Path(os.environ[DATA_DIR_ENV])
    if previous is None:
        os.environ.pop(DATA_DIR_ENV, None)
    else:
        os.environ[DATA_DIR_ENV] = previous


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
        missing_on_ci(
            f"the real data sets are expected in {SHARED_DATA} (the shared/ folder beside the repository): no {', '.join(missing)}"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory):
    """The expensive read-only artefacts (the sample's models and payment history), built once per test run (tests/artefacts.py)."""
    from artefacts import Artefacts, run_folder

    return Artefacts(run_folder(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def sample_risk(artefacts):
    """The bundled sample, its feature choices and its lapse-risk model with the default features.

    Trained once per test run (about twenty seconds) and shared by every risk test and every
    AppTest that shows the model (:func:`_run_models`); treat it as read-only. Returns
    ``(loaded, choices, risk)``.
    """
    return artefacts.loaded(), artefacts.choices(), artefacts.risk()


@pytest.fixture(scope="session")
def sample_history(artefacts):
    """The sample's payment history (``data/make_payments.py``), as the guard hands it over, matched with the sample (read-only)."""
    return artefacts.history()


@pytest.fixture(scope="session")
def payment_risk(artefacts):
    """The sample's model with its payment history, the default features otherwise (trained once per test run; read-only)."""
    return artefacts.payment_risk()


#: Where the AppTests live: each gets the run's models of the sample (:func:`_run_models`).
APP_TESTS = ROOT / "tests" / "app"


@pytest.fixture(autouse=True)
def _run_models(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the AppTests (tests/app/), the run's models of the sample (tests/artefacts.py) stand in for the pages' own fit of them.

    Same data, options, payment history and seed, so the same model: build_risk is deterministic
    (tests/risk/test_drivers_actions.py holds the command line's default model equal to the
    run's). The page still runs its background job, waits for it and reads the result; only the
    fit is not repeated. Any other book, options or history (a filtered or small book, another
    feature set, an uploaded history) is fitted, or refused, for real. Nothing is built until a
    page asks for a model.
    """
    if APP_TESTS not in request.node.path.parents:
        return
    import pandas as pd

    import ui.risk

    artefacts = request.getfixturevalue("artefacts")
    fit = ui.risk.build_risk

    def build_risk(policies, study_date, options, progress=None, *, payments=None, draw=None):
        loaded = artefacts.loaded()
        sample = options == artefacts.choices().options() and study_date == loaded.study_date and policies.equals(loaded.policies)
        if sample and payments is None:
            return artefacts.risk()
        history = getattr(payments, "payments", payments)  # a matched PaymentHistory (or its frame)
        if sample and isinstance(history, pd.DataFrame) and history.equals(artefacts.history().payments):
            return artefacts.payment_risk()
        with_payments = {} if payments is None else {"payments": payments}
        return fit(policies, study_date, options, progress=progress, draw=draw, **with_payments)

    monkeypatch.setattr(ui.risk, "build_risk", build_risk)


#: The engines every engine-core pin runs on.
ENGINE_NAMES = ("duckdb", "spark")


@pytest.fixture(scope="session", params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest):
    """An Ibis backend of each engine: DuckDB in the process, and a local Spark session.

    The same pins run on both. Tests that take this fixture with Spark run on one xdist
    worker (group ``spark``, see :func:`pytest_collection_modifyitems`), so one Spark
    driver starts per test session.
    """
    from analysis.engine.backend import connect

    return connect(request.param)


#: Fixtures that start or need a real server (PostgreSQL, MariaDB): their tests are integration tests.
SERVER_FIXTURES = frozenset({"pg_server", "mysql_server"})


def _integration(item: pytest.Item) -> bool:
    """A test of a real server, a Spark session or the browser: run by ``-m integration`` (scripts/test.sh runs both sets)."""
    callspec = getattr(item, "callspec", None)
    spark = callspec is not None and callspec.params.get("engine") == "spark"
    return spark or bool(SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))) or item.get_closest_marker("browser") is not None


#: The xdist group of the tests that need the sample's model with payments (tests/app/test_app_customer.py names it too).
PAYMENT_MODEL = "payment-model"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every Spark case shares one worker (one JVM, started once), so do the tests of the model with payments.

    Server, Spark and browser tests are marked ``integration``.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("engine") == "spark":
            item.add_marker(pytest.mark.xdist_group("spark"))
        elif "payment_risk" in getattr(item, "fixturenames", ()) and item.get_closest_marker("xdist_group") is None:
            # The model with payments takes the longest to train: one worker trains it, the other never waits for it.
            item.add_marker(pytest.mark.xdist_group(PAYMENT_MODEL))
        if _integration(item):
            item.add_marker(pytest.mark.integration)


#: The test processes' garbage collector: a young collection every 5,000 new objects instead of
#: 700, an older one every 20 of those. The suite keeps millions of long-lived objects (pandas,
#: Ibis, Streamlit, the shared models); with Python's defaults the full collections that walk
#: them took about 35 s of the two workers' time in a default run, against about 9 s with these.
#: Cycles are still collected, and an explicit ``gc.collect()`` in a test still collects everything
#: the tests made (what existed when collection ended is frozen, see below).
GC_THRESHOLDS = (5_000, 20, 20)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_finish(session: pytest.Session) -> None:
    """After collection: Streamlit's component scan once per process, and what the imports made set aside from collection.

    Each new ``AppTest`` scans every installed distribution for Streamlit components (about
    12 s of the suite's time over its AppTests); nothing is installed during a run, so the
    process's first scan is the answer for every later one. ``gc.freeze`` moves the objects the
    imports and collection made (modules, classes, functions) out of the collector's way.
    """
    if "streamlit" in sys.modules:
        from streamlit.components.v2 import manifest_scanner
        from streamlit.testing.v1 import local_script_runner

        scan = functools.cache(manifest_scanner.scan_component_manifests)
        manifest_scanner.scan_component_manifests = lambda max_workers=None: list(scan(max_workers))
        local_script_runner.require_widgets_deltas = _wait_for_the_script
    gc.collect()
    gc.freeze()


def _wait_for_the_script(runner, timeout: float = 3) -> None:
    """``AppTest``'s wait for a script run to end (Streamlit's ``require_widgets_deltas``), woken by the run's end.

    Streamlit's own wait looks every millisecond through every event the run has sent so far
    (one per element drawn): on the pages' long runs the test's thread took the interpreter
    from the script's thread about 20 s over the AppTests. Here it sleeps until the runner says
    ``SHUTDOWN`` (looking at the runner's record every 50 ms, for an event already being sent
    when the wait began), with the same time limit and the same error past it.
    """
    from streamlit.runtime.scriptrunner import ScriptRunnerEvent

    ended = threading.Event()

    def on_event(sender, event, **kwargs) -> None:
        if event == ScriptRunnerEvent.SHUTDOWN:
            ended.set()

    runner.on_event.connect(on_event, weak=False)
    deadline = time.monotonic() + timeout
    try:
        # The event may be on its way to the receivers connected before this one: look at the
        # runner's own record too, now and then, so a run that ended just now is never missed.
        while not runner.script_stopped() and (left := deadline - time.monotonic()) > 0:
            ended.wait(min(left, 0.05))
    finally:
        runner.on_event.disconnect(on_event)
    if runner.script_stopped():
        return
    runner.request_stop()  # as Streamlit does: stop the script before saying so, so it does not run on
    runner.join()
    raise RuntimeError(f"AppTest script run timed out after {timeout}(s)")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist): a fresh count
        shutil.rmtree(FUZZ_SUMMARY_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """How many cases the fuzz tests tried, summed over the processes that ran them."""
    files = sorted(FUZZ_SUMMARY_DIR.glob("*.json")) if not hasattr(config, "workerinput") else []
    if not files:
        return
    tried: Counter[str] = Counter()
    columns, examples = 0, None
    for path in files:
        summary = json.loads(path.read_text())
        tried.update(summary["tried"])
        columns += summary["columns_compared"]
        examples = summary["examples"]
    parts = ", ".join(f"{kind} {count}" for kind, count in sorted(tried.items()))
    terminalreporter.write_sep("-", "fuzzing the door")
    terminalreporter.write_line(f"{sum(tried.values())} cases tried ({examples} examples per property): {parts}")
    if columns:
        terminalreporter.write_line(f"(the wide-attribute cases compared {columns} columns)")
