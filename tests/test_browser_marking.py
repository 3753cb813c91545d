"""The marking view in a real browser: submission beside rubric; live total; release."""
from __future__ import annotations

from .browser_support import ARTIFACTS, chromium_page
from .test_marking import _course, _submit_as, REF
from .conftest import instructor


def test_marking_view_screenshot_and_release(platform):
    course = _course(platform)
    _submit_as(platform, course, "p-shot", "Nadia Rahman")
    spec = instructor(user_id="tutor-shot", context_id=course["context_id"], custom={"npq_item": REF},
                      lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = course["line_item"]
    with chromium_page(viewport=(1366, 900)) as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("heading", name="Marking: Risk assessment").wait_for()
        page.get_by_role("link", name="Nadia Rahman").click()
        page.get_by_role("heading", name="Nadia Rahman: Risk assessment").wait_for()
        for fieldset in page.locator("fieldset.criterion").all():
            fieldset.locator("input[type=radio]").nth(2).check()
        page.get_by_label("Overall feedback").fill("A clear, well-judged register.")
        assert page.locator("#score-total").inner_text().strip().isdigit()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "marking-view.png"))
        page.get_by_role("button", name="Release mark").click()
        page.get_by_text("Mark released to the participant").wait_for()
