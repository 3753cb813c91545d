#!/usr/bin/env bash
# Set up and run the whole test suite, on SQLite and then on PostgreSQL. Works on a fresh machine
# with Python 3.11; as root on Debian/Ubuntu it installs what the tests need (Chromium,
# poppler-utils, PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(command -v python3.11 || command -v python3)
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,postgres]"

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
# axe-core (accessibility checks in the browser tests), from npm.
if command -v npm >/dev/null 2>&1 && [ ! -f tests/.axe/node_modules/axe-core/axe.min.js ]; then
  npm install --silent --no-save --no-audit --no-fund --prefix tests/.axe axe-core@4 >/dev/null 2>&1 \
    || echo "axe-core could not be installed: accessibility tests will be skipped." >&2
fi

export NPQ_CONFIG=test
echo "== Tests on SQLite"
.venv/bin/python -m pytest "$@"
echo "== Tests on PostgreSQL"
status=0
bash scripts/with-postgres.sh .venv/bin/python -m pytest "$@" || status=$?
if [ "$status" = 3 ]; then
  echo "PostgreSQL unavailable: the PostgreSQL run was skipped." >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
exit "$status"
