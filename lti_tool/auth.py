"""Who is asking: launch sessions for LTI users, and the browser that opened them.

Every page after a launch lives under /s/<sid>/. The sid names a LaunchSession row; the signed
Flask session cookie lists the sids this browser opened, so a leaked URL alone opens nothing, and a
person with the tool open in two courses in two tabs keeps both. A cookieless session (the browser
blocked the tool's cookies) is opened only by its per-launch secret instead (cookieless.py), never
through a cookie's list. Both kinds end after SESSION_IDLE_MINUTES without a request.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import NoReturn

from flask import Flask, abort, current_app, g, request, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface

from . import cookieless
from .db import begin_reading, db, utcnow
from .lti.context import LaunchContext, context_from_row
from sqlalchemy import bindparam, select

from .models import Course, LaunchSession, Person, Placement, Platform

MAX_REMEMBERED_LAUNCHES = 20
# last_seen_at (for the idle timeout) is written at most this often per session.
TOUCH_EVERY = timedelta(minutes=1)


_SID_PATH = re.compile(r"^/s/([A-Za-z0-9_-]{20,64})/")
# Requests that never read or write the session cookie: it is not even unsigned for them (the OIDC
# login is a third of every launch's requests). A write there raises, so none goes unnoticed.
_NO_SESSION_PATHS = ("/lti/login", "/lti/jwks.json", "/static/", "/healthz")


class _SessionJSON:
    """The session holds only JSON values (launch IDs, the CSRF secret, flashed messages), so it is
    plain JSON rather than Flask's tagged JSON, which walks every value; a cookie in the tagged form
    (written before) is still read."""

    _tagged = TaggedJSONSerializer()

    @staticmethod
    def dumps(value) -> str:
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def loads(cls, text):
        return cls._tagged.loads(text) if '{" ' in text else json.loads(text)


class LaunchAwareSessionInterface(SecureCookieSessionInterface):
    """Cookies fit for a third-party iframe when served over HTTPS (SameSite=None; Secure;
    Partitioned), and plain Lax cookies on http://localhost for the quick start.

    Where the browser blocks the tool's cookies, a launch bound through the platform's storage
    is "cookieless": its session data (the CSRF secret, flashed messages) is kept server-side on
    the launch session row, found through the session URL, and written back only by a request
    that proved the session's secret (auth._load)."""

    serializer = _SessionJSON()

    def __init__(self):
        self._signers: dict = {}

    def get_signing_serializer(self, app):
        # Built once per key (Flask builds one per request, and reading and writing the cookie
        # are most of what a session costs).
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signer = self._signers.get(keys)
        if signer is None:
            signer = super().get_signing_serializer(app)
            self._signers = {keys: signer}
        return signer

    def open_session(self, app, request):
        if request.path.startswith(_NO_SESSION_PATHS):
            return self.make_null_session(app)
        if request.cookies.get(self.get_cookie_name(app)) is None:
            row = _cookieless_row(request.path)
            if row is not None:
                session = self.session_class(row.session_data or {})
                session.cookieless_sid = row.id
                return session
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        sid = getattr(session, "cookieless_sid", None)
        if sid is None:
            return super().save_session(app, session, response)
        if session.modified and g.get("cookieless_sid") == sid:
            row = db().get(LaunchSession, sid)
            if row is not None:
                row.session_data = {k: v for k, v in session.items() if k != "launches"}
                db().commit()

    def get_cookie_samesite(self, app):
        return "None" if request.is_secure else "Lax"

    def get_cookie_secure(self, app):
        return bool(request.is_secure)

    def get_cookie_partitioned(self, app):
        return bool(request.is_secure)


def _cookieless_row(path: str) -> LaunchSession | None:
    match = _SID_PATH.match(path)
    if not match:
        return None
    row = db().get(LaunchSession, match.group(1))
    return row if row is not None and row.cookieless else None


def remember_launch(sid: str) -> None:
    launches = [s for s in session.get("launches", []) if s != sid]
    session["launches"] = [sid] + launches[: MAX_REMEMBERED_LAUNCHES - 1]
    session.permanent = True


def forget_launch(sid: str) -> None:
    session["launches"] = [s for s in session.get("launches", []) if s != sid]


def _context_query():
    """One Core query for everything a page needs to know about its launch (no ORM objects: this
    runs on every request)."""
    ls, course, platform = LaunchSession.__table__, Course.__table__, Platform.__table__
    person, placement = Person.__table__, Placement.__table__
    return (
        select(ls.c.id, ls.c.role, ls.c.message_type, ls.c.deployment_id, ls.c.placement_id, ls.c.services,
               ls.c.expires_at, ls.c.ended_at, ls.c.cookieless, ls.c.secret_hash, ls.c.last_seen_at,
               course.c.id.label("course_id"), course.c.platform_id,
               course.c.title, course.c.label, course.c.programme_code, platform.c.name.label("platform_name"),
               person.c.id.label("person_id"), person.c.sub, person.c.name, person.c.given_name,
               person.c.family_name, person.c.email, person.c.time_zone, placement.c.item_ref)
        .join(course, course.c.id == ls.c.course_id)
        .join(platform, platform.c.id == course.c.platform_id)
        .join(person, person.c.id == ls.c.person_id)
        .outerjoin(placement, placement.c.id == ls.c.placement_id)
        .where(ls.c.id == bindparam("sid"))
    )


_CONTEXT_QUERY = _context_query()


_TOUCH = LaunchSession.__table__.update().where(LaunchSession.__table__.c.id == bindparam("sid"))


def _load(sid: str) -> LaunchContext:
    row = db().connection().execute(_CONTEXT_QUERY, {"sid": sid}).first()
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at < now or _idle(row.last_seen_at, now):
        _refuse()
    if row.cookieless:
        # Only the secret opens it (cookieless.py): a browser's cookie list never does.
        if not cookieless.proven(sid, row.secret_hash):
            _forget_session_data()
            cookieless.refuse(sid, row.services)
        g.cookieless_sid = sid
    elif sid not in session.get("launches", []):
        abort(401)
    if row.last_seen_at is None or now - row.last_seen_at >= TOUCH_EVERY:
        db().connection().execute(_TOUCH, {"sid": sid, "last_seen_at": now})
        db().commit()
    return context_from_row(row._mapping)


def _idle(last_seen_at: datetime | None, now: datetime) -> bool:
    limit = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return last_seen_at is not None and now - last_seen_at > limit


def _refuse() -> NoReturn:
    _forget_session_data()
    abort(401)


def _forget_session_data() -> None:
    """A refused request to a cookieless session must neither see its server-side data (flashed
    messages would show on the error page) nor change it."""
    if getattr(session, "cookieless_sid", None) is not None:
        session.clear()


def init_app(app: Flask) -> None:
    app.session_interface = LaunchAwareSessionInterface()
    init_autosave_errors(app)
    cookieless.init_app(app)

    @app.url_value_preprocessor
    def _pull_sid(endpoint, values):
        if values and "sid" in values:
            if getattr(app.view_functions.get(endpoint), "reads_only", False):
                begin_reading()
            g.ctx = _load(values.pop("sid"))

    sid_endpoints: set[str] = set()

    @app.before_request
    def _collect_sid_endpoints():
        if not sid_endpoints:  # the URL map is complete by the first request
            sid_endpoints.update(r.endpoint for r in app.url_map.iter_rules() if "sid" in r.arguments)

    @app.url_defaults
    def _add_sid(endpoint, values):
        if "sid" in values or g.get("ctx") is None:
            return
        if endpoint in sid_endpoints:
            values["sid"] = g.ctx.session_id


class AutosaveRefused(Exception):
    """An autosave body that cannot be accepted, with the JSON answer to give."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def autosave_payload() -> dict:
    """The JSON body of an autosave (sent by fetch, or as a beacon when a page is left), checked
    against the page's CSRF token (header, or the body for beacons)."""
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError

    payload = request.get_json(silent=True, force=True)
    if not isinstance(payload, dict):
        raise AutosaveRefused("The draft could not be read.")
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or payload.get("csrf_token"))
    except ValidationError as exc:
        raise AutosaveRefused("Your page is out of date. Reload it: your text is kept on this device.") from exc
    return payload


def init_autosave_errors(app: Flask) -> None:
    from flask import jsonify

    @app.errorhandler(AutosaveRefused)
    def _refused(exc: AutosaveRefused):
        return jsonify({"error": exc.message}), 400
