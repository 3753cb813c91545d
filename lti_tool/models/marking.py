"""Marking and grades: tutors' marks and the marking audit trail, and the outbox of scores on their
way to the platform's gradebook."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .courses import Person
from .work import DRAFT, WriteupSubmission

FIRST, AGREED = "first", "agreed"
RELEASED = "released"


class Mark(Base):
    """A tutor's marking of one submission against its rubric: the first mark, or the agreed mark
    a second marker records at moderation. Draft until released."""

    __tablename__ = "mark"
    __table_args__ = (UniqueConstraint("submission_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("writeup_submission.id", ondelete="CASCADE"), index=True)
    marker_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default=FIRST)
    levels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # criterion id -> level index
    comments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # criterion id -> comment
    overall_comment: Mapped[Optional[str]] = mapped_column(Text)
    total: Mapped[Optional[float]] = mapped_column()
    outcome: Mapped[Optional[str]] = mapped_column(String(10))  # pass | fail
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)  # draft | released
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    submission: Mapped[WriteupSubmission] = relationship(back_populates="marks")
    marker: Mapped[Person] = relationship()


class MarkEvent(Base):
    """The audit trail of marking: who did what to which submission, and when."""

    __tablename__ = "mark_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("writeup_submission.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[Person] = relationship()


class GradeOutbox(Base):
    """A score on its way to the platform's gradebook (AGS): stored first, delivered by a worker."""

    __tablename__ = "grade_outbox"
    __table_args__ = (Index("ix_grade_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    # Where the score goes: the line item, or the container to find/create it in.
    line_item_url: Mapped[Optional[str]] = mapped_column(String(1000))
    lineitems_url: Mapped[Optional[str]] = mapped_column(String(1000))
    resource_id: Mapped[str] = mapped_column(String(200))
    resource_link_id: Mapped[Optional[str]] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(300))
    # The AGS score body, timestamp included: re-delivery sends exactly the same thing.
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[Optional[int]] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[Optional[str]] = mapped_column(String(64))
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # True once an attempt may have reached the platform (sent, then no answer): only then can
    # a "not newer than the score held" refusal mean that this score is already there.
    maybe_delivered: Mapped[bool] = mapped_column(default=False)
