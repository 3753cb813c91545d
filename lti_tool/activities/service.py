"""Participants' work on activities: drafts with versions, immutable submissions, automatic
marking of knowledge checks, and progress across modules and statements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import bindparam, func, select

from ..content import Activity, Programme
from ..content.coverage import covered_units
from ..db import db, utcnow
from ..models import DRAFT, SUBMITTED, ActivitySubmission, ActivityWork
from ..versioned import get_or_create, save_over

MAX_ANSWER_CHARS = 20000


class AnswerError(ValueError):
    """Answers that cannot be saved as sent; the message says why, the text stays in the page."""


@dataclass(frozen=True)
class QuestionResult:
    question_id: str
    chosen: Optional[int]
    correct: bool
    feedback: str


def clean_answers(activity: Activity, raw: dict) -> dict[str, str]:
    """Keep only this activity's questions; refuse over-long text rather than cut it."""
    if not isinstance(raw, dict):
        raise AnswerError("Answers must be a set of fields.")
    answers: dict[str, str] = {}
    for question in activity.questions:
        value = raw.get(question.id)
        if value is None:
            continue
        if not isinstance(value, str):
            value = str(value)
        if len(value) > MAX_ANSWER_CHARS:
            raise AnswerError(f"“{question.prompt[:60]}…” is longer than {MAX_ANSWER_CHARS:,} characters "
                              f"({len(value):,}). Shorten it; nothing has been lost.")
        answers[question.id] = value.replace("\x00", "")
    return answers


def get_work(person_id: int, course_id: int, activity: Activity, *, create: bool = False) -> Optional[ActivityWork]:
    key = {"person_id": person_id, "course_id": course_id, "activity_ref": activity.ref}
    if create:  # two tabs' first saves at once make one row
        return get_or_create(ActivityWork, key, {"answers": {}, "version": 0, "status": DRAFT})
    return db().scalar(select(ActivityWork).filter_by(**key))


class AttemptsUsed(Exception):
    """Every attempt the programme allows has been submitted."""


class Conflict(Exception):
    def __init__(self, work: ActivityWork):
        super().__init__("changed elsewhere")
        self.work = work


def save_draft(work: ActivityWork, answers: dict[str, str], base_version: Optional[int]) -> ActivityWork:
    """Save a draft over the version the page was based on. A save based on an older version was
    made without seeing a change from another tab or device: refuse it instead of overwriting
    that change. The check is in the UPDATE itself, so two tabs saving at once cannot both pass it.
    Editing after submitting starts a new draft; the submissions stay."""
    if not save_over(work, base_version, {"answers": answers, "status": DRAFT, "updated_at": utcnow()}):
        raise Conflict(work)
    return work


def mark(activity: Activity, answers: dict[str, str]) -> tuple[Optional[int], list[QuestionResult]]:
    if not activity.auto_marked:
        return None, []
    results = []
    for question in activity.questions:
        if question.type != "choice":
            continue
        raw = answers.get(question.id)
        chosen = int(raw) if raw is not None and raw.isdigit() and int(raw) < len(question.options) else None
        correct = chosen is not None and question.options[chosen].correct
        feedback = question.options[chosen].feedback if chosen is not None else "Not answered."
        results.append(QuestionResult(question.id, chosen, correct, feedback))
    return sum(r.correct for r in results), results


def missing_answers(activity: Activity, answers: dict[str, str]) -> list:
    """The questions left unanswered (the page links to each and marks it)."""
    return [q for q in activity.questions if not (answers.get(q.id) or "").strip()]


@dataclass(frozen=True)
class Submitted:
    submission: ActivitySubmission
    new: bool  # False: these very answers were already submitted (a second click, another tab)


def latest_submission(work: ActivityWork) -> Optional[ActivitySubmission]:
    return db().scalar(select(ActivitySubmission).where(ActivitySubmission.work_id == work.id)
                       .order_by(ActivitySubmission.id.desc()).limit(1))


def _already_submitted(work: ActivityWork, answers: dict[str, str]) -> Optional[ActivitySubmission]:
    """The submission of exactly these answers, if submitting them again would only repeat it."""
    if work.status != SUBMITTED:
        return None
    last = latest_submission(work)
    return last if last is not None and last.answers == answers else None


def _submission_count(work: ActivityWork) -> int:
    """How many submissions are committed now (not the request's earlier view of the row)."""
    return db().scalar(select(func.count()).where(ActivitySubmission.work_id == work.id)) or 0


def submit(work: ActivityWork, activity: Activity, answers: dict[str, str], base_version: Optional[int],
           attempts: Optional[int] = None) -> Submitted:
    """Submit the answers over the version the page was based on. The draft becomes submitted in one
    conditional UPDATE, so of several submits of one page at once only one records a submission
    (and sends a score); the others, like a repeated submit, find these answers submitted and get
    that submission. Different answers over a version that moved on are a Conflict. Resubmitting
    new answers later (from the current version) adds a submission: earlier ones stay, up to
    `attempts` submissions in all (AttemptsUsed beyond)."""
    if attempts is not None and _submission_count(work) >= attempts:
        # The count may include a submission another tab committed after this request read the row
        # (the last attempt, submitted by several tabs at once). Judge the repeat on the row as it
        # is now, so that tab's identical answers are "already submitted", not a new attempt refused.
        db().refresh(work)
        repeated = _already_submitted(work, answers)
        if repeated is not None:
            return Submitted(repeated, new=False)
        raise AttemptsUsed()
    repeated = _already_submitted(work, answers)
    if repeated is not None:
        return Submitted(repeated, new=False)
    now = utcnow()
    if not save_over(work, base_version, {"answers": answers, "status": SUBMITTED, "submitted_at": now,
                                          "updated_at": now}):
        repeated = _already_submitted(work, answers)
        if repeated is not None:
            return Submitted(repeated, new=False)
        raise Conflict(work)
    # Every submission moves the version on, and this UPDATE found the row still at the version the
    # page was based on: no submission was committed after the count was read, so the limit holds.
    score, _ = mark(activity, answers)
    submission = ActivitySubmission(work_id=work.id, answers=dict(answers), submitted_at=now, score=score,
                                    max_score=activity.max_score)
    db().add(submission)
    db().flush()
    return Submitted(submission, new=True)


@dataclass
class ModuleProgress:
    module_id: str
    title: str
    done: int
    total: int
    statuses: dict[str, str]


@dataclass
class Progress:
    modules: list[ModuleProgress]
    covered: set[str]
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


# Whether an activity_work row has a submission (a correlated EXISTS, for queries over the work).
HAS_SUBMISSION = select(ActivitySubmission.id).where(ActivitySubmission.work_id == ActivityWork.id).exists()
# Each of a person's activities in a course, and whether it has been submitted: one query.
_WORK_STATUS = select(ActivityWork.activity_ref, HAS_SUBMISSION).where(
    ActivityWork.person_id == bindparam("person_id"), ActivityWork.course_id == bindparam("course_id"))


def progress(person_id: int, course_id: int, programme: Programme) -> Progress:
    session = db()
    if session.new or session.dirty or session.deleted:
        session.flush()  # what the ORM's autoflush would do; the statement runs on the connection itself
    rows = session.connection().execute(_WORK_STATUS, {"person_id": person_id, "course_id": course_id})
    return progress_of({ref: ("done" if submitted else "draft") for ref, submitted in rows}, programme)


def progress_of(status: dict[str, str], programme: Programme) -> Progress:
    """Progress from each activity's status by its ref ("done" or "draft"; absent: not started)."""
    done = [a for a in programme.activities.values() if status.get(a.ref) == "done"]
    covered = covered_units(programme, done)
    modules = []
    for module in programme.modules:
        statuses = {a.id: status.get(a.ref, "not started") for a in module.activities}
        modules.append(ModuleProgress(module.id, module.title,
                                      sum(s == "done" for s in statuses.values()), len(statuses), statuses))
    return Progress(modules, covered, sum(m.done for m in modules), sum(m.total for m in modules))
