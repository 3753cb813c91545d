"""Online delivery in Chromium: webinar times in the browser's zone, the dashboard, the mentor view."""
from __future__ import annotations

import re

import pytest

from .browser_support import ARTIFACTS, chromium_page
from .conftest import instructor, learner
from .platform_server import LIS
from .test_delivery import COURSE_HOME, _cohort, _participant, _schedule_webinar, _tutor


@pytest.mark.parametrize("zone,expected", [("Asia/Kolkata", "10 March 2027 at 11:30am"), ("America/Sao_Paulo", "10 March 2027 at 3am")])
def test_webinar_shown_in_the_browsers_zone(platform, zone, expected):
    ctx = _cohort(platform)
    tutor, tbase = _tutor(platform, ctx)
    _schedule_webinar(tutor, tbase, starts="2027-03-10T06:00")
    spec = learner(user_id="tz-" + zone.split("/")[1].lower(), context_id=ctx, custom=COURSE_HOME)
    with chromium_page(timezone_id=zone) as page:
        page.goto(platform.login_url(spec))
        page.get_by_role("link", name="Webinars").click()
        text = page.locator(".webinar-list time").first.inner_text()
        assert expected in text, text
        page.reload()  # the zone was reported: the server renders in it, JavaScript or not
        main = page.locator("main").inner_text()
        aliases = {"Asia/Kolkata": ("Asia/Kolkata", "Asia/Calcutta")}.get(zone, (zone,))
        assert any(a in main for a in aliases) and expected in main


def test_dashboard_and_mentor_view_screenshots(platform):
    ctx = _cohort(platform)
    tutor, tbase = _tutor(platform, ctx)
    _schedule_webinar(tutor, tbase, starts="2020-01-01T10:00", title="Launch webinar")
    from .browser import csrf_token
    page = tutor.http.get(tbase + "schedule")
    tutor.http.post(tbase + "schedule", data={"csrf_token": csrf_token(page.text), "action": "windows",
                                             "opens-school-culture": "2020-01-06T08:00", "days-school-culture": "14"})
    for uid, name, n in (("s-amara", "Amara Okoye", 4), ("s-bilal", "Bilal Khan", 1), ("s-chen", "Chen Wei", 0)):
        b, base, _ = _participant(platform, ctx, uid, name)
        from lti_tool.content import load_programmes
        from .test_content import PACKS
        prog = load_programmes(PACKS)["NPQSL"]
        for activity in next(m for m in prog.modules if m.area_id == "school-culture").activities[:n]:
            act = b.http.get(base + f"activities/NPQSL/{activity.id}")
            data = {"csrf_token": csrf_token(act.text), "action": "submit"}
            data.update({f"answer-{q.id}": (str(q.correct_index) if q.type == "choice" else "An answer") for q in activity.questions})
            b.http.post(base + f"activities/NPQSL/{activity.id}", data=data)
    with chromium_page(viewport=(1366, 900)) as page:
        page.goto(platform.login_url(instructor(user_id="d-tutor", context_id=ctx, custom=COURSE_HOME)))
        page.get_by_role("link", name="Dashboard").click()
        page.get_by_role("heading", name="Cohort dashboard").wait_for()
        assert page.get_by_text("falling behind").first.is_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    mentor = learner(user_id="s-head", name="Grace Lee", context_id=ctx, custom=COURSE_HOME, roles=[LIS + "Mentor"],
                     extra_claims={"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor": ["s-amara", "s-chen"]})
    with chromium_page(viewport=(390, 844)) as page:
        page.goto(platform.login_url(mentor))
        page.get_by_role("heading", name="Your mentees' progress").wait_for()
        assert page.get_by_role("heading", name="Amara Okoye").is_visible()
        assert page.get_by_text("Bilal Khan").count() == 0
        page.screenshot(path=str(ARTIFACTS / "mentor-view.png"), full_page=True)
