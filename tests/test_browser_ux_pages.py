"""What people read, in Chromium: the action plan's statement checklist (search, tick, save, shown
by reference) at phone and desktop widths, the "Ask your tutor" box, and times written in the
reader's own zone with it named. Screenshots under test-artifacts/ux/."""
from __future__ import annotations

import re

import pytest

from .browser_support import ARTIFACTS, chromium_page
from .conftest import instructor, learner

SHOTS = ARTIFACTS / "ux"
SHOTS.mkdir(parents=True, exist_ok=True)


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize("name,viewport", [("360", (360, 780)), ("1366", (1366, 900))])
def test_action_plan_checklist_search_tick_and_save(platform, name, viewport):
    spec = learner(custom={"npq_item": "NPQSL/action-plan"})
    with chromium_page(viewport=viewport) as page:
        page.goto(platform.login_url(spec))
        page.wait_for_url("**/writeups/NPQSL/action-plan")
        page.locator("#m-school").fill("Northfield Academy")
        checklist = page.locator("[data-stmt-checklist]").first
        search = checklist.get_by_label("Search the statements")
        search.fill("feedback")  # narrows the list to matching statements, areas without any hidden
        visible = checklist.locator(".tick:visible")
        assert 0 < visible.count() < checklist.locator(".tick").count()
        assert all("feedback" in t.lower() for t in visible.all_inner_texts())
        visible.first.locator("input").check()
        search.fill("")
        assert checklist.locator(".tick:visible").count() == checklist.locator(".tick").count()
        checklist.locator(".stmt-area").nth(1).locator("input").first.check()
        live = checklist.locator("[data-stmt-chosen]").inner_text()  # kept up to date as boxes are ticked
        assert live.startswith("Chosen:") and "Teaching 2.1" in live
        page.screenshot(path=str(SHOTS / f"action-plan-{name}.png"), full_page=False)
        assert _no_sideways_scroll(page)
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_load_state()
        checklist = page.locator("[data-stmt-checklist]").first
        assert checklist.locator("input:checked").count() == 2
        chosen = checklist.locator("[data-stmt-chosen]").inner_text()
        assert chosen.startswith("Chosen:") and not re.search(r"NPQSL/|that-\d", chosen)
        checklist.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"action-plan-saved-{name}.png"))
        assert _no_sideways_scroll(page)
        page.evaluate("window.scrollTo(0, 0)")  # the downloads sit at the top of the write-up
        assert page.get_by_role("link", name=re.compile("^PDF")).is_visible()
        assert page.get_by_role("link", name=re.compile("^Word")).is_visible()
        page.screenshot(path=str(SHOTS / f"action-plan-top-{name}.png"))


def test_ask_your_tutor_box_and_times_in_the_readers_zone(platform):
    ctx = "ux-" + re.sub(r"\W", "", platform.issuer)[-6:]
    tutor = instructor(context_id=ctx, custom={"npq_programme": "NPQSL"})
    with chromium_page(viewport=(768, 900)) as page:
        page.goto(platform.login_url(tutor))
        page.wait_for_url(re.compile(r".*/s/[^/]+/$"))
        page.goto(page.url + "schedule")
        page.locator("#w-title").fill("Culture webinar")
        page.locator("#w-start").fill("2027-07-01T18:00")
        page.locator("#w-url").fill("https://meet.example.org/npq")
        page.get_by_role("button", name="Schedule webinar").click()
        page.get_by_text("scheduled").first.wait_for()
    participant = learner(context_id=ctx, custom={"npq_item": "NPQSL/sc-reading"})
    with chromium_page(viewport=(360, 780), timezone_id="Europe/London") as page:
        page.goto(platform.login_url(participant))
        page.wait_for_url("**/activities/NPQSL/sc-reading")
        box = page.locator("#questions")
        box.scroll_into_view_if_needed()
        label, area, button = (box.locator('label[for="question"]').bounding_box(), box.locator("#question").bounding_box(),
                               box.get_by_role("button", name="Send to my tutors").bounding_box())
        assert label["y"] + label["height"] <= area["y"]  # the label above the box
        assert button["y"] - (area["y"] + area["height"]) >= 8  # room before the button
        page.screenshot(path=str(SHOTS / "ask-your-tutor-360.png"))
        assert _no_sideways_scroll(page)
        page.goto(page.url.split("/activities/")[0] + "/webinars")
        when = page.locator(".webinar-list time").first
        when.wait_for()
        # The tutor (zone unknown: UTC) set 18:00 UTC; this reader is in London, in summer time.
        page.wait_for_function("document.querySelector('.webinar-list time').textContent.includes('BST')")
        assert when.inner_text() == "Thursday 1 July 2027 at 7pm BST"
        page.screenshot(path=str(SHOTS / "webinars-deadline-360.png"))
        page.reload()  # the zone was reported: the server now writes it the same way
        assert page.locator(".webinar-list time").first.inner_text() == "Thursday 1 July 2027 at 7pm BST"
