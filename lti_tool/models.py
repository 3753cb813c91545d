"""Typed SQLAlchemy models. The LTI edge fills them; the rest of the tool reads plain objects."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow

# Status of a platform registration or a deployment.
ACTIVE, PENDING, DISABLED = "active", "pending", "disabled"
STATUSES = (ACTIVE, PENDING, DISABLED)

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


class Platform(Base):
    """One registration of the tool with a platform: an issuer and a client_id."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[Optional[str]] = mapped_column(String(1000))
    key_set_url: Mapped[Optional[str]] = mapped_column(String(1000))
    # A key set given at registration instead of a URL (or alongside, as a fixed key).
    key_set: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    registered_via: Mapped[str] = mapped_column(String(20), default="admin")
    # What the platform told us at dynamic registration (product family, version, ...).
    platform_info: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # The platform's key set as last fetched from key_set_url: shared by every worker.
    jwks_cache: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    jwks_fetched_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    jwks_fetch_count: Mapped[int] = mapped_column(Integer, default=0)
    # A failed key-set fetch is not retried by every launch until this time (negative caching).
    jwks_retry_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    jwks_last_error: Mapped[Optional[str]] = mapped_column(String(300))
    # Origins the platform frames the tool from (learned from launches): CSP frame-ancestors.
    frame_origins: Mapped[Optional[list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    deployments: Mapped[list["Deployment"]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


class Deployment(Base):
    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


class LaunchState(Base):
    """An OIDC login state that a launch has used, with its nonce: a state works once (lti/state.py).
    The login stores nothing; rows expire with the state."""

    __tablename__ = "launch_state"

    state: Mapped[str] = mapped_column(String(100), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    # Hash of the binding the browser's state cookie held (the binding is derived, not stored).
    browser_binding: Mapped[str] = mapped_column(String(100))
    # The platform's postMessage storage frame (lti_storage_target) named at login.
    storage_target: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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


class AdminUser(Base):
    """A provider admin: the tool's own account, not an LTI user."""

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    # TOTP second factor (RFC 6238): the base32 secret, once enrolled; the last time step used
    # (a code works once); recovery codes as password hashes, each struck out when used.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_enabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[Optional[int]] = mapped_column(Integer)
    recovery_codes: Mapped[Optional[list[str]]] = mapped_column(JSON)
    # Per-account lock-out, whatever address the attempts come from.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Failed admin logins, for rate limiting across workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Setting(Base):
    """Provider settings changed in the admin UI; override the config file's defaults."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AccessToken(Base):
    """Platform OAuth2 access tokens, reused per platform and scope set until they expire."""

    __tablename__ = "access_token"
    __table_args__ = (UniqueConstraint("platform_id", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SandboxLink(Base):
    """A link in the built-in sandbox VLE's demo course (what a course page lists)."""

    __tablename__ = "sandbox_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[Optional[str]] = mapped_column(Text)
    resource_link_id: Mapped[str] = mapped_column(String(100), unique=True)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The gradebook column the link created (from a deep-linking lineItem), if any.
    line_item: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SandboxLineItem(Base):
    """A gradebook column of the sandbox VLE (made by a deep-linking lineItem or by the tool)."""

    __tablename__ = "sandbox_line_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    score_maximum: Mapped[float] = mapped_column()
    resource_id: Mapped[Optional[str]] = mapped_column(String(200))
    resource_link_id: Mapped[Optional[str]] = mapped_column(String(100))
    tag: Mapped[Optional[str]] = mapped_column(String(100))


class SandboxGrade(Base):
    """The latest score the sandbox VLE holds for a user in a column (AGS semantics)."""

    __tablename__ = "sandbox_grade"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("sandbox_line_item.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    score: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


DRAFT, SUBMITTED = "draft", "submitted"


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


# Status of a write-up document.
RETURNED = "returned"


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


from . import security_models  # noqa: E402,F401  (their tables are part of the schema too)
