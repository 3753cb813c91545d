"""Tables of the summative case-study assessment: windows, attempts, marks, the audit trail,
attendance at webinars and sessions (for engagement), each participant's DfE identifier, the
course's DfE schedule, and the records of special consideration, malpractice and appeals."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from ..models import Person

# Attempt status: the participant's own work.
DRAFT, SUBMITTED = "draft", "submitted"
# Mark kinds: the first marker's, the second marker's, the outcome both agree.
FIRST, SECOND, AGREED = "first", "second", "agreed"
PASS, FAIL = "pass", "fail"
# Released outcomes, in the Department for Education's vocabulary.
PASSED, FAILED, VOIDED = "passed", "failed", "voided"
# Why an attempt is second-marked: every fail; a sample of passes; a tutor asked for it.
SECOND_FOR_FAIL, SECOND_SAMPLED, SECOND_REQUESTED = "fail", "sampled", "requested"


class AssessmentWindow(Base):
    """A window of a course's case-study assessment: the case is released at opens_at and
    responses are due at closes_at (opens_at + the pack's window length)."""

    __tablename__ = "assessment_window"
    __table_args__ = (UniqueConstraint("course_id", "item_ref", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    item_ref: Mapped[str] = mapped_column(String(200))  # "<PROGRAMME>/<assessment id>"
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in the course
    case_id: Mapped[str] = mapped_column(String(80))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    opened_by: Mapped[Optional[Person]] = relationship()

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now


class AssessmentAttempt(Base):
    """One participant in one window: the response (drafts autosaved, then submitted once), the
    deadline extension if any, second-marking need, and the released outcome."""

    __tablename__ = "assessment_attempt"
    __table_args__ = (UniqueConstraint("window_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("assessment_window.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer, default=1)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped on every save: a save based on an older version is a conflict (another tab or device).
    version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # Submitted after the deadline that applied (the window's, or the extension's).
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    extended_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    # None, or why a second marker must mark it: fail | sampled | requested.
    second_marking: Mapped[Optional[str]] = mapped_column(String(20))
    # The outcome the participant and the gradebook were given: passed | failed | voided.
    outcome: Mapped[Optional[str]] = mapped_column(String(10))
    released_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    void_reason: Mapped[Optional[str]] = mapped_column(Text)
    # The passed/failed outcome a void retracted: DfE must then be told to void the completed declaration.
    voided_outcome: Mapped[Optional[str]] = mapped_column(String(10))
    # Special consideration upheld: another attempt is allowed and this one does not count.
    discounted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    window: Mapped[AssessmentWindow] = relationship()
    person: Mapped[Person] = relationship()
    marks: Mapped[list["AssessmentMark"]] = relationship(back_populates="attempt", order_by="AssessmentMark.id",
                                                         cascade="all, delete-orphan")

    def deadline(self) -> datetime:
        return self.extended_until or self.window.closes_at

    def mark(self, kind: str) -> Optional["AssessmentMark"]:
        return next((m for m in self.marks if m.kind == kind), None)


class AssessmentMark(Base):
    """A holistic pass/fail judgement with its justification: the first mark, the second mark,
    or the agreed outcome."""

    __tablename__ = "assessment_mark"
    __table_args__ = (UniqueConstraint("attempt_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("assessment_attempt.id", ondelete="CASCADE"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))  # pass | fail
    justification: Mapped[str] = mapped_column(Text)
    # Framework statements the marker judged the answer applied well.
    statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attempt: Mapped[AssessmentAttempt] = relationship(back_populates="marks")
    marker: Mapped[Person] = relationship()


class AssessmentEvent(Base):
    """The audit trail: who did what to which window or attempt, and when."""

    __tablename__ = "assessment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("assessment_window.id", ondelete="CASCADE"))
    attempt_id: Mapped[Optional[int]] = mapped_column(ForeignKey("assessment_attempt.id", ondelete="CASCADE"),
                                                      index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[Optional[Person]] = relationship()


class AssessmentAttendance(Base):
    """A participant attended a session the pack counts towards engagement (webinars scheduled in
    the tool keep their own attendance)."""

    __tablename__ = "assessment_attendance"
    __table_args__ = (UniqueConstraint("course_id", "person_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(80))
    held_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AssessmentParticipant(Base):
    """What the provider reports a participant under: the DfE participant ID."""

    __tablename__ = "assessment_participant"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    dfe_participant_id: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AssessmentSchedule(Base):
    """The DfE schedule a course's participants are on (lti_tool.assessment.schedules), which
    dates their declarations' milestones."""

    __tablename__ = "assessment_schedule"
    __table_args__ = (UniqueConstraint("course_id", "item_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    item_ref: Mapped[str] = mapped_column(String(200))
    schedule_key: Mapped[str] = mapped_column(String(60))  # "<cohort>:<schedule identifier>"
    set_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Records on an attempt, and what an upheld decision does to it.
SPECIAL_CONSIDERATION, MALPRACTICE, APPEAL = "special-consideration", "malpractice", "appeal"
RECORD_KINDS = (SPECIAL_CONSIDERATION, MALPRACTICE, APPEAL)
OPEN, UPHELD, NOT_UPHELD = "open", "upheld", "not-upheld"


class AssessmentRecord(Base):
    """A request for special consideration, a malpractice case or an appeal about one attempt:
    raised, then decided (upheld or not) with reasons. Every step is in the audit trail."""

    __tablename__ = "assessment_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("assessment_attempt.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)  # open | upheld | not-upheld
    decision_reason: Mapped[Optional[str]] = mapped_column(Text)
    # What the upheld decision did: remark | void | discount (another attempt allowed) | none.
    effect: Mapped[Optional[str]] = mapped_column(String(20))
    raised_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    attempt: Mapped[AssessmentAttempt] = relationship()
    raised_by: Mapped[Optional[Person]] = relationship(foreign_keys=[raised_by_id])
    decided_by: Mapped[Optional[Person]] = relationship(foreign_keys=[decided_by_id])
