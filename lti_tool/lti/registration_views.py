"""/lti/register: LTI Dynamic Registration started by a platform's admin."""
from __future__ import annotations

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from .registration import SCOPES, TOOL_NAME, RegistrationFailed, ToolRegistration, describe_platform
from .views import bp


class RegisterForm(FlaskForm):
    openid_configuration = HiddenField(validators=[DataRequired(), Length(max=2000)])
    registration_token = HiddenField(validators=[Length(max=8000)])


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm() if request.method == "POST" else RegisterForm(formdata=request.args)
    if not form.openid_configuration.data:
        raise RegistrationFailed("The platform did not send openid_configuration.",
                                 title="Start the registration from your platform",
                                 fix="Paste this page's address into your platform's LTI "
                                     "registration screen (Moodle: Site administration → Plugins → "
                                     "External tool → Manage tools; Canvas: Developer Keys → LTI "
                                     "Registration).")
    registration = ToolRegistration(form.openid_configuration.data, form.registration_token.data)
    if request.method == "GET":
        config = registration.get_openid_configuration()
        return render_template("lti/register.html", form=form, platform=describe_platform(config),
                               scopes=SCOPES, tool_name=TOOL_NAME)
    if not form.validate():
        raise RegistrationFailed("The confirmation form expired or was tampered with.",
                                 fix="Start the registration again from the platform.")
    platform = registration.run()
    return render_template("lti/registered.html", platform=platform)
