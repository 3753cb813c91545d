"""Online delivery to a cohort: module windows, webinars and their attendance, questions to tutors."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .courses import Course, Person


class ModuleWindow(Base):
    """When a cohort (course) studies a module: opens and closes in UTC, shown in each person's zone."""

    __tablename__ = "module_window"
    __table_args__ = (UniqueConstraint("course_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[str] = mapped_column(String(80))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Webinar(Base):
    """A facilitated webinar (the online replacement for a face-to-face event)."""

    __tablename__ = "webinar"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    minutes: Mapped[int] = mapped_column(Integer, default=60)
    join_url: Mapped[str] = mapped_column(String(1000))
    module_id: Mapped[Optional[str]] = mapped_column(String(80))
    statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attendance(Base):
    """Who attended a webinar: marked by a tutor, or confirmed by the participant."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("webinar_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))  # tutor | participant
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Question(Base):
    """A participant's question to the tutors about an activity, and its answer."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    item_ref: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[Optional[str]] = mapped_column(Text)
    answered_by: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    course: Mapped[Course] = relationship()
