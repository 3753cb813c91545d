"""Provider admin pages: platforms and their deployments, provider settings."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import STATUSES, Deployment, Platform
from ..settings import PROVIDER_SETTINGS, all_settings, set_setting
from .access import admin_required
from .blueprint import bp
from .forms import DeploymentForm, PlatformForm, SettingsForm, StatusForm

log = logging.getLogger(__name__)


@bp.get("/")
@admin_required
def platforms():
    rows = db().scalars(select(Platform).order_by(Platform.name)).all()
    return render_template("admin/platforms.html", platforms=rows, status_form=StatusForm())


def _fill_platform(platform: Platform, form: PlatformForm) -> None:
    for field in ("name", "issuer", "client_id", "auth_login_url", "auth_token_url",
                  "key_set_url"):
        setattr(platform, field, getattr(form, field).data.strip())
    platform.auth_audience = (form.auth_audience.data or "").strip() or None
    platform.status = form.status.data


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
    platform = _platform_or_404(platform_id)
    return render_template("admin/platform_detail.html", platform=platform,
                           deployment_form=DeploymentForm(), status_form=StatusForm())


@bp.route("/platforms/<int:platform_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_platform(platform_id: int):
    platform = _platform_or_404(platform_id)
    form = PlatformForm(obj=platform)
    if form.validate_on_submit():
        _fill_platform(platform, form)
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
    platform.status = form.status.data
    db().commit()
    log.info("admin %s set platform %s to %s", g.admin.username, platform.id, platform.status)
    flash(f"“{platform.name}” is now {platform.status}.")
    return redirect(url_for("admin.platform_detail", platform_id=platform.id))


@bp.post("/platforms/<int:platform_id>/deployments")
@admin_required
def add_deployment(platform_id: int):
    platform = _platform_or_404(platform_id)
    form = DeploymentForm()
    if not form.validate_on_submit():
        return render_template("admin/platform_detail.html", platform=platform, deployment_form=form,
                               status_form=StatusForm()), 400
    db().add(Deployment(platform_id=platform.id, deployment_id=form.deployment_id.data.strip(),
                        label=form.label.data or None))
    try:
        db().commit()
    except IntegrityError:
        db().rollback()
        form.deployment_id.errors.append("This deployment ID is already listed.")
        return render_template("admin/platform_detail.html", platform=platform, deployment_form=form,
                               status_form=StatusForm()), 400
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
    deployment.status = form.status.data
    db().commit()
    flash(f"Deployment {deployment.deployment_id} is now {deployment.status}.")
    return redirect(url_for("admin.platform_detail", platform_id=deployment.platform_id))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    form = SettingsForm()
    if form.validate_on_submit():
        for spec in PROVIDER_SETTINGS:
            set_setting(spec.key, bool(getattr(form, spec.key).data))
        db().commit()
        flash("Settings saved.")
        return redirect(url_for("admin.settings"))
    if request.method == "GET":
        for spec, value in all_settings():
            getattr(form, spec.key).data = value
    return render_template("admin/settings.html", form=form, specs=PROVIDER_SETTINGS)


__all__ = ["bp", "STATUSES"]
