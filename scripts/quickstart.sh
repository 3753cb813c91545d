#!/usr/bin/env bash
# Set up and start the tool on the embedded default: SQLite, generated keys, demo content and the
# sandbox VLE at http://localhost:5000/sandbox/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(command -v python3.11 || command -v python3)
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
export NPQ_CONFIG=quickstart FLASK_APP=wsgi
.venv/bin/flask quickstart-setup
PORT="${PORT:-5000}"
echo
echo "  NPQ Learning is starting on http://localhost:${PORT}/"
echo "  Try it:       http://localhost:${PORT}/sandbox/   (pick participant, tutor or mentor)"
echo "  Admin pages:  http://localhost:${PORT}/admin/     (password in instance/admin_password.txt)"
echo
exec .venv/bin/gunicorn --config gunicorn.conf.py --bind "127.0.0.1:${PORT}" wsgi:app
