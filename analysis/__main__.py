"""``python -m analysis``: the batch command line (see :mod:`analysis.cli`)."""

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # idle LightGBM threads sleep, not spin

from analysis.cli import main  # noqa: E402
from analysis.ingest.reading import prefer_jemalloc  # noqa: E402

prefer_jemalloc()  # a process setting: Arrow's memory pool (see its docstring for the measured reason)
sys.exit(main())
