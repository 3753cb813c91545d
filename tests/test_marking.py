"""Tutor marking and grade passback, end to end through an independent platform with NRPS and AGS."""
from __future__ import annotations

import re
import threading
import time

from sqlalchemy import func, select, update

from lti_tool.db import db
from lti_tool.grades.delivery import deliver_due
from lti_tool.models import GradeOutbox

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner
from .platform_server import INSTRUCTOR
from .test_writeups import RISK, _post, _row_ids, _wait

REF = "NPQSL/risk-assessment"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def _course(platform):
    n = str(time.time_ns())[-8:]
    return {"context_id": "course-" + n, "line_item": platform.add_line_item("Risk assessment", 100, resource_id=REF)}


def _submit_as(platform, course, user_id, name, description="Staff turnover"):
    b = Browser()
    spec = learner(user_id=user_id, name=name, context_id=course["context_id"], custom={"npq_item": REF},
                   lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = course["line_item"]
    page = b.launch(platform, spec)
    row = _row_ids(page, "risks")[0]
    data = {"f.overview.project-title": f"{name}'s project", "f.overview.sdp-priority": "Literacy",
            "f.overview.project-lead": name, "f.overview.description": "A routine.",
            **{f"t.risks.{row}.{k}": v for k, v in {**RISK, "description": description}.items()}}
    done = _post(b, page, data, action="submit")
    assert "Submitted: read-only" in done.text
    return b, spec, page


def _tutor(platform, course, user_id="tutor-1", name="Tom Reid"):
    b = Browser()
    spec = instructor(user_id=user_id, name=name, context_id=course["context_id"], custom={"npq_item": REF},
                      lineitems_url=platform.issuer + "/lineitems", nrps_url=platform.issuer + "/memberships")
    spec.lineitem_url = course["line_item"]
    page = b.launch(platform, spec)
    assert page.status_code == 200 and "Marking: Risk assessment" in page.text, page.text[:300]
    return b, page


def _mark_form(page, levels: list[int], overall="Clear and well judged."):
    data = {"csrf_token": csrf_token(page.text), "overall": overall}
    crits = list(dict.fromkeys(re.findall(r'name="level-([a-z0-9-]+)"', page.text)))
    for c, lv in zip(crits, levels):
        data[f"level-{c}"] = str(lv)
        data[f"comment-{c}"] = f"Comment on {c}"
    return data, crits


def _doc_link(queue_page, name):
    return re.search(rf'href="([^"]+/marking/NPQSL/risk-assessment/\d+)">{name}<', queue_page.text).group(1)


def _course_id(course):
    from lti_tool.models import Course
    return db().scalar(select(Course.id).where(Course.context_id == course["context_id"]))


def _scores_for(platform, user_id):
    return [b for _, b in platform.received.scores if b["userId"] == user_id]


def test_roster_merged_into_queue_with_statuses_and_paging(platform):
    course = _course(platform)
    _submit_as(platform, course, "p-amara", "Amara Okoye")
    platform.member("p-amara", "Amara Okoye")
    platform.member("p-bilal", "Bilal Khan")
    platform.member("p-chen", "Chen Wei")
    platform.member("t-1", "Tom Reid", INSTRUCTOR)
    tutor, queue = _tutor(platform, course)
    text = queue.text
    for name in ("Amara Okoye", "Bilal Khan", "Chen Wei"):
        assert name in text
    assert "Tom Reid</" not in text.split("<tbody>")[1]  # tutors are not in the queue
    assert "Submitted (1)" in text and "Not started (2)" in text
    filtered = tutor.http.get(queue.url, params={"status": "not started"})
    assert "Bilal Khan" in filtered.text and "Amara Okoye" not in filtered.text.split("<tbody>")[1]
    by_status = tutor.http.get(queue.url, params={"sort": "submitted"})
    body = by_status.text.split("<tbody>")[1]
    assert body.index("Amara Okoye") < body.index("Bilal Khan")


def test_mark_moderate_release_score_reaches_platform(platform):
    course = _course(platform)
    participant, pspec, ppage = _submit_as(platform, course, "p-dina", "Dina Haddad")
    tutor, queue = _tutor(platform, course)
    mark_page = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, "Dina Haddad"))
    assert "Risks identified" in mark_page.text or "criterion" in mark_page.text
    data, crits = _mark_form(mark_page, [2, 2, 2, 2, 2])
    saved = tutor.http.post(mark_page.url, data={**data, "action": "save", "kind": "first"})
    assert "Draft mark saved" in saved.text and "draft" in saved.text
    sampled = tutor.http.post(mark_page.url, data={"csrf_token": csrf_token(saved.text), "action": "sample"})
    assert "moderation sample" in sampled.text
    refused = tutor.http.post(mark_page.url, data={**data, "action": "release", "kind": "first"})
    assert refused.status_code == 400 and "second marker" in refused.text

    second, squeue = _tutor(platform, course, user_id="tutor-2", name="Rosa Mendes")
    mpage = second.http.get(squeue.url.split("/s/")[0] + _doc_link(squeue, "Dina Haddad"))
    assert "Moderation." in mpage.text and "First mark by Tom Reid" in mpage.text
    agreed, _ = _mark_form(mpage, [3, 3, 2, 2, 2], overall="Agreed at moderation: strong register.")
    released = second.http.post(mpage.url, data={**agreed, "action": "release", "kind": "agreed"})
    assert "Mark released" in released.text
    history = released.text.split("History")[1]
    assert "Tom Reid: draft mark saved" in history and "Rosa Mendes: agreed mark recorded" in history
    assert "Rosa Mendes: mark released" in history
    # The marking page and the queue say the same: released (never "marked" on one, "released" on the other).
    assert re.search(r'status <span class="status status-released">released</span>', released.text)
    requeue = second.http.get(squeue.url)
    assert '<span class="status status-released">released</span>' in requeue.text
    from .test_participant_wording import assert_plain, visible_text
    assert_plain(visible_text(released.text), "marking page")
    assert_plain(visible_text(requeue.text), "marking queue")

    assert _wait(lambda: _scores_for(platform, "p-dina") and _scores_for(platform, "p-dina")[-1].get("scoreGiven"))
    body = _scores_for(platform, "p-dina")[-1]
    assert body["gradingProgress"] == "FullyGraded" and body["activityProgress"] == "Completed"
    assert body["scoreMaximum"] == 100 and body["scoreGiven"] > 0
    assert "Agreed at moderation" in body["comment"] and body["timestamp"]
    # The gradebook's feedback says why: the outcome, then each criterion's level and score.
    assert body["comment"].startswith(f"Pass: {body['scoreGiven']:g} out of 100.\n")
    assert "Risks identified: Strong, 25 of 25." in body["comment"]
    # The participant sees the released mark and feedback in the tool.
    mine = participant.http.get(ppage.url)
    assert f"{int(body['scoreGiven'])} of 100" in mine.text and "Agreed at moderation" in mine.text
    assert "Comment on" in mine.text


def test_return_for_resubmission_then_resubmit(platform):
    course = _course(platform)
    participant, _, ppage = _submit_as(platform, course, "p-eli", "Eli Cohen")
    tutor, queue = _tutor(platform, course)
    mpage = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, "Eli Cohen"))
    empty = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "return",
                                             "return_feedback": ""})
    assert empty.status_code == 400 and "needs feedback" in empty.text
    back = tutor.http.post(mpage.url, data={"csrf_token": csrf_token(mpage.text), "action": "return",
                                            "return_feedback": "Add a mitigation owner for each risk."})
    assert "Returned for resubmission" in back.text
    page = participant.http.get(ppage.url)
    assert "Add a mitigation owner" in page.text and "Resubmit" in page.text
    again = _post(participant, page, {}, action="submit")
    assert "attempt 2" in again.text
    queue = tutor.http.get(queue.url)
    assert "Submitted (1)" in queue.text


def test_grades_survive_platform_errors_and_timeouts(platform, app):
    course = _course(platform)
    users = [(f"p-f{i}", f"Fault Tester{i}") for i in range(3)]
    for uid, name in users:
        _submit_as(platform, course, uid, name)
    _wait(lambda: len([1 for _, b in platform.received.scores if b["userId"].startswith("p-f")]) == 3)
    platform.gradebook.fail_next = 4  # the AGS endpoint answers 500 for a while...
    platform.gradebook.delay_next, platform.gradebook.delay_seconds = 2, 3.0  # ...then times out
    tutor, queue = _tutor(platform, course)
    released_totals = {}
    for uid, name in users:
        q = tutor.http.get(queue.url)
        mpage = tutor.http.get(q.url.split("/s/")[0] + _doc_link(q, name))
        data, _ = _mark_form(mpage, [1, 1, 1, 1, 1], overall=f"Feedback for {name}")
        tutor.http.post(mpage.url, data={**data, "action": "release", "kind": "first"})
    with app.app_context():
        deadline = time.time() + 60
        while time.time() < deadline:
            deliver_due()
            pending = db().scalar(select(GradeOutbox).where(GradeOutbox.source == "writeup-mark",
                                                            GradeOutbox.status != "delivered",
                                                            GradeOutbox.course_id.in_(
                                                                select(GradeOutbox.course_id).where(
                                                                    GradeOutbox.source == "writeup-mark"))))
            done = [e for e in db().scalars(select(GradeOutbox).where(GradeOutbox.source == "writeup-mark"))
                    if e.score["userId"].startswith("p-f")]
            if len(done) == 3 and all(e.status == "delivered" for e in done):
                break
            time.sleep(0.3)
        entries = [e for e in db().scalars(select(GradeOutbox).where(GradeOutbox.source == "writeup-mark"))
                   if e.score["userId"].startswith("p-f")]
        assert len(entries) == 3 and all(e.status == "delivered" for e in entries)
        assert any(e.attempts > 1 for e in entries)  # some needed retries
        for e in entries:
            released_totals[e.score["userId"]] = e.score
    for uid, _ in users:
        received = [b for b in _scores_for(platform, uid) if b.get("gradingProgress") == "FullyGraded"]
        assert len(received) == 1, received  # exactly once at the platform
        assert received[0] == released_totals[uid]  # exactly as released (same timestamp and values)


def test_redelivery_refused_as_stale_counts_as_delivered(platform, app):
    course = _course(platform)
    _submit_as(platform, course, "p-gil", "Gil Santos")
    assert _wait(lambda: _scores_for(platform, "p-gil"))
    with app.app_context():
        entry = db().scalar(select(GradeOutbox).where(GradeOutbox.source == "writeup-submitted")
                            .order_by(GradeOutbox.id.desc()))
        # The platform has it; the tool records the delivery a moment later.
        assert _wait(lambda: (db().refresh(entry) or entry.status) == "delivered")
        for status in (409, 400):  # Moodle, then Canvas
            platform.gradebook.stale_status = status
            db().execute(update(GradeOutbox).where(GradeOutbox.id == entry.id)
                         .values(status="pending", next_attempt_at=entry.created_at,
                                 # as after a worker died mid-attempt: the score may have arrived
                                 lease_owner="killed-worker", lease_until=entry.created_at))
            db().commit()
            deliver_due()
            db().refresh(entry)
            assert entry.status == "delivered" and entry.last_error is None
    assert len(_scores_for(platform, "p-gil")) == 1


def test_bulk_release_uses_one_access_token(platform):
    course = _course(platform)
    names = [(f"p-h{i}", f"Bulk Person{i}") for i in range(4)]
    for uid, name in names:
        _submit_as(platform, course, uid, name)
    tutor, queue = _tutor(platform, course)
    for uid, name in names:
        q = tutor.http.get(queue.url)
        mpage = tutor.http.get(q.url.split("/s/")[0] + _doc_link(q, name))
        data, _ = _mark_form(mpage, [3, 3, 3, 3, 3])
        tutor.http.post(mpage.url, data={**data, "action": "save", "kind": "first"})
    q = tutor.http.get(queue.url, params={"status": "marked"})
    assert "Marked (4)" in q.text
    before = sum(1 for t in platform.received.token_requests if SCORE_SCOPE in t.get("scope", ""))
    form = forms(q.text)
    release_form = next(f for f in form if f.action.endswith("/release"))
    ticked = {**release_form.fields, "doc": re.findall(r'name="doc" value="(\d+)"', q.text)}  # tick every row
    progress = tutor.http.post(q.url.split("/s/")[0] + release_form.action, data=ticked)
    assert "Released 4 marks" in progress.text and "Sending marks to the gradebook" in progress.text
    assert _wait(lambda: all(_scores_for(platform, uid) and _scores_for(platform, uid)[-1].get("scoreGiven")
                             for uid, _ in names))
    done = tutor.http.get(progress.url)
    assert "4 of 4</strong> delivered" in done.text
    after = sum(1 for t in platform.received.token_requests if SCORE_SCOPE in t.get("scope", ""))
    assert after - before <= 1  # the cached token served the whole batch


def _redeliverable_grades(platform, app, prefix: str) -> tuple[list[int], dict[str, int]]:
    """Six delivered grades set back to pending (as after a crash before they were recorded), with
    what the platform holds for each learner now; the platform refuses re-sent scores as stale."""
    course = _course(platform)
    for i in range(6):
        _submit_as(platform, course, f"{prefix}{i}", f"Worker Person{i}")
    assert _wait(lambda: all(_scores_for(platform, f"{prefix}{i}") for i in range(6)))
    with app.app_context():
        def mine():
            db().expire_all()
            return [e for e in db().scalars(select(GradeOutbox).where(GradeOutbox.source == "writeup-submitted"))
                    if e.score["userId"].startswith(prefix) and e.course_id == _course_id(course)]
        # Let the web process's own delivery finish recording before resetting the entries.
        assert _wait(lambda: len(mine()) == 6 and all(e.status == "delivered" and e.lease_owner is None for e in mine()))
        ids = [e.id for e in mine()]
        db().execute(update(GradeOutbox).where(GradeOutbox.id.in_(ids)).values(
            status="pending", attempts=0, next_attempt_at=GradeOutbox.created_at,
            # as after a worker died mid-attempt (its lease expired): the score may have arrived
            lease_owner="killed-worker", lease_until=GradeOutbox.created_at))
        db().commit()
    platform.gradebook.stale_status = 409
    return ids, {f"{prefix}{i}": len(_scores_for(platform, f"{prefix}{i}")) for i in range(6)}


def _delivered_once_more(platform, app, ids: list[int], count_before: dict[str, int]) -> None:
    # Each entry was attempted once more in all: the platform saw one extra (stale) POST per grade at most.
    with app.app_context():
        entries = db().scalars(select(GradeOutbox).where(GradeOutbox.id.in_(ids))).all()
        assert all(e.status == "delivered" and e.attempts == 1 and e.lease_owner is None for e in entries)
    for uid, n in count_before.items():
        assert len(_scores_for(platform, uid)) == n  # nothing delivered twice


def test_two_workers_deliver_each_grade_once(platform, app):
    ids, count_before = _redeliverable_grades(platform, app, "p-w")

    def worker():
        with app.app_context():
            while deliver_due(limit=2):
                pass
    threads = [threading.Thread(target=worker) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    _delivered_once_more(platform, app, ids, count_before)


def test_worker_command_delivers_with_threads_each_grade_once(platform, app):
    """`flask grades work` with several delivery threads, each leasing one grade at a time."""
    ids, count_before = _redeliverable_grades(platform, app, "p-cmd")

    def pending() -> int:
        with app.app_context():
            return db().scalar(select(func.count()).select_from(GradeOutbox).where(
                GradeOutbox.id.in_(ids), GradeOutbox.status == "pending"))
    for _ in range(5):  # other tests' grades may be due too: one pass at a time until ours are sent
        result = app.test_cli_runner().invoke(args=["grades", "work", "--once", "--threads", "3", "--batch", "2"])
        assert result.exit_code == 0, result.output
        assert re.search(r"Attempted \d+ grade", result.output)
        if not pending():
            break
    _delivered_once_more(platform, app, ids, count_before)


def test_canvas_scores_carry_the_submission_extension(platform):
    course = _course(platform)
    b = Browser()
    spec = learner(user_id="p-canvas", context_id=course["context_id"], custom={"npq_item": REF},
                   lineitems_url=platform.issuer + "/lineitems",
                   extra_claims={"https://purl.imsglobal.org/spec/lti/claim/tool_platform":
                                 {"guid": "x", "product_family_code": "canvas"}})
    spec.lineitem_url = course["line_item"]
    page = b.launch(platform, spec)
    row = _row_ids(page, "risks")[0]
    _post(b, page, {"f.overview.project-title": "T", "f.overview.sdp-priority": "P", "f.overview.project-lead": "L",
                    "f.overview.description": "D", **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}},
          action="submit")
    assert _wait(lambda: _scores_for(platform, "p-canvas"))
    ext = _scores_for(platform, "p-canvas")[0]["https://canvas.instructure.com/lti/submission"]
    assert ext["new_submission"] is True and ext["submission_type"] == "basic_lti_launch" and ext["submitted_at"]


def test_tutor_of_another_course_cannot_mark_and_participants_cannot_queue(platform):
    course = _course(platform)
    participant, _, ppage = _submit_as(platform, course, "p-iris", "Iris Novak")
    tutor, queue = _tutor(platform, course)
    link = _doc_link(queue, "Iris Novak")
    other_course = _course(platform)
    other, oqueue = _tutor(platform, other_course, user_id="tutor-x")
    doc_id = link.rsplit("/", 1)[1]
    stolen = other.http.get(re.sub(r"/marking/.*", f"/marking/NPQSL/risk-assessment/{doc_id}", oqueue.url))
    assert stolen.status_code == 404
    assert participant.http.get(re.sub(r"/writeups/.*", "/marking/NPQSL/risk-assessment", ppage.url)).status_code == 403
