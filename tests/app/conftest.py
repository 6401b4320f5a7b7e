"""Every AppTest here that shows the sample's lapse-risk model gets the test run's model instead of training its own."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(autouse=True)
def _run_models(monkeypatch: pytest.MonkeyPatch, artefacts) -> None:
    """The test run's models of the sample (tests/artefacts.py) stand in for the pages' own fit of the same models.

    Same data, options, payment history and seed, so the same model: build_risk is deterministic
    (tests/risk/test_drivers_actions.py holds the command line's default model equal to the
    run's). The page still runs its background job, waits for it and reads the result; only the
    fit is not repeated. Any other book, options or history (a filtered or small book, another
    feature set, an uploaded history) is fitted, or refused, for real. Nothing is built until a
    page asks for a model.
    """
    import ui.risk

    fit = ui.risk.build_risk

    def build_risk(policies, study_date, options, progress=None, *, payments=None):
        loaded = artefacts.loaded()
        sample = options == artefacts.choices().options() and study_date == loaded.study_date and policies.equals(loaded.policies)
        if sample and payments is None:
            return artefacts.risk()
        history = getattr(payments, "payments", payments)  # a matched PaymentHistory (or its frame)
        if sample and isinstance(history, pd.DataFrame) and history.equals(artefacts.history().payments):
            return artefacts.payment_risk()
        with_payments = {} if payments is None else {"payments": payments}
        return fit(policies, study_date, options, progress=progress, **with_payments)

    monkeypatch.setattr(ui.risk, "build_risk", build_risk)
