"""Provider admin pages: platforms and their deployments, provider settings."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..db import db
from ..models import ACTIVE, PENDING, STATUSES, Deployment, Platform
from ..settings import (PROVIDER_SETTINGS, WRITEUP_SETTINGS, WriteupPolicy, all_settings, set_setting,
                        set_writeup_policy, writeup_policy)
from .access import admin_required
from .blueprint import bp
from .forms import ConfirmForm, DeploymentForm, PlatformForm, StatusForm, settings_form
from .registrations import pending_request_counts, pending_requests

# The fields of a platform whose every change is audited with its before and after values.
AUDITED_FIELDS = ("name", "issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url",
                  "auth_audience", "status")

log = logging.getLogger(__name__)


@bp.get("/")
@admin_required
def platforms():
    rows = db().scalars(select(Platform).order_by(Platform.name)).all()
    return render_template("admin/platforms.html", platforms=rows, status_form=StatusForm(),
                           waiting=pending_request_counts())


def _fill_platform(platform: Platform, form: PlatformForm) -> dict:
    """Copy the form into the platform; the changed fields as {field: {before, after}}."""
    before = {field: getattr(platform, field) for field in AUDITED_FIELDS}
    for field in ("name", "issuer", "client_id", "auth_login_url", "auth_token_url",
                  "key_set_url"):
        setattr(platform, field, getattr(form, field).data.strip())
    platform.auth_audience = (form.auth_audience.data or "").strip() or None
    platform.status = form.status.data
    if before["key_set_url"] != platform.key_set_url:
        # Keys cached from the old address must not verify launches for the new one.
        platform.jwks_cache, platform.jwks_fetched_at, platform.jwks_retry_at = None, None, None
    return {field: {"before": before[field], "after": getattr(platform, field)}
            for field in AUDITED_FIELDS if before[field] != getattr(platform, field)}


@bp.route("/platforms/new", methods=["GET", "POST"])
@admin_required
def new_platform():
    form = PlatformForm()
    if form.validate_on_submit():
        platform = Platform(registered_via="admin")
        _fill_platform(platform, form)
        db().add(platform)
        try:
            db().flush()
            if form.deployment_ids.data:
                for dep in form.deployment_id_list():
                    db().add(Deployment(platform_id=platform.id, deployment_id=dep, label="Added by admin"))
            audit.record("platform.create", target=platform, detail={
                **{field: getattr(platform, field) for field in AUDITED_FIELDS},
                "deployments": form.deployment_id_list()})
            db().commit()
        except IntegrityError:
            db().rollback()
            form.client_id.errors.append("A platform with this issuer and client ID is already registered.")
            return render_template("admin/platform_form.html", form=form, platform=None), 400
        flash(f"Platform “{platform.name}” added.")
        return redirect(url_for("admin.platform_detail", platform_id=platform.id))
    return render_template("admin/platform_form.html", form=form, platform=None), 400 if form.errors else 200


def _platform_or_404(platform_id: int) -> Platform:
    platform = db().get(Platform, platform_id)
    if platform is None:
        abort(404)
    return platform


@bp.get("/platforms/<int:platform_id>")
@admin_required
def platform_detail(platform_id: int):
    return _detail_page(_platform_or_404(platform_id), DeploymentForm())


def _detail_page(platform: Platform, deployment_form: DeploymentForm, status: int = 200):
    return render_template("admin/platform_detail.html", platform=platform,
                           deployment_form=deployment_form, status_form=StatusForm(),
                           requests=pending_requests(platform), decision_form=ConfirmForm()), status


@bp.route("/platforms/<int:platform_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_platform(platform_id: int):
    platform = _platform_or_404(platform_id)
    form = PlatformForm(obj=platform)
    if form.validate_on_submit():
        changes = _fill_platform(platform, form)
        if changes:
            audit.record("platform.update", target=platform, detail=changes)
        try:
            db().commit()
        except IntegrityError:
            db().rollback()
            form.client_id.errors.append("A platform with this issuer and client ID is already registered.")
            return render_template("admin/platform_form.html", form=form, platform=platform), 400
        flash("Platform saved.")
        return redirect(url_for("admin.platform_detail", platform_id=platform.id))
    return render_template("admin/platform_form.html", form=form, platform=platform), 400 if form.errors else 200


@bp.post("/platforms/<int:platform_id>/status")
@admin_required
def platform_status(platform_id: int):
    platform = _platform_or_404(platform_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    before, platform.status = platform.status, form.status.data
    audit.record("platform.status", target=platform, detail={"before": before, "after": platform.status})
    db().commit()
    log.info("admin %s set platform %s to %s", g.admin.username, platform.id, platform.status)
    flash(_status_news(f"“{platform.name}”", before, platform.status))
    return redirect(url_for("admin.platform_detail", platform_id=platform.id))


@bp.post("/platforms/<int:platform_id>/deployments")
@admin_required
def add_deployment(platform_id: int):
    platform = _platform_or_404(platform_id)
    form = DeploymentForm()
    if not form.validate_on_submit():
        return _detail_page(platform, form, 400)
    deployment = Deployment(platform_id=platform.id, deployment_id=form.deployment_id.data.strip(),
                            label=form.label.data or None)
    db().add(deployment)
    try:
        db().flush()
        audit.record("deployment.add", target=deployment, detail={
            "platform_id": platform.id, "deployment_id": deployment.deployment_id,
            "status": deployment.status})
        db().commit()
    except IntegrityError:
        db().rollback()
        form.deployment_id.errors.append("This deployment ID is already listed.")
        return _detail_page(platform, form, 400)
    flash("Deployment added.")
    return redirect(url_for("admin.platform_detail", platform_id=platform.id))


@bp.post("/deployments/<int:deployment_id>/status")
@admin_required
def deployment_status(deployment_id: int):
    deployment = db().get(Deployment, deployment_id)
    if deployment is None:
        abort(404)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    before, deployment.status = deployment.status, form.status.data
    audit.record("deployment.status", target=deployment, detail={
        "platform_id": deployment.platform_id, "deployment_id": deployment.deployment_id,
        "before": before, "after": deployment.status})
    db().commit()
    flash(_status_news(f"Deployment {deployment.deployment_id}", before, deployment.status))
    return redirect(url_for("admin.platform_detail", platform_id=deployment.platform_id))


def _status_news(what: str, before: str, after: str) -> str:
    """The flash message for a status button: approving or rejecting what waited says so."""
    if before == PENDING and after != PENDING:
        return f"{what} {'approved' if after == ACTIVE else 'rejected'}: it is now {after}."
    return f"{what} is now {after}."


def _submitted_value(spec, field):
    """What the settings form says for one setting; None for a blank number or text (the default)."""
    if spec.kind == "bool":
        return bool(field.data)
    if spec.kind == "text":
        text = (field.data or "").replace("\r\n", "\n").replace("\x00", "").strip()
        return text or None
    return field.data


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    form = settings_form(PROVIDER_SETTINGS)
    if form.validate_on_submit():
        before = {spec.key: value for spec, value in all_settings()}
        for spec in PROVIDER_SETTINGS:
            set_setting(spec.key, _submitted_value(spec, getattr(form, spec.key)))
        db().flush()
        after = {spec.key: value for spec, value in all_settings()}
        changed = {key: {"before": before[key], "after": after[key]} for key in before if before[key] != after[key]}
        changed.update(_save_writeup_policies())
        if changed:
            audit.record("settings.update", target_type="settings", detail=changed)
        db().commit()
        flash("Settings saved.")
        return redirect(url_for("admin.settings"))
    if request.method == "GET":
        for spec, value in all_settings():
            getattr(form, spec.key).data = value
    groups: dict[str, list] = {}
    for spec in PROVIDER_SETTINGS:
        groups.setdefault(spec.group, []).append(spec)
    return render_template("admin/settings.html", form=form, groups=groups, writeup_specs=WRITEUP_SETTINGS,
                           programmes=_writeup_programmes()), 400 if form.errors else 200


def _writeup_programmes() -> list[tuple[str, str, WriteupPolicy]]:
    """(code, title, policy) for every programme with write-ups."""
    from ..content import catalogue  # noqa: PLC0415 (the packs load on first use)

    return [(code, p.title, writeup_policy(code)) for code, p in sorted(catalogue().items()) if p.templates]


def _save_writeup_policies() -> dict:
    """Each programme's policy as its two checkboxes say; only for programmes the submitted page
    showed (an unticked box is simply absent, so a form without the section must change nothing)."""
    changed: dict = {}
    shown = set(request.form.getlist("writeups-shown"))
    for code, _title, _policy in _writeup_programmes():
        if code not in shown:
            continue
        changed.update(set_writeup_policy(code, WriteupPolicy(
            assessed=request.form.get(f"writeups-assessed-{code}") == "y",
            count_for_engagement=request.form.get(f"writeups-engagement-{code}") == "y")))
    return changed


__all__ = ["bp", "STATUSES"]
