"""``python -m analysis``: the batch command line (see :mod:`analysis.cli`)."""

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # idle LightGBM threads sleep, not spin

from analysis.cli import main  # noqa: E402

sys.exit(main())
