"""People, courses, enrolments and placements as launches report them, and the sessions launches open."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow
from .platforms import Deployment, Platform

# A person's role in a course, mapped from LTI roles at launch.
PARTICIPANT, TUTOR, COURSE_ADMIN, MENTOR = "participant", "tutor", "course_admin", "mentor"


NAME_WITHHELD = "Name withheld by the VLE"


def person_name(name: Optional[str], given: Optional[str], family: Optional[str], email: Optional[str],
                sub: str) -> str:
    """The name to show. A VLE may leave names and emails out (Canvas's privacy levels
    "anonymous" and "email_only"): the email then, or a stand-in that says the name was withheld,
    with a short reference (from a digest of the VLE's user ID) that tells people apart."""
    full = " ".join(p for p in (given, family) if p and p != "None")
    name = name if name and name != "None" else None
    if name or full or email:
        return name or full or email  # type: ignore[return-value]
    return f"{NAME_WITHHELD} (ref. {hashlib.sha256(sub.encode()).hexdigest()[:6].upper()})"


def course_title(title: Optional[str], label: Optional[str]) -> str:
    return title or label or "Untitled course"


class Person(Base):
    """A user of a platform: issuer + sub (through the registration)."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[Optional[str]] = mapped_column(String(300))
    given_name: Mapped[Optional[str]] = mapped_column(String(200))
    family_name: Mapped[Optional[str]] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(320))
    locale: Mapped[Optional[str]] = mapped_column(String(35))
    # IANA zone reported by the person's browser (e.g. "Asia/Dubai"); times are shown in it.
    time_zone: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Written by a launch at most once an hour (LAST_LAUNCH_RESOLUTION): a launch need not write the
    # person's row when nothing else of theirs changed. Each launch's exact time is its session's.
    last_launch_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    @property
    def display_name(self) -> str:
        return person_name(self.name, self.given_name, self.family_name, self.email, self.sub)


class Course(Base):
    """An LTI context on a platform."""

    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[Optional[str]] = mapped_column(String(500))
    label: Mapped[Optional[str]] = mapped_column(String(200))
    # The programme the course follows: from the first item placed in it, or a custom parameter.
    programme_code: Mapped[Optional[str]] = mapped_column(String(20))
    # The programme a tutor last chose in the Deep Linking picker: it opens there next time.
    picker_programme: Mapped[Optional[str]] = mapped_column(String(20))
    roster_synced_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    platform: Mapped[Platform] = relationship()

    @property
    def display_title(self) -> str:
        return course_title(self.title, self.label)


class Enrolment(Base):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("person_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    lti_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "launch" (they opened the tool) or "roster" (listed by the platform's NRPS only).
    source: Mapped[str] = mapped_column(String(20), default="launch")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship()
    course: Mapped[Course] = relationship()


class Placement(Base):
    """A resource link in a course, pointing at an item of a programme pack."""

    __tablename__ = "placement"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[Optional[str]] = mapped_column(String(500))
    # "<PROGRAMME>/<item id>", from the custom parameter or chosen by a tutor.
    item_ref: Mapped[Optional[str]] = mapped_column(String(200))
    line_item_url: Mapped[Optional[str]] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped[Course] = relationship()


class LaunchSession(Base):
    """What one launch opened: who, where, as what, with which platform services."""

    __tablename__ = "launch_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    placement_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("placement.id", ondelete="SET NULL")
    )
    role: Mapped[str] = mapped_column(String(20))
    message_type: Mapped[str] = mapped_column(String(60))
    # AGS / NRPS endpoints, deep-linking settings, custom parameters, return URL, mentees...
    services: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # Opened where the browser refused the tool's cookies (bound through platform storage
    # instead): the session's data lives here and the session URL alone carries it.
    cookieless: Mapped[bool] = mapped_column(default=False)
    session_data: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # A cookieless session is bound to a per-launch secret the page keeps (sessionStorage or the
    # platform's storage): its SHA-256 here, so the session URL alone opens nothing.
    secret_hash: Mapped[Optional[str]] = mapped_column(String(64))
    # For the idle timeout; written at most about once a minute.
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()
    course: Mapped[Course] = relationship()
    deployment: Mapped[Deployment] = relationship()
    placement: Mapped[Optional[Placement]] = relationship()
