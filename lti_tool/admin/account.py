"""Admin sign-in (password, then the second factor where enrolled) and sign-out."""
from __future__ import annotations

import logging
import random
from typing import Optional
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..db import db, utcnow
from ..models import AdminUser
from ..permissions import public
from . import lockout, totp
from .access import (COMPLETE, PASSWORD, current_session, end_session, forget_cookie,
                     password_stage_required, pending_destination, purge_old_sessions,
                     start_session)
from .account_forms import CodeForm, RecoveryCodeForm
from .blueprint import bp
from .forms import LoginForm

log = logging.getLogger(__name__)

MISMATCH = "That username and password do not match."
LOCKED = ("This account is temporarily locked after too many failed attempts. Wait 15 minutes and "
          "try again, or ask someone with server access to run `flask admin unlock`.")
ADDRESS_LIMIT = "Too many failed sign-in attempts from your network. Wait 15 minutes and try again."
# Checked for an unknown username, so that it takes as long as a wrong password for a real one.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def safe_next(target: Optional[str]) -> Optional[str]:
    return target if target and target.startswith("/admin/") else None


def _login_page(form: LoginForm, error: Optional[str] = None, status: int = 200):
    return render_template("admin/login.html", form=form, error=error), status


def complete_sign_in(user: AdminUser, second_factor: str) -> None:
    """Both factors done (or none needed): a new, complete session (the caller commits)."""
    start_session(user, COMPLETE)
    user.last_login_at = utcnow()
    lockout.record_success(user.username, user)
    audit.record("admin.sign_in", target=user, actor=f"admin:{user.username}",
                 detail={"second_factor": second_factor})
    if random.random() < 0.05:  # now and then, not on every sign-in
        purge_old_sessions()


def _after_sign_in():
    return redirect(safe_next(request.args.get("next")) or url_for("admin.platforms"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return _login_page(form)
    username, address = form.username.data, request.remote_addr
    if lockout.address_blocked(address):
        log.warning("admin sign-in refused: too many failures from %s", address)
        return _login_page(form, ADDRESS_LIMIT, 429)
    user = db().scalar(select(AdminUser).where(AdminUser.username == username))
    if lockout.account_locked(username, user):
        log.warning("admin sign-in refused: %r is locked (attempt from %s)", username, address)
        return _login_page(form, LOCKED, 429)
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, form.password.data):
        lockout.record_failure(username, user, address, "password")
        db().commit()
        log.warning("admin sign-in failed for %r from %s", username, address)
        return _login_page(form, MISMATCH, 401)
    destination = pending_destination(user)
    if destination is None:
        complete_sign_in(user, "none")
        db().commit()
        return _after_sign_in()
    start_session(user, PASSWORD)  # the second factor (or enrolment) is still to come
    lockout.record_success(username, user)  # the password was right: count afresh for the code
    db().commit()
    return redirect(destination + _next_query())


def _next_query() -> str:
    target = safe_next(request.args.get("next"))
    return "?" + urlencode({"next": target}) if target else ""


def _code_page(user: AdminUser, form: CodeForm, recovery: RecoveryCodeForm,
               error: Optional[str] = None, status: int = 200):
    return render_template("admin/login_code.html", form=form, recovery=recovery, error=error,
                           username=user.username), status


def _code_failed(user: AdminUser, step: str, form: CodeForm, recovery: RecoveryCodeForm):
    """A wrong code counts against the account like a wrong password; the lock ends the attempt."""
    if lockout.record_failure(user.username, user, request.remote_addr, step):
        end_session(current_session())
        forget_cookie()
        db().commit()
        return _login_page(LoginForm(formdata=None), LOCKED, 429)
    db().commit()
    field = form.code if step == "code" else recovery.recovery_code
    field.errors = ["That code is not right, or it has been used already. Try the newest code."
                    if step == "code" else "That recovery code is not right, or it has been used."]
    return _code_page(user, form, recovery, status=401)


def _code_step_allowed(user: AdminUser):
    """None when this admin may enter a code now; else the answer to give instead."""
    if user.totp_enabled_at is None:
        return redirect(pending_destination(user) or url_for("admin.login"))
    if lockout.account_locked(user.username, user):
        end_session(current_session())
        forget_cookie()
        db().commit()
        return _login_page(LoginForm(formdata=None), LOCKED, 429)
    return None


@bp.route("/login/code", methods=["GET", "POST"])
@password_stage_required
def login_code(user: AdminUser):
    form, recovery = CodeForm(), RecoveryCodeForm(formdata=None)
    refusal = _code_step_allowed(user)
    if refusal is not None:
        return refusal
    if not form.validate_on_submit():
        return _code_page(user, form, recovery, status=400 if form.errors else 200)
    if not totp.use_totp_code(user, form.code.data):
        return _code_failed(user, "code", form, recovery)
    complete_sign_in(user, "totp")
    db().commit()
    return _after_sign_in()


@bp.post("/login/recovery")
@password_stage_required
def login_recovery(user: AdminUser):
    form, recovery = CodeForm(formdata=None), RecoveryCodeForm()
    refusal = _code_step_allowed(user)
    if refusal is not None:
        return refusal
    if not recovery.validate_on_submit():
        return _code_page(user, form, recovery, status=400)
    if not totp.use_recovery_code(user, recovery.recovery_code.data):
        return _code_failed(user, "recovery_code", form, recovery)
    complete_sign_in(user, "recovery_code")
    audit.record("admin.recovery_code_used", target=user, actor=f"admin:{user.username}",
                 detail={"remaining": len(user.recovery_codes or [])})
    db().commit()
    left = len(user.recovery_codes or [])
    flash(f"You signed in with a recovery code; {left} left. Make new ones on Account security"
          " if you are running low.")
    return _after_sign_in()


@bp.post("/logout")
@public  # anyone may sign out: it ends only the session that the request's own cookie names
def logout():
    row = current_session()
    if row is not None:
        user = db().get(AdminUser, row.admin_id)
        end_session(row)
        audit.record("admin.sign_out", target=user, actor=f"admin:{user.username}" if user else None)
        db().commit()
        flash("You have signed out.")
    forget_cookie()
    return redirect(url_for("admin.login"))
