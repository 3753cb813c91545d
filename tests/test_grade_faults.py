"""Grade delivery against a platform that refuses, times out or asks us to wait: a score refused
as older than the one held counts as delivered only when an earlier attempt may have brought it;
Retry-After is honoured by every worker; other platforms are not held up."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from sqlalchemy import select, update

from lti_tool.db import db, utcnow
from lti_tool.grades.delivery import deliver_due
from lti_tool.models import GradeOutbox

from .conftest import register
from .platform_server import PlatformServer
from .test_marking import _course, _doc_link, _mark_form, _scores_for, _submit_as, _tutor
from .test_writeups import _wait

ROOT = Path(__file__).resolve().parent.parent


def _entry(app, user_id: str, source: str = "writeup-submitted") -> GradeOutbox | None:
    with app.app_context():
        return db().scalar(select(GradeOutbox).where(GradeOutbox.source == source)
                           .where(GradeOutbox.score["userId"].as_string() == user_id)
                           .order_by(GradeOutbox.id.desc()).limit(1))


def _settled(app, user_id: str, attempts: int = 1, source: str = "writeup-submitted") -> GradeOutbox:
    """The entry once the web process's own delivery has recorded `attempts` attempts."""
    assert _wait(lambda: (e := _entry(app, user_id, source)) is not None and e.attempts >= attempts
                 and e.lease_owner is None)
    return _entry(app, user_id, source)


@pytest.mark.parametrize("stale_status", [409, 400], ids=["Moodle 409", "Canvas 400"])
def test_mark_refused_as_older_at_its_first_attempt_is_a_visible_failure(platform, app, stale_status):
    """A teacher typed a grade into the gradebook after the work was submitted; the tutor then
    releases a mark. The platform holds a newer score and refuses it: nothing of ours had arrived,
    so this is a refusal the tutor must see, not a delivery."""
    course = _course(platform)
    uid, name = "p-stale-" + str(stale_status), "Stale Tester"
    platform.gradebook.stale_status = stale_status
    _submit_as(platform, course, uid, name)
    assert _wait(lambda: _scores_for(platform, uid))
    platform.gradebook.latest[(course["line_item"], uid)] = {
        "userId": uid, "scoreGiven": 71, "scoreMaximum": 100, "timestamp": "2099-01-01T00:00:00.000+00:00"}
    tutor, queue = _tutor(platform, course)
    mark_page = tutor.http.get(queue.url.split("/s/")[0] + _doc_link(queue, name))
    data, _ = _mark_form(mark_page, [3, 3, 3, 3, 3])
    tutor.http.post(mark_page.url, data={**data, "action": "release", "kind": "first"})
    entry = _settled(app, uid, source="writeup-mark")
    assert entry.status == "failed" and not entry.maybe_delivered
    assert entry.last_error.startswith("Refused by the platform: its gradebook holds a newer grade")
    posts = platform.received.score_attempts
    with app.app_context():
        deliver_due()
        deliver_due()
    assert platform.received.score_attempts == posts  # refused for good: no retry loop
    assert len(_scores_for(platform, uid)) == 1  # the submission's status only
    shown = tutor.http.get(queue.url, params={"status": "released"}).text + tutor.http.get(queue.url).text
    assert "Refused by the platform: its gradebook holds a newer" in shown  # the tutor sees why


def test_score_stored_by_an_attempt_that_timed_out_is_delivered_when_the_retry_is_refused(platform, app):
    """The platform stores the score after the tool's read timeout (2 s in tests): the tool cannot
    know, so the retry is sent, refused as not newer, and that refusal means it arrived."""
    course = _course(platform)
    uid = "p-slowstore"
    platform.gradebook.delay_next, platform.gradebook.delay_seconds = 1, 3.0
    _submit_as(platform, course, uid, "Slow Store")
    entry = _settled(app, uid)
    assert entry.status == "pending" and entry.maybe_delivered and "timed out" in entry.last_error
    assert _wait(lambda: _scores_for(platform, uid))  # the platform has it, the tool does not know
    posts = platform.received.score_attempts
    with app.app_context():
        assert _wait(lambda: deliver_due() == 0 and _entry(app, uid).status != "pending", timeout=10)
    entry = _entry(app, uid)
    assert entry.status == "delivered" and entry.last_error is None and entry.attempts == 2
    assert platform.received.score_attempts == posts + 1 and len(_scores_for(platform, uid)) == 1


def test_worker_killed_after_sending_leaves_a_lease_that_marks_the_score_as_maybe_delivered(platform, app):
    """A worker sent the score and died before recording it: its lease stays, names it, expires.
    The next worker's retry is refused as not newer, and that counts as delivered."""
    course = _course(platform)
    uid = "p-killed"
    _submit_as(platform, course, uid, "Killed Worker")
    assert _wait(lambda: _scores_for(platform, uid))
    entry = _settled(app, uid)
    with app.app_context():
        db().execute(update(GradeOutbox).where(GradeOutbox.id == entry.id).values(
            status="pending", attempts=0, delivered_at=None, next_attempt_at=utcnow() - timedelta(minutes=3),
            lease_owner="killed-worker", lease_until=utcnow() - timedelta(minutes=1)))
        db().commit()
        assert _wait(lambda: deliver_due() == 0 and _entry(app, uid).status != "pending", timeout=10)
    entry = _entry(app, uid)
    assert entry.status == "delivered" and entry.maybe_delivered and entry.last_error is None
    assert len(_scores_for(platform, uid)) == 1


def _other_worker_pass(app) -> None:
    """`flask grades work --once` in a process of its own: it never saw the platform's 429."""
    env = {**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": app.config["DATABASE_URL"],
           "KEYS_DIR": app.config["KEYS_DIR"], "SECRET_KEY": app.config["SECRET_KEY"]}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "grades", "work", "--once"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_retry_after_holds_every_worker_off_that_platform_only(platform, app, tool):
    other = PlatformServer(tool.url)
    register(app, other)
    try:
        course, elsewhere = _course(platform), _course(other)
        gb = platform.gradebook
        gb.fail_next, gb.fail_status, gb.retry_after = 50, 429, "120"
        _submit_as(platform, course, "p-429-a", "Rate Limited")
        first = _settled(app, "p-429-a")
        posts = platform.received.score_attempts
        assert posts >= 1 and "429" in first.last_error
        assert first.next_attempt_at >= utcnow() + timedelta(seconds=110)
        _submit_as(platform, course, "p-429-b", "Queued Behind")  # queued during the pause
        _submit_as(other, elsewhere, "p-429-other", "Other Platform")
        assert _wait(lambda: _scores_for(other, "p-429-other"))  # the other platform is not held up
        with app.app_context():
            deliver_due()
        _other_worker_pass(app)
        assert platform.received.score_attempts == posts  # nothing more sent to the platform
        for uid in ("p-429-a", "p-429-b"):
            entry = _entry(app, uid)
            assert entry.status == "pending" and entry.next_attempt_at >= utcnow() + timedelta(seconds=100), uid
    finally:
        other.stop()


@pytest.mark.parametrize("header, expected", [
    (lambda: formatdate(time.time() + 600, usegmt=True), 600),  # an HTTP date
    (lambda: "86400", 3600),  # a day: capped at AGS_RETRY_AFTER_MAX_SECONDS
], ids=["HTTP date", "capped"])
def test_retry_after_as_a_date_and_capped(platform, app, header, expected):
    course = _course(platform)
    gb = platform.gradebook
    gb.fail_next, gb.fail_status, gb.retry_after = 50, 429, header()
    uid = f"p-ra-{expected}"
    _submit_as(platform, course, uid, "Retry After")
    entry = _settled(app, uid)
    wait = (entry.next_attempt_at - utcnow()).total_seconds()
    assert expected - 30 < wait <= expected, wait
