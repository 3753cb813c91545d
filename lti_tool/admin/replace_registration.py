"""Admin pages: "this registration replaces that one" (a VLE registered again, e.g. when it moved
to HTTPS). Choose the old registration, read the preview, confirm; lti/replace_registration.py
does the work and the audit trail records it."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import audit
from ..db import db
from ..lti import replace_registration as rr
from ..models import Platform
from .access import admin_required
from .blueprint import bp
from .forms import ConfirmForm


def _platform_or_404(platform_id: int) -> Platform:
    platform = db().get(Platform, platform_id)
    if platform is None:
        abort(404)
    return platform


def _candidates(new: Platform) -> list[Platform]:
    """Other registrations, the same issuer's first (a VLE that moved keeps its name, rarely its issuer)."""
    others = db().scalars(select(Platform).where(Platform.id != new.id).order_by(Platform.name)).all()
    return sorted(others, key=lambda p: (p.issuer != new.issuer, p.name.lower()))


def _old_id() -> int | None:
    raw = (request.values.get("old") or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/platforms/<int:platform_id>/replace")
@admin_required
def replace_registration(platform_id: int):
    new = _platform_or_404(platform_id)
    old_id, preview, refused = _old_id(), None, None
    if old_id is not None:
        try:
            preview = rr.preview(old_id, new.id)
        except rr.ReplacementRefused as exc:
            refused = str(exc)
    return render_template("admin/replace_registration.html", platform=new, candidates=_candidates(new),
                           preview=preview, lines=rr.describe(preview) if preview else [], refused=refused,
                           form=ConfirmForm())


@bp.post("/platforms/<int:platform_id>/replace")
@admin_required
def confirm_replace_registration(platform_id: int):
    new = _platform_or_404(platform_id)
    old_id = _old_id()
    if not ConfirmForm().validate() or old_id is None:
        abort(400)
    try:
        done = rr.replace(old_id, new.id)
    except rr.ReplacementRefused as exc:
        db().rollback()
        flash(f"Nothing was changed: {exc}")
        return redirect(url_for("admin.replace_registration", platform_id=new.id, old=old_id), code=303)
    audit.record("platform.replaced", target=new, detail=rr.summary(done))
    db().commit()
    flash(f"“{new.name}” now holds the courses, people and work of “{done.old.name}”, which is disabled.")
    return redirect(url_for("admin.platform_detail", platform_id=new.id), code=303)
