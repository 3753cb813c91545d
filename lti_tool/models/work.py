"""Participants' work: activity drafts and submissions; write-ups, their versions and submissions."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .courses import Course, Person

if TYPE_CHECKING:
    from .marking import Mark

DRAFT, SUBMITTED = "draft", "submitted"

# Status of a write-up document.
RETURNED = "returned"


class ActivityWork(Base):
    """A participant's work on one activity in one course: the live draft and its status."""

    __tablename__ = "activity_work"
    __table_args__ = (UniqueConstraint("person_id", "course_id", "activity_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    activity_ref: Mapped[str] = mapped_column(String(200))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped on every save: a save based on an older version is a conflict (another tab or device).
    version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()
    submissions: Mapped[list["ActivitySubmission"]] = relationship(
        back_populates="work", order_by="ActivitySubmission.id", cascade="all, delete-orphan")


class ActivitySubmission(Base):
    """An immutable snapshot of what was submitted, with its automatic mark if any."""

    __tablename__ = "activity_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("activity_work.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    score: Mapped[Optional[float]] = mapped_column()
    max_score: Mapped[Optional[float]] = mapped_column()

    work: Mapped[ActivityWork] = relationship(back_populates="submissions")


class WriteupDoc(Base):
    """A participant's write-up (risk assessment, action plan, impact essay) in a course."""

    __tablename__ = "writeup_doc"
    __table_args__ = (UniqueConstraint("person_id", "course_id", "template_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    template_ref: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # draft -> submitted (read-only) -> returned (editable again) -> submitted ...
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    # Where it stands in the tutor's queue: draft, submitted, marked, returned, released.
    queue_status: Mapped[str] = mapped_column(String(20), default=DRAFT, index=True)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    school: Mapped[Optional[str]] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship()
    course: Mapped[Course] = relationship()
    submissions: Mapped[list["WriteupSubmission"]] = relationship(
        back_populates="doc", order_by="WriteupSubmission.attempt", cascade="all, delete-orphan")


class WriteupVersion(Base):
    """Saved versions of a write-up: kept so any earlier state can be seen or exported."""

    __tablename__ = "writeup_version"
    __table_args__ = (UniqueConstraint("doc_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("writeup_doc.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(20), default="autosave")


class WriteupSubmission(Base):
    """An immutable snapshot submitted for marking; resubmissions add attempts, never overwrite."""

    __tablename__ = "writeup_submission"
    __table_args__ = (UniqueConstraint("doc_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_id: Mapped[int] = mapped_column(ForeignKey("writeup_doc.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # submitted -> returned (for resubmission) | marked (a released mark exists)
    status: Mapped[str] = mapped_column(String(20), default=SUBMITTED)
    returned_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    return_feedback: Mapped[Optional[str]] = mapped_column(Text)
    # None, "requested" (in the moderation sample) or "done" (an agreed mark is recorded).
    moderation: Mapped[Optional[str]] = mapped_column(String(20))

    doc: Mapped[WriteupDoc] = relationship(back_populates="submissions")
    marks: Mapped[list["Mark"]] = relationship(back_populates="submission", order_by="Mark.id",
                                               cascade="all, delete-orphan")
