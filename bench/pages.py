"""Time every page of every role at one user and write bench/PAGES-sqlite.md or PAGES-postgresql.md.

    python -m bench.pages            # SQLite (a throwaway database)
    bash scripts/with-postgres.sh env NPQ_CONFIG=test python -m bench.pages   # PostgreSQL

It runs tests/bench_pages.py through pytest to reuse the test fixtures and the gallery's page list."""
from __future__ import annotations

import os
import sys

import pytest


def main() -> int:
    os.environ.setdefault("NPQ_CONFIG", "test")
    return pytest.main(["-q", "-s", "-p", "no:cacheprovider", "tests/bench_pages.py", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
