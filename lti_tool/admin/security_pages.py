"""Account security: two-factor enrolment, recovery codes, and the admin's own sessions."""
from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for

from .. import audit
from ..db import db
from ..models import AdminUser
from ..security_models import AdminSession
from . import lockout, totp
from .access import COMPLETE, active_sessions, admin_or_enrolling, admin_required, current_session, end_session
from .account import LOCKED, complete_sign_in
from .account_forms import CodeForm, EndSessionForm
from .blueprint import bp


def _no_store(response):
    """Pages with secrets on them (the TOTP secret, recovery codes) are never cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _account_page(form: CodeForm, status: int = 200):
    user = g.admin
    page = render_template("admin/account.html", user=user, form=form, end_form=EndSessionForm(),
                           sessions=active_sessions(user.id), current=g.admin_session,
                           codes_left=len(user.recovery_codes or []))
    return page, status


@bp.get("/account")
@admin_required
def account():
    return _account_page(CodeForm(formdata=None))


def _setup_page(user: AdminUser, form: CodeForm, status: int = 200):
    uri = totp.provisioning_uri(user.totp_secret, user.username, request.host)
    page = render_template("admin/totp_setup.html", form=form, qr=totp.qr_data_uri(uri),
                           secret=totp.formatted_secret(user.totp_secret), uri=uri,
                           enrolling=g.get("admin") is None)
    return _no_store(make_response(page, status))


def _codes_page(codes: list[str], first_time: bool):
    page = render_template("admin/recovery_codes.html", codes=codes, first_time=first_time)
    return _no_store(make_response(page))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@admin_or_enrolling
def totp_setup(user: AdminUser):
    if user.totp_enabled_at is not None:
        flash("Two-factor authentication is already on for your account.")
        return redirect(url_for("admin.account"))
    if not user.totp_secret:  # a pending secret, kept until confirmed so a reload shows the same one
        user.totp_secret = totp.new_secret()
        db().commit()
    form = CodeForm()
    if not form.validate_on_submit():
        return _setup_page(user, form, 400 if form.errors else 200)
    step = totp.matching_step(user.totp_secret, form.code.data)
    if step is None:
        form.code.errors = ["That code does not match. Check the app shows this account, and enter "
                            "the newest code."]
        return _setup_page(user, form, 400)
    codes = totp.enrol(user, step)
    audit.record("admin.totp_enrolled", target=user, actor=f"admin:{user.username}")
    if current_session().stage != COMPLETE:  # enrolment was the second step of this sign-in
        complete_sign_in(user, "totp_enrolment")
    db().commit()
    return _codes_page(codes, first_time=True)


@bp.post("/account/recovery-codes")
@admin_required
def regenerate_recovery_codes():
    user, form = g.admin, CodeForm()
    if user.totp_enabled_at is None:
        return redirect(url_for("admin.account"))
    if not form.validate_on_submit():
        return _account_page(form, 400)
    if lockout.account_locked(user.username, user):
        form.code.errors = [LOCKED]
        return _account_page(form, 429)
    if not totp.use_totp_code(user, form.code.data):
        lockout.record_failure(user.username, user, request.remote_addr, "code")
        db().commit()
        form.code.errors = ["That code is not right, or it has been used already. Wait for the next one."]
        return _account_page(form, 400)
    codes = totp.new_recovery_codes(user)
    audit.record("admin.recovery_codes_regenerated", target=user)
    db().commit()
    return _codes_page(codes, first_time=False)


@bp.post("/account/sessions/end")
@admin_required
def end_other_sessions():
    """End one of the admin's other sessions (session_ref), or all of them (session_ref=others)."""
    form = EndSessionForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.account"))
    ref = form.session_ref.data
    mine = [row for row in active_sessions(g.admin.id) if row.id != g.admin_session.id]
    ended = [row for row in mine if ref in ("others", row.id)]
    for row in ended:
        end_session(row)
        audit.record("admin.session_ended", target_type=AdminSession.__tablename__,
                     target_id=row.id[:12], detail={"admin": g.admin.username, "ip": row.ip})
    db().commit()
    flash(f"Ended {len(ended)} other session{'' if len(ended) == 1 else 's'}." if ended
          else "That session had ended already.")
    return redirect(url_for("admin.account"))
