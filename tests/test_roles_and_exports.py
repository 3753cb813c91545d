"""Regression tests for the security review's findings 4, 5 and 7 and the paging part of 9, each
performing the attack end to end through an independent platform:

- 4: a mentor exporting a participant's write-up (drafts never; submitted work only behind
  MENTORS_SEE_SUBMITTED_WORK, and only a mentee's); tutors export submitted work, not drafts;
  ids name objects of the launch's course only (questions included).
- 5: an institution or system Administrator who is a Learner in the course stays a participant,
  at launch and in the class list, unless INSTITUTION_ADMINS_ARE_COURSE_ADMINS is on.
- 7: every CSV export neutralises formulas and is kept out of caches.
- 9: page numbers and ids of any size or shape give a normal page or a 404, never a 500.
"""
from __future__ import annotations

import csv
import io
import html
import re
import secrets
from contextlib import contextmanager

from sqlalchemy import select

from lti_tool.csv_export import csv_text
from lti_tool.db import db
from lti_tool.models import Enrolment, LaunchSession, Person, Setting
from lti_tool.settings import set_setting

from .browser import Browser, csrf_token
from .conftest import instructor, learner
from .platform_server import LIS
from .test_route_matrix import NAME, SECRET_DRAFT, SECRET_QUESTION, SECRET_RISK, _launch, world  # noqa: F401
from .test_security import _pdf_text

INSTITUTION_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
SYSTEM_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"
EVIL_NAME = '=HYPERLINK("http://evil","x")'
EVIL_EMAIL = "+cmd|' /C calc'!A0"
HUGE = "99999999999999999999"


@contextmanager
def provider_setting(app, key: str, value: bool):
    """A provider setting, as an admin would set it, put back as it was afterwards."""
    with app.app_context():
        row = db().get(Setting, key)
        before = None if row is None else row.value
        set_setting(key, value)
        db().commit()
    try:
        yield
    finally:
        with app.app_context():
            row = db().get(Setting, key)
            if before is None:
                db().delete(row)
            else:
                row.value = before
            db().commit()


def _in(world, actor: str, path: str) -> str:
    return f"{world.tool_url}/s/{world.sids[actor]}/{path}"


def _export(world, actor: str, which: str):
    """Actor asks for P's submitted risk assessment or P's draft action plan, by P's doc id."""
    v = world.values
    template, version, doc = (("risk-assessment", v["submitted_version"], v["risk_doc"]) if which == "submitted"
                              else ("action-plan", 1, v["plan_doc"]))
    return world.browsers[actor].http.get(_in(world, actor, f"writeups/NPQSL/{template}/export/{version}.pdf"),
                                          params={"doc": doc})


# -- finding 4: write-up exports -------------------------------------------------------------------

def test_mentors_never_export_drafts_and_submitted_work_only_when_allowed(app, world):
    for mentor in ("Mo", "Mp"):  # someone else's mentor, and P's own
        for which in ("draft", "submitted"):
            resp = _export(world, mentor, which)
            assert resp.status_code in (403, 404), (mentor, which, resp.status_code)
            assert SECRET_DRAFT not in resp.text and NAME not in resp.text
    with provider_setting(app, "MENTORS_SEE_SUBMITTED_WORK", True):
        mine = _export(world, "Mp", "submitted")
        assert mine.status_code == 200 and mine.headers["Content-Type"] == "application/pdf"
        assert SECRET_RISK in _pdf_text(mine.content)
        assert mine.headers["Cache-Control"] == "private, no-store"
        assert _export(world, "Mp", "draft").status_code == 404  # drafts: never, whatever the setting
        assert _export(world, "Mo", "submitted").status_code == 404  # not their mentee
        assert _export(world, "Mo", "draft").status_code == 404
    assert _export(world, "Mp", "submitted").status_code == 403  # off again


def test_mentees_page_offers_submitted_work_only_when_allowed(app, world):
    """The mentor's page links to a mentee's submitted write-up only while the provider allows it,
    and the link it gives downloads that submission (never the draft)."""
    page = world.browsers["Mp"].http.get(_in(world, "Mp", "mentees"))
    assert page.status_code == 200 and "/export/" not in page.text
    with provider_setting(app, "MENTORS_SEE_SUBMITTED_WORK", True):
        page = world.browsers["Mp"].http.get(_in(world, "Mp", "mentees"))
        links = re.findall(r'href="([^"]*/export/[^"]*)"', page.text)
        assert len(links) == 1 and "risk-assessment" in links[0], links  # the draft action plan: no link
        pdf = world.browsers["Mp"].http.get(world.tool_url + html.unescape(links[0]))
        assert pdf.status_code == 200 and SECRET_RISK in _pdf_text(pdf.content)
        other = world.browsers["Mo"].http.get(_in(world, "Mo", "mentees"))
        assert "/export/" not in other.text  # not their mentee


def test_tutors_export_submitted_work_of_their_course_but_not_drafts(world):
    assert SECRET_RISK in _pdf_text(_export(world, "T", "submitted").content)
    assert _export(world, "A", "submitted").status_code == 200
    for actor in ("T", "A", "To"):
        assert _export(world, actor, "draft").status_code == 404, actor
    assert _export(world, "To", "submitted").status_code == 404
    owner = _export(world, "P", "draft")
    assert owner.status_code == 200 and SECRET_DRAFT in _pdf_text(owner.content)


def test_questions_are_seen_and_answered_in_their_own_course_only(app, world):
    """A tutor of P's course who launches from another course sees and answers only that one's."""
    spec = instructor(user_id="t-both-" + secrets.token_hex(3), name="Bo Both", context_id="elsewhere-" + secrets.token_hex(3),
                      custom={"npq_programme": "NPQSL"})
    here = learner(user_id=spec.user_id, name="Bo Both", roles=[LIS + "Instructor"],
                   context_id=_context_of(app, world), custom={"npq_programme": "NPQSL"})
    _launch(world.platform, here)  # a tutor of P's course too
    browser, sid, token = _launch(world.platform, spec)
    base = f"{world.tool_url}/s/{sid}/"
    listing = browser.http.get(base + "questions")
    assert listing.status_code == 200 and SECRET_QUESTION not in listing.text
    stolen = browser.http.post(base + f"questions/{world.values['question_id']}/answer",
                               data={"csrf_token": token, "answer": "Answered from another course"})
    assert stolen.status_code == 404
    assert "Answered from another course" not in world.browsers["P"].http.get(_in(world, "P", "questions")).text


def _context_of(app, world) -> str:
    from lti_tool.models import Course

    with app.app_context():
        return db().get(Course, world.values["course_id"]).context_id


# -- finding 5: institution and system administrators ----------------------------------------------

def _role_after_launch(app, platform, roles: list[str], context_id: str) -> tuple[str, Browser, str]:
    spec = learner(user_id="ia-" + secrets.token_hex(3), roles=roles, context_id=context_id,
                   custom={"npq_programme": "NPQSL"})
    browser = Browser()
    page = browser.launch(platform, spec)
    with app.app_context():
        role = db().scalar(select(LaunchSession.role).join(Person).where(Person.sub == spec.user_id))
    return role, browser, page


def test_a_learner_who_administers_the_vle_is_a_participant_in_the_course(app, world):
    context_id = _context_of(app, world)
    for admin_role in (INSTITUTION_ADMIN, SYSTEM_ADMIN):
        role, browser, page = _role_after_launch(app, world.platform, [LIS + "Learner", admin_role], context_id)
        assert role == "participant", admin_role
        s = re.search(r"(.*/s/[^/]+/)", page.url).group(1)
        token = csrf_token(page.text)
        for path in ("marking/NPQSL/risk-assessment", f"marking/NPQSL/risk-assessment/{world.values['risk_doc']}",
                     "dashboard.csv", "assessment/NPQSL/outcomes.csv"):
            resp = browser.http.get(s + path)
            assert resp.status_code == 403 and NAME not in resp.text, (admin_role, path, resp.status_code)
        released = browser.http.post(s + "marking/NPQSL/risk-assessment/release",
                                     data={"csrf_token": token, "doc": str(world.values["risk_doc"])})
        assert released.status_code == 403


def test_institution_admins_are_course_admins_only_without_a_course_role_or_by_setting(app, world):
    context_id = _context_of(app, world)
    assert _role_after_launch(app, world.platform, [INSTITUTION_ADMIN], context_id)[0] == "course_admin"
    assert _role_after_launch(app, world.platform, [SYSTEM_ADMIN], context_id)[0] == "course_admin"
    # A course role the tool does not use still says what they are in the course: no access.
    role, _, page = _role_after_launch(app, world.platform, [LIS + "Member", INSTITUTION_ADMIN], context_id)
    assert role is None and page.status_code == 403
    with provider_setting(app, "INSTITUTION_ADMINS_ARE_COURSE_ADMINS", True):
        role, browser, page = _role_after_launch(app, world.platform, [LIS + "Learner", INSTITUTION_ADMIN], context_id)
        assert role == "course_admin"
        queue = browser.http.get(re.search(r"(.*/s/[^/]+/)", page.url).group(1) + "marking/NPQSL/risk-assessment")
        assert queue.status_code == 200 and NAME in queue.text


def test_the_class_list_counts_course_roles_not_institution_admin(app, platform):
    context_id = "roster-" + secrets.token_hex(3)
    platform.member("x-" + context_id, "Xavier Roster")["roles"].append(INSTITUTION_ADMIN)
    platform.member("y-" + context_id, "Yara Onlyadmin", role=INSTITUTION_ADMIN)
    tutor = Browser()
    page = tutor.launch(platform, instructor(context_id=context_id, custom={"npq_item": "NPQSL/risk-assessment"},
                                             nrps_url=platform.issuer + "/memberships"))
    assert page.status_code == 200 and "Xavier Roster" in page.text  # in the queue: a participant
    with app.app_context():
        roles = dict(db().execute(select(Person.sub, Enrolment.role).join(Enrolment)
                                  .where(Person.sub.in_(["x-" + context_id, "y-" + context_id]))).all())
    assert roles == {"x-" + context_id: "participant", "y-" + context_id: "course_admin"}


# -- finding 7: CSV exports ------------------------------------------------------------------------

def _rows(resp) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text[:300]
    assert resp.content.startswith("\ufeff".encode()), "no BOM: Excel misreads UTF-8 names"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+\.csv"', resp.headers["Content-Disposition"])
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def _as_written(text: str) -> str:
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r", "＝")) else text


def test_every_csv_export_neutralises_formulas(app, tool, platform):
    context_id = "csv-" + secrets.token_hex(3)
    home = {"context_id": context_id, "custom": {"npq_programme": "NPQSL"}}
    names = {EVIL_NAME: EVIL_EMAIL, "@SUM(1+1)": "-2+3@example.org", "\tTabbed": "\rcr@example.org",
             "＝1+1 Fullwidth": "plain@example.org"}
    for name, email in names.items():
        assert Browser().launch(platform, learner(name=name, email=email, **home)).status_code == 200
    tutor = Browser()
    page = tutor.launch(platform, instructor(**home))
    s = re.search(r"(.*/s/[^/]+/)", page.url).group(1)
    exports = {"dashboard.csv": ("participant", "email"), "assessment/NPQSL/outcomes.csv": ("full_name", "email")}
    csv_routes = {r.endpoint for r in app.url_map.iter_rules() if r.rule.endswith(".csv")}
    assert csv_routes == {"delivery.dashboard_csv", "assessment.outcomes_csv", "admin.audit_csv"}, \
        "a new CSV export: test it here"
    for path, (name_col, email_col) in exports.items():
        rows = {r[email_col]: r for r in _rows(tutor.http.get(s + path))}
        for name, email in names.items():
            row = rows[_as_written(email)]
            assert row[name_col] == _as_written(name), (path, row[name_col])
            assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()), (path, row)
    dash = {r["email"]: r for r in _rows(tutor.http.get(s + "dashboard.csv"))}
    assert dash["'" + EVIL_EMAIL]["activities_total"] == "49"  # numbers stay numbers

    # The audit log's CSV: names of the people concerned and actors come from the platform too.
    from lti_tool import audit

    from .admin_support import new_admin, signed_in

    tag = "test.csv_" + secrets.token_hex(3)
    with app.app_context():
        evil = db().scalar(select(Person.id).where(Person.name == EVIL_NAME).order_by(Person.id.desc()).limit(1))
        audit.record(tag, actor=EVIL_EMAIL, subject=evil, target_type="@x", detail={"note": "=1+1"})
        db().commit()
    admin = signed_in(tool, *new_admin(app, "csv"))
    logged = _rows(admin.get(tool.url + "/admin/audit.csv", params={"action": tag}))
    [row] = logged
    assert row["Person concerned"] == _as_written(EVIL_NAME) and row["Done by"] == _as_written(EVIL_EMAIL)
    assert row["Object"] == "'@x" and not any(v.startswith(("=", "+", "-", "@")) for v in row.values()), row


def test_the_csv_writer_keeps_numbers_and_neutralises_text():
    text = csv_text(["n", "text"], [[-5, "-5"], [3.5, "@x"], [0, "a=b"], [None, "＋1"]])
    assert text.splitlines() == ["n,text", "-5,'-5", "3.5,'@x", "0,a=b", ",'＋1"]


# -- finding 9: page numbers and ids ---------------------------------------------------------------

def test_marking_queue_pages_of_any_shape_give_a_normal_page(world):
    queue = _in(world, "T", "marking/NPQSL/risk-assessment")
    for page in (HUGE, "-1", "abc", "0", "2", "", "1e3", " 1 ", "9" * 5000, "٣"):
        resp = world.browsers["T"].http.get(queue, params={"page": page})
        assert resp.status_code == 200, (page[:30], resp.status_code)
        assert "page 1 of 1" in resp.text and NAME in resp.text, page[:30]


def test_ids_too_large_for_the_database_are_not_found(world):
    t, token = world.browsers["T"], world.tokens["T"]
    for path in (f"marking/NPQSL/risk-assessment/{HUGE}", f"webinars/{HUGE}.ics", f"webinars/{HUGE}/attendance",
                 f"assessment/NPQSL/marking/windows/{HUGE}/{HUGE}", f"assessment/NPQSL/engagement/{HUGE}",
                 f"writeups/NPQSL/risk-assessment/export/1.pdf?doc={HUGE}",
                 f"writeups/NPQSL/risk-assessment/export/{HUGE}.pdf?doc={world.values['risk_doc']}"):
        assert t.http.get(_in(world, "T", path)).status_code == 404, path
    for path in (f"grades/{HUGE}/retry", f"questions/{HUGE}/answer"):
        assert t.http.post(_in(world, "T", path), data={"csrf_token": token}).status_code == 404, path
    progress = t.http.get(_in(world, "T", "marking/NPQSL/risk-assessment/progress"), params={"ids": HUGE})
    assert progress.status_code == 200
    released = t.http.post(_in(world, "T", "marking/NPQSL/risk-assessment/release"),
                           data={"csrf_token": token, "doc": [HUGE]})
    assert released.status_code == 200 and "Released 0 marks" in released.text
    p = world.browsers["P"]
    assert p.http.get(_in(world, "P", f"writeups/NPQSL/action-plan/versions/{HUGE}")).status_code == 404
