#!/usr/bin/env bash
# Install everything and start LapseLens on the bundled sample: http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
