"""The tool inside a VLE page on another site, in Chromium: the participant's and tutor's journeys,
and launches that keep working when third-party cookies are blocked (LTI platform storage)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.models import LaunchSession, Person

from .browser_support import ARTIFACTS, chromium_page
from .conftest import learner, register
from .platform_server import PlatformServer


@pytest.fixture
def cross_site_platform(app, tool):
    """A platform on 127.0.0.1 whose registration points at the tool as http://localhost:PORT:
    two different sites, as a VLE and a tool are."""
    p = PlatformServer(tool.url.replace("127.0.0.1", "localhost"))
    p.db_id = register(app, p)
    yield p
    p.stop()


def test_launch_with_third_party_cookies_blocked_uses_platform_storage(cross_site_platform, dbs):
    spec = learner(custom={"npq_item": "NPQSL/sc-reading"})
    with chromium_page(extra_args=["--test-third-party-cookie-phaseout"]) as page:
        page.goto(cross_site_platform.course_page_url(spec))
        frame = page.frame_locator("#tool")
        frame.get_by_role("heading", name="Expectations, alignment and the culture pupils actually experience").wait_for(timeout=20000)
        log = page.evaluate("window.storageLog")
        assert "lti.capabilities" in log and "lti.put_data" in log and "lti.get_data" in log
        # The session works without cookies: type, autosave, reload inside the frame.
        frame.locator("textarea").first.fill("Written with cookies blocked")
        frame.get_by_text("Draft saved at").wait_for(timeout=10000)
        page.screenshot(path=str(ARTIFACTS / "iframe-cookies-blocked.png"))
    session = dbs.scalar(select(LaunchSession).join(Person).where(Person.sub == spec.user_id))
    assert session.cookieless is True


def test_no_cookies_and_no_platform_storage_offers_a_new_window(cross_site_platform):
    spec = learner(custom={"npq_item": "NPQSL/sc-reading"})
    with chromium_page(extra_args=["--test-third-party-cookie-phaseout"]) as page:
        page.goto(cross_site_platform.course_page_url(spec) + "?silent=1")
        frame = page.frame_locator("#tool")
        link = frame.get_by_role("link", name="Open the activity in a new window")
        link.wait_for(timeout=15000)
        assert frame.get_by_text("blocking the cookies").is_visible()
        # The link starts the same launch again, first-party, without asking for platform storage.
        # (Over HTTPS the tool's cookies are SameSite=None; Secure and that launch completes; on
        # plain http a cross-site form_post never carries cookies, so it is not followed here.)
        href = link.get_attribute("href")
        assert href.startswith(cross_site_platform.tool_url + "/lti/login?")
        assert "login_hint=" + spec.user_id in href and "lti_storage_target" not in href
        assert link.get_attribute("target") == "_blank"


def test_participant_and_tutor_journeys_in_the_iframe(cross_site_platform):
    """A participant completes a knowledge check and submits a write-up; a tutor marks and
    releases; the grades arrive at the platform. All inside the VLE page's iframe."""
    import time
    from .conftest import instructor
    p = cross_site_platform
    context = "iframe-course-" + str(time.time_ns())[-6:]
    check_item = p.add_line_item("Knowledge check", 5, resource_id="NPQSL/sc-check")
    essay_item = p.add_line_item("Action plan", 100, resource_id="NPQSL/action-plan")
    kc = learner(user_id="iframe-learner", context_id=context, custom={"npq_item": "NPQSL/sc-check"},
                 lineitems_url=p.issuer + "/lineitems")
    kc.lineitem_url = check_item
    with chromium_page(extra_args=["--test-third-party-cookie-phaseout"]) as page:
        page.goto(p.course_page_url(kc))
        frame = page.frame_locator("#tool")
        frame.get_by_role("button", name="Submit").wait_for(timeout=20000)
        for group in frame.locator("fieldset.question").all():
            group.locator("input[type=radio]").first.check()
        frame.get_by_role("button", name="Submit").click()
        frame.get_by_text("You submitted this on").wait_for(timeout=10000)
        page.screenshot(path=str(ARTIFACTS / "iframe-participant.png"))

        plan = learner(user_id="iframe-learner", context_id=context, custom={"npq_item": "NPQSL/action-plan"},
                       lineitems_url=p.issuer + "/lineitems")
        plan.lineitem_url = essay_item
        page.goto(p.course_page_url(plan))
        frame = page.frame_locator("#tool")
        frame.locator("#f-plan-aim").wait_for(timeout=20000)
        for field, value in (("aim", "Improve fluency"), ("sdp-priority", "Literacy"), ("problem", "Slow reading"),
                             ("evidence", "Fluency tests")):
            frame.locator(f"#f-plan-{field}").fill(value)
        row = frame.locator("fieldset.wu-row").first
        row.locator("[name$='.action']").fill("Train tutors")
        row.locator("[name$='.owner']").fill("Head of English")
        row.locator("[name$='.start']").fill("2027-01-10")
        row.locator("[name$='.end']").fill("2027-02-20")
        row.locator("[name$='.success-criteria']").fill("All tutors model fluency")
        row.locator("[name$='.status']").select_option("On track")
        frame.get_by_role("button", name="Submit for marking").click()
        frame.get_by_text("Submitted: read-only").wait_for(timeout=15000)

        tutor = instructor(user_id="iframe-tutor", context_id=context, custom={"npq_item": "NPQSL/action-plan"},
                           lineitems_url=p.issuer + "/lineitems")
        tutor.lineitem_url = essay_item
        page.goto(p.course_page_url(tutor))
        frame = page.frame_locator("#tool")
        frame.get_by_role("link", name="Asha Patel").click()
        frame.locator("fieldset.criterion").first.wait_for(timeout=15000)
        for fs in frame.locator("fieldset.criterion").all():
            fs.locator("input[type=radio]").nth(3).check()
        frame.get_by_label("Overall feedback").fill("Excellent plan.")
        frame.get_by_role("button", name="Release mark").click()
        frame.get_by_text("Mark released to the participant").wait_for(timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "iframe-tutor.png"))

    deadline = time.time() + 20
    while time.time() < deadline:
        released = [b for item, b in p.received.scores if item == essay_item and b.get("gradingProgress") == "FullyGraded"]
        checks = [b for item, b in p.received.scores if item == check_item]
        if released and checks:
            break
        time.sleep(0.2)
    assert checks and checks[-1]["userId"] == "iframe-learner" and checks[-1]["gradingProgress"] == "FullyGraded"
    assert released and released[-1]["scoreGiven"] == 100 and released[-1]["comment"].endswith("Excellent plan.")
