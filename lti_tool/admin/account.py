"""Admin sign-in and sign-out."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import redirect, render_template, request, session, url_for
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash

from ..db import db, utcnow
from ..models import AdminUser, LoginAttempt
from .access import admin_required
from .blueprint import bp
from .forms import LoginForm

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOGIN_WINDOW = timedelta(minutes=15)


def _too_many_failures(key: str) -> bool:
    since = utcnow() - LOGIN_WINDOW
    count = db().scalar(select(func.count()).select_from(LoginAttempt)
                        .where(LoginAttempt.key == key, LoginAttempt.at > since))
    return count >= MAX_FAILED_LOGINS


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        key = f"{request.remote_addr}|{form.username.data.lower()}"
        if _too_many_failures(key):
            log.warning("admin login rate-limited for %s", request.remote_addr)
            return render_template("admin/login.html", form=form,
                                   error="Too many failed attempts. Wait 15 minutes and try again."), 429
        user = db().scalar(select(AdminUser).where(AdminUser.username == form.username.data))
        if user and check_password_hash(user.password_hash, form.password.data):
            db().execute(delete(LoginAttempt).where(LoginAttempt.key == key))
            user.last_login_at = utcnow()
            db().commit()
            session.clear()
            session["admin_id"] = user.id
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/admin/") else url_for("admin.platforms"))
        db().add(LoginAttempt(key=key))
        db().commit()
        log.warning("admin login failed for %r from %s", form.username.data, request.remote_addr)
        return render_template("admin/login.html", form=form,
                               error="That username and password do not match."), 401
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
@admin_required
def logout():
    session.pop("admin_id", None)
    return redirect(url_for("admin.login"))
