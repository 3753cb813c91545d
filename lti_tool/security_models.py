"""Tables that keep the tool's trust boundaries: admin sessions, one-time registration links and
registration requests, the audit trail, shared rate-limit counters and cookieless page tickets."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime, utcnow


class AdminSession(Base):
    """A provider admin's signed-in session, held server-side so sign-out and limits end it.
    The cookie carries a random token; only its SHA-256 is stored."""

    __tablename__ = "admin_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_user.id", ondelete="CASCADE"), index=True)
    # "password": the password was right, the second factor is still to come; "complete": signed in.
    stage: Mapped[str] = mapped_column(String(20), default="complete")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(String(300))


class RegistrationLink(Base):
    """A one-time Dynamic Registration link a provider admin made for one VLE (production)."""

    __tablename__ = "registration_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256(token) hex
    label: Mapped[str] = mapped_column(String(200))  # which VLE it is for, as the admin wrote it
    expected_issuer: Mapped[Optional[str]] = mapped_column(String(500))  # optional: only this issuer
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    platform_id: Mapped[Optional[int]] = mapped_column(ForeignKey("platform.id", ondelete="SET NULL"))


class RegistrationRequest(Base):
    """A Dynamic Registration that would change an existing registration: never applied by
    itself; an admin compares it with what is registered and approves or rejects it."""

    __tablename__ = "registration_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    # The values the registration asked for: auth_login_url, auth_token_url, key_set_url,
    # auth_audience, deployment_id, platform_info.
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | rejected
    source_ip: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_user.id", ondelete="SET NULL"))


class AuditEvent(Base):
    """Append-only audit trail: who did what to which object, from where. Never updated."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # "admin:alice", "person:12 (tutor)", "cli", "system"
    action: Mapped[str] = mapped_column(String(60), index=True)  # "platform.update", "admin.sign_in"
    target_type: Mapped[Optional[str]] = mapped_column(String(40))
    target_id: Mapped[Optional[str]] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    # The person the action concerns (whose work was exported, marked, erased...). No foreign
    # key: the entry outlives an erased person's row.
    subject_person_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)


class RateCounter(Base):
    """Requests counted per key and fixed time window, shared by every worker and machine."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds // window length
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PageTicket(Base):
    """A single-use, short-lived ticket that lets one page load of a cookieless session through:
    the page's script trades the session secret for it just before navigating."""

    __tablename__ = "page_ticket"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(ticket) hex
    session_id: Mapped[str] = mapped_column(ForeignKey("launch_session.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
