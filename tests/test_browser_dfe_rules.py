"""The outcomes report with its DfE schedule, a record of an appeal, and a participant's DfE
milestones, as a person sees them (Chromium): in a VLE frame's width and on a phone."""
from __future__ import annotations

from .browser_support import ARTIFACTS, chromium_page
from .conftest import instructor, learner
from .test_assessment import GOOD, _course, _mark_link, _open_window, _participant, _spec, _submit, _tutor
from .test_dfe_rules import _first_and_release, _record


def test_outcomes_report_record_and_participant_milestones(platform):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    tutor.base_queue = queue.url
    _open_window(tutor, queue)
    p, page = _participant(platform, course, "p-shot", "Priya Shah")
    _submit(p, page, GOOD)
    _first_and_release(tutor, platform, course, "Priya Shah", "fail", "The solutions are not drawn from the data.")
    mpage = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Priya Shah"))
    rec = _record(tutor, mpage, "appeal", "The participant says the marker overlooked the data analysis in "
                                          "the answer to the first question.")
    assert "Is the case upheld?" in rec.text

    spec = _spec(platform, course, instructor(user_id="t-shot2", name="Tom Reid"))
    with chromium_page(viewport=(768, 1000)) as b:
        b.goto(platform.login_url(spec))
        b.get_by_role("heading", name="Case-study assessment: windows and marking").wait_for()
        b.goto(b.url.replace("/marking", "/outcomes"))
        b.get_by_label("The schedule this course's participants are on (leadership NPQ)").select_option(
            "2025:npq-leadership-spring")
        b.get_by_role("button", name="Save").click()
        b.get_by_text("DfE schedule saved").wait_for()
        # A failed outcome is held back too while engagement is below 90%: the row says why.
        assert b.locator("td", has_text="Held back: engagement is 0%").count() == 1
        b.screenshot(path=str(ARTIFACTS / "dfe-outcomes-report.png"), full_page=True)
        b.goto(rec.url.split("/s/")[0] + "/s/" + b.url.split("/s/")[1].split("/")[0] + "/"
               + rec.url.split("/s/")[1].split("/", 1)[1])
        b.get_by_role("heading", name="Appeal: Priya Shah, window 1").wait_for()
        b.get_by_label("Upheld", exact=True).check()
        b.screenshot(path=str(ARTIFACTS / "dfe-appeal-record.png"), full_page=True)


    pspec = _spec(platform, course, learner(user_id="p-shot", name="Priya Shah", given_name="Priya",
                                            family_name="Shah"))
    with chromium_page(viewport=(360, 800)) as b:
        b.goto(platform.login_url(pspec))
        b.goto(b.url + "/engagement")
        b.get_by_role("heading", name="Your engagement").wait_for()
        assert b.get_by_text("Retention point 1").count() == 1 and b.get_by_text("retained-1").count() == 0
        width = b.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width
        b.screenshot(path=str(ARTIFACTS / "dfe-participant-milestones-phone.png"), full_page=True)



def test_admin_sets_the_write_up_policy_per_programme(app, tool):
    from .test_security import _admin

    _, name, password = _admin(app, tool)
    with app.app_context():  # other tests post the settings form: start from the default policy
        from lti_tool.db import db
        from lti_tool.settings import WriteupPolicy, set_writeup_policy

        set_writeup_policy("NPQSL", WriteupPolicy(assessed=True, count_for_engagement=True))
        db().commit()
    with chromium_page(viewport=(768, 1100)) as b:
        b.goto(tool.url + "/admin/login")
        b.get_by_label("Username").fill(name)
        b.get_by_label("Password").fill(password)
        b.get_by_role("button", name="Sign in").click()
        b.goto(tool.url + "/admin/settings")
        b.get_by_role("heading", name="In-school project write-ups, by programme").wait_for()
        group = b.get_by_role("group", name="National Professional Qualification for Senior Leadership")
        assessed = group.get_by_label("Write-ups are provider-assessed")
        assert assessed.is_checked() and group.get_by_label("Write-ups count towards engagement").is_checked()
        b.get_by_role("heading", name="In-school project write-ups, by programme").scroll_into_view_if_needed()
        b.screenshot(path=str(ARTIFACTS / "dfe-admin-writeup-settings.png"), full_page=True)
