"""Online delivery end to end: windows and pacing, webinars in several time zones with .ics and
attendance, questions to tutors, the cohort dashboard and CSV, and mentors seeing their mentees."""
from __future__ import annotations

import csv
import io
import re
import time

from icalendar import Calendar

from .browser import Browser, csrf_token
from .conftest import instructor, learner
from .platform_server import LIS

COURSE_HOME = {"npq_programme": "NPQSL"}


def _cohort(platform):
    ctx = "cohort-" + str(time.time_ns())[-7:]
    return ctx


def _tutor(platform, ctx, user_id="d-tutor"):
    b = Browser()
    page = b.launch(platform, instructor(user_id=user_id, name="Tom Reid", context_id=ctx, custom=COURSE_HOME))
    base = re.match(r"(.*/s/[^/]+/)", page.url).group(1)
    return b, base


def _participant(platform, ctx, user_id, name):
    b = Browser()
    page = b.launch(platform, learner(user_id=user_id, name=name, context_id=ctx, custom=COURSE_HOME))
    base = re.match(r"(.*/s/[^/]+/)", page.url).group(1)
    return b, base, page


def _set_tz(b, base, page_html, tz):
    r = b.http.post(base + "timezone", json={"tz": tz}, headers={"X-CSRFToken": csrf_token(page_html)})
    assert r.status_code == 200, r.text


def _schedule_webinar(tutor, base, starts="2027-03-10T18:00", title="Webinar: culture", url="https://meet.example.org/npq"):
    page = tutor.http.get(base + "schedule")
    resp = tutor.http.post(base + "schedule", data={
        "csrf_token": csrf_token(page.text), "action": "webinar", "title": title, "starts_at": starts,
        "minutes": "60", "join_url": url, "module_id": "school-culture",
        "statements": ["NPQSL/school-culture/that-1"]})
    assert resp.status_code == 200 and "scheduled" in resp.text, resp.text[-800:]
    return resp


def test_webinar_times_in_two_zones_and_ics(platform):
    ctx = _cohort(platform)
    tutor, tbase = _tutor(platform, ctx)  # the tutor's zone is UTC (never reported)
    _schedule_webinar(tutor, tbase)
    dubai, dbase, dpage = _participant(platform, ctx, "d-asha", "Asha Patel")
    _set_tz(dubai, dbase, dpage.text, "Asia/Dubai")
    ny, nbase, npage = _participant(platform, ctx, "d-ben", "Ben Okafor")
    _set_tz(ny, nbase, npage.text, "America/New_York")
    assert "Wednesday 10 March 2027 at 10pm GMT+4" in dubai.http.get(dbase + "webinars").text
    assert "Wednesday 10 March 2027 at 1pm EST" in ny.http.get(nbase + "webinars").text
    bad = dubai.http.post(dbase + "timezone", json={"tz": "Mars/Olympus"}, headers={"X-CSRFToken": csrf_token(dpage.text)})
    assert bad.status_code == 400

    listing = ny.http.get(nbase + "webinars").text
    ics_url = re.search(r'href="([^"]+\.ics)"', listing).group(1)
    resp = ny.http.get(nbase.split("/s/")[0] + ics_url)
    assert resp.headers["Content-Type"].startswith("text/calendar")
    event = next(c for c in Calendar.from_ical(resp.content).walk() if c.name == "VEVENT")
    assert event.decoded("dtstart").isoformat() == "2027-03-10T18:00:00+00:00"
    assert event.decoded("dtend").isoformat() == "2027-03-10T19:00:00+00:00"
    assert "Webinar: culture" in str(event.get("summary")) and str(event.get("url")) == "https://meet.example.org/npq"


def test_bad_webinar_input_is_explained_and_kept(platform):
    ctx = _cohort(platform)
    tutor, base = _tutor(platform, ctx)
    page = tutor.http.get(base + "schedule")
    resp = tutor.http.post(base + "schedule", data={"csrf_token": csrf_token(page.text), "action": "webinar",
                                                   "title": "Kept title", "starts_at": "next tuesday",
                                                   "minutes": "60", "join_url": "https://x.example"})
    assert resp.status_code == 400 and "is not a date and time" in resp.text and 'value="Kept title"' in resp.text


def test_attendance_counts_toward_progress_and_csv(platform):
    ctx = _cohort(platform)
    tutor, tbase = _tutor(platform, ctx)
    _schedule_webinar(tutor, tbase, starts="2020-01-01T10:00", title="Past webinar")
    asha, abase, _ = _participant(platform, ctx, "a-asha", "Asha Patel")
    ben, bbase, _ = _participant(platform, ctx, "a-ben", "Ben Okafor")
    page = asha.http.get(abase + "webinars")
    action = re.search(r'action="([^"]+/attend)"', page.text).group(1)
    confirmed = asha.http.post(abase.split("/s/")[0] + action, data={"csrf_token": csrf_token(page.text)})
    assert "attendance at “Past webinar” is recorded" in confirmed.text
    listing = tutor.http.get(tbase + "webinars").text
    att_url = tbase.split("/s/")[0] + re.search(r'href="([^"]+/attendance)"', listing).group(1)
    att = tutor.http.get(att_url)
    ids = re.findall(r'name="present" value="(\d+)"', att.text)
    assert len(ids) == 2
    tutor.http.post(att_url, data={"csrf_token": csrf_token(att.text), "present": ids})
    dash = tutor.http.get(tbase + "dashboard")
    assert dash.text.count("1 of 1</td>") >= 2  # both attended the one webinar
    rows = list(csv.DictReader(io.StringIO(tutor.http.get(tbase + "dashboard.csv").content.decode("utf-8-sig"))))
    by_name = {r["participant"]: r for r in rows}
    assert by_name["Asha Patel"]["webinars_attended"] == "1" and by_name["Ben Okafor"]["webinars_total"] == "1"
    assert by_name["Asha Patel"]["activities_total"] == "49" and "module:school-culture" in rows[0]


def test_windows_pacing_and_falling_behind(platform):
    ctx = _cohort(platform)
    tutor, tbase = _tutor(platform, ctx)
    page = tutor.http.get(tbase + "schedule")
    saved = tutor.http.post(tbase + "schedule", data={"csrf_token": csrf_token(page.text), "action": "windows",
                                                     "opens-school-culture": "2020-01-06T08:00", "days-school-culture": "14",
                                                     "opens-teaching": "2099-01-06T08:00", "days-teaching": "14"})
    assert "Module windows saved" in saved.text
    asha, abase, home = _participant(platform, ctx, "w-asha", "Asha Patel")
    home = asha.http.get(abase + "programme").text
    assert "closed" in home and "upcoming" in home and "Pacing guide: about 20 minutes a day over 14 days" in home
    assert re.search(r"Day 1(–\d+)?: ", home)
    dash = tutor.http.get(tbase + "dashboard")
    assert "1 falling behind" in dash.text and "behind" in dash.text


def test_questions_to_tutors(platform):
    ctx = _cohort(platform)
    asha, abase, _ = _participant(platform, ctx, "q-asha", "Asha Patel")
    act = asha.http.get(abase + "activities/NPQSL/sc-reading")
    sent = asha.http.post(abase + "questions", data={"csrf_token": csrf_token(act.text), "item_ref": "NPQSL/sc-reading",
                                                     "question": "Does the evidence apply to primary schools?",
                                                     "back": "/" + abase.split("/", 3)[3] + "activities/NPQSL/sc-reading"})
    assert "sent to your tutors" in sent.text and "waiting for an answer" in sent.text
    tutor, tbase = _tutor(platform, ctx)
    open_q = tutor.http.get(tbase + "questions")
    assert "Does the evidence apply to primary schools?" in open_q.text and "Open (1)" in open_q.text
    answer_url = tbase.split("/s/")[0] + re.search(r'action="([^"]+/answer)"', open_q.text).group(1)
    other_tutor, obase = _tutor(platform, _cohort(platform), user_id="other-course-tutor")
    stolen = other_tutor.http.post(obase + "questions/" + answer_url.split("/questions/")[1],
                                   data={"csrf_token": csrf_token(other_tutor.http.get(obase).text), "answer": "x"})
    assert stolen.status_code == 404
    tutor.http.post(answer_url, data={"csrf_token": csrf_token(open_q.text), "answer": "Yes: the statements hold across phases."})
    again = asha.http.get(abase + "activities/NPQSL/sc-reading")
    assert "Yes: the statements hold across phases." in again.text
    assert "Yes: the statements hold" in asha.http.get(abase + "questions").text


def test_mentor_sees_exactly_their_mentees(platform):
    ctx = _cohort(platform)
    _participant(platform, ctx, "m-asha", "Asha Patel")
    _participant(platform, ctx, "m-ben", "Ben Okafor")
    b = Browser()
    spec = learner(user_id="m-head", name="Grace Lee", context_id=ctx, custom=COURSE_HOME,
                   roles=[LIS + "Mentor"],
                   extra_claims={"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor": ["m-asha"]})
    page = b.launch(platform, spec)
    assert page.status_code == 200 and "Your mentees' progress" in page.text
    assert "Asha Patel" in page.text and "Ben Okafor" not in page.text
    base = re.match(r"(.*/s/[^/]+/)", page.url).group(1)
    for path in ("dashboard", "dashboard.csv", "marking/NPQSL/risk-assessment", "questions", "schedule", "coverage"):
        assert b.http.get(base + path).status_code == 403, path


def test_dashboard_csv_reads_in_a_spreadsheet_and_carries_released_scores(platform, dbs):
    """Module cells say "0 of 4" (a spreadsheet turns "0/4" into a date) and a released mark's
    score has its own column beside the write-up's status."""
    from .test_marking import _course, _doc_link, _mark_form, _submit_as
    from .test_marking import _tutor as _marking_tutor

    course = _course(platform)
    _submit_as(platform, course, "csv-p", "Cara Score")
    _submit_as(platform, course, "csv-q", "Dev Unmarked")
    tutor, queue = _marking_tutor(platform, course, user_id="csv-t")
    mark_page = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, "Cara Score"))
    marks, _ = _mark_form(mark_page, [2, 2, 2, 2, 2])
    released = tutor.http.post(mark_page.url, data={**marks, "action": "release", "kind": "first"})
    assert "Mark released" in released.text
    from sqlalchemy import select

    from lti_tool.models import Mark
    total = dbs.scalar(select(Mark.total).where(Mark.status == "released").order_by(Mark.id.desc()))

    base = queue.url.split("/marking/")[0] + "/"
    rows = {r["participant"]: r for r in csv.DictReader(io.StringIO(
        tutor.http.get(base + "dashboard.csv").content.decode("utf-8-sig")))}
    cara, dev = rows["Cara Score"], rows["Dev Unmarked"]
    modules = [k for k in cara if k.startswith("module:")]
    assert modules and all(re.fullmatch(r"\d+ of \d+", cara[k]) for k in modules), {k: cara[k] for k in modules}
    assert "/" not in "".join(cara[k] for k in modules)
    assert cara["writeup:risk-assessment"].startswith("released") and cara["writeup:risk-assessment:score"] == f"{total:g}"
    assert dev["writeup:risk-assessment:score"] == "" and dev["writeup:risk-assessment"] == "submitted"


def test_scores_are_written_without_a_spurious_decimal():
    from lti_tool.grades.feedback import points

    assert (points(5.0), points(100), points(7.5), points(0.0), points(None)) == ("5", "100", "7.5", "0", "")
