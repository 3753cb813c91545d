"""Admin pages for Dynamic Registration: one-time registration links, and the requests of
registrations that would change an existing platform (compared, then approved or rejected)."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import abort, flash, g, make_response, redirect, render_template, url_for
from sqlalchemy import func, select, update

from .. import audit
from ..db import db, utcnow
from ..tokens import digest
from ..models import AdminUser, Platform
from ..security_models import RegistrationLink, RegistrationRequest
from ..lti.registration_store import PROPOSED_FIELDS, apply_request, current_values
from .access import admin_required
from .blueprint import bp
from .forms import ConfirmForm, RegistrationLinkForm

log = logging.getLogger(__name__)

# The words the comparison uses for each value a registration sets.
FIELD_LABELS = {"auth_login_url": "Login (authentication) URL", "auth_token_url": "Token URL",
                "key_set_url": "Key set URL", "auth_audience": "Token audience",
                "deployment_id": "Deployment"}
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


# -- one-time registration links ---------------------------------------------------------------

def _links() -> list[RegistrationLink]:
    return list(db().scalars(select(RegistrationLink).order_by(RegistrationLink.created_at.desc())
                             .limit(200)))


def link_state(link: RegistrationLink) -> str:
    """What the list says of a link. A revoked link has used_at == expires_at (see revoke)."""
    if link.platform_id is not None:
        return "used"
    if link.used_at is not None:
        return "revoked" if link.used_at == link.expires_at else "in use"
    return "unused" if link.expires_at > utcnow() else "expired"


def _links_page(form: RegistrationLinkForm, new_link: str | None = None, status: int = 200):
    rows = _links()
    names = _names(Platform, {r.platform_id for r in rows if r.platform_id})
    admins = _names(AdminUser, {r.created_by for r in rows if r.created_by}, attr="username")
    response = make_response(render_template(
        "admin/registration_links.html", form=form, links=rows, new_link=new_link,
        state=link_state, platforms=names, admins=admins, revoke_form=ConfirmForm()), status)
    if new_link:  # shown once: never kept by the browser or a proxy
        response.headers["Cache-Control"] = "no-store"
    return response


def _names(model: Any, ids: set[int], attr: str = "name") -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: getattr(row, attr) for row in db().scalars(select(model).where(model.id.in_(ids)))}


@bp.route("/registration-links", methods=["GET", "POST"])
@admin_required
def registration_links():
    form = RegistrationLinkForm()
    if not form.validate_on_submit():
        return _links_page(form, status=400 if form.errors else 200)
    token = secrets.token_urlsafe(32)
    link = RegistrationLink(
        token_hash=digest(token), label=form.label.data.strip(),
        expected_issuer=(form.expected_issuer.data or "").strip() or None, created_by=g.admin.id,
        expires_at=utcnow() + timedelta(hours=int(form.lifetime_hours.data)))
    db().add(link)
    db().flush()
    audit.record("registration_link.create", target=link, detail={
        "label": link.label, "expected_issuer": link.expected_issuer,
        "expires_at": link.expires_at.isoformat()})
    db().commit()
    log.info("admin %s made registration link %s for %r", g.admin.username, link.id, link.label)
    return _links_page(RegistrationLinkForm(formdata=None),
                       new_link=url_for("lti.register_with_link", token=token, _external=True))


@bp.post("/registration-links/<int:link_id>/revoke")
@admin_required
def revoke_registration_link(link_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    now = utcnow()
    result = db().execute(update(RegistrationLink)
                          .where(RegistrationLink.id == link_id, RegistrationLink.used_at.is_(None))
                          .values(used_at=now, expires_at=now))
    if result.rowcount != 1:
        db().rollback()
        flash("That link was already used, revoked or removed.")
        return redirect(url_for("admin.registration_links"))
    audit.record("registration_link.revoke", target_type="registration_link", target_id=link_id)
    db().commit()
    flash("The link is revoked: it can no longer be used.")
    return redirect(url_for("admin.registration_links"))


# -- registration requests: what would change, side by side -------------------------------------

def comparison(pending: RegistrationRequest, platform: Platform) -> list[dict[str, Any]]:
    """Rows of (label, registered now, would become, changes?) for the platform detail page."""
    now = current_values(platform)
    rows = []
    for field in PROPOSED_FIELDS:
        proposed = (pending.proposed or {}).get(field)
        if field == "deployment_id":
            listed = {d.deployment_id for d in platform.deployments}
            current = ", ".join(sorted(listed)) or None
            after = None if not proposed else (
                f"{proposed} (already listed)" if proposed in listed else f"{proposed} (would be added, active)")
            rows.append({"label": FIELD_LABELS[field], "now": current, "after": after,
                         "changes": bool(proposed) and proposed not in listed})
            continue
        rows.append({"label": FIELD_LABELS[field], "now": now[field], "after": proposed,
                     "changes": now[field] != proposed})
    return rows


def pending_requests(platform: Platform) -> list[dict[str, Any]]:
    rows = db().scalars(select(RegistrationRequest).where(
        RegistrationRequest.platform_id == platform.id, RegistrationRequest.status == PENDING)
        .order_by(RegistrationRequest.created_at))
    return [{"request": row, "rows": comparison(row, platform)} for row in rows]


def pending_request_counts() -> dict[int, int]:
    """Platform id -> how many registration requests wait for a decision."""
    rows = db().execute(select(RegistrationRequest.platform_id, func.count())
                        .where(RegistrationRequest.status == PENDING)
                        .group_by(RegistrationRequest.platform_id))
    return {platform_id: count for platform_id, count in rows}


def _decide(request_id: int, decision: str) -> tuple[Platform, bool]:
    """Record the decision (and, for an approval, apply the values); the platform, and whether
    this request made the decision (False: someone had decided it already)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pending = db().get(RegistrationRequest, request_id)
    if pending is None:
        abort(404)
    platform = db().get(Platform, pending.platform_id)
    # A conditional UPDATE: of two admins deciding at once, one decides.
    claimed = db().execute(update(RegistrationRequest)
                           .where(RegistrationRequest.id == request_id,
                                  RegistrationRequest.status == PENDING)
                           .values(status=decision, decided_at=utcnow(), decided_by=g.admin.id))
    if claimed.rowcount != 1:
        db().rollback()
        flash("That request had already been decided.")
        return platform, False
    changes = apply_request(pending, platform) if decision == APPROVED else {}
    proposed = {k: (pending.proposed or {}).get(k) for k in PROPOSED_FIELDS}
    audit.record(f"platform.registration_request.{'approve' if decision == APPROVED else 'reject'}",
                 target=platform, detail={"request_id": request_id, "changes": changes,
                                          "proposed": proposed})
    db().commit()
    log.info("admin %s %s registration request %s for platform %s", g.admin.username, decision,
             request_id, platform.id)
    return platform, True


@bp.post("/registration-requests/<int:request_id>/approve")
@admin_required
def approve_registration_request(request_id: int):
    platform, decided = _decide(request_id, APPROVED)
    if decided:
        flash(f"Approved: the new registration details now apply to “{platform.name}”.")
    return redirect(url_for("admin.platform_detail", platform_id=platform.id))


@bp.post("/registration-requests/<int:request_id>/reject")
@admin_required
def reject_registration_request(request_id: int):
    platform, decided = _decide(request_id, REJECTED)
    if decided:
        flash(f"Rejected: nothing about “{platform.name}” changed.")
    return redirect(url_for("admin.platform_detail", platform_id=platform.id))
