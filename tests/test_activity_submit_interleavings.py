"""Two tabs submitting the same answers to a knowledge check's last attempt, with every interleaving
tried rather than left to thread timing: tab B's whole submit is committed just before tab A's
first SQL statement, then just before its second, and so on, until A runs through untouched. In
every case one submission is recorded and the other tab gets it as already submitted: never an
attempts refusal, a conflict or a second submission. tests/test_concurrency.py races the same
thing over HTTP; this finds the narrow gaps a race hits only now and then.
Run on SQLite (default) and PostgreSQL (scripts/with-postgres.sh)."""
from __future__ import annotations

import threading

from sqlalchemy import delete, event, select

from lti_tool.activities.checks import Policy
from lti_tool.activities.service import get_work, submit
from lti_tool.content import load_programmes
from lti_tool.db import db, engine
from lti_tool.models import SUBMITTED, ActivitySubmission, ActivityWork, Person

from .browser import csrf_token
from .test_activities import _activity_form, _placed
from .test_content import PACKS

PROGRAMME = load_programmes(PACKS)["NPQSL"]
CHECK = PROGRAMME.activities["sc-check"]


def _answers(right: int) -> dict[str, str]:
    """The first `right` questions answered correctly, the rest wrongly."""
    return {q.id: str((q.correct_index + (0 if i < right else 1)) % len(q.options))
            for i, q in enumerate(CHECK.questions)}


def _one_attempt_left(app, key: dict, attempts: int) -> int:
    """The work with every attempt but the last submitted; its version, for both tabs' pages."""
    with app.app_context():
        work = db().scalar(select(ActivityWork).filter_by(**key))
        db().execute(delete(ActivitySubmission).where(ActivitySubmission.work_id == work.id))
        for n in range(attempts - 1):
            db().add(ActivitySubmission(work_id=work.id, answers=_answers(n), score=n, max_score=CHECK.max_score))
        work.answers, work.status, work.version = _answers(attempts - 2), SUBMITTED, work.version + 1
        db().commit()
        return work.version


def _tab_b(app, key: dict, answers: dict, base: int, attempts: int, results: list) -> None:
    with app.app_context():
        try:
            results.append(submit(get_work(key["person_id"], key["course_id"], CHECK), CHECK, answers, base, attempts))
            db().commit()
        except Exception as exc:  # the assertions below report it
            db().rollback()
            results.append(exc)


def engine_of(app):
    with app.app_context():
        return engine()


class _TabBBefore:
    """Runs tab B's submit just before this thread's statement number `n` (counted from 1)."""

    def __init__(self, n: int, run_b):
        self.n, self.seen, self.fired, self.run_b = n, 0, None, run_b
        self.thread = threading.get_ident()

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() != self.thread or self.fired is not None:
            return
        self.seen += 1
        if self.seen == self.n:
            self.fired = threading.Thread(target=self.run_b)
            self.fired.start()
            # A holds no lock before its UPDATE, so B finishes; after it, B waits for A's commit.
            self.fired.join(timeout=3)


def test_identical_last_attempts_in_every_interleaving_record_one_submission(platform, browser, app):
    spec = _placed(platform, "NPQSL/sc-check")
    page = browser.launch(platform, spec)
    saved = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "action": "save",
                                              "version": _activity_form(page.text).fields["version"]})
    assert saved.status_code == 200, saved.text[:300]  # the row exists, made through the real page
    with app.app_context():
        work = db().scalar(select(ActivityWork).join(Person, Person.id == ActivityWork.person_id)
                           .where(Person.sub == spec.user_id, ActivityWork.activity_ref == CHECK.ref))
        key = {"person_id": work.person_id, "course_id": work.course_id, "activity_ref": CHECK.ref}
    attempts = Policy.of(PROGRAMME).attempts
    last = _answers(len(CHECK.questions))  # both tabs send these, over the same version
    for before in range(1, 100):
        base = _one_attempt_left(app, key, attempts)
        b_results: list = []
        hook = _TabBBefore(before, lambda: _tab_b(app, key, last, base, attempts, b_results))
        event.listen(engine_of(app), "before_cursor_execute", hook)
        try:
            with app.app_context():
                work_a = get_work(key["person_id"], key["course_id"], CHECK)  # A reads the row first
                try:
                    a_result = submit(work_a, CHECK, last, base, attempts)
                    db().commit()
                except Exception as exc:  # reported below, with the interleaving that caused it
                    db().rollback()
                    a_result = exc
        finally:
            event.remove(engine_of(app), "before_cursor_execute", hook)
        if hook.fired is None:  # A ran through untouched: B after it, then every point is tried
            _tab_b(app, key, last, base, attempts, b_results)
        else:
            hook.fired.join(timeout=60)
        results = [a_result, *b_results]
        where = f"tab B committed before tab A's statement {before}: {results}"
        assert all(hasattr(r, "new") for r in results), where  # neither refused nor a conflict
        assert sorted(r.new for r in results) == [False, True], where  # one recorded, one told so
        assert results[0].submission.id == results[1].submission.id, where
        with app.app_context():
            subs = db().scalars(select(ActivitySubmission).join(ActivityWork).filter_by(**key)).all()
            assert len(subs) == attempts and subs[-1].answers == last, where
        if hook.fired is None:
            break
    # Every point was tried: B before each of A's statements (A reads the row, counts, compares,
    # updates, inserts), then after them all.
    assert hook.fired is None and before > 3
