"""Platforms the tool is registered with and their deployments, with what the LTI edge keeps per
platform: login state between /lti/login and /lti/launch, and access tokens for its services."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

# Status of a platform registration or a deployment.
ACTIVE, PENDING, DISABLED = "active", "pending", "disabled"
STATUSES = (ACTIVE, PENDING, DISABLED)


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


class AccessToken(Base):
    """Platform OAuth2 access tokens, reused per platform and scope set until they expire."""

    __tablename__ = "access_token"
    __table_args__ = (UniqueConstraint("platform_id", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
