"""App-wide web concerns: error pages, security headers, health check, request IDs in logs."""
from __future__ import annotations

import logging
import secrets

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from .db import db

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


def init_app(app: Flask) -> None:
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
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        log.warning("csrf refused: %s %s: %s", request.method, request.path, exc.description)
        return error_page(400, "The form had expired or did not come from this site. Reload the page and try again; your text is still in the page.")

    @app.errorhandler(HTTPException)
    def _http(exc):
        return error_page(exc.code or 500, exc.description if exc.code in (400, 413) else None)

    @app.errorhandler(DataError)
    def _bad_data(exc):
        # A value the database refuses (a NUL byte, text it cannot store): the request's fault.
        log.warning("database refused a value: %s", exc.__class__.__name__)
        db().rollback()
        return error_page(400, "Something in that request contained characters that cannot be stored.")

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        log.error("database unavailable: %s", exc.__class__.__name__)
        db().rollback()
        return error_page(503)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db().rollback()
        return error_page(500)

    @app.get("/healthz")
    def healthz():
        try:
            db().execute(text("SELECT 1"))
        except OperationalError:
            return jsonify({"status": "unavailable", "database": "down"}), 503
        return jsonify({"status": "ok", "database": "ok"})
