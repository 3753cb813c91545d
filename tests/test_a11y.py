"""Accessibility: axe-core run in headless Chromium on every main page, and an activity completed
with the keyboard alone.

axe-core comes from npm and is not committed:
    npm install --no-save --prefix tests/.axe axe-core@4
Without it (or without Chromium) these tests are skipped with a message saying so.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import pytest

from lti_tool.cli import create_admin

from .browser_support import ARGS, ARTIFACTS, CHROMIUM
from .conftest import instructor, learner, register
from .platform_server import PlatformServer
from .test_marking import REF, _course, _submit_as

AXE = Path(__file__).resolve().parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


# ---------------------------------------------------------------------------------------------
# Fixtures: one platform, one browser for the whole module


@pytest.fixture(scope="module")
def a11y_platform(app, tool):
    p = PlatformServer(tool.url)
    p.db_id = register(app, p)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def page():
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: run "
                    "`npm install --no-save --prefix tests/.axe axe-core@4` (scripts/test.sh should do it)")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium not found at {CHROMIUM}; scripts/test.sh installs it")
        pytest.skip("Chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # The tool's Content-Security-Policy allows only its own scripts; axe is injected as an
        # inline script, so this context lets it in (the pages themselves are unchanged).
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


class Site:
    """What the page navigators need, with set-up done once and kept (admin sign-in, a submission)."""

    def __init__(self, page, platform, tool, app):
        self.page, self.platform, self.tool, self.app = page, platform, tool, app
        self.cache: dict = {}

    def launch(self, spec, url_glob: str):
        self.page.goto(self.platform.login_url(spec))
        self.page.wait_for_url(url_glob)
        return self.page.url

    def session_url(self, path: str) -> str:
        return re.sub(r"(/s/[^/]+/).*", r"\1", self.page.url) + path.lstrip("/")


@pytest.fixture(scope="module")
def site(page, a11y_platform, tool, app):
    return Site(page, a11y_platform, tool, app)


def run_axe(page, label: str) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 200), summary: n.failureSummary}))}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for n in v["nodes"][:8]:
            lines.append(f"    at {' '.join(map(str, n['target']))}: {n['html']}")
            if n.get("summary"):
                lines.append("      " + n["summary"].replace("\n", "\n      "))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The pages


def _participant(site, ref, glob):
    return site.launch(learner(custom={"npq_item": ref}), glob)


def sandbox_course(site):
    site.page.goto(site.tool.url + "/sandbox/?as=participant")
    site.page.get_by_role("heading", name=re.compile("NPQSL International")).first.wait_for()


def programme_home(site):
    site.launch(learner(custom={"npq_programme": "NPQSL"}), "**/programme")
    site.page.get_by_role("heading", name="Your progress").wait_for()


def framework_page(site):
    programme_home(site)
    site.page.get_by_role("link", name="Read the framework").click()
    site.page.get_by_role("heading", name="The framework").wait_for()
    site.page.locator("details.framework-area summary").first.click()


def activity(ref):
    def go(site):
        _participant(site, ref, "**/activities/" + ref)
        site.page.locator("#activity-form").wait_for()
    return go


def knowledge_check_submitted(site):
    _participant(site, "NPQSL/sc-check", "**/activities/NPQSL/sc-check")
    for fieldset in site.page.locator("fieldset.question").all():
        fieldset.locator("input[type=radio]").first.check()
    site.page.get_by_role("button", name="Submit").click()
    site.page.get_by_text("You submitted this on").wait_for()


def writeup(ref):
    def go(site):
        _participant(site, ref, "**/writeups/" + ref)
        site.page.locator("#activity-form").wait_for()
        first = site.page.locator("#activity-form input[type=text], #activity-form textarea").first
        first.fill("Reading fluency in Year 7")
        site.page.get_by_role("button", name="Save draft").click()
        site.page.get_by_text("Draft saved").first.wait_for()
    return go


def writeup_history(site):
    writeup("NPQSL/action-plan")(site)
    site.page.get_by_role("link", name="Versions and submissions").click()
    site.page.get_by_role("heading", name=re.compile("versions and submissions")).wait_for()


def writeup_version(site):
    writeup_history(site)
    site.page.get_by_role("link", name="Version 1", exact=True).first.click()
    site.page.get_by_role("heading", name=re.compile(": Version 1")).wait_for()


def tutor_landing(site):
    site.launch(instructor(custom={"npq_programme": "NPQSL"}), re.compile(r".*/s/[^/]+/$"))
    site.page.get_by_role("heading", name="The course's activities").wait_for()


def coverage(site):
    tutor_landing(site)
    site.page.get_by_role("link", name=re.compile("Framework coverage")).click()
    site.page.get_by_role("heading", name=re.compile("Framework coverage")).wait_for()


def picker(site):
    spec = instructor(resource_link_id=None)
    spec.deep_link_return_url = site.platform.issuer + "/deep-link-return"
    site.launch(spec, "**/pick")
    site.page.get_by_role("heading", name="Add NPQ items to your course").wait_for()


def outline_programme_home(site):
    site.launch(learner(custom={"npq_programme": "NPQLBC"}), "**/programme")
    site.page.get_by_role("heading", name=re.compile("Outline")).wait_for()


def outline_coverage(site):
    site.launch(instructor(custom={"npq_programme": "NPQH"}), re.compile(r".*/s/[^/]+/$"))
    site.page.goto(site.session_url("coverage"))
    site.page.get_by_role("heading", name=re.compile("Framework coverage")).wait_for()


def _marking_course(site):
    if "course" not in site.cache:
        course = _course(site.platform)
        _submit_as(site.platform, course, "p-a11y-" + secrets.token_hex(3), "Nadia Rahman")
        site.cache["course"] = course
    return site.cache["course"]


def marking_queue(site):
    course = _marking_course(site)
    spec = instructor(user_id="t-a11y", context_id=course["context_id"], custom={"npq_item": REF},
                      lineitems_url=site.platform.issuer + "/lineitems")
    spec.lineitem_url = course["line_item"]
    site.launch(spec, "**/marking/NPQSL/risk-assessment")
    site.page.get_by_role("heading", name="Marking: Risk assessment").wait_for()


def marking_view(site):
    marking_queue(site)
    site.page.get_by_role("link", name="Nadia Rahman").click()
    site.page.get_by_role("heading", name="Nadia Rahman: Risk assessment").wait_for()


def _admin(site):
    if "admin" not in site.cache:
        name, password = "a11y-" + secrets.token_hex(3), secrets.token_urlsafe(12)
        with site.app.app_context():
            create_admin(name, password)
        site.page.goto(site.tool.url + "/admin/login")
        site.page.get_by_label("Username").fill(name)
        site.page.get_by_label("Password").fill(password)
        site.page.get_by_role("button", name="Sign in").click()
        site.page.get_by_role("heading", name="Platforms").wait_for()
        site.cache["admin"] = name


def assessment_outcomes(site):
    site.launch(instructor(custom={"npq_item": "NPQSL/case-study"}), "**/assessment/NPQSL/marking")
    site.page.goto(site.session_url("assessment/NPQSL/outcomes"))
    site.page.get_by_role("heading", name=re.compile("Outcomes report")).wait_for()


def assessment_engagement_participant(site):
    site.launch(learner(custom={"npq_item": "NPQSL/case-study"}), "**/assessment/NPQSL")
    site.page.goto(site.session_url("assessment/NPQSL/engagement"))
    site.page.get_by_role("heading", name="Your engagement").wait_for()


def assessment_record(site):
    """An appeal on a released fail, as a tutor decides it (set up through real requests)."""
    from .test_assessment import GOOD, _mark_link, _open_window, _participant, _spec, _submit
    from .test_assessment import _course as _assessment_course
    from .test_assessment import _tutor as _assessment_tutor
    from .test_dfe_rules import _first_and_release, _record

    course = _assessment_course(site.platform)
    tutor, queue = _assessment_tutor(site.platform, course)
    tutor.base_queue = queue.url
    _open_window(tutor, queue)
    who = "p-a11y-rec-" + secrets.token_hex(3)
    participant, page = _participant(site.platform, course, who, "Rhea Appeal")
    _submit(participant, page, GOOD)
    _first_and_release(tutor, site.platform, course, "Rhea Appeal", "fail", "No diagnosis from the data.")
    rec = _record(tutor, tutor.http.get(_mark_link(tutor.http.get(queue.url), "Rhea Appeal")), "appeal",
                  "The marker overlooked the data analysis.")
    site.launch(_spec(site.platform, course, instructor(user_id="t-a11y-rec")), "**/assessment/NPQSL/marking")
    site.page.goto(site.session_url(rec.url.split("/s/")[1].split("/", 1)[1]))
    site.page.get_by_role("heading", name="Appeal: Rhea Appeal, window 1").wait_for()


def admin_login(site):
    site.page.context.clear_cookies()  # signed out, whatever ran before
    site.cache.pop("admin", None)
    site.page.goto(site.tool.url + "/admin/login")
    site.page.get_by_role("heading", name="Provider admin sign-in").wait_for()


def admin_login_with_error(site):
    site.page.goto(site.tool.url + "/admin/login")
    site.page.get_by_label("Username").fill("nobody-" + secrets.token_hex(3))
    site.page.get_by_label("Password").fill("wrong")
    site.page.get_by_role("button", name="Sign in").click()
    site.page.get_by_text("do not match").wait_for()


def admin_platforms(site):
    _admin(site)
    site.page.goto(site.tool.url + "/admin/")
    site.page.get_by_role("heading", name="Platforms").wait_for()


def admin_platform_form(site):
    _admin(site)
    site.page.goto(site.tool.url + "/admin/platforms/new")
    site.page.get_by_role("heading", name="Add a platform").wait_for()


def admin_platform_form_with_errors(site):
    admin_platform_form(site)
    site.page.get_by_label("Issuer (iss)").fill("ftp://nope")
    site.page.get_by_role("button", name="Save").click()
    site.page.get_by_role("heading", name="There is a problem").wait_for()


def admin_platform_detail(site):
    _admin(site)
    site.page.goto(f"{site.tool.url}/admin/platforms/{site.platform.db_id}")
    site.page.get_by_role("heading", name=re.compile("Test platform")).wait_for()


def admin_replace_registration(site):
    _admin(site)
    other = site.cache.get("other_platform")
    if other is None:
        other = site.cache["other_platform"] = PlatformServer(site.tool.url)
        other.db_id = register(site.app, other)
    site.page.goto(f"{site.tool.url}/admin/platforms/{other.db_id}/replace?old={site.platform.db_id}")
    site.page.get_by_role("heading", name="What would change").wait_for()


def registration_complete(site):
    vle = PlatformServer(site.tool.url)  # a VLE not registered yet
    config = vle.issuer + "/.well-known/openid-configuration"
    site.page.goto(f"{site.tool.url}/lti/register?openid_configuration={config}"
                   f"&registration_token={vle.registration_token}")
    site.page.get_by_role("button", name="Register the tool").click()
    site.page.get_by_role("heading", name="Registration complete").wait_for()
    vle.stop()


def admin_settings(site):
    _admin(site)
    site.page.goto(site.tool.url + "/admin/settings")
    site.page.get_by_role("heading", name="Provider settings").wait_for()


def admin_account_security(site):
    _admin(site)
    site.page.goto(site.tool.url + "/admin/account")
    site.page.get_by_role("heading", name="Account security").wait_for()


def admin_totp_setup(site):
    _admin(site)
    site.page.goto(site.tool.url + "/admin/account/two-factor")
    site.page.get_by_role("heading", name="Set up two-factor authentication").wait_for()


def admin_totp_setup_with_error(site):
    admin_totp_setup(site)
    site.page.get_by_label("Code from your authenticator app").fill("12")
    site.page.get_by_role("button", name="Turn on two-factor authentication").click()
    site.page.get_by_role("heading", name="There is a problem").wait_for()


def admin_recovery_codes(site):
    import pyotp

    admin_totp_setup(site)
    secret = site.page.locator("#totp-secret").inner_text().replace(" ", "")
    site.page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    site.page.get_by_role("button", name="Turn on two-factor authentication").click()
    site.page.get_by_role("heading", name="Your recovery codes").wait_for()
    site.cache.pop("admin", None)  # enrolled now: the next admin page signs a new admin in


def admin_sign_in_code(site):
    """The second step of signing in, for an admin with 2FA (set up directly in the database)."""
    import pyotp

    from lti_tool.db import db, utcnow
    from lti_tool.models import AdminUser

    site.page.context.clear_cookies()
    site.cache.pop("admin", None)
    name, password = "a11y-2fa-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with site.app.app_context():
        user = create_admin(name, password)
        user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), utcnow()
        db().commit()
    site.page.goto(site.tool.url + "/admin/login")
    site.page.get_by_label("Username").fill(name)
    site.page.get_by_label("Password").fill(password)
    site.page.get_by_role("button", name="Sign in").click()
    site.page.get_by_role("heading", name="Enter your sign-in code").wait_for()


def admin_sign_in_code_with_error(site):
    admin_sign_in_code(site)
    site.page.get_by_label("Code from your authenticator app").fill("000000")
    site.page.get_by_role("button", name="Continue").click()
    site.page.get_by_role("heading", name="There is a problem").wait_for()
    site.page.get_by_text("I cannot use my authenticator app").click()  # the recovery code form, open
    site.page.get_by_label("Recovery code").wait_for()


def lti_error_page(site):
    site.page.goto(site.tool.url + "/lti/login?login_hint=x")
    site.page.get_by_text("What to do").wait_for()


def admin_people(site):
    if "person" not in site.cache:  # someone to find (Asha Patel), whichever pages ran before
        programme_home(site)
        site.cache["person"] = True
    _admin(site)
    site.page.goto(site.tool.url + "/admin/people?q=asha")
    site.page.get_by_role("heading", name=re.compile("match")).wait_for()


def admin_person(site):
    admin_people(site)
    site.page.locator("table a").first.click()
    site.page.get_by_role("heading", name="What is held about them").wait_for()


def admin_erase_preview(site):
    admin_person(site)
    site.page.get_by_role("link", name="Erase…").click()
    site.page.get_by_role("heading", name="Kept, and why").wait_for()


def admin_erase_with_error(site):
    admin_erase_preview(site)
    site.page.get_by_label("Type ERASE to confirm").fill("not yet")
    site.page.get_by_role("button", name="Erase this person").click()
    site.page.get_by_text("in capital letters to erase").wait_for()


def not_found_page(site):
    site.page.goto(site.tool.url + "/no-such-page")
    site.page.get_by_role("heading", name="Page not found").wait_for()


PAGES = {
    "sandbox course page": sandbox_course,
    "participant programme home": programme_home,
    "framework": framework_page,
    "activity: reading": activity("NPQSL/sc-reading"),
    "activity: scenario": activity("NPQSL/sc-scenario"),
    "activity: practice": activity("NPQSL/sc-practice"),
    "activity: knowledge check": activity("NPQSL/sc-check"),
    "activity: knowledge check, submitted": knowledge_check_submitted,
    "write-up: risk assessment": writeup("NPQSL/risk-assessment"),
    "write-up: action plan": writeup("NPQSL/action-plan"),
    "write-up: impact essay": writeup("NPQSL/impact-essay"),
    "write-up history": writeup_history,
    "write-up version": writeup_version,
    "tutor landing": tutor_landing,
    "coverage": coverage,
    "picker (deep linking)": picker,
    "outline programme home": outline_programme_home,
    "outline coverage": outline_coverage,
    "marking queue": marking_queue,
    "marking view": marking_view,
    "assessment outcomes report": assessment_outcomes,
    "assessment engagement, participant": assessment_engagement_participant,
    "assessment appeal record": assessment_record,
    "admin login": admin_login,
    "admin login, wrong password": admin_login_with_error,
    "admin platforms": admin_platforms,
    "admin platform form": admin_platform_form,
    "admin platform form with errors": admin_platform_form_with_errors,
    "admin platform detail": admin_platform_detail,
    "admin settings": admin_settings,
    "admin replace a registration": admin_replace_registration,
    "admin account security": admin_account_security,
    "admin two-factor setup": admin_totp_setup,
    "admin two-factor setup with errors": admin_totp_setup_with_error,
    "admin recovery codes": admin_recovery_codes,
    "admin sign-in code": admin_sign_in_code,
    "admin sign-in code with errors": admin_sign_in_code_with_error,
    "admin people search": admin_people,
    "admin person": admin_person,
    "admin erase preview": admin_erase_preview,
    "admin erase preview with errors": admin_erase_with_error,
    "LTI launch error page": lti_error_page,
    "registration complete (Moodle's next step)": registration_complete,
    "not found page": not_found_page,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_axe_violations(site, name):
    PAGES[name](site)
    violations = run_axe(site.page, name)
    if violations:
        site.page.screenshot(path=str(ARTIFACTS / f"a11y-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"),
                             full_page=True)
    assert not violations, f"{name} ({site.page.url}):\n{describe(violations)}"


# ---------------------------------------------------------------------------------------------
# Keyboard only

FOCUSED = """() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '', cls: el.className || '',
            text: (el.innerText || el.value || '').trim().slice(0, 40), checked: !!el.checked,
            outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0, shadow: s.boxShadow,
            onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                      && r.top < innerHeight && r.left < innerWidth};
}"""


def _focused(page) -> dict:
    return page.evaluate(FOCUSED)


def _assert_focus_visible(page, where: str) -> dict:
    f = _focused(page)
    assert f["tag"] != "body", f"focus was lost ({where})"
    visible = (f["outline"] not in ("none", "") and f["outlineWidth"] > 0) or f["shadow"] not in ("none", "")
    assert visible, f"no visible focus indicator on {f} ({where})"
    assert f["onScreen"], f"the focused element is off screen: {f} ({where})"
    return f


def _tab(page, where: str, shift: bool = False) -> dict:
    page.keyboard.press("Shift+Tab" if shift else "Tab")
    return _assert_focus_visible(page, where)


def test_knowledge_check_completed_with_the_keyboard_alone(page, a11y_platform):
    spec = learner(custom={"npq_item": "NPQSL/sc-check"})
    page.goto(a11y_platform.login_url(spec))
    page.wait_for_url("**/activities/NPQSL/sc-check")
    page.locator("#activity-form").wait_for()
    questions = page.locator("fieldset.question").count()
    assert questions >= 3

    # The first Tab reaches the skip link, which shows itself.
    first = _tab(page, "first Tab")
    assert "skip-link" in first["cls"], first
    # Tab to the first question's options (bounded: no keyboard trap on the way).
    f = first
    for step in range(40):
        if f["type"] == "radio":
            break
        f = _tab(page, f"step {step}")
    else:
        raise AssertionError("Tab never reached the first question")
    # Shift+Tab goes back, Tab comes again: focus order is reversible.
    back = _tab(page, "Shift+Tab", shift=True)
    assert back["type"] != "radio" or back["name"] != f["name"]
    f = _tab(page, "Tab again")
    assert f["type"] == "radio"

    chosen = {}
    for i in range(questions):
        assert f["type"] == "radio", (i, f)
        name = f["name"]
        if i % 2 == 0:
            page.keyboard.press("Space")  # choose the focused (first) option
        else:
            page.keyboard.press("ArrowDown")  # move to, and choose, the next option
        f = _assert_focus_visible(page, f"question {i + 1}")
        assert f["checked"] and f["name"] == name, f
        chosen[name] = page.evaluate(f"document.querySelector('input[name=\"{name}\"]:checked').value")
        # Options are in this person's own order: Space chose the first shown, ArrowDown the second.
        shown = page.locator(f"input[name='{name}']").nth(i % 2).get_attribute("value")
        assert chosen[name] == shown, (name, chosen[name], shown)
        f = _tab(page, f"after question {i + 1}")
    assert len(chosen) == questions

    # Focus is on the submit button now; Enter submits.
    assert f["tag"] == "button" and f["text"].startswith("Submit"), f
    page.keyboard.press("Enter")
    record = page.locator(".submitted-record")
    record.wait_for()
    assert "You submitted this on" in record.inner_text()
    assert re.search(r"Score: \d+ out of \d+", record.inner_text())
    for name, value in chosen.items():  # the answers given by keyboard are the ones recorded
        assert page.locator(f"input[name='{name}'][value='{value}']").is_checked(), name
    page.screenshot(path=str(ARTIFACTS / "keyboard-knowledge-check.png"), full_page=True)
