"""The case-study assessment in a real browser: the response page (case beside the three questions,
live word count against the cap, autosave, the deadline in the browser's time zone) and the
marking page (response beside the guidance and the pass/fail judgement)."""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest

from .browser_support import ARGS, ARTIFACTS, CHROMIUM
from .test_assessment import _course, _open_window, _participant, _spec, _submit, _tutor
from .conftest import instructor, learner


@contextmanager
def _page(viewport=(1366, 900), timezone_id="Asia/Dubai"):
    """Like browser_support.chromium_page, in a given time zone (Dubai: UTC+4, no daylight saving)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium not found at {CHROMIUM}; scripts/test.sh installs it")
        pytest.skip("Chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, timezone_id=timezone_id)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_response_page_counts_words_autosaves_and_shows_local_deadline(platform):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    spec = _spec(platform, course, learner(user_id="p-shot", name="Priya Shah", given_name="Priya", family_name="Shah"))
    with _page() as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("heading", name="Case-study assessment").wait_for()
        page.get_by_role("heading", name="Castlegate Academy: behaviour, attendance and a widening gap").wait_for()
        # The deadline in the browser's zone, labelled with it.
        assert "Asia/Dubai" in page.locator(".window-panel [data-tz]").inner_text()
        assert "UTC" not in page.locator(".window-panel time").nth(1).inner_text()
        assert page.locator(".countdown").inner_text().startswith("7 days")

        problem = page.get_by_label("Identify the problem")
        problem.fill("Castlegate's behaviour policy is sound on paper but applied inconsistently: twenty of 52 "
                     "teachers issue 71% of removals, Year 9 and the lesson after lunch are hot spots, and "
                     "disadvantaged pupils bear the brunt in removals, suspensions and absence.")
        page.get_by_label("Propose solutions with a rationale").fill(
            "First, make the early steps of the ladder routine for everyone: rehearse C1 and C2 with the twenty "
            "staff issuing most removals, using instructional coaching. Second, change the lateness sanction for "
            "bus pupils so a late bus never leads to a detention they cannot attend.")
        page.get_by_label("Explain how to implement and why").fill(
            "Stage the change over two terms: diagnose with the removal data by teacher, year and period; prepare "
            "with the heads of year; deliver through fortnightly coaching; monitor removals per teacher.")
        page.get_by_text("Draft saved at").wait_for(timeout=10000)
        total = page.locator("#word-total").inner_text()
        assert total.endswith("of 2,500 words") and int(total.split()[0]) > 80
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "assessment-response.png"))

        # Over the cap: the count says so at once, and submitting is refused with the count.
        page.get_by_label("Propose solutions with a rationale").fill(" ".join(["word"] * 2600))
        assert "over the cap by" in page.locator("#word-total").inner_text()
        page.get_by_label("I confirm this response is my own work").check()
        page.get_by_role("button", name="Submit response").click()
        page.get_by_text("Not submitted yet").wait_for()
        assert "the cap is 2,500" in page.locator(".error-summary").inner_text()
        assert page.get_by_label("Propose solutions with a rationale").input_value().startswith("word word")

        page.get_by_label("Propose solutions with a rationale").fill(
            "First, make the early steps of the ladder routine for everyone: rehearse C1 and C2 with the twenty "
            "staff issuing most removals, using instructional coaching. Second, change the lateness sanction for "
            "bus pupils so a late bus never leads to a detention they cannot attend.")
        page.get_by_text("Draft saved at").wait_for(timeout=10000)
        page.get_by_label("I confirm this response is my own work").check()
        page.get_by_role("button", name="Submit response").click()
        page.get_by_role("heading", name="Submitted", exact=True).wait_for()


def test_phone_layout_stacks_case_and_response(platform):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    spec = _spec(platform, course, learner(user_id="p-phone", name="Pat Phone"))
    with _page(viewport=(390, 844)) as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("link", name="Go to your response").click()
        page.get_by_label("Identify the problem").fill("On a phone.")
        page.get_by_text("Draft saved at").wait_for(timeout=10000)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0


def test_marking_page_screenshot_and_first_mark(platform):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    participant, page = _participant(platform, course, "p-mark", "Nadia Rahman")
    _submit(participant, page, {
        "problem": ("The central problem is not the behaviour policy but its inconsistent use. Twenty of the 52 "
                    "teachers issue 71% of removals; removals in Year 9 nearly doubled and a third happen in the "
                    "first lesson after lunch. Staff turnover in maths and science means many teachers were never "
                    "shown what the early steps of the ladder look like, and the after-school sessions have not "
                    "addressed it. Disadvantaged pupils are most affected: 70 of the 94 suspended pupils, and "
                    "persistent absence of 38%.\n\nThe lateness sanction compounds this for pupils on the village "
                    "bus routes, who receive detentions they cannot attend."),
        "solutions": ("First, make the early steps of the ladder routine for every teacher. Behaviour is "
                      "most improved by consistency at whole-school level, so the priority is the twenty staff "
                      "issuing most removals: each would rehearse C1 and C2 in short coaching sessions, using "
                      "scripts for the Year 9 lessons after lunch.\n\nSecond, end detentions for lateness caused by "
                      "the bus timetable, and work with the families on the village routes instead.\n\nThird, "
                      "replace the after-school sessions chosen by the senior team with a sequence on behaviour "
                      "and subject teaching for new staff in maths and science."),
        "implementation": ("I would stage the change over two terms. In the first half-term I would diagnose "
                           "with the removal data by teacher, year group and lesson, and agree the scripts with "
                           "the heads of year. In the second, coaching starts with the twenty staff, fortnightly, "
                           "led by the assistant headteacher and two experienced heads of department.\n\nI would "
                           "monitor fidelity through short drop-ins focused on the first steps of the ladder, and "
                           "impact through removals per teacher and the attendance of disadvantaged pupils, "
                           "reporting to governors each half-term.")})
    spec = _spec(platform, course, instructor(user_id="t-shot", name="Tom Reid"))
    with _page(viewport=(1366, 900)) as b:
        b.goto(platform.login_url(spec))
        b.get_by_role("heading", name="Case-study assessment: windows and marking").wait_for()
        b.get_by_role("link", name="Nadia Rahman").click()
        b.get_by_role("heading", name="Nadia Rahman: window 1").wait_for()
        b.get_by_label("Fail").check()
        b.get_by_label("Justification").fill(
            "Not yet passed. The diagnosis uses the removal and absence data well, but the solutions are not "
            "justified from the framework and the implementation has no monitoring of whether staff use the "
            "ladder's early steps as intended.")
        ticks = b.locator(".tick input")
        ticks.nth(0).check()
        ticks.nth(5).check()
        b.evaluate("window.scrollTo(0, 0); document.querySelector('.rubric-pane').scrollTop = 0; "
                   "document.querySelector('.tick-list').scrollTop = 0")
        b.screenshot(path=str(ARTIFACTS / "assessment-marking.png"))
        b.get_by_role("button", name="Record the first mark").click()
        b.get_by_text("First mark recorded. A fail is always second-marked").wait_for()
