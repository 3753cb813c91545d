"""An activity in a real browser: autosave while typing, restore after reload, phone and desktop."""
from __future__ import annotations

import pytest

from .browser_support import ARTIFACTS, chromium_page
from .conftest import learner


@pytest.mark.parametrize("name,viewport", [("phone", (390, 844)), ("desktop", (1280, 900))])
def test_activity_page_autosaves_and_fits(platform, name, viewport):
    spec = learner(custom={"npq_item": "NPQSL/sc-scenario"})
    with chromium_page(viewport=viewport) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/activities/NPQSL/sc-scenario")
        box = page.locator("textarea").first
        box.fill("We will start with a learning walk focused on routines.")
        page.get_by_text("Draft saved at").wait_for(timeout=10000)
        page.reload()
        assert page.locator("textarea").first.input_value() == "We will start with a learning walk focused on routines."
        # Nothing scrolls sideways on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"activity-{name}.png"))


def test_draft_survives_an_ended_session(platform):
    """Typed while the session ended: kept on the device, restored and saved after relaunch."""
    spec = learner(custom={"npq_item": "NPQSL/sc-practice"})
    with chromium_page() as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/activities/NPQSL/sc-practice")
        # The session ends (signed out in another tab, expired...).
        page.evaluate("""() => fetch(location.pathname.replace(/activities.*/, 'logout'),
            {method: 'POST', body: new URLSearchParams({csrf_token: document.querySelector('[name=csrf_token]').value})})""")
        page.locator("textarea").first.fill("Typed after my session ended")
        page.get_by_text("Your session has ended").wait_for(timeout=10000)
        page.goto(platform.login_url(spec))  # relaunch from the course
        page.wait_for_url("**/activities/NPQSL/sc-practice")
        assert page.locator("textarea").first.input_value() == "Typed after my session ended"
        page.get_by_text("Draft saved at").wait_for(timeout=10000)
