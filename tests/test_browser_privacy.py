"""In a real browser: the audit log page, and the warning about pupils' names before a write-up is
submitted (dismissed with "Submit anyway"). Screenshots at 360 and 1366 px, in test-artifacts/privacy/."""
from __future__ import annotations

from .admin_support import new_admin
from .browser_support import ARTIFACTS, chromium_page
from .conftest import learner
from .test_writeups import RISK

SHOTS = ARTIFACTS / "privacy"
SHOTS.mkdir(exist_ok=True)
WIDTHS = (360, 1366)


def _fill(page, name: str, value: str) -> None:
    field = page.locator(f'[name="{name}"]')
    if field.evaluate("el => el.tagName") == "SELECT":
        field.select_option(value)
    elif field.get_attribute("type") == "radio":
        page.locator(f'[name="{name}"][value="{value}"]').check()
    else:
        field.fill(value)


def test_audit_log_page_at_phone_and_desktop_widths(app, tool):
    name, password = new_admin(app, "shots")
    for width in WIDTHS:
        with chromium_page(viewport=(width, 900)) as page:
            page.goto(tool.url + "/admin/login")
            page.get_by_label("Username").fill(name)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Platforms").wait_for()
            page.goto(tool.url + "/admin/audit")
            page.get_by_role("heading", name="Audit log").wait_for()
            page.get_by_label("Done by").fill(f"admin:{name}")
            page.get_by_role("button", name="Show entries").click()
            page.locator("table.audit-log code", has_text="admin.sign_in").first.wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
            page.screenshot(path=str(SHOTS / f"audit-log-{width}.png"), full_page=True)


def test_pupil_name_warning_then_submit_anyway(platform):
    for width in WIDTHS:
        spec = learner(custom={"npq_item": "NPQSL/risk-assessment"}, lineitems_url=platform.issuer + "/lineitems")
        spec.lineitem_url = platform.add_line_item("NPQSL/risk-assessment", 100, resource_id="NPQSL/risk-assessment")
        with chromium_page(viewport=(width, 900)) as page:
            page.goto(platform.login_url(spec))
            page.get_by_role("button", name="Submit for marking").wait_for()
            assert page.get_by_text("Do not name pupils, colleagues or families").is_visible()
            _fill(page, "f.overview.project-title", "Reading fluency in Year 4")
            _fill(page, "f.overview.sdp-priority", "Literacy across the curriculum")
            _fill(page, "f.overview.project-lead", "Asha Patel, deputy head")
            _fill(page, "f.overview.description", "I worked with pupil Amira, born 3 March 2016, on fluency.")
            row = page.locator('[name^="t.risks."][name$=".description"]').first.get_attribute("name").split(".")[2]
            for key, value in RISK.items():
                _fill(page, f"t.risks.{row}.{key}", value)
            page.get_by_role("button", name="Submit for marking").click()
            page.get_by_role("heading", name="Not submitted yet: check these passages").wait_for()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(SHOTS / f"submit-warning-{width}.png"))
            assert "pupil Amira" in page.locator("#pupil-warning").inner_text()
            page.get_by_role("button", name="Submit anyway").click()
            page.get_by_role("heading", name="Submitted: read-only").wait_for()
            assert "I worked with pupil Amira, born 3 March 2016, on fluency." in page.content()
