"""Retention periods, per category of personal data, and the rules that say which rows are past
theirs. `purge.py` applies the rules; `flask data purge` runs it and the grade worker runs it for
the `session` category: this module is the one place that decides what has expired.

Categories (the data inventory labels every column with one of these names):
  session        sessions, login states, page tickets, admin sessions, rate counters, failed
                 sign-ins, access tokens: RETENTION_SESSION_DAYS after they expire
  draft          unsubmitted drafts and autosaves of someone who has left the course or stopped
                 using the tool: RETENTION_DRAFT_DAYS after both their last launch and the draft's
                 last change
  work           submitted work, marks, feedback, assessment records, grades sent: RETENTION_WORK_YEARS
  engagement     attendance, questions, enrolments (launch records): RETENTION_ENGAGEMENT_YEARS
  dfe            DfE participant IDs and released outcomes: RETENTION_DFE_YEARS
  audit          the audit log: RETENTION_AUDIT_YEARS
  identity       a person row with nothing left that is kept: deleted
  admin_account, configuration: never purged

How the tool knows someone has left: it cannot be told directly. A VLE's class list (NRPS) only
lists current members and the tool never removes an enrolment it learned, so "left" is read as
"has not launched the tool, and the draft has not changed, for the draft period".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.sql.schema import Table

from ..assessment.models import (AssessmentAttempt, AssessmentAttendance, AssessmentEvent, AssessmentMark,
                                 AssessmentParticipant, AssessmentRecord)
from ..db import Base, utcnow
from ..models import (DRAFT, AccessToken, ActivitySubmission, ActivityWork, Attendance, Enrolment, GradeOutbox,
                      LaunchSession, LaunchState, LoginAttempt, Mark, MarkEvent, Person, Question, WriteupDoc,
                      WriteupSubmission, WriteupVersion)
from ..security_models import AdminSession, AuditEvent, PageTicket, RateCounter
from ..settings import setting_value

SESSION, DRAFT_WORK, WORK, ENGAGEMENT, DFE, AUDIT, IDENTITY = (
    "session", "draft", "work", "engagement", "dfe", "audit", "identity")
ADMIN_ACCOUNT, CONFIGURATION = "admin_account", "configuration"
CATEGORIES = (SESSION, DRAFT_WORK, WORK, ENGAGEMENT, DFE, AUDIT, IDENTITY, ADMIN_ACCOUNT, CONFIGURATION)
NEVER_PURGED = (ADMIN_ACCOUNT, CONFIGURATION)

# category -> the provider setting holding its period, and its unit.
PERIOD_SETTINGS = {
    SESSION: ("RETENTION_SESSION_DAYS", "days"), DRAFT_WORK: ("RETENTION_DRAFT_DAYS", "days"),
    WORK: ("RETENTION_WORK_YEARS", "years"), ENGAGEMENT: ("RETENTION_ENGAGEMENT_YEARS", "years"),
    DFE: ("RETENTION_DFE_YEARS", "years"), AUDIT: ("RETENTION_AUDIT_YEARS", "years"),
}


def period(category: str) -> timedelta:
    """How long a category is kept, from the provider's settings."""
    key, unit = PERIOD_SETTINGS[category]
    amount = int(setting_value(key))
    return timedelta(days=amount if unit == "days" else round(amount * 365.25))


def cutoffs(now: datetime | None = None) -> dict[str, datetime]:
    """For each category with a period: rows whose date is before this are past it."""
    now = now or utcnow()
    return {category: now - period(category) for category in PERIOD_SETTINGS}


@dataclass(frozen=True)
class Rule:
    """Which rows of one table are past their category's period (given the cutoffs)."""

    category: str
    table: Table
    where: Callable[[dict[str, datetime]], ColumnElement[bool]]

    @property
    def name(self) -> str:
        return self.table.name


def _expired(column_expires, column_ended=None):
    def where(c):
        clause = column_expires < c[SESSION]
        return or_(clause, column_ended < c[SESSION]) if column_ended is not None else clause
    return where


def _inactive_owner(person_id, c) -> ColumnElement[bool]:
    """The owner has not launched the tool for the draft period (or never, since being listed)."""
    return exists().where(Person.id == person_id, or_(
        Person.last_launch_at < c[DRAFT_WORK],
        and_(Person.last_launch_at.is_(None), Person.created_at < c[DRAFT_WORK])))


def _stale_draft(model, *, unsubmitted: ColumnElement[bool], updated) -> Callable:
    return lambda c: and_(unsubmitted, updated < c[DRAFT_WORK], _inactive_owner(model.person_id, c))


def _draft_docs(c):
    return _stale_draft(WriteupDoc, unsubmitted=and_(WriteupDoc.status == DRAFT, WriteupDoc.submitted_at.is_(None)),
                        updated=WriteupDoc.updated_at)(c)


def _old_submissions(c):
    return WriteupSubmission.submitted_at < c[WORK]


def _work_docs(c):
    """Submitted at some time, every submission past the period, unchanged since."""
    return and_(WriteupDoc.submitted_at.is_not(None), WriteupDoc.updated_at < c[WORK],
                ~exists().where(WriteupSubmission.doc_id == WriteupDoc.id, WriteupSubmission.submitted_at >= c[WORK]))


def _old_attempts(c):
    """An assessment attempt holds the answers (work) and the released outcome (dfe): it goes
    when both periods have passed; an unsubmitted one follows the draft rule instead."""
    return and_(AssessmentAttempt.submitted_at.is_not(None), AssessmentAttempt.submitted_at < c[WORK],
                or_(AssessmentAttempt.released_at.is_(None), AssessmentAttempt.released_at < c[DFE]))


def _in(column, model_id, clause):
    return lambda c: column.in_(select(model_id).where(clause(c)))


def _work_activities(c):
    return and_(ActivityWork.submitted_at.is_not(None), ActivityWork.updated_at < c[WORK],
                ~exists().where(ActivitySubmission.work_id == ActivityWork.id,
                                ActivitySubmission.submitted_at >= c[WORK]))


def _person_has_nothing_kept(c):
    """No row of any table points at the person, and they were not added or seen lately (a
    launch or class-list sync in progress)."""
    references = [~exists().where(fk.parent == Person.id)
                  for table in Base.metadata.sorted_tables for fk in table.foreign_keys
                  if fk.column.table.name == "person"]
    recent = or_(Person.created_at >= c[SESSION], Person.last_launch_at >= c[SESSION])
    return and_(~recent, *references)


# In the order they run: children before the rows they belong to, so each count is exact and a
# dry run reports what a real run deletes. Identity runs first: someone left with nothing by this
# run goes on the next one (so a dry run's count is what the run does).
RULES: tuple[Rule, ...] = (
    Rule(IDENTITY, Person.__table__, _person_has_nothing_kept),
    # session
    Rule(SESSION, PageTicket.__table__, lambda c: or_(PageTicket.expires_at < c[SESSION], PageTicket.session_id.in_(
        select(LaunchSession.id).where(_expired(LaunchSession.expires_at, LaunchSession.ended_at)(c))))),
    Rule(SESSION, LaunchSession.__table__, _expired(LaunchSession.expires_at, LaunchSession.ended_at)),
    Rule(SESSION, LaunchState.__table__, _expired(LaunchState.expires_at)),
    Rule(SESSION, AdminSession.__table__, _expired(AdminSession.expires_at, AdminSession.ended_at)),
    Rule(SESSION, RateCounter.__table__, _expired(RateCounter.expires_at)),
    Rule(SESSION, LoginAttempt.__table__, _expired(LoginAttempt.at)),
    Rule(SESSION, AccessToken.__table__, _expired(AccessToken.expires_at)),
    # draft
    Rule(DRAFT_WORK, WriteupVersion.__table__, _in(WriteupVersion.doc_id, WriteupDoc.id, _draft_docs)),
    Rule(DRAFT_WORK, WriteupDoc.__table__, _draft_docs),
    Rule(DRAFT_WORK, ActivityWork.__table__, lambda c: _stale_draft(
        ActivityWork, unsubmitted=and_(ActivityWork.status == DRAFT, ActivityWork.submitted_at.is_(None),
                                       ~exists().where(ActivitySubmission.work_id == ActivityWork.id)),
        updated=ActivityWork.updated_at)(c)),
    Rule(DRAFT_WORK, AssessmentAttempt.__table__, lambda c: _stale_draft(
        AssessmentAttempt, unsubmitted=and_(AssessmentAttempt.submitted_at.is_(None),
                                            ~exists().where(AssessmentMark.attempt_id == AssessmentAttempt.id)),
        updated=AssessmentAttempt.updated_at)(c)),
    # work
    Rule(WORK, MarkEvent.__table__, lambda c: or_(
        MarkEvent.submission_id.in_(select(WriteupSubmission.id).where(_old_submissions(c))), MarkEvent.at < c[WORK])),
    Rule(WORK, Mark.__table__, _in(Mark.submission_id, WriteupSubmission.id, _old_submissions)),
    Rule(WORK, WriteupSubmission.__table__, _old_submissions),
    Rule(WORK, WriteupVersion.__table__, _in(WriteupVersion.doc_id, WriteupDoc.id, _work_docs)),
    Rule(WORK, WriteupDoc.__table__, _work_docs),
    Rule(WORK, ActivitySubmission.__table__, lambda c: ActivitySubmission.submitted_at < c[WORK]),
    Rule(WORK, ActivityWork.__table__, _work_activities),
    Rule(WORK, AssessmentEvent.__table__, lambda c: or_(
        AssessmentEvent.attempt_id.in_(select(AssessmentAttempt.id).where(_old_attempts(c))),
        AssessmentEvent.at < c[WORK])),
    Rule(WORK, AssessmentMark.__table__, _in(AssessmentMark.attempt_id, AssessmentAttempt.id, _old_attempts)),
    Rule(WORK, AssessmentRecord.__table__, _in(AssessmentRecord.attempt_id, AssessmentAttempt.id, _old_attempts)),
    Rule(WORK, AssessmentAttempt.__table__, _old_attempts),
    Rule(WORK, GradeOutbox.__table__, lambda c: and_(GradeOutbox.status != "pending", GradeOutbox.created_at < c[WORK])),
    # engagement
    Rule(ENGAGEMENT, Attendance.__table__, lambda c: Attendance.recorded_at < c[ENGAGEMENT]),
    Rule(ENGAGEMENT, AssessmentAttendance.__table__, lambda c: AssessmentAttendance.recorded_at < c[ENGAGEMENT]),
    Rule(ENGAGEMENT, Question.__table__, lambda c: and_(
        Question.asked_at < c[ENGAGEMENT], or_(Question.answered_at.is_(None), Question.answered_at < c[ENGAGEMENT]))),
    Rule(ENGAGEMENT, Enrolment.__table__, lambda c: Enrolment.updated_at < c[ENGAGEMENT]),
    # dfe
    Rule(DFE, AssessmentParticipant.__table__, lambda c: AssessmentParticipant.updated_at < c[DFE]),
    # audit: the trail is append-only for the application (the ORM refuses to delete an entry);
    # the purge removes entries past the period with a Core DELETE, the one exception.
    Rule(AUDIT, AuditEvent.__table__, lambda c: AuditEvent.at < c[AUDIT]),
)
