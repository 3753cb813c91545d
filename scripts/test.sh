#!/usr/bin/env bash
# Set up and run the whole test suite. Works on a fresh machine with Python 3.11; as root on
# Debian/Ubuntu it installs Chromium for the browser tests, elsewhere set CHROMIUM_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(command -v python3.11 || command -v python3)
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"

# Debian packages the tests use: Chromium (browser tests), poppler-utils (a PDF page as PNG).
need=""
{ [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; } || need="$need chromium fonts-dejavu-core"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing:$need"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  else
    echo "Missing:$need (browser and PDF-image tests will be skipped)." >&2
  fi
fi

export NPQ_CONFIG=test
.venv/bin/python -m pytest "$@"
