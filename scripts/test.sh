#!/usr/bin/env bash
# Set up and run the whole test suite. Works on a fresh machine with Python 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(command -v python3.11 || command -v python3)
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
export NPQ_CONFIG=test
.venv/bin/python -m pytest "$@"
