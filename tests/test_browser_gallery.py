"""Every page of every role, in Chromium at a phone's width (360 px), a VLE frame's (768 px) and a
laptop's (1366 px): no sideways scrolling of the page, no console errors, no failed requests, no
internal codes in what a person reads, and no serious or critical axe violations.

The pages come from the route matrix's world (tests/test_route_matrix.py `build_world`): every
GET route that answers an HTML page to the participant, the tutor, the mentor, the provider admin
or anyone (the sandbox VLE and the public pages), with the world's real ids. Screenshots land in
`test-artifacts/gallery/<role>/<page>-<width>.png`, with an `index.html` to look through them.

Needs Chromium and axe-core (see tests/test_a11y.py); skipped with a message without them.
"""
from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field

import pytest

from lti_tool.permissions import ADMIN, PUBLIC

from .browser_support import ARGS, ARTIFACTS, CHROMIUM
from .conftest import register
from .platform_server import PlatformServer
from .test_a11y import AXE, describe
from .test_route_matrix import TABLE, Case, World, _url, build_world

WIDTHS = (360, 768, 1366)
HEIGHT = {360: 780, 768: 1000, 1366: 900}
GALLERY = ARTIFACTS / "gallery"
ROLE_ACTOR = {"participant": "P", "tutor": "T", "mentor": "Mp", "admin": "admin", "public": "anon"}
# Internal codes nobody should read: item refs, statement ids, milestone ids, gradebook states.
# Text inside [data-verbatim] is a record shown exactly as stored (the audit trail's detail).
RAW_CODES = re.compile(r"NPQ[A-Z]+/[a-z0-9-]+|\b(?:that|how)-\d+|\bretained-\d|FullyGraded|PendingManual")
# Routes that are not pages a person looks at: files, feeds, APIs and the LTI machinery.
NOT_PAGES = {"static", "favicon", "healthz", "lti.jwks", "lti.canvas_config", "lti.login", "lti.launch",
             "lti.register", "lti.register_with_link", "sandbox.initiate", "sandbox.authorize",
             "sandbox.line_items", "sandbox.line_item", "sandbox.memberships", "sandbox.jwks"}
PARTICIPANT_EXTRAS = {"write-up: action plan": "writeups/NPQSL/action-plan",
                      "write-up: impact essay": "writeups/NPQSL/impact-essay",
                      "activity: scenario": "activities/NPQSL/sc-scenario",
                      "activity: practice task": "activities/NPQSL/sc-practice",
                      "activity: knowledge check": "activities/NPQSL/sc-check"}
SANDBOX_PAGES = {"sandbox course (participant)": "/sandbox/?as=participant",
                 "sandbox course (tutor)": "/sandbox/?as=tutor", "sandbox course (mentor)": "/sandbox/?as=mentor",
                 "sandbox gradebook": "/sandbox/gradebook"}

@dataclass
class Visit:
    role: str
    name: str
    url: str
    shots: dict[int, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, text: str) -> None:
        self.problems.setdefault(kind, []).append(text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _pages(app, world: World) -> list[tuple[str, str, str]]:
    """(role, page name, URL) for every GET route that answers each role with an HTML page."""
    pages = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint.startswith("sandbox."):
            continue
        declared = app.view_functions[rule.endpoint].allowed_roles
        if declared == PUBLIC:
            roles, cases = ["public"], [Case()]
        elif declared == ADMIN:
            roles, cases = ["admin"], [Case()]
        else:
            cases = TABLE.get(rule.endpoint, [])
            roles = [r for r in ("participant", "tutor", "mentor")]
        for n, case in enumerate(cases):
            for role in roles:
                actor = ROLE_ACTOR[role]
                if declared not in (PUBLIC, ADMIN) and actor not in case.get:
                    continue
                url, query = _url(world, rule, actor, case)
                if query:
                    url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
                name = rule.endpoint + (f"-{n + 1}" if len(cases) > 1 else "")
                pages.append((role, name, url))
    pages += [("sandbox", name, world.tool_url + path) for name, path in SANDBOX_PAGES.items()]
    home = _sandbox_home_link(app, world)  # the tool inside the VLE's page, as Canvas or Moodle show it
    pages += [("sandbox", f"course home in the VLE's frame ({who})", f"{world.tool_url}/sandbox/links/{home}?as={who}")
              for who in ("participant", "tutor")]
    # The matrix opens one item of each kind: the participant's other kinds of page as well.
    own = f"{world.tool_url}/s/{world.sids['P']}/"
    pages += [("participant", name, own + path) for name, path in PARTICIPANT_EXTRAS.items()]
    return pages


def _sandbox_home_link(app, world: World) -> int:
    import requests
    from sqlalchemy import select

    from lti_tool.db import db
    from lti_tool.models import SandboxLink

    requests.get(world.tool_url + "/sandbox/", timeout=30)  # the sandbox makes its course home on first visit
    with app.app_context():
        return db().scalar(select(SandboxLink.id).where(SandboxLink.resource_link_id == "sandbox-home"))


def _is_html_page(world: World, role: str, url: str) -> bool:
    """Ask first with the role's own HTTP session: files (CSV, PDF, calendar) and refusals are no page."""
    http = world.browsers[ROLE_ACTOR.get(role, "anon")].http
    resp = http.get(url, allow_redirects=True, timeout=30)
    return resp.status_code == 200 and resp.headers.get("Content-Type", "").startswith("text/html")


CHECKS = """() => {
    const d = document.documentElement;
    const wide = [];
    if (d.scrollWidth > d.clientWidth) {
        for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > d.clientWidth + 1 && r.width > 0) {
                wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                          ' right=' + Math.round(r.right));
                if (wide.length > 6) break;
            }
        }
    }
    const text = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const n = walker.currentNode, el = n.parentElement;
        if (!el || !n.textContent.trim()) continue;
        if (el.closest('script,style,noscript,[hidden],.visually-hidden,[data-verbatim]')) continue;
        if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
        text.push(n.textContent);
    }
    for (const el of document.querySelectorAll('input[type=text],input:not([type]),textarea')) {
        if (el.getClientRects().length && !el.readOnly && el.value) text.push(el.value);  // text the tool filled in
    }
    const tall = [];  // sticky or fixed bars taller than a fifth of the screen
    for (const el of document.body.querySelectorAll('*')) {
        const pos = getComputedStyle(el).position;
        if (pos !== 'sticky' && pos !== 'fixed') continue;
        const r = el.getBoundingClientRect();
        if (r.height > innerHeight / 5) tall.push((el.className || el.tagName) + ' ' + Math.round(r.height) + 'px');
    }
    // Blank tail: hidden or clipped content (e.g. a visually hidden span deep in a scroll box) that
    // stretches the page far below its last visible element, the footer.
    const footer = document.querySelector('footer');
    const end = footer ? footer.getBoundingClientRect().bottom + scrollY : d.scrollHeight;
    return {scroll: d.scrollWidth, client: d.clientWidth, wide, tall, text: text.join(' '),
            height: d.scrollHeight, end: Math.round(end)};
}"""


def _check(page, visit: Visit, width: int, errors: list[str]) -> None:
    page.set_viewport_size({"width": width, "height": HEIGHT[width]})
    page.wait_for_timeout(50)
    found = page.evaluate(CHECKS)
    if found["scroll"] > found["client"]:
        visit.add("overflow", f"{width}px: page is {found['scroll']}px wide in {found['client']}px; "
                              f"wider: {', '.join(found['wide'])}")
    if found["height"] > max(found["end"], HEIGHT[width]) + 80:
        visit.add("overflow", f"{width}px: the page is {found['height']}px long but its footer ends at "
                              f"{found['end']}px (hidden content stretches it)")
    if width == WIDTHS[0] and found["tall"]:
        visit.add("sticky", f"{width}px, {HEIGHT[width]}px high: {', '.join(found['tall'])}")
    codes = sorted(set(m.group(0) for m in RAW_CODES.finditer(found["text"])))
    if codes:
        visit.add("raw codes", f"{width}px: {', '.join(codes[:8])}")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => ({id: v.id,
            impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 200), summary: n.failureSummary}))}));
    }""")
    if violations:
        visit.add("axe", f"{width}px:\n{describe(violations)}")
    path = GALLERY / visit.role / f"{_slug(visit.name)}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    visit.shots[width] = str(path.relative_to(GALLERY))
    for e in errors:
        visit.add("console or request", f"{width}px: {e}")
    errors.clear()


def _visit(context, visit: Visit) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    try:
        page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT[WIDTHS[0]]})
        page.goto(visit.url, wait_until="load")
        if "/sandbox/links/" in visit.url or visit.role == "sandbox":
            page.wait_for_load_state("networkidle")
        for width in WIDTHS:
            _check(page, visit, width, errors)
    finally:
        page.close()


def _write_index(visits: list[Visit]) -> None:
    rows = []
    for role in dict.fromkeys(v.role for v in visits):
        rows.append(f"<h2 id='{role}'>{html.escape(role.capitalize())}</h2>")
        for v in (v for v in visits if v.role == role):
            shots = "".join(f"<figure><a href='{s}'><img src='{s}' alt='{html.escape(v.name)} at {w} px' "
                            f"loading='lazy'></a><figcaption>{w} px</figcaption></figure>"
                            for w, s in v.shots.items())
            problems = "".join(f"<li><strong>{html.escape(k)}</strong>: <pre>{html.escape(chr(10).join(p))}</pre></li>"
                               for k, p in v.problems.items())
            rows.append(f"<section><h3>{html.escape(v.name)}</h3><p><code>{html.escape(v.url)}</code></p>"
                        f"{'<ul>' + problems + '</ul>' if problems else ''}<div class='shots'>{shots}</div></section>")
    GALLERY.joinpath("index.html").write_text(
        "<!doctype html><html lang='en-GB'><meta charset='utf-8'><title>NPQ Learning: every page</title>"
        "<style>body{font-family:system-ui;margin:1rem}.shots{display:flex;gap:1rem;align-items:flex-start}"
        "figure{margin:0}img{width:240px;max-height:520px;object-fit:cover;object-position:top;border:1px solid #ccc}pre{white-space:pre-wrap}</style>"
        "<h1>NPQ Learning: every page at 360, 768 and 1366 px</h1><p>"
        + " · ".join(f"<a href='#{r}'>{r}</a>" for r in dict.fromkeys(v.role for v in visits)) + "</p>"
        + "".join(rows), encoding="utf-8")


@pytest.fixture(scope="module")
def gallery(app, tool):
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: see tests/test_a11y.py")
    import os
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium not found at {CHROMIUM}; scripts/test.sh installs it")
        pytest.skip("Chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    platform = PlatformServer(tool.url)
    platform.db_id = register(app, platform)
    world = build_world(app, tool, platform)
    pages = [(r, n, u) for r, n, u in _pages(app, world) if _is_html_page(world, r, u)]
    shutil.rmtree(GALLERY, ignore_errors=True)
    visits: list[Visit] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for role in dict.fromkeys(r for r, _, _ in pages):
                (GALLERY / role).mkdir(parents=True, exist_ok=True)
                # axe is injected as an inline script: this context lets it in (pages unchanged).
                context = browser.new_context(bypass_csp=True, locale="en-GB")
                context.set_default_timeout(20000)
                cookies = world.browsers[ROLE_ACTOR.get(role, "anon")].http.cookies
                context.add_cookies([{"name": c.name, "value": c.value, "url": world.tool_url} for c in cookies])
                for r, name, url in pages:
                    if r == role:
                        visits.append(Visit(role, name, url))
                        _visit(context, visits[-1])
                context.close()
        finally:
            browser.close()
            platform.stop()
    _write_index(visits)
    return visits


def _report(visits: list[Visit], kind: str) -> list[str]:
    return [f"{v.role} {v.name} ({v.url}):\n  " + "\n  ".join(v.problems[kind]) for v in visits if kind in v.problems]


def test_every_role_has_its_pages(gallery):
    roles = {v.role for v in gallery}
    assert roles >= {"participant", "tutor", "mentor", "admin", "public", "sandbox"}, roles
    assert len(gallery) >= 40, [v.name for v in gallery]
    assert (GALLERY / "index.html").exists()
    for v in gallery:
        assert set(v.shots) == set(WIDTHS), (v.name, v.shots)


def test_no_page_scrolls_sideways(gallery):
    failures = _report(gallery, "overflow")
    assert not failures, f"{len(failures)} pages wider than the screen:\n" + "\n".join(failures)


def test_sticky_bars_take_at_most_a_fifth_of_a_phone_screen(gallery):
    failures = _report(gallery, "sticky")
    assert not failures, "\n".join(failures)


def test_no_console_errors_or_failed_requests(gallery):
    failures = _report(gallery, "console or request")
    assert not failures, "\n".join(failures)


def test_no_serious_or_critical_axe_violations(gallery):
    failures = _report(gallery, "axe")
    assert not failures, "\n".join(failures)


def test_no_internal_codes_in_visible_text(gallery):
    failures = _report(gallery, "raw codes")
    assert not failures, "internal codes on screen:\n" + "\n".join(failures)
