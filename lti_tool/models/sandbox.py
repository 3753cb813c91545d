"""The built-in sandbox VLE's demo course: its links, gradebook columns and the grades they hold."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


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
