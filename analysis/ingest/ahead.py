"""Work on whole columns started early on a thread pool: the columns of an extract parse side by side.

Arrow's and numpy's kernels release the GIL, so while the main thread works through the
door's steps in order, the parses they will ask for are already running.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Callable

#: Threads for work on whole columns …
WORKERS = max(1, min(4, os.cpu_count() or 1))
#: … from this many rows up (a small file is parsed faster on one thread).
PARALLEL_FROM = 50_000


def column_pool(rows: int) -> ThreadPoolExecutor | None:
    """A pool for a table of ``rows`` rows, or None when one thread is faster; the caller shuts it down."""
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="lapselens-door") if rows >= PARALLEL_FROM else None


class Ahead:
    """Parses of whole columns started early on a thread pool, each collected once."""

    def __init__(self, pool: Executor | None) -> None:
        self.pool = pool
        self.futures: dict[object, Future[Any]] = {}

    def start(self, key: object, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Start ``work(*args, **kwargs)`` on the pool (without a pool, it runs when its result is asked for)."""
        if self.pool is not None:
            self.futures[key] = self.pool.submit(work, *args, **kwargs)

    def result(self, key: object, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The started parse's result, or ``work(*args, **kwargs)`` when none was started."""
        future = self.futures.pop(key, None)
        return future.result() if future is not None else work(*args, **kwargs)
