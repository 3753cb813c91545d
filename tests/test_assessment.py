"""The summative case-study assessment, engagement and the outcomes report, end to end through an
independent platform (real launches, NRPS class list, AGS gradebook)."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from lti_tool.assessment.models import AssessmentAttempt, AssessmentWindow
from lti_tool.assessment.pack import check_assessment, check_assessments, content_check_lines, words
from lti_tool.content import check_pack
from lti_tool.db import db
from lti_tool.grades.delivery import deliver_due

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner

REF = "NPQSL/case-study"
PACKS = Path(__file__).resolve().parent.parent / "lti_tool" / "content" / "packs"
MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"


# -- helpers ---------------------------------------------------------------------------------------

def _course(platform, ref=REF):
    n = str(time.time_ns())[-9:]
    return {"context_id": "cs-" + n, "ref": ref,
            "line_item": platform.add_line_item("Case-study assessment", 1, resource_id=ref)}


def _spec(platform, course, spec):
    spec.context_id = course["context_id"]
    spec.custom = {"npq_item": course["ref"]}
    spec.resource_link_id = "rl-cs-" + course["context_id"]
    spec.lineitems_url = platform.issuer + "/lineitems"
    spec.lineitem_url = course["line_item"]
    return spec


def _participant(platform, course, user_id, name):
    b = Browser()
    page = b.launch(platform, _spec(platform, course, learner(user_id=user_id, name=name, given_name=name.split()[0],
                                                              family_name=name.split()[-1])))
    assert page.status_code == 200, page.text[:500]
    assert page.url.endswith("/assessment/" + course["ref"].split("/")[0]), page.url
    return b, page


def _tutor(platform, course, user_id="t-ada", name="Ada Tutor"):
    b = Browser()
    spec = _spec(platform, course, instructor(user_id=user_id, name=name))
    spec.nrps_url = platform.issuer + "/memberships"
    page = b.launch(platform, spec)
    assert page.status_code == 200 and "windows and marking" in page.text, page.text[:500]
    return b, page


def _base(page) -> str:
    return page.url.split("/s/")[0]


def _open_window(tutor, queue, *, start=None, case=None, expect=303):
    form = next(f for f in forms(queue.text) if f.action.endswith("/marking/windows"))
    data = {**form.fields}
    if start is not None:
        data["opens_at_utc"] = start.isoformat()
    if case:
        data["case"] = case
    r = tutor.http.post(_base(queue) + form.action, data=data, allow_redirects=False)
    assert r.status_code == expect, r.text[:800]
    return tutor.http.get(_base(queue) + r.headers["Location"]) if expect == 303 else r


def _response_form(page):
    return next(f for f in forms(page.text) if re.search(r"/windows/\d+$", f.action))


def _submit(browser, page, answers: dict, *, confirm=True, action="submit"):
    form = _response_form(page)
    data = {**form.fields, **{f"answer-{k}": v for k, v in answers.items()}, "action": action}
    if confirm:
        data["confirm"] = "1"
    return browser.http.post(_base(page) + form.action, data=data)


def _text(n: int, word="evidence") -> str:
    return " ".join(f"{word}{i % 7}" for i in range(n))


GOOD = {"problem": "The behaviour policy is applied inconsistently. " + _text(150),
        "solutions": "Rehearse the first steps of the ladder with the twenty staff. " + _text(200),
        "implementation": "Stage it: diagnose, prepare, deliver, sustain. " + _text(200)}


def _mark_link(queue, name):
    m = re.search(rf'href="([^"]+/marking/windows/\d+/\d+)">{re.escape(name)}<', queue.text)
    assert m, f"{name} not in the queue"
    return _base(queue) + m.group(1)


def _row(queue, name) -> str:
    body = queue.text.split("<tbody>")[-1]
    start = body.index(name)
    return body[start:body.index("</tr>", start)]


def _mark(tutor, page, action, outcome, justification, statements=()):
    data = {"csrf_token": csrf_token(page.text), "action": action, "justification": justification,
            "statement": list(statements)}
    if outcome:
        data["outcome"] = outcome
    return tutor.http.post(page.url, data=data)


def _second_mark_and_release(platform, course, name, outcome, justification, *, user_id="t-ben",
                             tutor_name="Ben Second", second_justification="Agree."):
    """A second marker's mark, the agreed outcome and its release; the release's answer."""
    second_marker, squeue = _tutor(platform, course, user_id=user_id, name=tutor_name)
    second = _mark(second_marker, second_marker.http.get(_mark_link(squeue, name)), "second", outcome,
                   second_justification)
    agreed = _mark(second_marker, second, "agreed", outcome, justification)
    return second_marker.http.post(agreed.url, data={"csrf_token": csrf_token(agreed.text), "action": "release"})


def _scores(platform, app, user_id, pred=lambda b: True, timeout=15):
    """The scores the platform's gradebook accepted for a user, once one matches pred."""
    end = time.time() + timeout
    while time.time() < end:
        found = [b for _, b in platform.received.scores if b["userId"] == user_id]
        if found and pred(found[-1]):
            return found
        with app.app_context():
            deliver_due()
        time.sleep(0.1)
    raise AssertionError(f"no matching score for {user_id}: {platform.received.scores}")


def _ago(**kw) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**kw)


# -- the packs ------------------------------------------------------------------------------------

def test_packs_define_cases_questions_caps_and_engagement():
    configs, problems = check_assessments(PACKS)
    assert problems == []
    sl, lt = configs["NPQSL"], configs["NPQLT"]
    assert lt.word_cap == 1500 and sl.word_cap == 2500  # specialist 1,500; leadership 2,500
    for cfg in (sl, lt):
        assert cfg.window_days == 8 and 0 < cfg.pass_sample_rate < 1
        assert [q.prompt for q in cfg.questions] == ["Identify the problem", "Propose solutions with a rationale",
                                                     "Explain how to implement and why"]
        assert len(cfg.cases) >= 4
        for case in cfg.cases:
            assert 1700 <= case.word_count <= 2400, (case.id, case.word_count)
            kinds = {s.type for s in case.sections}
            assert {"text", "table", "document", "voices"} <= kinds
            titles = " ".join(s.title.lower() for s in case.sections)
            assert "attainment" in titles or "outcomes" in titles or "results" in titles
            assert all("not a real" in s.source for s in case.sections if s.type == "document")
        assert cfg.engagement.threshold == 90
        # DfE's declaration types follow the NPQ's kind: retained-2 for leadership NPQs only.
        assert cfg.declaration_types == (("started", "retained-1", "retained-2", "completed") if cfg is sl
                                         else ("started", "retained-1", "completed"))
    assert sl.course_identifier == "npq-senior-leadership" and lt.course_identifier == "npq-leading-teaching"
    assert sl.engagement.total == 49 + 3 + 3 + 2  # activities (induction and preparation included), write-ups, webinars, sessions
    lines, problems = content_check_lines(PACKS)  # what `flask content check` adds
    assert problems == [] and any("NPQSL: assessment NPQSL/case-study: 4 cases, word cap 2,500, 8-day window" in line
                                  for line in lines)


def test_broken_assessment_pack_is_named_with_file_line_and_path(tmp_path):
    shutil.copytree(PACKS / "npqsl", tmp_path / "npqsl")
    path = tmp_path / "npqsl" / "assessment.yaml"
    text = path.read_text().replace("window_days: 8", "window_days: eight", 1)
    text = text.replace("NPQSL/behaviour/that-1,", "NPQSL/behaviour/that-99,", 1)
    path.write_text(text)
    programme, _ = check_pack(tmp_path / "npqsl")
    config, problems = check_assessment(tmp_path / "npqsl", programme)
    assert config is None
    line = next(i + 1 for i, l in enumerate(text.splitlines()) if l.startswith("window_days"))
    assert any(str(p).startswith(f"npqsl/assessment.yaml:{line}: window_days: 'eight' is not of type") for p in problems)
    path.write_text(text.replace("window_days: eight", "window_days: 8"))
    config, problems = check_assessment(tmp_path / "npqsl", programme)
    assert config is None and any("no statement 'NPQSL/behaviour/that-99' in the framework" in str(p) and p.line
                                  for p in problems)


# -- placing the item -------------------------------------------------------------------------------

def test_deep_linking_places_the_assessment_with_a_pass_fail_column(platform):
    b = Browser()
    spec = instructor(resource_link_id=None)
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    picker = b.launch(platform, spec)
    found = b.http.get(picker.url, params={"programme": "NPQSL", "q": "case study"})
    assert "Case-study assessment" in found.text and "Summative assessment" in found.text
    ret = b.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL", "item": [REF]})
    form = forms(ret.text)[0]
    assert b.http.post(form.action, data=form.fields).status_code == 200
    item = platform.received.deep_link_responses[-1]["items"][0]
    assert item["custom"]["npq_item"] == REF
    assert item["lineItem"]["scoreMaximum"] == 1 and item["lineItem"]["resourceId"] == REF
    # The placed link opens the response page for participants and the marking queue for tutors.
    course = {"context_id": spec.context_id, "ref": REF, "line_item": platform.add_line_item("CS", 1, resource_id=REF)}
    _participant(platform, course, "p-dl", "Dee Link")
    _tutor(platform, course)


# -- a window, the response, the word cap ----------------------------------------------------------

def test_window_opens_participant_autosaves_is_refused_over_the_cap_and_submits(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    assert "No window yet" in queue.text
    participant, page = _participant(platform, course, "p-amir", "Amir Khan")
    assert "The case has not been released yet" in page.text and "Identify the problem" not in page.text

    queue = _open_window(tutor, queue)
    assert "Window 1 scheduled" in queue.text and "Castlegate Academy" in queue.text
    page = participant.http.get(page.url)
    assert "Castlegate Academy" in page.text and "Attainment at the end of Key Stage 4" in page.text
    assert "Staff voice" in page.text and "not a real inspection report" in page.text
    for prompt in ("Identify the problem", "Propose solutions with a rationale", "Explain how to implement and why"):
        assert prompt in page.text
    assert "of 2,500 words" in page.text and 'data-tz' in page.text and "Deadline" in page.text
    with app.app_context():
        window = db().scalar(select(AssessmentWindow).where(AssessmentWindow.item_ref == REF)
                             .order_by(AssessmentWindow.id.desc()))
        assert window.closes_at - window.opens_at == timedelta(days=8)
        assert f'datetime="{window.closes_at.isoformat()}"' in page.text

    # Autosave: JSON with the page's CSRF token; refused without it.
    form = _response_form(page)
    url = _base(page) + form.action + "/draft"
    no_token = participant.http.post(url, json={"answers": {"problem": "x"}, "version": 0})
    assert no_token.status_code == 400
    saved = participant.http.post(url, json={"answers": {"problem": "A first thought."}, "version": 0},
                                  headers={"X-CSRFToken": csrf_token(page.text)})
    assert saved.status_code == 200 and saved.json()["version"] == 1 and saved.json()["words"] == 3
    stale = participant.http.post(url, json={"answers": {"problem": "Other tab"}, "version": 0},
                                  headers={"X-CSRFToken": csrf_token(page.text)})
    assert stale.status_code == 409 and stale.json()["answers"]["problem"] == "A first thought."
    page = participant.http.get(page.url)
    assert "A first thought." in page.text

    # Over the cap: refused with the count, the text kept on the page and saved as a draft.
    long = {**GOOD, "solutions": _text(2600, "idea")}
    over = _submit(participant, page, long)
    total = sum(words(v) for v in long.values())
    assert over.status_code == 400
    assert f"Your response has {total:,} words; the cap is 2,500. Cut {total - 2500:,} words to submit." in over.text
    assert "idea6 idea0" in over.text and "Not submitted yet" in over.text
    # An answer missing and the declaration unticked: both named.
    blank = _submit(participant, over, {**GOOD, "implementation": "  "}, confirm=False)
    assert blank.status_code == 400 and '<a href="#answer-implementation">Answer question 3: “Explain how to implement and why”</a>' in blank.text
    assert '<a href="#confirm">Tick the declaration' in blank.text
    assert blank.text.count('class="error-message"') == 2  # each marked where it is, too

    done = _submit(participant, blank, GOOD)
    assert done.status_code == 200 and "Submitted" in done.text and "recorded as late" not in done.text
    assert "Submit response" not in done.text  # read-only now
    again = participant.http.post(url, json={"answers": {"problem": "change"}, "version": 99},
                                  headers={"X-CSRFToken": csrf_token(done.text)})
    assert again.status_code == 400 and "can no longer be changed" in again.json()["error"]
    body = _scores(platform, app, "p-amir")[-1]
    assert body["activityProgress"] == "Submitted" and body["gradingProgress"] == "PendingManual"
    assert "scoreGiven" not in body and body["scoreMaximum"] == 1
    queue = tutor.http.get(queue.url)
    assert "to mark" in _row(queue, "Amir Khan")


def test_late_submission_missing_and_extension(platform, app):
    course = _course(platform)
    for uid, name in (("p-lena", "Lena Late"), ("p-mo", "Mo Missing"), ("p-eva", "Eva Extended")):
        platform.member(uid, name)
    tutor, queue = _tutor(platform, course)
    queue = _open_window(tutor, queue, start=_ago(days=9))  # closed a day ago
    assert "closed" in queue.text
    # The class list (NRPS) gives the queue everyone, launched or not: nobody submitted, all missing.
    for name in ("Lena Late", "Mo Missing", "Eva Extended"):
        assert "missing" in _row(queue, name)

    lena, page = _participant(platform, course, "p-lena", "Lena Late")
    assert "The deadline has passed: you can still submit" in page.text
    done = _submit(lena, page, GOOD)
    assert "recorded as late" in done.text and "status-late" in done.text
    body = _scores(platform, app, "p-lena")[-1]
    assert body["gradingProgress"] == "PendingManual" and "late" in body["comment"]

    # An extension for Eva: must be after the window's deadline, with a reason.
    mpage = tutor.http.get(_mark_link(queue, "Eva Extended"))
    assert "missing" in mpage.text
    bad = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "extend",
                                           "until_utc": _ago(days=2).isoformat(), "reason": "Illness"})
    assert bad.status_code == 400 and "must end after the window's deadline" in html.unescape(bad.text)
    no_reason = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "extend",
                                                 "until_utc": (_ago(days=-3)).isoformat(), "reason": ""})
    assert no_reason.status_code == 400 and "Give the reason" in no_reason.text
    unreadable = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "extend",
                                                  "until": "next tuesday", "reason": "x"})
    assert unreadable.status_code == 400 and "Give the new deadline" in unreadable.text
    until = _ago(days=-3)
    ok = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "extend",
                                          "until_utc": until.isoformat(), "reason": "Bereavement leave"})
    assert "Extension granted" in ok.text and "extension granted" in ok.text.split("Audit trail")[1]
    eva, epage = _participant(platform, course, "p-eva", "Eva Extended")
    assert "extended" in epage.text and "The deadline has passed" not in epage.text
    edone = _submit(eva, epage, GOOD)
    assert "Submitted" in edone.text and "recorded as late" not in edone.text

    queue = tutor.http.get(queue.url)
    assert "late" in _row(queue, "Lena Late") and "to mark" in _row(queue, "Lena Late")
    assert "missing" in _row(queue, "Mo Missing")
    assert "late" not in _row(queue, "Eva Extended") and "(extended)" in _row(queue, "Eva Extended")
    with app.app_context():
        rows = {a.person.sub: a for a in db().scalars(select(AssessmentAttempt).join(AssessmentWindow)
                                                      .where(AssessmentWindow.item_ref == REF))
                if a.person.sub in ("p-lena", "p-eva")}
        assert rows["p-lena"].late is True and rows["p-eva"].late is False


def test_fail_is_second_marked_agreed_outcome_reaches_ags_then_retake_with_a_new_case(platform, app):
    course = _course(platform)
    ada, queue = _tutor(platform, course)
    queue = _open_window(ada, queue, start=_ago(days=8, hours=12))
    nia, page = _participant(platform, course, "p-nia", "Nia Adebayo")
    _submit(nia, page, GOOD)

    queue = ada.http.get(queue.url)
    mpage = ada.http.get(_mark_link(queue, "Nia Adebayo"))
    assert "Marking guidance" in mpage.text and "Holistic judgement" in mpage.text
    assert "Learn that" in mpage.text and 'name="statement"' in mpage.text  # statements an answer may apply
    assert "The behaviour policy is applied inconsistently." in mpage.text
    missing = _mark(ada, mpage, "first", None, "Not sure yet")
    assert missing.status_code == 400 and "Choose pass or fail" in missing.text
    assert "Not sure yet" in missing.text  # the justification is kept
    first = _mark(ada, mpage, "first", "fail", "The diagnosis lists symptoms; solutions are generic.",
                  ["NPQSL/behaviour/that-1", "NPQSL/not/real-1"])
    assert "First mark recorded" in first.text and "always second-marked" in first.text
    refused = ada.http.post(mpage.url, data={"csrf_token": csrf_token(first.text), "action": "release"})
    assert refused.status_code == 400 and "second mark and the agreed outcome come first" in refused.text
    own = _mark(ada, first, "second", "fail", "Me again")
    assert own.status_code == 400

    ben, bqueue = _tutor(platform, course, user_id="t-ben", name="Ben Second")
    bpage = ben.http.get(_mark_link(bqueue, "Nia Adebayo"))
    assert "stay hidden until the second mark is recorded" in bpage.text
    assert "The diagnosis lists symptoms" not in bpage.text  # independent second marking
    second = _mark(ben, bpage, "second", "fail", "Agree: no diagnosis from the data; implementation is a list.")
    assert "Second mark recorded" in second.text and "The diagnosis lists symptoms" in second.text
    agreed = _mark(ben, second, "agreed", "fail",
                   "Not passed: the answer names statements but does not apply them to Castlegate's data.")
    assert "Agreed outcome recorded" in agreed.text
    released = ben.http.post(agreed.url, data={"csrf_token": csrf_token(agreed.text), "action": "release"})
    assert "Outcome released" in released.text
    trail = released.text.split("Audit trail")[1]
    for entry in ("Nia Adebayo: response submitted late", "Ada Tutor: first mark recorded (fail)",
                  "Ben Second: second mark recorded (fail)", "Ben Second: agreed outcome recorded (fail)",
                  "Ben Second: outcome released (failed)"):
        assert entry in trail, entry

    body = _scores(platform, app, "p-nia", lambda b: b.get("gradingProgress") == "FullyGraded")[-1]
    assert body["scoreGiven"] == 0 and body["scoreMaximum"] == 1 and body["activityProgress"] == "Completed"
    assert "Not passed" in body["comment"] and "does not apply them to Castlegate" in body["comment"]
    page = nia.http.get(page.url)
    assert "Outcome: Not passed" in page.text and "retake the assessment in the next window" in page.text

    # Window 2: only unused cases are offered; the failed participant is enrolled with the new case.
    queue = ada.http.get(queue.url)
    schedule = next(f for f in forms(queue.text) if f.action.endswith("/marking/windows"))
    assert "castlegate-academy" not in queue.text.split('name="case"')[1].split("</select>")[0]
    too_early = _open_window(ada, queue, start=_ago(days=2), expect=400)
    assert "must start after that" in too_early.text
    queue = _open_window(ada, queue, case="millbrook-primary")
    assert "Window 2 scheduled" in queue.text and "Nia Adebayo" in queue.text
    assert schedule.fields["csrf_token"]
    page = nia.http.get(page.url)
    assert "Window 2 · retake" in page.text and "Millbrook Primary School" in page.text
    assert "Earlier windows" in page.text and "Castlegate Academy" in page.text  # both attempts kept
    _submit(nia, page, {**GOOD, "problem": "Phonics is taught inconsistently. " + _text(100)})

    # A pass by a first marker who has had no pass sampled in this window is always sampled.
    queue = ada.http.get(queue.url)
    assert "(retake)" in _row(queue, "Nia Adebayo")
    mpage = ada.http.get(_mark_link(queue, "Nia Adebayo"))
    first = _mark(ada, mpage, "first", "pass", "Clear diagnosis of fidelity; staged, costed plan.")
    assert "second-marking sample" in first.text
    bpage = ben.http.get(_mark_link(ben.http.get(bqueue.url + "?window=2"), "Nia Adebayo"))
    second = _mark(ben, bpage, "second", "pass", "Agree: applies implementation statements well.")
    assert 'id="outcome-pass" name="outcome" value="pass" checked' in second.text  # both agree: proposed
    agreed = _mark(ben, second, "agreed", "pass", "Passed: a well-evidenced diagnosis and a realistic plan.")
    ben.http.post(agreed.url, data={"csrf_token": csrf_token(agreed.text), "action": "release"})
    body = _scores(platform, app, "p-nia", lambda b: b.get("scoreGiven") == 1)[-1]
    assert body["scoreMaximum"] == 1 and "window 2 (retake): Passed" in body["comment"]
    page = nia.http.get(page.url)
    assert "Outcome: Passed" in page.text
    with app.app_context():
        attempts = db().scalars(select(AssessmentAttempt).join(AssessmentWindow)
                                .where(AssessmentWindow.item_ref == REF, AssessmentAttempt.person.has(sub="p-nia"))
                                .order_by(AssessmentAttempt.id)).all()
        assert [(a.attempt_no, a.outcome) for a in attempts] == [(1, "failed"), (2, "passed")]


def test_a_submitted_score_held_back_then_overtaken_by_the_outcome_shows_as_not_sent(platform, app):
    """The "submitted" score meets an outage and waits for its retry; the released outcome is sent meanwhile.
    The retry is not posted (the platform would refuse its older timestamp), and the marking page says what
    happened to it, with nothing left to retry."""
    from sqlalchemy import update

    from lti_tool.db import utcnow
    from lti_tool.models import GradeOutbox

    def mine():
        with app.app_context():
            return list(db().scalars(select(GradeOutbox).where(GradeOutbox.score["userId"].as_string() == "p-ola")
                                     .order_by(GradeOutbox.id)))

    def wait(pred, timeout=15):
        end = time.time() + timeout
        while time.time() < end and not pred():
            time.sleep(0.05)
        return pred()

    course = _course(platform)
    ada, queue = _tutor(platform, course)
    queue = _open_window(ada, queue, start=_ago(days=1))
    ola, page = _participant(platform, course, "p-ola", "Ola Nowak")
    platform.gradebook.fail_next, platform.gradebook.fail_status = 1, 503
    _submit(ola, page, GOOD)
    assert wait(lambda: (e := mine()) and e[0].attempts == 1 and e[0].lease_owner is None)
    held = mine()[0]
    assert held.status == "pending" and "503" in held.last_error
    with app.app_context():  # its backoff has grown: the next attempt is an hour away
        db().execute(update(GradeOutbox).where(GradeOutbox.id == held.id)
                     .values(next_attempt_at=utcnow() + timedelta(hours=1)))
        db().commit()

    mpage = ada.http.get(_mark_link(ada.http.get(queue.url), "Ola Nowak"))
    _mark(ada, mpage, "first", "fail", "The diagnosis lists symptoms.")
    released = _second_mark_and_release(platform, course, "Ola Nowak", "fail",
                                        "Not passed: statements named, not applied.",
                                        second_justification="Agree: no diagnosis from the data.")
    assert "Outcome released" in released.text
    _scores(platform, app, "p-ola", lambda b: b.get("gradingProgress") == "FullyGraded")
    assert wait(lambda: mine()[-1].status == "delivered")
    posts = platform.received.score_attempts
    with app.app_context():
        db().execute(update(GradeOutbox).where(GradeOutbox.id == held.id).values(next_attempt_at=utcnow()))
        db().commit()
        deliver_due()
    assert platform.received.score_attempts == posts  # not posted
    assert [e.status for e in mine()] == ["superseded", "delivered"]

    shown = ada.http.get(mpage.url).text
    assert shown.count("not sent: a newer grade was sent") == 1 and "sent to the gradebook" in shown
    assert "Retry now" not in shown  # neither score has anything left to send


def test_void_an_attempt_with_a_reason(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    _open_window(tutor, queue)
    p, page = _participant(platform, course, "p-omar", "Omar Void")
    _submit(p, page, GOOD)
    _scores(platform, app, "p-omar")
    mpage = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Omar Void"))
    empty = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "void", "void_reason": ""})
    assert empty.status_code == 400 and "Give the reason for voiding" in empty.text
    done = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "void",
                                            "void_reason": "Withdrew from the programme on medical advice."})
    assert "Attempt voided" in done.text and "Voided" in done.text
    body = _scores(platform, app, "p-omar", lambda b: b.get("gradingProgress") == "NotReady")[-1]
    assert "scoreGiven" not in body and "attempt voided" in body["comment"]
    page = p.http.get(page.url)
    assert "This attempt was voided" in page.text and "Withdrew from the programme" in page.text


# -- engagement and the outcomes report ----------------------------------------------------------

def _complete_activities(browser, page, app, n):
    """Submit the first n activities of the NPQSL programme as this participant (real form posts)."""
    from lti_tool.content import load_programmes

    with app.app_context():
        programme = load_programmes(app.config["CONTENT_PACKS_DIR"])["NPQSL"]
    base = page.url.split("/assessment/")[0]
    token = csrf_token(page.text)
    acts = list(programme.activities.values())[:n]
    for act in acts:
        data = {"csrf_token": token, "action": "submit"}
        for q in act.questions:
            data[f"answer-{q.id}"] = "0" if q.type == "choice" else "A considered answer."
        r = browser.http.post(f"{base}/activities/NPQSL/{act.id}", data=data)
        assert r.status_code == 200 and "Submitted" in r.text, (act.id, r.status_code, r.text[:300])


def test_engagement_from_completed_items_milestones_and_the_outcomes_csv(platform, app, dbs):
    course = _course(platform)
    platform.member("p-rosa", "Rosa Complete")
    platform.member("p-sam", "Sam Started")
    tutor, queue = _tutor(platform, course)
    rosa, rpage = _participant(platform, course, "p-rosa", "Rosa Complete")
    sam, spage = _participant(platform, course, "p-sam", "Sam Started")
    assert "0%" in rpage.text and "Your engagement" in rpage.text and "52 of 57 items" in rpage.text

    _complete_activities(rosa, rpage, app, 49)
    _complete_activities(sam, spage, app, 5)
    # Sessions: recorded by a tutor on the engagement page.
    eng = tutor.http.get(_base(queue) + re.search(r'href="([^"]+/engagement)"', queue.text).group(1))
    assert "Sessions" in eng.text and "Record attendance" in eng.text
    people_ids = {}
    for link in re.findall(r'href="([^"]+/attendance/[a-z0-9-]+)"', eng.text):
        att = tutor.http.get(_base(eng) + link)
        ids = dict((name, pid) for pid, name in re.findall(r'name="person" value="(\d+)"[^>]*>\s*<label for="p-\d+">([^<]+)', att.text))
        people_ids.update(ids)
        future = tutor.http.post(att.url, data={"csrf_token": csrf_token(att.text), "held_on": "2999-01-01",
                                                "person": [ids["Rosa Complete"]]})
        assert future.status_code == 400 and "in the future" in future.text
        saved = tutor.http.post(att.url, data={"csrf_token": csrf_token(att.text),
                                               "held_on": datetime.now(timezone.utc).date().isoformat(),
                                               "person": [ids["Rosa Complete"]]})
        assert "Attendance saved: 1 attended" in saved.text
    # Webinars: scheduled and attended on the tool's webinar pages (another feature); arranged here.
    from lti_tool.models import Attendance, Course, Person, Webinar

    course_row = dbs.scalar(select(Course).where(Course.context_id == course["context_id"]))
    rosa_row = dbs.scalar(select(Person).where(Person.sub == "p-rosa", Person.platform_id == platform.db_id))
    for n in range(2):
        w = Webinar(course_id=course_row.id, title=f"Webinar {n}", starts_at=_ago(days=3 - n), minutes=60,
                    join_url="https://meet.example.org/x", created_by=rosa_row.id)
        dbs.add(w)
        dbs.flush()
        dbs.add(Attendance(webinar_id=w.id, person_id=rosa_row.id, source="tutor"))
    dbs.commit()

    mine = rosa.http.get(rpage.url.replace("/assessment/NPQSL", "/assessment/NPQSL/engagement"))
    # 49 activities + 2 sessions + 2 webinars = 53 of 57 = 93.0%: above the 90% threshold.
    assert "92%" in mine.text and "53 of 57 required items completed" in mine.text
    assert "Meets the 90% engagement needed to pass" in mine.text
    # Participants read DfE's milestones by name, never its codes; without the course's DfE schedule
    # only "started" can be dated, and "completed" needs the assessment outcome.
    assert "Retention point 2" in mine.text and "retained-2" not in mine.text
    assert mine.text.count("status-done\">reached") == 1

    # The assessment: submitted and passed; then "completed" is reached.
    queue = _open_window(tutor, queue)
    rpage = rosa.http.get(rpage.url)
    _submit(rosa, rpage, GOOD)
    mpage = tutor.http.get(_mark_link(tutor.http.get(queue.url), "Rosa Complete"))
    marked = _mark(tutor, mpage, "first", "pass", "Passed: applies the framework to the case throughout.")
    if "second-marking sample" in marked.text:  # this marker's first pass in the window is always sampled
        done = _second_mark_and_release(platform, course, "Rosa Complete", "pass",
                                        "Passed: applies the framework to the case throughout.",
                                        user_id="t-ben2", tutor_name="Ben Two")
    else:
        done = tutor.http.post(marked.url, data={"csrf_token": csrf_token(marked.text), "action": "release"})
    assert "Outcome released" in done.text

    # The DfE participant ID, recorded by a tutor.
    person_page = tutor.http.get(_base(eng) + re.search(r'href="([^"]+/engagement/\d+)">Rosa Complete<',
                                                        tutor.http.get(eng.url).text).group(1))
    bad = tutor.http.post(person_page.url, data={"csrf_token": csrf_token(person_page.text),
                                                 "dfe_participant_id": "not an id!"})
    assert bad.status_code == 400 and "letters, digits and hyphens" in bad.text
    tutor.http.post(person_page.url, data={"csrf_token": csrf_token(person_page.text),
                                           "dfe_participant_id": "7a8b9c0d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"})

    report = tutor.http.get(_base(eng) + re.search(r'href="([^"]+/outcomes)"', eng.text).group(1))
    assert "Download CSV" in report.text and "npq-senior-leadership" in report.text
    assert "Not chosen yet" in report.text and "npq-specialist-autumn" not in report.text  # leadership schedules only
    # The 2025 cohort's leadership schedule: every work today falls after its retention points' dates.
    report = tutor.http.post(report.url + "/schedule", data={"csrf_token": csrf_token(report.text),
                                                            "schedule": "2025:npq-leadership-spring"})
    assert "DfE schedule saved" in report.text and "24 July 2026" in report.text
    got = tutor.http.get(report.url + ".csv")
    assert got.headers["Content-Type"].startswith("text/csv") and "attachment" in got.headers["Content-Disposition"]
    rows = {r["full_name"]: r for r in csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")))}
    assert list(rows["Rosa Complete"]) == ["participant_id", "full_name", "email", "lms_user_id", "course_identifier",
                                           "schedule_identifier", "engagement_percent", "engagement_threshold_met",
                                           "started", "retained-1", "retained-2", "completed", "has_passed", "state",
                                           "completion_date", "held_back_reason"]
    r = rows["Rosa Complete"]
    today = datetime.now(timezone.utc).date().isoformat()
    assert r["participant_id"] == "7a8b9c0d-1e2f-4a5b-8c9d-0e1f2a3b4c5d" and r["lms_user_id"] == "p-rosa"
    assert r["course_identifier"] == "npq-senior-leadership" and r["engagement_percent"] == "93.0"
    assert r["engagement_threshold_met"] == "yes" and r["state"] == "passed" and r["completion_date"] == today
    assert r["has_passed"] == "true" and r["held_back_reason"] == "" and r["schedule_identifier"] == "npq-leadership-spring"
    for milestone in ("started", "retained-1", "retained-2", "completed"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", r[milestone]), (milestone, r[milestone])
    assert r["completed"][:10] == today and r["started"] <= r["retained-1"] <= r["retained-2"] <= r["completed"]
    s = rows["Sam Started"]
    assert s["engagement_percent"] == "8.8" and s["engagement_threshold_met"] == "no"
    # Engagement evidence after each milestone date dates the retention points, whatever the share done.
    assert s["started"] and s["retained-1"] and s["retained-2"] and not s["completed"] and s["state"] == ""
    assert not s["participant_id"] and s["has_passed"] == ""

    data = json.loads(tutor.http.get(report.url + ".json").text)
    rj = next(p for p in data["participants"] if p["lms_user_id"] == "p-rosa")
    assert [d["declaration_type"] for d in rj["declarations"]] == ["started", "retained-1", "retained-2", "completed"]
    assert rj["declarations"][0]["participant_id"] == "7a8b9c0d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
    assert rj["declarations"][-1]["has_passed"] is True and "has_passed" not in rj["declarations"][0]
    assert rj["outcome"] == {"course_identifier": "npq-senior-leadership", "state": "passed", "completion_date": today}
    assert rj["engagement"]["threshold_met"] is True

    # Mentors see their mentees only; participants cannot reach the report.
    mentor = Browser()
    mspec = _spec(platform, course, learner(user_id="m-1", name="Mo Mentor", roles=[MENTOR]))
    mspec.roles = [MENTOR]
    mspec.extra_claims = {"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor": ["p-sam"]}
    landed = mentor.launch(platform, mspec)  # mentors land on the mentees page; engagement is a page away
    msid = landed.url.split("/s/")[1].split("/")[0]
    mview = mentor.http.get(_base(landed) + f"/s/{msid}/assessment/NPQSL/engagement")
    assert mview.status_code == 200 and "Your mentees’ engagement" in mview.text
    assert "Sam Started" in mview.text and "Rosa Complete" not in mview.text
    rosa_id = people_ids["Rosa Complete"]
    assert mentor.http.get(mview.url + f"/{rosa_id}").status_code == 404
    assert rosa.http.get(report.url.split("/s/")[0] + "/s/" + rpage.url.split("/s/")[1].split("/")[0]
                         + "/assessment/NPQSL/outcomes.csv").status_code == 403


def test_authorisation_and_bad_input_never_500(platform, app):
    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    queue = _open_window(tutor, queue)
    p, page = _participant(platform, course, "p-ivy", "Ivy Own")
    _submit(p, page, GOOD)
    link = _mark_link(tutor.http.get(queue.url), "Ivy Own")
    sid = page.url.split("/s/")[1].split("/")[0]
    base = _base(page) + f"/s/{sid}/assessment/NPQSL"
    # A participant reaches neither the queue, nor marking, nor the report, nor another's engagement.
    for path in ("/marking", "/marking/windows/1/1", "/outcomes", "/outcomes.json", "/engagement/1",
                 "/cases/castlegate-academy"):
        assert p.http.get(base + path).status_code == 403, path
    assert p.http.post(base + "/marking/windows", data={"csrf_token": csrf_token(page.text)}).status_code == 403
    # A tutor of another course cannot open this course's participant.
    other = _course(platform)
    otutor, oqueue = _tutor(platform, other, user_id="t-other", name="Otto Other")
    _open_window(otutor, oqueue)
    person_id = link.rsplit("/", 1)[1]
    stolen = otutor.http.get(oqueue.url.split("?")[0] + f"/windows/1/{person_id}")
    assert stolen.status_code == 404
    # Forms without the CSRF token are refused.
    assert tutor.http.post(link, data={"action": "release"}).status_code == 400
    assert p.http.post(base + "/windows/1", data={"answer-problem": "x", "action": "save"}).status_code == 400
    # Bad input gets a clear message, never a 500.
    mpage = tutor.http.get(link)
    token = csrf_token(mpage.text)
    for data in ({"action": "first", "outcome": "maybe", "justification": "x"},
                 {"action": "first", "outcome": "pass", "justification": ""},
                 {"action": "first", "outcome": "pass", "justification": "x" * 10001},
                 {"action": "agreed", "outcome": "pass", "justification": "x"},
                 {"action": "extend", "until": "2027-13-45T99:00", "reason": "x"},
                 {"action": "sample"}):
        r = tutor.http.post(link, data={"csrf_token": token, **data})
        assert r.status_code == 400, (data, r.status_code)
    assert tutor.http.post(link, data={"csrf_token": token, "action": "nonsense"}).status_code == 400
    assert tutor.http.get(queue.url.split("?")[0] + "/windows/9/1").status_code == 404
    assert tutor.http.get(base.replace(sid, queue.url.split("/s/")[1].split("/")[0]).replace("NPQSL", "NOPE")
                          ).status_code == 404
    bad_start = tutor.http.post(_base(queue) + next(f for f in forms(queue.text)
                                                    if f.action.endswith("/marking/windows")).action,
                                data={"csrf_token": csrf_token(queue.text), "opens_at": "soon"})
    assert bad_start.status_code == 400 and "could not be read" in bad_start.text
    huge = p.http.post(base + "/windows/1/draft", json={"answers": {"problem": "x" * 40001}, "version": 0},
                       headers={"X-CSRFToken": csrf_token(page.text)})
    assert huge.status_code == 400 and "error" in huge.json()
    wrong_window = p.http.post(base + "/windows/7/draft", json={"answers": {}, "version": 0},
                               headers={"X-CSRFToken": csrf_token(page.text)})
    assert wrong_window.status_code == 400


@pytest.mark.parametrize("code,cap", [("NPQLT", 1500)])
def test_specialist_programme_uses_its_own_cap_and_cases(platform, code, cap):
    course = _course(platform, ref=f"{code}/case-study")
    tutor, queue = _tutor(platform, course)
    queue = _open_window(tutor, queue)
    assert "Riverside High School" in queue.text
    p, page = _participant(platform, course, "p-lt", "Lee Teach")
    assert f"of {cap:,} words" in page.text and "Key Stage 3 science" in page.text
    over = _submit(p, page, {**GOOD, "solutions": _text(1300)})
    assert over.status_code == 400 and f"the cap is {cap:,}" in over.text


def test_passes_are_sampled_for_second_marking_and_released_in_bulk(platform, app):
    from lti_tool.assessment import marks

    course = _course(platform)
    tutor, queue = _tutor(platform, course)
    queue = _open_window(tutor, queue)
    preview = tutor.http.get(_base(queue) + re.search(r'href="([^"]+/cases/castlegate-academy)"', queue.text).group(1))
    assert "Notes for markers" in preview.text and "Case preview" in preview.text and "Identify the problem" in preview.text
    names = [("p-pa", "Pia Pass"), ("p-pb", "Paul Pass"), ("p-pc", "Peg Pass")]
    for uid, name in names:
        b, page = _participant(platform, course, uid, name)
        _submit(b, page, GOOD)
    queue = tutor.http.get(queue.url)
    assert "To mark (3)" in queue.text
    only = tutor.http.get(queue.url, params={"state": "to mark"})
    assert all(name in only.text for _, name in names)
    for _, name in names:
        page = tutor.http.get(_mark_link(queue, name))
        _mark(tutor, page, "first", "pass", f"{name}: applies the framework to the case throughout.")
    from lti_tool.models import Course, Person

    with app.app_context():
        attempts = db().scalars(
            select(AssessmentAttempt).join(Person, Person.id == AssessmentAttempt.person_id)
            .join(Course, Course.id == AssessmentAttempt.course_id)
            .where(Course.context_id == course["context_id"], Person.sub.in_([u for u, _ in names]))
            .order_by(AssessmentAttempt.id)).all()
        assert [a.person.sub for a in attempts] == [u for u, _ in names]
        # The first marker's first pass is always sampled; later passes when the fixed draw is under the rate.
        expected = [True] + [marks._draw(a) < 0.2 for a in attempts[1:]]
        assert [a.second_marking == "sampled" for a in attempts] == expected
    queue = tutor.http.get(queue.url)
    ready = sum(1 for e in expected if not e)
    assert ready == 0 or f"Release {ready} ready outcome" in queue.text
    ben, bq = _tutor(platform, course, user_id="t-bulk", name="Bea Second")
    for (uid, name), sampled in zip(names, expected):
        if sampled:
            page = ben.http.get(_mark_link(bq, name))
            page = _mark(ben, page, "second", "pass", "Agree.")
            _mark(ben, page, "agreed", "pass", f"{name}: passed after second marking.")
        else:  # an unsampled pass can still be added to the sample by hand
            page = tutor.http.get(_mark_link(queue, name))
            assert "Add to the second-marking sample" in page.text
    queue = tutor.http.get(queue.url)
    assert "Release 3 ready outcomes" in queue.text
    form = next(f for f in forms(queue.text) if f.action.endswith("/release"))
    done = tutor.http.post(_base(queue) + form.action, data=form.fields)
    assert "Released 3 outcomes" in done.text and "Passed (3)" in done.text
    for uid, _ in names:
        body = _scores(platform, app, uid, lambda b: b.get("scoreGiven") == 1)[-1]
        assert body["gradingProgress"] == "FullyGraded" and "Passed" in body["comment"]
