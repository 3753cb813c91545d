"""The audit trail: one append-only row per security-relevant action, in the same transaction as
the change it records (so a change is never saved without its entry, nor an entry without it)."""
from __future__ import annotations

from typing import Any, Optional

from flask import g, has_request_context, request
from sqlalchemy import event

from .db import db
from .security_models import AuditEvent


def _actor() -> str:
    """Who is acting: the signed-in provider admin, else the launched person with their course
    role (an LTI user exporting or marking), else the system (a request) or the command line."""
    if not has_request_context():
        return "cli"
    admin = g.get("admin")
    if admin is not None:
        return f"admin:{admin.username}"
    ctx = g.get("ctx")
    if ctx is not None:
        return f"person:{ctx.person_id} ({ctx.role})"
    return "system"


def _subject_id(subject: Any) -> Optional[int]:
    """A person object or a person id (other objects name no one)."""
    if subject is None or isinstance(subject, bool):
        return None
    if isinstance(subject, int):
        return subject
    return getattr(subject, "id", None)


def record(action: str, *, target: Any = None, target_type: Optional[str] = None,
           target_id: Any = None, detail: Optional[dict] = None, actor: Optional[str] = None,
           subject: Any = None) -> AuditEvent:
    """Add an audit entry to the current transaction; the caller commits with its change.
    `target` may be a model object (its table name and id are used); `subject` is the person
    (object or id) the action concerns, so the log can be filtered by person. Never put secrets
    in detail."""
    if target is not None:
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__.lower())
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    entry = AuditEvent(
        actor=(actor or _actor())[:200], action=action[:60], target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:100], detail=detail or {},
        ip=(request.remote_addr or None) if has_request_context() else None,
        subject_person_id=_subject_id(subject))
    db().add(entry)
    return entry


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper, _connection, _target):
    # The one exception is the retention purge (privacy/retention.py), which removes entries past
    # the audit retention period with a Core DELETE that never passes through the ORM.
    raise RuntimeError("The audit trail is append-only.")
