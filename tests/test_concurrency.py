"""Concurrent saves and submits of one participant's work: two tabs of one browser autosaving from
the same version, several submits of the same page at once, and first saves racing to create the
row. The requests really run at once: each "tab" is its own HTTP connection to the threaded tool
server, released together by a barrier. Every race runs ROUNDS times, and any round that loses
text, answers two tabs with 200, records a second submission or answers 500 fails the test.
Run on SQLite (default) and PostgreSQL (scripts/with-postgres.sh)."""
from __future__ import annotations

import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests
from sqlalchemy import func, select

from lti_tool.assessment.models import AssessmentAttempt, AssessmentEvent
from lti_tool.db import db
from lti_tool.models import (
    ActivitySubmission, ActivityWork, GradeOutbox, Person, WriteupDoc, WriteupSubmission, WriteupVersion,
)
from lti_tool.writeups.service import return_for_resubmission

from .browser import Browser, csrf_token
from .conftest import learner
from .test_activities import _activity_form, _placed
from .test_assessment import GOOD, _base, _course, _open_window, _participant, _response_form, _tutor
from .test_writeups import RISK, _fields, _open, _row_ids

ROUNDS = 10


# -- racing --------------------------------------------------------------------------------------

def _tabs(browser: Browser, n: int) -> list[requests.Session]:
    """n tabs of this browser: its cookies, each tab its own connection."""
    tabs = []
    for _ in range(n):
        tab = requests.Session()
        tab.cookies.update(browser.http.cookies)
        tabs.append(tab)
    return tabs


def _race(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run the calls in threads that a barrier releases at the same moment."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result(timeout=90) for f in [pool.submit(run, c) for c in calls]]


def _one_won(answers: list[requests.Response], ok: int = 200) -> tuple[int, int]:
    """(the winner's index, the loser's index) of two answers: exactly one success, one conflict."""
    codes = [a.status_code for a in answers]
    assert sorted(codes) == sorted([ok, 409]), codes
    return codes.index(ok), codes.index(409)


def _json_post(tab, url, token, body):
    return lambda: tab.post(url, json=body, headers={"X-CSRFToken": token, "Accept": "application/json"})


def _form_post(tab, url, data, **kw):
    return lambda: tab.post(url, data=data, **kw)


def _person_id(app, sub: str) -> int:
    with app.app_context():
        return db().scalar(select(Person.id).where(Person.sub == sub))


def _count(app, query) -> int:
    with app.app_context():
        return db().scalar(select(func.count()).select_from(query.subquery()))


# -- autosaves from the same version: one kept, the other told, nothing overwritten ---------------

def _writeup(app, person_id: int, ref: str) -> tuple[WriteupDoc, list[WriteupVersion]]:
    with app.app_context():
        doc = db().scalar(select(WriteupDoc).where(WriteupDoc.person_id == person_id, WriteupDoc.template_ref == ref))
        rows = list(db().scalars(select(WriteupVersion).where(WriteupVersion.doc_id == doc.id)
                                 .order_by(WriteupVersion.version))) if doc else []
        return doc, rows


def test_two_tabs_autosaving_a_writeup_keep_one_text_and_tell_the_other(platform, app):
    browser, spec, page = _open(platform, "NPQSL/action-plan")
    person = _person_id(app, spec.user_id)
    url, token = page.url.split("#")[0] + "/draft", csrf_token(page.text)
    tabs = _tabs(browser, 2)
    for n in range(ROUNDS):
        doc, _ = _writeup(app, person, "NPQSL/action-plan")
        base = doc.version if doc else 0  # round 0: the first autosaves create the document
        texts = [f"Tab {t}'s aim, round {n}" for t in "AB"]
        answers = _race([_json_post(tab, url, token, {"pairs": [["f.plan.aim", text]], "version": base})
                         for tab, text in zip(tabs, texts)])
        won, lost = _one_won(answers)
        assert answers[lost].json()["error"] == "conflict" and answers[lost].json()["version"] == base + 1
        doc, versions = _writeup(app, person, "NPQSL/action-plan")
        assert doc.content["plan"]["aim"] == texts[won] and doc.version == base + 1
        assert not any(texts[lost] in str(v.content) for v in versions)


def test_two_tabs_saving_a_writeup_form_keep_versions_consistent(platform, app):
    browser, spec, page = _open(platform, "NPQSL/action-plan")
    person = _person_id(app, spec.user_id)
    tabs = _tabs(browser, 2)
    for n in range(ROUNDS):
        page = browser.http.get(page.url.split("#")[0])
        texts = [f"Tab {t} saved this aim in round {n}" for t in "AB"]
        answers = _race([_form_post(tab, page.url, {**_fields(page), "f.plan.aim": text, "action": "save"},
                                    allow_redirects=False) for tab, text in zip(tabs, texts)])
        won, lost = _one_won(answers, ok=303)  # saved: redirected to the editor
        assert "changed in another tab" in answers[lost].text and texts[lost] in answers[lost].text  # kept on screen
        doc, versions = _writeup(app, person, "NPQSL/action-plan")
        numbers = [v.version for v in versions]
        assert len(numbers) == len(set(numbers)) == n + 1  # one version per round, none used twice
        assert versions[-1].version == doc.version and versions[-1].content["plan"]["aim"] == texts[won]
        assert doc.content["plan"]["aim"] == texts[won]
        assert not any(texts[lost] in str(v.content) for v in versions)


def test_two_tabs_autosaving_an_activity_keep_one_text_and_tell_the_other(platform, browser, app):
    spec = _placed(platform, "NPQSL/sc-reading", with_line_item=False)
    page = browser.launch(platform, spec)
    person = _person_id(app, spec.user_id)
    qid = next(k for k in _activity_form(page.text).fields if k.startswith("answer-")).removeprefix("answer-")
    url, token = page.url.rstrip("/") + "/draft", csrf_token(page.text)
    tabs = _tabs(browser, 2)
    for n in range(ROUNDS):
        with app.app_context():
            work = db().scalar(select(ActivityWork).where(ActivityWork.person_id == person))
        base = work.version if work else 0
        texts = [f"Tab {t}'s thoughts, round {n}" for t in "AB"]
        answers = _race([_json_post(tab, url, token, {"answers": {qid: text}, "version": base})
                         for tab, text in zip(tabs, texts)])
        won, lost = _one_won(answers)
        refused = answers[lost].json()
        # The conflict answer carries the other version, for the page to offer beside its own text.
        assert refused["error"] == "conflict" and refused["answers"] == {qid: texts[won]}
        with app.app_context():
            work = db().scalar(select(ActivityWork).where(ActivityWork.person_id == person))
        assert work.answers == {qid: texts[won]} and work.version == base + 1


def test_two_tabs_autosaving_a_case_study_response_keep_one_text_and_tell_the_other(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    user = "p-race-" + secrets.token_hex(4)
    participant, page = _participant(platform, course, user, "Rita Race")
    person = _person_id(app, user)
    url, token = _base(page) + _response_form(page).action + "/draft", csrf_token(page.text)
    tabs = _tabs(participant, 2)
    for n in range(ROUNDS):
        with app.app_context():
            attempt = db().scalar(select(AssessmentAttempt).where(AssessmentAttempt.person_id == person))
        base = attempt.version if attempt else 0
        texts = [f"Tab {t} names the problem, round {n}" for t in "AB"]
        answers = _race([_json_post(tab, url, token, {"answers": {"problem": text}, "version": base})
                         for tab, text in zip(tabs, texts)])
        won, lost = _one_won(answers)
        assert answers[lost].json()["answers"] == {"problem": texts[won]}
        with app.app_context():
            attempt = db().scalar(select(AssessmentAttempt).where(AssessmentAttempt.person_id == person))
        assert attempt.answers == {"problem": texts[won]} and attempt.version == base + 1


# -- first saves racing to create the row -----------------------------------------------------------

def test_first_autosaves_of_new_work_create_one_row_and_one_text(platform, app):
    """Activities, write-ups and a case-study response that have no row yet: two tabs' first
    autosaves (version 0) at once make one row, one 200 and one conflict, never a 500."""
    browser = Browser()
    spec = learner()  # a course-home link: every activity and write-up of the programme
    home = browser.launch(platform, spec)
    assert home.status_code == 200, home.text[:300]
    root = re.match(r"(.*/s/[^/]+)/", home.url).group(1)
    token, person = csrf_token(home.text), _person_id(app, spec.user_id)
    from lti_tool.content import load_programmes
    from .test_content import PACKS
    activities = list(load_programmes(PACKS)["NPQSL"].activities)[:ROUNDS]
    tabs = _tabs(browser, 2)
    for aid in activities:
        url = f"{root}/activities/NPQSL/{aid}/draft"
        answers = _race([_json_post(tab, url, token, {"answers": {"q1": f"Tab {t} on {aid}"}, "version": 0})
                         for tab, t in zip(tabs, "AB")])
        _one_won(answers)
    assert _count(app, select(ActivityWork).where(ActivityWork.person_id == person)) == len(activities)

    for ref in ("action-plan", "risk-assessment", "impact-essay"):
        url = f"{root}/writeups/NPQSL/{ref}/draft"
        answers = _race([_json_post(tab, url, token, {"pairs": [["x.context", f"Tab {t}"]], "version": 0})
                         for tab, t in zip(tabs, "AB")])
        _one_won(answers)
    assert _count(app, select(WriteupDoc).where(WriteupDoc.person_id == person)) == 3

    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    for n in range(ROUNDS):
        participant, page = _participant(platform, course, f"p-first-{n}-" + secrets.token_hex(4), f"First Saver{n}")
        url, token = _base(page) + _response_form(page).action + "/draft", csrf_token(page.text)
        answers = _race([_json_post(tab, url, token, {"answers": {"problem": f"Tab {t}"}, "version": 0})
                         for tab, t in zip(_tabs(participant, 2), "AB")])
        _one_won(answers)


# -- simultaneous submits: one submission, every tab told it is submitted ----------------------------

def _submitted(answers: list[requests.Response], *phrases: str) -> None:
    for a in answers:
        assert a.status_code == 200, (a.status_code, a.text[:600])
        assert any(p in a.text for p in phrases), a.text.split('id="main"')[-1][:800]


def test_three_simultaneous_writeup_submits_make_one_attempt_and_one_grade(platform, app):
    browser, spec, page = _open(platform, "NPQSL/risk-assessment")
    person = _person_id(app, spec.user_id)
    row = _row_ids(page, "risks")[0]
    tabs = _tabs(browser, 3)
    for n in range(ROUNDS):  # round 0 also races to create the document; later rounds resubmit
        data = {**_fields(page), "f.overview.project-title": f"Fluency, attempt {n + 1}",
                "f.overview.sdp-priority": "Literacy", "f.overview.project-lead": "Asha Patel",
                "f.overview.description": "A routine.", **{f"t.risks.{row}.{k}": v for k, v in RISK.items()},
                "action": "submit"}
        answers = _race([_form_post(tab, page.url.split("#")[0], data) for tab in tabs])
        _submitted(answers, f"Submitted (attempt {n + 1})", f"Already submitted (attempt {n + 1})")
        doc, _ = _writeup(app, person, "NPQSL/risk-assessment")
        with app.app_context():
            subs = list(db().scalars(select(WriteupSubmission).where(WriteupSubmission.doc_id == doc.id)
                                     .order_by(WriteupSubmission.attempt)))
            assert [s.attempt for s in subs] == list(range(1, n + 2))
            assert subs[-1].content["overview"]["project-title"] == f"Fluency, attempt {n + 1}"
            grades = db().scalar(select(func.count()).where(GradeOutbox.source == "writeup-submitted",
                                                            GradeOutbox.person_id == person))
            assert grades == n + 1  # one "Submitted" score per attempt
            return_for_resubmission(subs[-1], "Try again.")  # the tutor returns it: the next round resubmits
            db().commit()
        page = browser.http.get(page.url.split("#")[0])
        row = _row_ids(page, "risks")[0]


def test_three_simultaneous_activity_submits_make_one_submission_and_one_score(platform, browser, app):
    spec = _placed(platform, "NPQSL/sc-check")
    page = browser.launch(platform, spec)
    person = _person_id(app, spec.user_id)
    from lti_tool.content import load_programmes
    from .test_content import PACKS
    questions = load_programmes(PACKS)["NPQSL"].activities["sc-check"].questions
    tabs = _tabs(browser, 3)
    from lti_tool.activities.checks import Policy
    attempts = Policy.of(load_programmes(PACKS)["NPQSL"]).attempts  # the programme's policy (3)
    for n in range(attempts + 1):  # alternately one wrong and all right: each round a resubmission of new answers
        page = browser.http.get(page.url)
        wrong = 1 - n % 2  # the first question answered wrongly in even rounds (all right ends nothing early)
        chosen = {f"answer-{q.id}": str((q.correct_index + (wrong if i == 0 else 0)) % len(q.options))
                  for i, q in enumerate(questions)}
        data = {"csrf_token": csrf_token(page.text), "version": _activity_form(page.text).fields["version"],
                "action": "submit", **chosen}
        answers = _race([_form_post(tab, page.url, data) for tab in tabs])
        if n == attempts:  # every attempt used: all three tabs are refused and nothing more is recorded
            for a in answers:  # the refusal itself, not only the page's note of the attempts used
                assert a.status_code == 409 and "used all 3 attempts at this knowledge check, so this submission " \
                    "was not recorded" in a.text, (a.status_code, a.text.split('id="main"')[-1][:800])
            with app.app_context():
                work = db().scalar(select(ActivityWork).where(ActivityWork.person_id == person))
                assert len(work.submissions) == n and work.status == "draft"  # the answers kept as a draft
                assert work.answers == {k.removeprefix("answer-"): v for k, v in chosen.items()}
                assert db().scalar(select(func.count()).where(GradeOutbox.source == "activity",
                                                              GradeOutbox.person_id == person)) == n
            break
        _submitted(answers, "You scored", "Already submitted")
        recorded = [a for a in answers if "Submitted. You scored" in a.text]
        repeats = [a for a in answers if "Already submitted at" in a.text and "nothing else was recorded" in a.text]
        assert (len(recorded), len(repeats)) == (1, 2), [a.text.split('id="main"')[-1][:300] for a in answers]
        with app.app_context():
            work = db().scalar(select(ActivityWork).where(ActivityWork.person_id == person))
            assert len(work.submissions) == n + 1 and work.status == "submitted"
            assert work.submissions[-1].answers == {k.removeprefix("answer-"): v for k, v in chosen.items()}
            grades = db().scalar(select(func.count()).where(GradeOutbox.source == "activity",
                                                            GradeOutbox.person_id == person))
            assert grades == n + 1


def test_two_tabs_submitting_different_answers_keep_one_and_refuse_the_other(platform, browser, app):
    spec = _placed(platform, "NPQSL/sc-reading", with_line_item=False)
    page = browser.launch(platform, spec)
    person = _person_id(app, spec.user_id)
    qids = [k.removeprefix("answer-") for k in _activity_form(page.text).fields if k.startswith("answer-")]
    tabs = _tabs(browser, 2)
    for n in range(ROUNDS):
        page = browser.http.get(page.url)
        base = {"csrf_token": csrf_token(page.text), "version": _activity_form(page.text).fields["version"],
                "action": "submit"}
        texts = [f"Tab {t} answered in round {n}" for t in "AB"]
        answers = _race([_form_post(tab, page.url, {**base, **{f"answer-{q}": text for q in qids}})
                         for tab, text in zip(tabs, texts)])
        won, lost = _one_won(answers)
        assert "changed in another tab" in answers[lost].text and texts[lost] in answers[lost].text
        with app.app_context():
            work = db().scalar(select(ActivityWork).where(ActivityWork.person_id == person))
            assert len(work.submissions) == n + 1 and work.submissions[-1].answers[qids[0]] == texts[won]


def test_three_simultaneous_case_study_submits_record_one_submission(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    for n in range(ROUNDS):  # a submitted response is final: a new participant each round
        user = f"p-submit-{n}-" + secrets.token_hex(4)
        participant, page = _participant(platform, course, user, f"Sam Submitter{n}")
        form = _response_form(page)
        data = {**form.fields, **{f"answer-{k}": v for k, v in GOOD.items()}, "action": "submit", "confirm": "1"}
        answers = _race([_form_post(tab, _base(page) + form.action, data) for tab in _tabs(participant, 3)])
        _submitted(answers, "Submitted.", "Already submitted")
        with app.app_context():
            attempt = db().scalar(select(AssessmentAttempt).where(AssessmentAttempt.person_id == _person_id(app, user)))
            assert attempt.status == "submitted" and attempt.answers["problem"] == GOOD["problem"]
            events = db().scalar(select(func.count()).where(AssessmentEvent.attempt_id == attempt.id,
                                                            AssessmentEvent.action.like("response submitted%")))
            grades = db().scalar(select(func.count()).where(GradeOutbox.source == "assessment-submitted",
                                                            GradeOutbox.source_id == attempt.id))
            assert events == 1 and grades == 1
