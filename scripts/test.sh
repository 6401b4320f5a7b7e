#!/usr/bin/env bash
# Install everything (Debian's Chromium included) and run the whole test suite:
# lint, type check, unit tests, AppTests and the real-browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
# A real PostgreSQL server on 127.0.0.1 and a Java runtime for Spark, installed and started when missing.
LAPSELENS_TEST_PG="$(bash scripts/services.sh)"
export LAPSELENS_TEST_PG
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
