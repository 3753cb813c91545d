"""App-wide web concerns: error pages, security headers, health check, request IDs in logs."""
from __future__ import annotations

import logging
import math
import secrets
import sqlite3
import time

from flask import Flask, current_app, g, jsonify, render_template, request, send_from_directory
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import (DataError, DBAPIError, DisconnectionError, InterfaceError, OperationalError,
                            SQLAlchemyError)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .db import db
from .permissions import public
from .ratelimit import hit, parse_limit

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something in that request was not right", "Go back and try again."),
    401: ("Your session has ended", "Open the activity again from your course to start a new session."),
    403: ("You do not have access to this page", "If you think you should, ask your course's tutor."),
    404: ("Page not found", "The address may be mistyped, or the page has moved."),
    405: ("That action is not allowed here", "Go back and use the page's buttons."),
    413: ("That was too large to send", "Shorten the text or the file and try again. Nothing has been saved from this request."),
    429: ("Too many attempts", "Wait a few minutes and try again."),
    503: ("The service is briefly unavailable", "Nothing was saved from this request. Try again in a minute."),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_page(status: int, detail: str | None = None):
    title, hint = MESSAGES.get(status, ("Something went wrong", "Try again in a minute."))
    if _wants_json():
        return jsonify({"error": title, "detail": detail or hint}), status
    return render_template("error.html", status=status, title=title, hint=hint, detail=detail), status


# -- The database unavailable: the 503 page, whatever raised it and wherever ------------------

# SQLAlchemy's own "cannot reach or use the database" errors; a pool that cannot hand out a
# connection in time (PoolTimeout) is the database being overloaded, the same answer.
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# The drivers' errors, in case one is raised unwrapped (from a pool event, say).
_DRIVER_UNAVAILABLE: tuple[type[BaseException], ...] = (sqlite3.OperationalError, sqlite3.InterfaceError)
try:
    import psycopg

    _DRIVER_UNAVAILABLE += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # SQLite-only installs
    pass
RETRY_AFTER_DB_DOWN = 30


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from, says the database cannot be used now."""
    for _ in range(6):  # a short walk down the chain: wrappers rarely nest deeper
        if exc is None:
            return False
        if isinstance(exc, _UNAVAILABLE + _DRIVER_UNAVAILABLE):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _rollback_quietly() -> None:
    # The session may sit on a dead connection: its rollback must not turn a 503 into a 500.
    try:
        db().rollback()
    except (SQLAlchemyError, *_DRIVER_UNAVAILABLE):
        pass


# The 503 page is static (no data, no form, no action): nothing to clickjack. It sets its own
# policy because the usual one lists the platforms allowed to frame the tool, read from the
# database that is down; leaving frame-ancestors out lets the message show inside the VLE.
_DB_DOWN_CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
                "object-src 'none'; base-uri 'none'; form-action 'none'")


def _null_session_if_none() -> None:
    """When opening the session is what failed (a cookieless session is read from the database),
    the request has none, and the error page and Flask's finishing of the response both read it."""
    ctx = request_ctx._get_current_object()
    if getattr(ctx, "_session", True) is None:
        ctx._session = current_app.session_interface.make_null_session(current_app)


def database_down_page(exc: BaseException):
    """The 503 answer (HTML or JSON by Accept), logged once per request, without the statement or
    its parameters (they may hold tokens or personal data)."""
    if not g.get("db_down_logged"):
        g.db_down_logged = True
        orig = getattr(exc, "orig", None)
        log.error("database unavailable on %s %s: %s%s", request.method, request.path,
                  exc.__class__.__name__, f" ({orig.__class__.__name__})" if orig is not None else "")
    _rollback_quietly()
    _null_session_if_none()
    body, status = error_page(503)
    response = current_app.make_response((body, status))
    response.headers["Retry-After"] = str(RETRY_AFTER_DB_DOWN)
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = _DB_DOWN_CSP
    return response


# -- Rate limits ------------------------------------------------------------------------------

def client_address() -> str:
    """The client's address: the socket's, or X-Forwarded-For's as trusted by ProxyFix (PROXY_COUNT)."""
    return request.remote_addr or "unknown"


def rate_limited(name: str, config_key: str, who: str | None = None):
    """None while `who` (the client address by default) is within the limit in config_key
    ("count/seconds"); else the 429 page with Retry-After (the end of the current window)."""
    count, seconds = parse_limit(current_app.config[config_key])
    if hit(f"{name}:{who or client_address()}", count, seconds):
        return None
    log.warning("rate limit %s reached by %s", name, who or client_address())
    body, status = error_page(429)
    response = current_app.make_response((body, status))
    response.headers["Retry-After"] = str(max(1, math.ceil(seconds - time.time() % seconds)))
    return response


# -- Caching: personal data is never stored by browsers or shared caches ----------------------

# Public, identical for everyone: left cacheable. Everything else the tool answers may carry
# personal data (pages, JSON, exports, launch and error pages) or secrets (login binding values).
CACHEABLE_ENDPOINTS = frozenset({"static", "lti.jwks", "lti.canvas_config"})


def _private_cache_control(response) -> None:
    if request.endpoint in CACHEABLE_ENDPOINTS or (request.endpoint or "").endswith(".static"):
        return
    if "no-store" not in (response.headers.get("Cache-Control") or ""):
        # Replaced, not merged: send_file's "no-cache" or a view's max-age would still let a
        # browser keep a copy on disk.
        response.headers["Cache-Control"] = "private, no-store"


def _log_exception_unless_database_down(app: Flask) -> None:
    """Flask logs a traceback for an error raised outside the views (opening the session) before
    its 500 handler runs; when the database is down, the 503 page's one line says it all."""
    flask_log_exception = app.log_exception

    def log_exception(exc_info) -> None:
        if not database_unavailable(exc_info[1]):
            flask_log_exception(exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    _log_exception_unless_database_down(app)
    from .grades.feedback import points

    app.add_template_filter(points, "points")

    @app.before_request
    def _request_id():
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        _private_cache_control(response)
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        log.warning("csrf refused: %s %s: %s", request.method, request.path, exc.description)
        return error_page(400, "The form had expired or did not come from this site. Reload the page and try again; your text is still in the page.")

    @app.errorhandler(HTTPException)
    def _http(exc):
        # A 500 made by Flask from an error outside the views (the session interface opening a
        # cookieless session, say): still the 503 page when the database is what failed.
        if exc.code == 500 and database_unavailable(getattr(exc, "original_exception", None)):
            return database_down_page(exc.original_exception)
        return error_page(exc.code or 500, exc.description if exc.code in (400, 413) else None)

    @app.errorhandler(DataError)
    def _bad_data(exc):
        # A value the database refuses (a NUL byte, text it cannot store): the request's fault.
        log.warning("database refused a value: %s", exc.__class__.__name__)
        db().rollback()
        return error_page(400, "Something in that request contained characters that cannot be stored.")

    @app.errorhandler(OverflowError)
    def _id_too_large(exc):
        # An id from the URL beyond what SQLite can bind (PostgreSQL answers DataError instead):
        # it names no row.
        _rollback_quietly()
        return error_page(404)

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        return database_down_page(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if database_unavailable(exc):  # InterfaceError, a dropped connection, a wrapped one
            return database_down_page(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        _rollback_quietly()
        return error_page(500)

    @app.get("/healthz")
    @public
    def healthz():
        try:
            db().execute(text("SELECT 1"))
        except (SQLAlchemyError, *_DRIVER_UNAVAILABLE) as exc:
            if not database_unavailable(exc):
                raise
            _rollback_quietly()
            response = jsonify({"status": "unavailable", "database": "down"})
            response.headers["Retry-After"] = str(RETRY_AFTER_DB_DOWN)
            return response, 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.get("/favicon.ico")
    @public  # browsers ask for it on every site, whatever the page links to
    def favicon():
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=86400)
