"""The provider's own side: admin accounts, failed sign-ins and settings changed in the admin pages."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


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
