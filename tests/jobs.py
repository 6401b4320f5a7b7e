"""Wait for the app's background model jobs (``ui/risk.py``'s registry) instead of sleeping between reruns.

An AppTest page that trains the lapse model shows its progress and is run again until the model
is there. Sleeping a fixed time between reruns waits too long when the model is ready at once
(the run's shared model, ``tests/artefacts.py``) and reruns the page many times while one really
trains; :func:`wait_for_jobs` blocks until every job started so far has finished instead.
"""

from __future__ import annotations

import time
from concurrent.futures import wait


def wait_for_jobs(timeout: float = 240.0) -> None:
    """Block until the process's model jobs have finished (or ``timeout`` seconds): a failed job counts as finished."""
    import ui.risk

    registry = ui.risk._registry()
    with registry.lock:
        futures = [job.future for job in registry.jobs.values()]
    wait(futures, timeout=timeout)
    time.sleep(0.05)  # a page that waits for something else is not rerun in a tight loop
