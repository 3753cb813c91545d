"""Who is asking: launch sessions for LTI users, and the browser that opened them.

Every page after a launch lives under /s/<sid>/. The sid names a LaunchSession row; the signed
Flask session cookie lists the sids this browser opened, so a leaked URL alone opens nothing, and a
person with the tool open in two courses in two tabs keeps both.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, g, request, session
from flask.sessions import SecureCookieSessionInterface

from .db import db, utcnow
from .lti.context import LaunchContext
from .models import LaunchSession

MAX_REMEMBERED_LAUNCHES = 20


class LaunchAwareSessionInterface(SecureCookieSessionInterface):
    """Cookies fit for a third-party iframe when served over HTTPS (SameSite=None; Secure;
    Partitioned), and plain Lax cookies on http://localhost for the quick start."""

    def get_cookie_samesite(self, app):
        return "None" if request.is_secure else "Lax"

    def get_cookie_secure(self, app):
        return bool(request.is_secure)

    def get_cookie_partitioned(self, app):
        return bool(request.is_secure)


def remember_launch(sid: str) -> None:
    launches = [s for s in session.get("launches", []) if s != sid]
    session["launches"] = [sid] + launches[: MAX_REMEMBERED_LAUNCHES - 1]
    session.permanent = True


def forget_launch(sid: str) -> None:
    session["launches"] = [s for s in session.get("launches", []) if s != sid]


def current_context() -> LaunchContext:
    return g.ctx


def _load(sid: str) -> LaunchContext:
    if sid not in session.get("launches", []):
        abort(401)
    row = db().get(LaunchSession, sid)
    if row is None or row.ended_at is not None or row.expires_at < utcnow():
        abort(401)
    return LaunchContext.from_session(row)


def launch_required(*roles: str):
    """The view needs a launch session of this browser, with one of these roles (any if none)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            ctx = g.get("ctx")
            if ctx is None:
                abort(401)
            if roles and ctx.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def init_app(app: Flask) -> None:
    app.session_interface = LaunchAwareSessionInterface()

    @app.url_value_preprocessor
    def _pull_sid(endpoint, values):
        if values and "sid" in values:
            g.ctx = _load(values.pop("sid"))

    @app.url_defaults
    def _add_sid(endpoint, values):
        if "sid" in values or g.get("ctx") is None:
            return
        if app.url_map.is_endpoint_expecting(endpoint, "sid"):
            values["sid"] = g.ctx.session_id
