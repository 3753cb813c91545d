"""Cookieless launch sessions: bound to a per-launch secret, so a session URL alone opens nothing.

Where the browser blocks the tool's cookies inside the platform's iframe, a launch is bound
through the platform's storage instead (lti/launch.py) and its session is "cookieless". At the
launch the tool makes a random secret, keeps only its SHA-256 (LaunchSession.secret_hash) and
hands the secret to the page in a response body, never in a URL (templates/lti/storage_handoff.html);
the page keeps it in sessionStorage and in the platform's storage (lti.put_data).

Every request into the session then proves the secret (static/session.js does the work):
- fetch: the X-Session-Secret header;
- a form POST: the _session_secret field;
- a navigation (link, GET form, the tool's own redirects): a page ticket, ?_pt=..., valid once and
  for PAGE_TICKET_SECONDS, that the page buys with the secret just before leaving (POST ticket).
A GET with none of these (a reload, the back button, a typed, copied or logged URL) gets the
resume page (401): its script looks the secret up in this browser and, if it is there, buys a
ticket and loads the page again; otherwise it says the session has ended. Cookie sessions never
come here: their browser's signed cookie lists the sessions it opened (auth.py).
"""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import NoReturn, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (Blueprint, Flask, abort, current_app, g, jsonify, make_response, render_template, request,
                   url_for)
from sqlalchemy import bindparam, delete

from .db import db, utcnow
from .tokens import digest
from .extensions import csrf
from .permissions import launch_required
from .security_models import PageTicket

SECRET_HEADER = "X-Session-Secret"
SECRET_FIELD = "_session_secret"
TICKET_PARAM = "_pt"
# Expired tickets are deleted now and then as tickets are made (about one in this many).
PURGE_ONE_IN = 50

bp = Blueprint("session", __name__)

_tickets = PageTicket.__table__
_INSERT_TICKET = _tickets.insert()
_CONSUME_TICKET = delete(_tickets).where(_tickets.c.id == bindparam("ticket_id"),
                                         _tickets.c.session_id == bindparam("sid"),
                                         _tickets.c.expires_at > bindparam("now"))
_PURGE_TICKETS = delete(_tickets).where(_tickets.c.expires_at <= bindparam("now"))


def new_secret() -> tuple[str, str]:
    """A launch's secret and the digest to store."""
    secret = secrets.token_urlsafe(32)
    return secret, digest(secret)


def mint_ticket(sid: str) -> str:
    ticket = secrets.token_urlsafe(24)
    now = utcnow()
    expires_at = now + timedelta(seconds=current_app.config["PAGE_TICKET_SECONDS"])
    conn = db().connection()
    conn.execute(_INSERT_TICKET, {"id": digest(ticket), "session_id": sid, "expires_at": expires_at})
    if secrets.randbelow(PURGE_ONE_IN) == 0:
        conn.execute(_PURGE_TICKETS, {"now": now})
    db().commit()
    return ticket


def consume_ticket(sid: str, ticket: str) -> bool:
    """One statement: of two requests racing with the same ticket, exactly one deletes the row."""
    used = db().connection().execute(_CONSUME_TICKET, {"ticket_id": digest(ticket), "sid": sid,
                                                       "now": utcnow()}).rowcount
    db().commit()
    return used == 1


def proven(sid: str, secret_hash: Optional[str]) -> bool:
    """Whether this request shows the session's secret (header or form field) or a valid ticket
    (navigations only: a ticket never authorises a write)."""
    if not secret_hash:
        return False
    offered = request.headers.get(SECRET_HEADER)
    if offered is None and request.method == "POST":
        offered = request.form.get(SECRET_FIELD)
    if offered is not None:
        return hmac.compare_digest(digest(offered), secret_hash)
    ticket = request.args.get(TICKET_PARAM)
    if ticket and request.method in ("GET", "HEAD"):
        return consume_ticket(sid, ticket[:100])
    return False


def refuse(sid: str, services: Optional[dict]) -> NoReturn:
    """401 for a request that did not prove the secret: the resume page for a navigation (the
    browser that launched recovers from it), a plain 401 for anything else."""
    if request.method in ("GET", "HEAD") and request.accept_mimetypes.accept_html:
        abort(resume_page(sid, services or {}))
    abort(401)


def resume_page(sid: str, services: dict):
    storage = services.get("storage") or {}
    response = make_response(render_template(
        "lti/storage_resume.html", sid=sid, ticket_url=url_for("session.ticket", sid=sid),
        target=storage.get("target", ""), origin=storage.get("origin", "")), 401)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def with_ticket(url: str, ticket: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TICKET_PARAM]
    return urlunsplit(parts._replace(query=urlencode(query + [(TICKET_PARAM, ticket)])))


def handoff(sid: str, secret: str, destination: str, services: dict):
    """The answer to a cookieless launch: a page that keeps the secret in this browser (never in a
    URL) and opens the destination with a ticket."""
    storage = services.get("storage") or {}
    response = make_response(render_template(
        "lti/storage_handoff.html", sid=sid, secret=secret, next_url=with_ticket(destination, mint_ticket(sid)),
        target=storage.get("target", ""), origin=storage.get("origin", "")))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/s/<sid>/ticket")
@launch_required()
def ticket():
    """A page ticket for the next navigation (the request proved the secret by its header)."""
    sid = g.get("cookieless_sid")
    if sid is None:  # a cookie session navigates with its cookie
        abort(404)
    return jsonify({"ticket": mint_ticket(sid)})


def _redirect_with_ticket(response):
    """The tool's own redirects inside a cookieless session (after a form post, from the landing
    page) carry a ticket, so the browser's GET that follows them gets through."""
    sid = g.get("cookieless_sid")
    if sid is None or response.status_code not in (301, 302, 303) or not response.location:
        return response
    parts = urlsplit(response.location)
    if parts.netloc in ("", request.host) and parts.path.startswith(f"/s/{sid}/"):
        response.location = with_ticket(response.location, mint_ticket(sid))
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The ticket endpoint is called with the secret in a header no other site can send or know:
    # that is stronger than the CSRF token, which the resume page does not have.
    csrf.exempt(ticket)
    app.after_request(_redirect_with_ticket)
