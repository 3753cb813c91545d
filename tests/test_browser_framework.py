"""Framework statements in a real browser: references, the neutral marker and the coverage table fit a
phone (360 px) and a VLE frame (768 px)."""
from __future__ import annotations

import pytest

from .browser_support import ARTIFACTS, chromium_page
from .conftest import instructor, learner


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize("width", [360, 768])
def test_statements_and_framework_fit(platform, width):
    spec = learner(custom={"npq_item": "NPQSL/sc-reading"})
    with chromium_page(viewport=(width, 900)) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/activities/NPQSL/sc-reading")
        pending = page.locator(".statements .stmt-pending").first
        assert pending.get_attribute("title") == "Wording being confirmed"
        assert _no_sideways_scroll(page)
        page.locator("details.develops summary").click()
        page.locator(".stmt-pending").first.scroll_into_view_if_needed()
        assert _no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"framework-activity-{width}.png"))
        page.goto(page.url.split("/activities/")[0] + "/programme")
        page.get_by_role("link", name="Read the framework").click()
        page.wait_for_url("**/framework")
        page.locator("details.framework-area summary").nth(1).click()
        page.locator("details.framework-area[open]").scroll_into_view_if_needed()
        assert _no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"framework-programme-{width}.png"))


@pytest.mark.parametrize("width", [360, 768])
def test_coverage_page_fits(platform, width):
    spec = instructor(custom={"npq_programme": "NPQSL"}, resource_link_id="course-home")
    with chromium_page(viewport=(width, 900)) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_load_state()
        page.goto(page.url.split("#")[0].rstrip("/") + "/coverage")
        page.locator("#a-teaching").scroll_into_view_if_needed()
        assert page.locator("th.bullet-row").count() > 100  # one row per Learn how to bullet
        assert _no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / f"framework-coverage-{width}.png"))
