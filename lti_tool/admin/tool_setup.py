"""The tool's own addresses for a VLE's admin (Canvas and Moodle), and its signing keys.

Everything on the page is what a VLE admin pastes into Canvas or Moodle, so each value sits in a
read-only box that can be selected and copied without JavaScript (copy buttons are added by
copy.js). Rotating the keys here does what `flask keys rotate` does, audited the same way.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from .. import audit
from ..db import db
from .access import admin_required
from .blueprint import bp


class RotateKeysForm(FlaskForm):
    confirm = BooleanField("I understand that the current key stops signing now",
                           validators=[DataRequired("Tick the box to confirm the rotation.")])


def _addresses() -> dict[str, str]:
    return {name: url_for(endpoint, _external=True) for name, endpoint in (
        ("login", "lti.login"), ("launch", "lti.launch"), ("jwks", "lti.jwks"),
        ("canvas_json", "lti.canvas_config"), ("register", "lti.register"))}


def _keys() -> dict:
    store = current_app.extensions["keystore"]
    return {"current": store.current().kid, "next": store.upcoming().kid,
            "retired": [key.kid for key in store.previous()],
            "grace_hours": float(current_app.config["KEY_ROTATION_GRACE_HOURS"])}


def _page(form: RotateKeysForm, status: int = 200):
    return render_template("admin/tool_setup.html", urls=_addresses(), keys=_keys(), form=form,
                           open_registration=current_app.config["OPEN_DYNAMIC_REGISTRATION"],
                           https=request.scheme == "https"), status


@bp.get("/tool")
@admin_required
def tool_setup():
    return _page(RotateKeysForm())


@bp.post("/tool/rotate-keys")
@admin_required
def rotate_keys():
    form = RotateKeysForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    hours = float(current_app.config["KEY_ROTATION_GRACE_HOURS"])
    current, upcoming = current_app.extensions["keystore"].rotate(timedelta(hours=hours))
    audit.record("keys.rotate", detail={"current": current, "next": upcoming, "grace_hours": hours})
    db().commit()
    flash(f"Keys rotated. The previous key stays published for {hours:g} hours, so tokens it "
          "signed still verify.")
    return redirect(url_for("admin.tool_setup") + "#keys")
