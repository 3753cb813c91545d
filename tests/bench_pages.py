"""Server time of every page at one user (issue #18 item 10). A benchmark, not a test: the suite does
not collect this file (its name does not start with test_); `bench/pages.py` runs it through pytest
to reuse the fixtures (the tool on real HTTP, a real database, an independent platform) and the
gallery's list of every page of every role, and writes bench/PAGES-<database>.md."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from .platform_server import PlatformServer
from .test_browser_gallery import ROLE_ACTOR, _is_html_page, _pages
from .conftest import register
from .test_route_matrix import build_world

ROUNDS = int(os.environ.get("PAGE_ROUNDS", "15"))
BENCH = Path(__file__).resolve().parent.parent / "bench"


def _ms(http, url: str) -> float | None:
    """Milliseconds for one GET; None for a page that redirects this role elsewhere (not timed)."""
    start = time.perf_counter()
    resp = http.get(url, allow_redirects=False, timeout=30)
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed if resp.status_code == 200 else None


def test_time_every_page(app, tool):
    platform = PlatformServer(tool.url)
    platform.db_id = register(app, platform)
    try:
        world = build_world(app, tool, platform)
        pages = [(r, n, u) for r, n, u in _pages(app, world)
                 if "frame" not in n and _is_html_page(world, r, u)]  # framed pages are launch chains
        rows = []
        for role, name, url in pages:
            http = world.browsers[ROLE_ACTOR.get(role, "anon")].http
            first = _ms(http, url)
            if first is None:
                continue
            times = sorted(_ms(http, url) for _ in range(ROUNDS))
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            rows.append((role, name, first, statistics.median(times), p95))
    finally:
        platform.stop()
    slow = [r for r in rows if r[4] >= 100]
    lines = [
        "# Server time of every page at one user",
        "",
        f"Database: {app.config['DATABASE_URL'].split(':', 1)[0]}. Each page fetched once, then {ROUNDS} times "
        "more by one client over loopback (wall time at the client: the tool's work plus the test server's "
        f"and the HTTP client's overhead, ~1-2 ms). Load average at the end: {os.getloadavg()[0]:.2f}. "
        "Target: under 100 ms at p95.",
        "",
        f"**{len(rows)} pages; {len(rows) - len(slow)} under 100 ms at p95; slowest p95 "
        f"{max(r[4] for r in rows):.0f} ms.**",
        "",
        "| role | page | first (ms) | median (ms) | p95 (ms) |",
        "|---|---|---:|---:|---:|",
    ] + [f"| {r} | {n} | {f:.1f} | {m:.1f} | {p:.1f} |" for r, n, f, m, p in sorted(rows, key=lambda r: -r[4])]
    database = "postgresql" if app.config["DATABASE_URL"].startswith("postgresql") else "sqlite"
    out = Path(os.environ.get("PAGES_OUT") or BENCH / f"PAGES-{database}.md")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
