"""Every route of the app, asked by every kind of user, gets the answer the table below gives.

The actors: P, a participant who owns a submitted write-up, a draft write-up, an activity draft
and a question; Q, a second participant of the same course; Mo, a mentor whose mentee is Q; Mp,
P's mentor; To, a tutor of another course; T, a tutor of the course; A, its course admin; anon, a
browser with no identity; admin, a signed-in provider admin. URLs carry P's real ids, each
launched actor asks inside their own launch session (anon and admin inside P's).

A route the table does not list, or a view without `allowed_roles`, fails the test: whoever adds a
route says who may use it. Routes that change state are sent only by those who must be refused
(with the actor's own valid CSRF token, so the refusal is about roles), and the database's work
tables must be unchanged after all of them; whom they allow is still listed and checked against
the view's declaration. Public routes answer everyone alike; provider-admin routes only the admin.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import select

from lti_tool.db import engine
from lti_tool.models import (COURSE_ADMIN, MENTOR, PARTICIPANT, TUTOR, GradeOutbox, Person, Question, Webinar,
                             WriteupDoc, WriteupSubmission)
from lti_tool.permissions import ADMIN, ANY_LAUNCH, PUBLIC

from .browser import Browser, csrf_token
from .conftest import instructor, learner, register
from .platform_server import LIS, PlatformServer
from .test_assessment import _open_window
from .test_marking import _course, _submit_as
from .test_security import _admin, _autosave, _post, _qids, _settle, _sid

NAME = "Pia Owner"
SECRET_RISK, SECRET_DRAFT = "PIA-SECRET-RISK", "PIA-SECRET-DRAFT"
SECRET_ACTIVITY, SECRET_QUESTION = "PIA-SECRET-ACTIVITY", "PIA-SECRET-QUESTION"
MENTEES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"

ACTORS = ("P", "Q", "Mo", "Mp", "To", "T", "A", "anon", "admin")
ROLE_OF = {"P": PARTICIPANT, "Q": PARTICIPANT, "Mo": MENTOR, "Mp": MENTOR, "To": TUTOR, "T": TUTOR,
           "A": COURSE_ADMIN}
LAUNCHED = frozenset(ROLE_OF)
# What of P's each actor may see: anyone else's answer must not contain it.
MAY_SEE = {"P": {NAME, SECRET_RISK, SECRET_DRAFT, SECRET_ACTIVITY, SECRET_QUESTION},
           "Mp": {NAME}, "T": {NAME, SECRET_RISK, SECRET_QUESTION}, "A": {NAME, SECRET_RISK, SECRET_QUESTION}}
ALL_MARKERS = MAY_SEE["P"]


@dataclass(frozen=True)
class Case:
    """Who gets an answer (2xx/3xx) to a GET, and whose POST is allowed (not sent); the URL values
    and query that differ from the world's defaults."""

    get: frozenset = frozenset()
    post: frozenset = frozenset()
    values: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)


def _s(*actors: str) -> frozenset:
    return frozenset(actors)


WORK = _s("P", "Q", "T", "A", "To")  # participants and tutors (any course): mentors have their mentees page
TUTORS = _s("T", "A", "To")          # the course's and another course's tutors
COURSE_TUTORS = _s("T", "A")         # P's things need P's course
PARTICIPANTS = _s("P", "Q")

# Launched routes: who may use them, for P's objects. Drafts are P's alone; mentors see progress.
TABLE: dict[str, list[Case]] = {
    "core.landing": [Case(get=LAUNCHED)],
    "core.course_home": [Case(get=TUTORS)],
    "core.logout": [Case(post=LAUNCHED)],
    "session.ticket": [Case(post=LAUNCHED)],  # a page ticket, in cookieless sessions only
    "activities.programme_home": [Case(get=WORK)],
    "activities.framework": [Case(get=WORK)],
    "activities.activity_page": [Case(get=WORK)],
    "activities.save_or_submit": [Case(post=PARTICIPANTS)],
    "activities.autosave": [Case(post=PARTICIPANTS)],
    "activities.coverage": [Case(get=TUTORS)],
    "assessment.response": [Case(get=LAUNCHED)],
    "assessment.save_or_submit": [Case(post=PARTICIPANTS)],
    "assessment.autosave": [Case(post=PARTICIPANTS)],
    "assessment.queue": [Case(get=TUTORS)],
    "assessment.open_window": [Case(post=TUTORS)],
    "assessment.bulk_release": [Case(post=TUTORS)],
    "assessment.case_preview": [Case(get=TUTORS)],
    "assessment.mark": [Case(get=COURSE_TUTORS)],
    "assessment.act": [Case(post=COURSE_TUTORS)],
    "assessment.engagement": [Case(get=LAUNCHED)],  # each sees their own reach: self, mentees, course
    "assessment.engagement_person": [Case(get=_s("T", "A", "Mp"))],
    "assessment.set_participant_id": [Case(post=COURSE_TUTORS)],
    "assessment.attendance": [Case(get=TUTORS, post=TUTORS)],
    "assessment.outcomes": [Case(get=TUTORS)],
    "assessment.outcomes_csv": [Case(get=TUTORS)],
    "assessment.outcomes_json": [Case(get=TUTORS)],
    "assessment.set_schedule": [Case(post=TUTORS)],
    "assessment.records_list": [Case(get=TUTORS)],
    "assessment.record_new": [Case(post=COURSE_TUTORS)],
    "assessment.record_detail": [Case(get=COURSE_TUTORS, post=COURSE_TUTORS)],
    "catalogue.pick": [Case(get=TUTORS)],
    "catalogue.choose": [Case(post=TUTORS)],
    "delivery.set_timezone": [Case(post=LAUNCHED)],
    "delivery.schedule": [Case(get=TUTORS, post=TUTORS)],
    "delivery.webinars": [Case(get=WORK)],
    "delivery.webinar_ics": [Case(get=_s("P", "Q", "T", "A"))],
    "delivery.confirm_attendance": [Case(post=PARTICIPANTS)],
    "delivery.attendance": [Case(get=COURSE_TUTORS, post=COURSE_TUTORS)],
    "delivery.ask": [Case(post=PARTICIPANTS)],
    "delivery.questions": [Case(get=WORK)],  # each sees their own course's, participants their own
    "delivery.answer": [Case(post=COURSE_TUTORS)],
    "delivery.dashboard": [Case(get=TUTORS)],
    "delivery.dashboard_csv": [Case(get=TUTORS)],
    "delivery.mentees": [Case(get=_s("Mo", "Mp"))],
    "marking.queue": [Case(get=TUTORS)],
    "marking.mark": [Case(get=COURSE_TUTORS)],
    "marking.act": [Case(post=COURSE_TUTORS)],
    "marking.bulk_release": [Case(post=TUTORS)],
    "marking.progress": [Case(get=TUTORS)],
    "marking.retry": [Case(post=COURSE_TUTORS)],
    "writeups.editor": [Case(get=WORK)],
    "writeups.save_or_submit": [Case(post=PARTICIPANTS)],
    "writeups.autosave": [Case(post=PARTICIPANTS)],
    "writeups.history": [Case(get=PARTICIPANTS)],
    "writeups.view_version": [Case(get=_s("P"))],  # Q has no version of their own
    "writeups.export": [
        Case(get=_s("P", "T", "A"), values={"version": "submitted_version"}, query={"doc": "risk_doc"}),
        Case(get=_s("P"), values={"template_id": "action-plan", "version": 1}, query={"doc": "plan_doc"}),
    ],
}
# Public routes whose answer depends on who asks (for a reason that is not access to data).
PUBLIC_DEPENDS_ON_WHO = {"admin.login": "a signed-in admin is sent on to the admin pages"}
WORK_TABLES = ("person", "course", "enrolment", "placement", "activity_work", "activity_submission", "writeup_doc",
               "writeup_version", "writeup_submission", "mark", "mark_event", "question", "webinar", "attendance",
               "module_window", "assessment_window", "assessment_attempt", "assessment_mark", "assessment_event",
               "assessment_participant", "assessment_attendance", "assessment_record", "assessment_schedule",
               "setting", "platform", "deployment")


@dataclass
class World:
    tool_url: str
    platform: PlatformServer
    browsers: dict[str, Browser]
    sids: dict[str, str]
    tokens: dict[str, str]
    values: dict[str, object]


def _launch(platform, spec) -> tuple[Browser, str, str]:
    browser = Browser()
    page = browser.launch(platform, spec)
    assert page.status_code == 200, (spec.user_id, page.status_code, page.text[:300])
    return browser, _sid(page.url), csrf_token(page.text)


def _owner_work(world_url: str, browser: Browser, sid: str) -> None:
    """P's draft write-up, activity draft and question, besides the submitted write-up."""
    s = f"{world_url}/s/{sid}/"
    plan = browser.http.get(s + "writeups/NPQSL/action-plan")
    assert _post(browser, plan, {"f.plan.aim": SECRET_DRAFT}).status_code == 200
    activity = browser.http.get(s + "activities/NPQSL/sc-reading")
    assert _autosave(browser, activity, {"answers": {_qids(activity)[0]: SECRET_ACTIVITY}, "version": 0}).ok
    asked = browser.http.post(s + "questions", data={"csrf_token": csrf_token(activity.text), "question": SECRET_QUESTION,
                                                     "item_ref": "NPQSL/sc-reading"})
    assert asked.status_code == 200, asked.text[:300]


def build_world(app, tool, platform) -> World:
    """The course, its people and P's work, for the matrix and the regression tests."""
    n = secrets.token_hex(3)
    course = _course(platform)
    ctx = course["context_id"]
    p, p_spec, p_page = _submit_as(platform, course, "p-" + n, NAME, description=SECRET_RISK)
    browsers, sids, tokens = {"P": p}, {"P": _sid(p_page.url)}, {"P": csrf_token(p_page.text)}
    _owner_work(tool.url, p, sids["P"])
    home = {"context_id": ctx, "custom": {"npq_programme": "NPQSL"}}
    specs = {
        "Q": learner(user_id="q-" + n, name="Quinn Second", **home),
        "Mo": learner(user_id="mo-" + n, name="Mo Other", roles=[LIS + "Mentor"], **home,
                      extra_claims={MENTEES_CLAIM: ["q-" + n]}),
        "Mp": learner(user_id="mp-" + n, name="Mia Mentor", roles=[LIS + "Mentor"], **home,
                      extra_claims={MENTEES_CLAIM: [p_spec.user_id]}),
        "T": instructor(user_id="t-" + n, name="Tess Tutor", **home),
        "A": learner(user_id="a-" + n, name="Ada Admin", roles=[LIS + "Administrator"], **home),
        "To": instructor(user_id="to-" + n, name="Theo Other", context_id="other-" + n,
                         custom={"npq_programme": "NPQSL"}),
    }
    for actor, spec in specs.items():
        browsers[actor], sids[actor], tokens[actor] = _launch(platform, spec)
    _course_furniture(tool.url, browsers["T"], sids["T"], tokens["T"])
    admin, _, _ = _admin(app, tool)
    browsers["admin"], tokens["admin"] = admin, csrf_token(admin.http.get(tool.url + "/admin/settings").text)
    browsers["anon"] = Browser()
    tokens["anon"] = csrf_token(browsers["anon"].http.get(tool.url + "/admin/login").text)
    values = _ids(app, platform, p_spec.user_id, ctx)
    _settle(app, [platform.db_id])
    return World(tool.url, platform, browsers, sids, tokens, values)


def _course_furniture(url: str, tutor: Browser, sid: str, token: str) -> None:
    """A webinar and an assessment window in P's course, set up by its tutor."""
    made = tutor.http.post(f"{url}/s/{sid}/schedule", data={
        "csrf_token": token, "action": "webinar", "title": "Course webinar", "starts_at": "2027-03-10T18:00",
        "minutes": "60", "join_url": "https://meet.example.org/npq", "module_id": "school-culture",
        "statements": ["NPQSL/school-culture/that-1"]})
    assert "scheduled" in made.text, made.text[-500:]
    _open_window(tutor, tutor.http.get(f"{url}/s/{sid}/assessment/NPQSL/marking"))


def _ids(app, platform, owner_sub: str, context_id: str) -> dict[str, object]:
    with app.app_context():
        from lti_tool.db import db
        from lti_tool.models import Course, Deployment

        session = db()
        owner = session.scalar(select(Person).where(Person.platform_id == platform.db_id, Person.sub == owner_sub))
        course = session.scalar(select(Course).where(Course.platform_id == platform.db_id,
                                                     Course.context_id == context_id))
        docs = {d.template_ref: d for d in session.scalars(select(WriteupDoc).where(WriteupDoc.person_id == owner.id))}
        risk, plan = docs["NPQSL/risk-assessment"], docs["NPQSL/action-plan"]
        submitted = session.scalar(select(WriteupSubmission.version).where(WriteupSubmission.doc_id == risk.id))
        assert plan.submissions == [] and plan.version == 1
        return {
            "code": "NPQSL", "activity_id": "sc-reading", "template_id": "risk-assessment", "fmt": "pdf", "number": 1,
            "version": submitted, "submitted_version": submitted, "doc_id": risk.id, "risk_doc": risk.id,
            "plan_doc": plan.id, "person_id": owner.id, "owner_id": owner.id, "course_id": course.id,
            "session_id": "session-diagnosis", "case_id": "castlegate-academy",
            "entry_id": session.scalar(select(GradeOutbox.id).where(GradeOutbox.person_id == owner.id)),
            "question_id": session.scalar(select(Question.id).where(Question.person_id == owner.id)),
            "webinar_id": session.scalar(select(Webinar.id).where(Webinar.course_id == course.id)),
            "platform_id": platform.db_id,
            "deployment_id": session.scalar(select(Deployment.id).where(Deployment.platform_id == platform.db_id)),
            "filename": "app.css", "ids": None, "record_id": _special_consideration(session, owner, course),
        }


def _special_consideration(session, owner, course) -> int:
    """P's attempt in the course's first window, with a record of special consideration on it."""
    from lti_tool.assessment.models import AssessmentAttempt, AssessmentRecord, AssessmentWindow

    window = session.scalar(select(AssessmentWindow).where(AssessmentWindow.course_id == course.id))
    attempt = AssessmentAttempt(window_id=window.id, person_id=owner.id, course_id=course.id, answers={})
    session.add(attempt)
    session.flush()
    record = AssessmentRecord(course_id=course.id, attempt_id=attempt.id, kind="special-consideration",
                              summary="Illness during the window.", raised_by_id=owner.id)
    session.add(record)
    session.commit()
    return record.id


@pytest.fixture(scope="module")
def world(app, tool):
    platform = PlatformServer(tool.url)
    platform.db_id = register(app, platform)
    yield build_world(app, tool, platform)
    platform.stop()


# ---------------------------------------------------------------------------------------------
# Asking


def _value(world: World, name: str, override: object = None) -> object:
    value = override if override is not None else world.values.get(name, 1)
    return world.values[value] if isinstance(value, str) and value in world.values else value


def _url(world: World, rule, actor: str, case: Case) -> tuple[str, dict]:
    values = {}
    for arg in rule.arguments:
        if arg == "sid":
            values[arg] = world.sids.get(actor, world.sids["P"])
        elif arg == "filename" and rule.endpoint != "static":
            values[arg] = "assessment.js"
        else:
            values[arg] = _value(world, arg, case.values.get(arg))
    query = {k: _value(world, k, v) for k, v in case.query.items()}
    if rule.endpoint == "marking.progress":
        query["ids"] = world.values["entry_id"]
    return world.tool_url + rule.build(values, append_unknown=False)[1], query


def _ask(world: World, actor: str, method: str, url: str, query: dict) -> requests.Response:
    token = world.tokens.get(actor, "")
    if method == "GET":
        http = requests if actor == "anon" else world.browsers[actor].http  # anonymous: no cookies at all
        return http.get(url, params=query, allow_redirects=False, timeout=30)
    return world.browsers[actor].http.post(url, params=query, data={"csrf_token": token}, allow_redirects=False,
                                           headers={"X-CSRFToken": token}, timeout=30)


def _leaks(actor: str, resp: requests.Response) -> set[str]:
    if not resp.headers.get("Content-Type", "").startswith(("text/", "application/json")):
        return set()  # a PDF or Word file: only those allowed to get one get a 200
    return {m for m in ALL_MARKERS - MAY_SEE.get(actor, set()) if m in resp.text}


def _check_launched(world, rule, case: Case, roles: set[str], failures: list[str]) -> None:
    for actor in ACTORS:
        for method in sorted(rule.methods & {"GET", "POST"}):
            allowed = actor in (case.get if method == "GET" else case.post)
            if method == "POST" and allowed:
                continue  # a real change: allowed, and not sent
            url, query = _url(world, rule, actor, case)
            resp = _ask(world, actor, method, url, query)
            where = f"{method} {rule.rule} ({rule.endpoint}) as {actor}: {resp.status_code}"
            if allowed and not 200 <= resp.status_code < 400:
                failures.append(f"{where}, expected an answer")
            elif not allowed and resp.status_code not in (401, 403, 404):
                failures.append(f"{where}, expected a refusal (401/403/404)")
            elif not allowed and actor in LAUNCHED and ROLE_OF[actor] not in roles and resp.status_code != 403:
                failures.append(f"{where}, expected 403: the view does not allow {ROLE_OF[actor]}")
            if leaked := _leaks(actor, resp):
                failures.append(f"{where}, leaked {sorted(leaked)}")
        for actor in case.get | case.post:
            if ROLE_OF[actor] not in roles:
                failures.append(f"{rule.endpoint}: the table lets {actor} in, its allowed_roles do not")


def _check_public(world, rule, failures: list[str]) -> None:
    statuses = {}
    url, query = _url(world, rule, "anon", Case())
    if "GET" in rule.methods:
        for actor in ACTORS:
            statuses[actor] = _ask(world, actor, "GET", url, query).status_code
    if "POST" in rule.methods:  # anonymously only: a signed-in actor posting /admin/logout would sign out
        statuses["anon POST"] = Browser().http.post(url, data={}, allow_redirects=False).status_code
    if any(s >= 500 for s in statuses.values()):
        failures.append(f"{rule.rule} ({rule.endpoint}): {statuses}")
    gets = {s for k, s in statuses.items() if k != "anon POST"}
    if len(gets) > 1 and rule.endpoint not in PUBLIC_DEPENDS_ON_WHO:
        failures.append(f"{rule.rule} ({rule.endpoint}) is public but answers differently: {statuses}")


def _check_admin(world, rule, failures: list[str]) -> None:
    url, query = _url(world, rule, "admin", Case())
    marker = f"Test platform {world.platform.client_id}"
    for actor in ACTORS:
        for method in sorted(rule.methods & {"GET", "POST"}):
            if actor == "admin" and method == "POST":
                continue  # a real change: allowed, and not sent
            resp = _ask(world, actor, method, url, query)
            where = f"{method} {rule.rule} ({rule.endpoint}) as {actor}: {resp.status_code}"
            to_sign_in = resp.status_code in (302, 303) and "/admin/login" in resp.headers.get("Location", "")
            if actor == "admin" and (resp.status_code >= 400 or to_sign_in):
                failures.append(f"{where}, expected an answer")
            elif actor != "admin" and not (to_sign_in or resp.status_code in (401, 403, 404)):
                failures.append(f"{where}, expected a refusal")
            elif actor != "admin" and marker in resp.text:
                failures.append(f"{where}, showed the admin pages")


def _work_rows(app, platform_id: int) -> dict[str, list[str]]:
    out = {}
    with app.app_context(), engine().connect() as conn:
        for name in WORK_TABLES + ("grade_outbox",):
            from lti_tool.db import Base

            rows = conn.execute(select(Base.metadata.tables[name])).mappings().all()
            if name == "grade_outbox":
                rows = [r for r in rows if r["platform_id"] == platform_id]
            out[name] = sorted(repr(tuple(r.values())) for r in rows)
    return out


# ---------------------------------------------------------------------------------------------
# The tests


def test_every_view_declares_the_roles_it_allows(app):
    missing = [f"{r.rule} ({r.endpoint})" for r in app.url_map.iter_rules()
               if not hasattr(app.view_functions[r.endpoint], "allowed_roles")]
    assert not missing, ("views without allowed_roles (use launch_required(...), admin_required or @public): "
                         + ", ".join(missing))


def test_every_route_answers_each_role_as_the_table_says(app, world):
    failures: list[str] = []
    requests.get(world.tool_url + "/sandbox/", timeout=30)  # the sandbox registers itself on its first visit
    before = _work_rows(app, world.platform.db_id)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        declared = app.view_functions[rule.endpoint].allowed_roles
        if declared == PUBLIC:
            _check_public(world, rule, failures)
        elif declared == ADMIN:
            _check_admin(world, rule, failures)
        elif rule.endpoint not in TABLE:
            failures.append(f"{rule.rule} ({rule.endpoint}): no row in TABLE (say who may use it)")
        else:
            roles = set(ROLE_OF.values()) if declared == ANY_LAUNCH else set(declared)
            for case in TABLE[rule.endpoint]:
                _check_launched(world, rule, case, roles, failures)
    stale = set(TABLE) - {r.endpoint for r in app.url_map.iter_rules()}
    failures += [f"TABLE lists {e}, which is no route" for e in sorted(stale)]
    _settle(app, [world.platform.db_id])
    after = _work_rows(app, world.platform.db_id)
    failures += [f"a refused request changed {t}" for t in before if before[t] != after[t]]
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)
