"""Marking write-ups against their rubrics: draft marks, moderation, release, return; the queue;
the class list from the platform (NRPS) merged with those who launched."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import requests
from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..content.model import Rubric, WriteupTemplate
from ..db import db, utcnow
from ..grades.feedback import rubric_feedback
from ..grades.outbox import enqueue_score
from ..settings import writeup_policy
from ..lti.context import LaunchContext, map_role
from ..models import (
    AGREED, DRAFT, FIRST, PARTICIPANT, RELEASED, RETURNED, SUBMITTED, Course, Enrolment, GradeOutbox, Mark, MarkEvent,
    Person, Platform, WriteupDoc, WriteupSubmission,
)
from ..paging import clamp_page, page_count
from ..writeups.service import return_for_resubmission

log = logging.getLogger(__name__)

QUEUE_STATUSES = ("not started", DRAFT, SUBMITTED, "marked", RETURNED, RELEASED)
PAGE_SIZE = 50
ROSTER_REFRESH = timedelta(minutes=10)
COMMENT_LIMIT = 10000


class MarkingError(ValueError):
    pass


# -- the class list ----------------------------------------------------------------------------

def sync_roster(ctx: LaunchContext, *, force: bool = False) -> Optional[str]:
    """Merge the platform's class list into the course. Returns a warning if it could not."""
    url = ctx.services.get("nrps_url")
    course = db().get(Course, ctx.course_id)
    if not url:
        return None
    if not force and course.roster_synced_at and utcnow() - course.roster_synced_at < ROSTER_REFRESH:
        return None
    from ..grades.ags import DatabaseTokenConnector  # noqa: PLC0415 (avoids an import cycle)

    platform = db().get(Platform, ctx.platform_id)
    try:
        service = NamesRolesProvisioningService(DatabaseTokenConnector(platform),
                                                {"context_memberships_url": url})
        members = service.get_members()
    except (LtiException, requests.RequestException, ValueError, KeyError) as exc:
        log.warning("roster sync failed for course %s: %s", course.id, exc)
        return ("The class list could not be refreshed from the VLE just now; the queue shows everyone "
                "who has opened the tool.")
    known = {p.sub: p for p in db().scalars(select(Person).where(Person.platform_id == platform.id,
                                                               Person.sub.in_([m.get("user_id") for m in members])))}
    enrolled = {e.person_id: e for e in db().scalars(select(Enrolment).where(Enrolment.course_id == course.id))}
    for m in members:
        sub = str(m.get("user_id") or "")[:255]
        if not sub or (m.get("status") or "Active") != "Active":
            continue
        role = map_role([r for r in m.get("roles", []) if isinstance(r, str)])
        if role is None:
            continue
        person = known.get(sub)
        if person is None:
            person = Person(platform_id=platform.id, sub=sub)
            db().add(person)
            known[sub] = person
        person.name = person.name or (str(m.get("name"))[:300] if m.get("name") else None)
        person.given_name = person.given_name or m.get("given_name")
        person.family_name = person.family_name or m.get("family_name")
        person.email = person.email or m.get("email")
        db().flush()
        if person.id not in enrolled:
            enrolled[person.id] = Enrolment(person_id=person.id, course_id=course.id, role=role,
                                            lti_roles=list(m.get("roles", []))[:50], source="roster")
            db().add(enrolled[person.id])
    course.roster_synced_at = utcnow()
    db().commit()
    return None


# -- the queue ----------------------------------------------------------------------------------

@dataclass
class QueueRow:
    person: Person
    doc: Optional[WriteupDoc]
    status: str
    grade: Optional[GradeOutbox] = None


def queue(course_id: int, template: WriteupTemplate, *, status: str = "", sort: str = "name",
          page: object = 1) -> tuple[list[QueueRow], int, dict[str, int], int]:
    """One page of the course's participants with their write-up's status; counts per status; and
    the page shown (the one asked for, as the query string gave it, clamped to the pages there are)."""
    status_expr = func.coalesce(WriteupDoc.queue_status, "not started")
    base = (select(Person, WriteupDoc, status_expr.label("qstatus"))
            .join(Enrolment, and_(Enrolment.person_id == Person.id, Enrolment.course_id == course_id,
                                  Enrolment.role == PARTICIPANT))
            .outerjoin(WriteupDoc, and_(WriteupDoc.person_id == Person.id, WriteupDoc.course_id == course_id,
                                        WriteupDoc.template_ref == template.ref)))
    counts = dict(db().execute(select(status_expr, func.count()).select_from(Person)
                               .join(Enrolment, and_(Enrolment.person_id == Person.id,
                                                     Enrolment.course_id == course_id, Enrolment.role == PARTICIPANT))
                               .outerjoin(WriteupDoc, and_(WriteupDoc.person_id == Person.id,
                                                           WriteupDoc.course_id == course_id,
                                                           WriteupDoc.template_ref == template.ref))
                               .group_by(status_expr)).all())
    if status in QUEUE_STATUSES:
        base = base.where(status_expr == status)
    name = func.lower(func.coalesce(Person.family_name, Person.name, Person.sub))
    order = {
        "name": (name, Person.id),
        "status": (status_expr, name, Person.id),
        "submitted": (WriteupDoc.submitted_at.is_(None), WriteupDoc.submitted_at, Person.id),
    }.get(sort, (name, Person.id))
    total = sum(counts.values()) if status not in QUEUE_STATUSES else counts.get(status, 0)
    page = clamp_page(page, page_count(total, PAGE_SIZE))
    # The page shows whether each write-up was submitted and its latest moderation state: the
    # submissions come in one more query (their text stays unloaded), not one query per row.
    submissions = selectinload(WriteupDoc.submissions).load_only(
        WriteupSubmission.id, WriteupSubmission.doc_id, WriteupSubmission.attempt, WriteupSubmission.moderation)
    rows = db().execute(base.options(submissions).order_by(*order).limit(PAGE_SIZE)
                        .offset((page - 1) * PAGE_SIZE)).all()
    out = [QueueRow(person=p, doc=d, status=s) for p, d, s in rows]
    _attach_grades(out)
    return out, total, counts, page


def _attach_grades(rows: list[QueueRow]) -> None:
    """The latest gradebook delivery of each row's released mark, in one query."""
    marks = {}
    doc_ids = [r.doc.id for r in rows if r.doc is not None and r.status == RELEASED]
    if not doc_ids:
        return
    for mark_id, doc_id in db().execute(select(Mark.id, WriteupSubmission.doc_id).join(WriteupSubmission)
                                        .where(WriteupSubmission.doc_id.in_(doc_ids), Mark.status == RELEASED)):
        marks[mark_id] = doc_id
    entries = db().scalars(select(GradeOutbox).where(GradeOutbox.source == "writeup-mark",
                                                     GradeOutbox.source_id.in_(list(marks)))
                           .order_by(GradeOutbox.id)).all()
    by_doc = {marks[e.source_id]: e for e in entries}
    for r in rows:
        if r.doc is not None:
            r.grade = by_doc.get(r.doc.id)


# -- marks --------------------------------------------------------------------------------------

def latest_submission(doc: WriteupDoc) -> Optional[WriteupSubmission]:
    return doc.submissions[-1] if doc.submissions else None


def mark_of(submission: WriteupSubmission, kind: str) -> Optional[Mark]:
    return next((m for m in submission.marks if m.kind == kind), None)


def effective_mark(submission: WriteupSubmission) -> Optional[Mark]:
    """The agreed mark once moderation has recorded one, else the first mark."""
    return mark_of(submission, AGREED) or mark_of(submission, FIRST)


def score(rubric: Rubric, levels: dict) -> tuple[Optional[float], Optional[str]]:
    if not all(c.id in levels for c in rubric.criteria):
        return None, None
    total = sum(c.levels[levels[c.id]].points for c in rubric.criteria)
    passed = rubric.pass_mark is None or total >= rubric.pass_mark
    return total, "pass" if passed else "fail"


def read_form(rubric: Rubric, form) -> tuple[dict, dict, str]:
    levels, comments = {}, {}
    for c in rubric.criteria:
        raw = form.get(f"level-{c.id}", "")
        if raw.isdigit() and int(raw) < len(c.levels):
            levels[c.id] = int(raw)
        text = (form.get(f"comment-{c.id}") or "").replace("\x00", "").strip()
        if len(text) > COMMENT_LIMIT:
            raise MarkingError(f"The comment on “{c.title}” is longer than {COMMENT_LIMIT:,} characters.")
        if text:
            comments[c.id] = text
    overall = (form.get("overall") or "").replace("\x00", "").strip()
    if len(overall) > COMMENT_LIMIT:
        raise MarkingError(f"The overall comment is longer than {COMMENT_LIMIT:,} characters.")
    return levels, comments, overall


# Marking events as the provider's audit log names them.
AUDITED = {"draft mark saved": "writeup.mark", "agreed mark recorded": "writeup.moderate",
           "mark released": "writeup.release", "returned for resubmission": "writeup.return",
           "added to moderation sample": "writeup.moderation_sample"}


def _event(submission: WriteupSubmission, actor_id: int, action: str, **detail) -> None:
    """The marking trail (shown on the marking page) and the provider's audit log, together."""
    db().add(MarkEvent(submission_id=submission.id, actor_id=actor_id, action=action, detail=detail))
    audit.record(AUDITED[action], target=submission, subject=submission.doc.person_id,
                 detail={"template": submission.doc.template_ref, "attempt": submission.attempt, **detail})


def save_mark(submission: WriteupSubmission, rubric: Rubric, marker_id: int, kind: str,
              levels: dict, comments: dict, overall: str) -> Mark:
    if submission.status == RETURNED:
        raise MarkingError("This attempt was returned for resubmission; mark the new attempt when it arrives.")
    first = mark_of(submission, FIRST)
    if kind == AGREED:
        if first is None:
            raise MarkingError("Moderation needs a first mark to review.")
        if first.marker_id == marker_id:
            raise MarkingError("Moderation is by a second marker: someone other than the first marker.")
    mark = mark_of(submission, kind)
    if mark is not None and mark.status == RELEASED:
        raise MarkingError("This mark has been released. Record an agreed mark at moderation to change it.")
    if mark is None:
        mark = Mark(submission_id=submission.id, marker_id=marker_id, kind=kind)
        db().add(mark)
        submission.marks.append(mark)
    mark.levels, mark.comments, mark.overall_comment = levels, comments, overall or None
    mark.total, mark.outcome = score(rubric, levels)
    mark.marker_id, mark.updated_at = marker_id, utcnow()
    if kind == AGREED:
        submission.moderation = "done"
        _event(submission, marker_id, "agreed mark recorded", total=mark.total, outcome=mark.outcome,
               first_total=first.total)
    else:
        _event(submission, marker_id, "draft mark saved", total=mark.total, outcome=mark.outcome)
    if submission.doc.queue_status != RELEASED:
        submission.doc.queue_status = "marked"
    return mark


def release(ctx: LaunchContext, submission: WriteupSubmission, template: WriteupTemplate, rubric: Rubric,
            actor_id: int) -> GradeOutbox | None:
    """Release the effective mark: the participant sees it, and the gradebook gets the score."""
    mark = effective_mark(submission)
    if mark is None or mark.total is None:
        raise MarkingError("Choose a level for every criterion before releasing the mark.")
    if submission.moderation == "requested" and mark_of(submission, AGREED) is None:
        raise MarkingError("This submission is in the moderation sample: a second marker must record the "
                           "agreed mark first.")
    for other in submission.marks:
        if other is not mark and other.status == RELEASED:
            other.status = DRAFT  # superseded by the agreed mark
    mark.status, mark.released_at = RELEASED, utcnow()
    submission.status = "marked"
    submission.doc.queue_status = RELEASED
    _event(submission, actor_id, "mark released", total=mark.total, outcome=mark.outcome, kind=mark.kind)
    if not writeup_policy(template.programme).assessed:
        # Formative write-ups (a provider setting): the feedback reaches the VLE, the rubric mark does not.
        comment = mark.overall_comment or ""
        return enqueue_score(ctx, resource_id=template.ref, label=template.title, score_given=None,
                             score_maximum=rubric.score_maximum, activity_progress="Completed",
                             grading_progress="NotReady", comment=f"Feedback released. {comment}".strip()[:4000],
                             source="writeup-mark", source_id=mark.id, person_id=submission.doc.person_id)
    comment = rubric_feedback(rubric, outcome=mark.outcome, total=mark.total, levels=mark.levels,
                              comments=mark.comments, overall=mark.overall_comment)
    entry = enqueue_score(ctx, resource_id=template.ref, label=template.title, score_given=mark.total,
                          score_maximum=rubric.score_maximum, activity_progress="Completed",
                          grading_progress="FullyGraded", comment=comment,
                          source="writeup-mark", source_id=mark.id, person_id=submission.doc.person_id)
    return entry


def return_submission(submission: WriteupSubmission, actor_id: int, feedback: str) -> None:
    feedback = feedback.replace("\x00", "")
    if not feedback.strip():
        raise MarkingError("Say what the participant should change: returning needs feedback.")
    if len(feedback) > COMMENT_LIMIT:
        raise MarkingError(f"Feedback is longer than {COMMENT_LIMIT:,} characters.")
    if submission.status != SUBMITTED and submission.status != "marked":
        raise MarkingError("Only the latest submitted attempt can be returned.")
    return_for_resubmission(submission, feedback.strip())
    _event(submission, actor_id, "returned for resubmission", feedback=feedback.strip()[:500])


def request_moderation(submission: WriteupSubmission, actor_id: int) -> None:
    if submission.moderation is None:
        submission.moderation = "requested"
        _event(submission, actor_id, "added to moderation sample")


def events(submission_ids: list[int]) -> list[MarkEvent]:
    return list(db().scalars(select(MarkEvent).where(MarkEvent.submission_id.in_(submission_ids))
                             .order_by(MarkEvent.at, MarkEvent.id)))
