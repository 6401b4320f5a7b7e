"""The expensive read-only artefacts many tests share, built once per test run.

The sample's lapse-risk model takes about 20 s to train, the model with the sample's payment
history about 35 s and the history itself (generated and matched) about 10 s. Each is built
once per test run: under ``pytest -n 2`` the first worker that needs one builds it and leaves
it pickled in the run's temporary folder (the parent of every worker's ``basetemp``, under a
lock), and the other worker reads it instead of building it again. Without xdist the process
builds it once. Everything here is read-only: tests must not change what they are given.
"""

from __future__ import annotations

import copy
import fcntl
import importlib.util
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from paths import ROOT

SAMPLE = ROOT / "data" / "sample_policies.csv"


def _make_payments():
    """``data/make_payments.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_payments", ROOT / "data" / "make_payments.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_LOADED: list = []
_LOADING = threading.Lock()


def _sample():
    """The process's one load of the bundled sample."""
    from analysis import load_extract

    with _LOADING:
        if not _LOADED:
            _LOADED.append(load_extract(SAMPLE))
        return _LOADED[0]


def sample_extract():
    """``load_extract(data/sample_policies.csv)``: a fresh deep copy of the process's one load (the door is deterministic).

    Each caller gets its own copy, so a test may change what it was given; the load itself
    (a second or two on a busy machine) is paid once per process instead of once per module.
    """
    return copy.deepcopy(_sample())


class Artefacts:
    """Lazily built, memoised per process, and shared between the run's processes through ``folder``."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder  # None: one process (no xdist), nothing to share
        self._memo: dict[str, Any] = {}
        self._lock = threading.RLock()  # the app's training thread may ask too (tests/conftest.py, _run_models)

    def _once(self, name: str, build: Callable[[], Any], *, share: bool = True) -> Any:
        with self._lock:
            if name not in self._memo:
                self._memo[name] = self._shared(name, build) if share and self.folder is not None else build()
            return self._memo[name]

    def _shared(self, name: str, build: Callable[[], Any]) -> Any:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.pickle"
        with open(self.folder / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the build instead of repeating it
            if path.exists():
                return pickle.loads(path.read_bytes())
            value = build()
            partial = path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(path)
            return value

    def loaded(self):
        """The bundled sample through the door (each process loads its own), shared as it is: read-only."""
        return _sample()

    def choices(self):
        """The sample's feature choices (every user column not suspected of leaking: the default)."""
        from analysis.risk.rows import feature_choices

        loaded = self.loaded()
        return self._once("choices", lambda: feature_choices(loaded.policies, loaded.study_date), share=False)

    def risk(self):
        """The sample's lapse-risk model with the default features, without payments."""
        from analysis.risk.model import build_risk

        loaded, choices = self.loaded(), self.choices()
        return self._once("risk", lambda: build_risk(loaded.policies, loaded.study_date, choices.options()))

    def history(self):
        """The sample's payment history (``data/make_payments.py``) as the guard hands it over, matched with the sample."""
        from analysis.payments.table import match_payments, payments_from_cells

        loaded = self.loaded()

        def build():
            frame = _make_payments().sample_payments(loaded.policies, loaded.study_date)
            cells = frame.replace("", pd.NA).astype("string")  # text cells, blanks missing, source rows from 2
            history = payments_from_cells(cells, np.arange(2, len(frame) + 2, dtype=np.int64))
            return match_payments(history, loaded.policies, study_date=loaded.study_date)

        return self._once("history", build)

    def payment_risk(self):
        """The sample's model with its payment history (the default features otherwise)."""
        from analysis.risk.model import build_risk

        loaded, choices, history = self.loaded(), self.choices(), self.history()
        return self._once("payment-risk", lambda: build_risk(loaded.policies, loaded.study_date, choices.options(), payments=history))

    def report(self, lang: str) -> bytes:
        """The sample's monthly workbook in ``lang`` as the library writes it (``monthly_report``, dataset ``sample_policies.csv``)."""
        from analysis.report.monthly import monthly_report

        loaded = self.loaded()
        return self._once(f"report-{lang}", lambda: monthly_report(loaded, dataset=SAMPLE.name, lang=lang))


def run_folder(basetemp: Path) -> Path | None:
    """The folder the run's xdist workers share (their ``basetemp`` folders' parent), or None without xdist."""
    return basetemp.parent / "shared-artefacts" if os.environ.get("PYTEST_XDIST_WORKER") else None
