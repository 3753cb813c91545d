"""A reading with its references and a knowledge check, in a real browser at phone and desktop
widths: the References disclosure opens from the keyboard, nothing scrolls sideways, and the check
says how many attempts are left."""
from __future__ import annotations

import pytest

from .browser_support import ARTIFACTS, chromium_page
from .conftest import learner

SHOTS = ARTIFACTS / "content"
SHOTS.mkdir(parents=True, exist_ok=True)


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize("name,viewport", [("phone", (360, 800)), ("desktop", (1366, 900))])
def test_reading_opens_its_references(platform, name, viewport):
    spec = learner(custom={"npq_item": "NPQSL/te-reading"})
    with chromium_page(viewport=viewport) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/activities/NPQSL/te-reading")
        refs = page.locator("details#references")
        assert not refs.evaluate("d => d.open")
        refs.locator("summary").focus()
        page.keyboard.press("Enter")  # a native disclosure: opens from the keyboard, no script needed
        assert refs.evaluate("d => d.open")
        assert refs.get_by_text("Rosenshine, B. (2012).").is_visible()
        assert refs.locator("li").count() == 5
        assert _no_sideways_scroll(page)
        refs.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"reading-references-{name}.png"))


@pytest.mark.parametrize("name,viewport", [("phone", (360, 800)), ("desktop", (1366, 900))])
def test_knowledge_check_shows_attempts_and_fits(platform, name, viewport):
    spec = learner(custom={"npq_item": "NPQSL/be-check"})
    with chromium_page(viewport=viewport) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/activities/NPQSL/be-check")
        assert page.get_by_text("You have 3 attempts at this check").is_visible()
        page.locator("fieldset.question").first.locator("label").nth(1).click()
        assert page.locator("fieldset.question").first.locator("input:checked").count() == 1
        assert _no_sideways_scroll(page)
        page.locator("fieldset.question").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"knowledge-check-{name}.png"))
