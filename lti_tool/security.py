"""Content Security Policy: scripts and styles from the tool only; framing only by the platforms
registered with it (and the origins they were seen framing the tool from)."""
from __future__ import annotations

from typing import Iterable, Optional
from urllib.parse import urlparse

from flask import Flask, g, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from .db import db
from .models import ACTIVE, Platform

MAX_LEARNED_ORIGINS = 50


def origin_of(url: Optional[str]) -> Optional[str]:
    if not url:
        return None
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def platform_origins(platform: Platform) -> set[str]:
    found = {origin_of(platform.issuer), origin_of(platform.auth_login_url)}
    found.update(platform.frame_origins or [])
    return {o for o in found if o}


def learn_origins(platform, claims: dict):
    """Remember where this platform frames the tool from (Canvas: the school's own domain, not the
    issuer), from the launch's return URL and deep-linking return URL. Returns the platform as it now
    is (its ORM object where an origin was added)."""
    presentation = claims.get("https://purl.imsglobal.org/spec/lti/claim/launch_presentation") or {}
    dl = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings") or {}
    seen = {origin_of(presentation.get("return_url") if isinstance(presentation, dict) else None),
            origin_of(dl.get("deep_link_return_url") if isinstance(dl, dict) else None)}
    known = set(platform.frame_origins or [])
    new = {o for o in seen if o} - known - {origin_of(platform.issuer)}
    if new and len(known) < MAX_LEARNED_ORIGINS:
        from .lti.platform_keys import platform_for_update  # noqa: PLC0415  (security is imported first)

        platform = platform_for_update(platform)
        platform.frame_origins = sorted(known | new)[:MAX_LEARNED_ORIGINS]
    return platform


def _framing_origins() -> Iterable[str]:
    ctx = g.get("ctx")
    if ctx is not None and "frame_origins" in ctx.services:
        return ctx.services["frame_origins"]  # recorded at launch: no query per page
    query = select(Platform).where(Platform.status == ACTIVE)
    if ctx is not None:
        query = query.where(Platform.id == ctx.platform_id)
    origins: set[str] = set()
    for platform in db().scalars(query):
        origins |= platform_origins(platform)
    return sorted(origins)


def content_security_policy() -> str:
    path = request.path
    if path.startswith("/admin"):
        ancestors = "'none'"  # provider admin pages are never framed
    elif path == "/lti/register":
        # Dynamic registration runs inside the registering platform's admin page: that platform,
        # named by its OpenID configuration URL, may frame it; nobody else.
        try:
            own = origin_of(request.values.get("openid_configuration"))
        except HTTPException:  # an oversized or unreadable form: frame it for nobody
            own = None
        ancestors = " ".join(["'self'", *([own] if own else [])])
    else:
        ancestors = " ".join(["'self'", *_framing_origins()])
    forms = " ".join(["'self'", *(_framing_origins() if path.startswith("/s/") else [])])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"form-action {forms}; frame-ancestors {ancestors}")


def init_app(app: Flask) -> None:
    @app.after_request
    def _csp(response):
        # Redirects carry no content to protect: only pages get the policy.
        if (response.mimetype == "text/html" and not 300 <= response.status_code < 400
                and "Content-Security-Policy" not in response.headers):
            response.headers["Content-Security-Policy"] = content_security_policy()
        return response
