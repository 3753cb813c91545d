"""Who may use the admin pages: a provider admin with a server-side admin session.

The admin cookie (npq_admin) is not the Flask session cookie: that one must be SameSite=None for
LTI launches in a platform's iframe, so a page on another site could make the browser send it.
The admin cookie is SameSite=Strict, HttpOnly, sent only to /admin, and carries a random token
whose SHA-256 names a row in admin_session. The row, not the cookie, decides: sign-out, the idle
and absolute limits and `flask admin reset-2fa` end it, and a copied cookie dies with it."""
from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps
from typing import Callable, Optional

from flask import after_this_request, current_app, g, redirect, request, url_for
from sqlalchemy import select, update

from ..db import db, utcnow
from ..tokens import digest
from ..models import AdminUser
from ..permissions import ADMIN
from ..security_models import AdminSession

COOKIE = "npq_admin"
COOKIE_PATH = "/admin"
COMPLETE, PASSWORD = "complete", "password"
# A session part-way through sign-in (second factor or enrolment to come) lasts this long.
PENDING_LIFETIME = timedelta(minutes=15)
# last_seen_at is written at most this often: the idle limit needs no write per request.
TOUCH_EVERY = timedelta(minutes=1)


def _idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config.get("ADMIN_IDLE_MINUTES", 30))


def _absolute_limit() -> timedelta:
    return timedelta(hours=current_app.config.get("ADMIN_SESSION_HOURS", 8))


def totp_required() -> bool:
    return bool(current_app.config.get("ADMIN_REQUIRE_TOTP", True))


def is_usable(row: AdminSession) -> bool:
    """Not ended, not past its expiry or the absolute limit, not idle too long."""
    now = utcnow()
    return (row.ended_at is None and now < row.expires_at
            and now < row.created_at + _absolute_limit() and now - row.last_seen_at <= _idle_limit())


def _queue_cookie(token: Optional[str]) -> None:
    """Set (a token) or delete (None) the admin cookie on this request's response; the last call
    wins, so a request that drops a stale cookie and signs in sends one Set-Cookie."""
    if "admin_cookie" not in g:
        @after_this_request
        def _write(response):
            attributes = {"path": COOKIE_PATH, "httponly": True, "samesite": "Strict",
                          "secure": request.is_secure}
            if g.admin_cookie is None:
                response.delete_cookie(COOKIE, **attributes)
            else:  # a browser-session cookie (no Max-Age): the server-side row holds the limits
                response.set_cookie(COOKIE, g.admin_cookie, **attributes)
            return response
    g.admin_cookie = token


def forget_cookie() -> None:
    _queue_cookie(None)


def end_session(row: AdminSession) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()


def current_session() -> Optional[AdminSession]:
    """The usable admin session this request's cookie names (any stage), or None. A session
    found past its limits is ended and its cookie dropped."""
    if "admin_session" in g:
        return g.admin_session
    token = request.cookies.get(COOKIE, "")
    row = db().get(AdminSession, digest(token)) if 20 <= len(token) <= 100 else None
    if row is not None and not is_usable(row):
        if row.ended_at is None:
            end_session(row)
            db().commit()
        forget_cookie()
        row = None
    elif row is not None and utcnow() - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = utcnow()
        db().commit()
    g.admin_session = row
    return row


def start_session(user: AdminUser, stage: str) -> AdminSession:
    """A new session with a new token (never the one the browser came with: no fixation).
    The caller commits; the cookie is set on this request's response."""
    previous = current_session()
    if previous is not None:
        end_session(previous)
    token, now = secrets.token_urlsafe(32), utcnow()
    lifetime = _absolute_limit() if stage == COMPLETE else PENDING_LIFETIME
    row = AdminSession(id=digest(token), admin_id=user.id, stage=stage, created_at=now,
                       last_seen_at=now, expires_at=now + lifetime, ip=request.remote_addr,
                       user_agent=(request.user_agent.string or "")[:300])
    db().add(row)
    g.admin_session = row
    _queue_cookie(token)
    return row


def end_all_sessions(admin_id: int) -> int:
    """End every session of this admin (2FA reset, new password); how many were live."""
    result = db().execute(
        update(AdminSession)
        .where(AdminSession.admin_id == admin_id, AdminSession.ended_at.is_(None),
               AdminSession.expires_at > utcnow())
        .values(ended_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


def purge_old_sessions() -> int:
    """Forget sessions past the session retention period (the audit trail keeps sign-ins); how
    many went. The retention purge decides what has expired; the caller commits."""
    from ..privacy.purge import purge  # noqa: PLC0415 (privacy imports the models)

    return sum(o.rows for o in purge(tables=["admin_session"], commit=False))


def active_sessions(admin_id: int) -> list[AdminSession]:
    rows = db().scalars(select(AdminSession).where(
        AdminSession.admin_id == admin_id, AdminSession.ended_at.is_(None),
        AdminSession.expires_at > utcnow()).order_by(AdminSession.created_at.desc()))
    return [row for row in rows if is_usable(row)]


def _to_sign_in():
    target = request.path if request.method == "GET" else None
    return redirect(url_for("admin.login", next=target))


def pending_destination(user: AdminUser) -> Optional[str]:
    """Where a password-stage session must go next: the code page, enrolment, or nowhere."""
    if user.totp_enabled_at is not None:
        return url_for("admin.login_code")
    if totp_required():
        return url_for("admin.totp_setup")
    return None


def _session_user() -> tuple[Optional[AdminSession], Optional[AdminUser]]:
    row = current_session()
    return row, (db().get(AdminUser, row.admin_id) if row is not None else None)


def admin_required(view: Callable) -> Callable:
    """A signed-in admin (both factors, where 2FA is on); others go to sign-in or its next step."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        row, user = _session_user()
        if user is None:
            return _to_sign_in()
        if row.stage != COMPLETE:
            return redirect(pending_destination(user) or url_for("admin.login"))
        g.admin = user
        return view(*args, **kwargs)

    wrapped.allowed_roles = ADMIN
    return wrapped


def password_stage_required(view: Callable) -> Callable:
    """An admin whose password was right and who has the second factor (or enrolment) to come.
    The view gets the user as `user`; g.admin stays unset, so nothing else of the admin opens."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        row, user = _session_user()
        if user is None:
            return _to_sign_in()
        if row.stage == COMPLETE:
            return redirect(url_for("admin.platforms"))
        return view(*args, user=user, **kwargs)

    wrapped.allowed_roles = ADMIN
    return wrapped


def admin_or_enrolling(view: Callable) -> Callable:
    """A signed-in admin, or one who must enrol in 2FA before anything else (ADMIN_REQUIRE_TOTP):
    the view gets the user as `user`, and g.admin is set only for a complete session."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        row, user = _session_user()
        if user is None:
            return _to_sign_in()
        if row.stage != COMPLETE:
            target = pending_destination(user)
            if target != url_for("admin.totp_setup"):
                return redirect(target or url_for("admin.login"))
        else:
            g.admin = user
        return view(*args, user=user, **kwargs)

    wrapped.allowed_roles = ADMIN
    return wrapped
