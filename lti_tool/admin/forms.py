from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from ..lti.outbound import CREDENTIALS, INSECURE, url_problem
from ..models import STATUSES


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _https_or_local(form, field):
    """The URL is parsed, not prefix-matched: http://localhost.attacker.example is not localhost.
    Plain http is allowed for this machine (localhost, 127.0.0.1, [::1]) or where the
    configuration allows it (REQUIRE_HTTPS_PLATFORM_URLS False: trials against a local VLE)."""
    value = (field.data or "").strip()
    if not value:
        return
    problem = url_problem(value, require_https=current_app.config["REQUIRE_HTTPS_PLATFORM_URLS"])
    if problem == INSECURE:
        raise ValidationError("Use an https:// address (http is allowed only for localhost).")
    if problem == CREDENTIALS:
        raise ValidationError("Leave out the user name and password: the address must not contain them.")
    if problem:
        raise ValidationError("Enter a web address that starts with https://.")


class PlatformForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)],
                       description="For your own reference, e.g. “Canvas – Northfield Trust”.")
    issuer = StringField("Issuer (iss)", validators=[DataRequired(), Length(max=500), _https_or_local],
                         description="Canvas: https://canvas.instructure.com. Moodle: the site's address.")
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=255)],
                            description="Canvas: the developer key's ID. Moodle: the tool's Client ID.")
    auth_login_url = StringField("Authentication request URL",
                                 validators=[DataRequired(), URL(require_tld=False), Length(max=1000), _https_or_local],
                                 description="Canvas: https://sso.canvaslms.com/api/lti/authorize_redirect. Moodle: <site>/mod/lti/auth.php")
    auth_token_url = StringField("Access token URL",
                                 validators=[DataRequired(), URL(require_tld=False), Length(max=1000), _https_or_local],
                                 description="Canvas: https://sso.canvaslms.com/login/oauth2/token. Moodle: <site>/mod/lti/token.php")
    key_set_url = StringField("Public keyset URL",
                              validators=[DataRequired(), URL(require_tld=False), Length(max=1000), _https_or_local],
                              description="Canvas: https://sso.canvaslms.com/api/lti/security/jwks. Moodle: <site>/mod/lti/certs.php")
    auth_audience = StringField("Token audience (optional)", validators=[Optional(), Length(max=1000)],
                                description="Only if the platform asks for an aud other than the token URL.")
    status = SelectField("Status", choices=[SelectChoice(s, s.title()) for s in STATUSES], default="active")
    deployment_ids = TextAreaField("Deployment IDs (one per line)", validators=[Optional(), Length(max=5000)])

    def deployment_id_list(self) -> list[str]:
        return sorted({line.strip() for line in (self.deployment_ids.data or "").splitlines() if line.strip()})


class DeploymentForm(FlaskForm):
    deployment_id = StringField("Deployment ID", validators=[DataRequired(), Length(max=255)])
    label = StringField("Label", validators=[Optional(), Length(max=200)])


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[SelectChoice(s, s.title()) for s in STATUSES])


LINK_LIFETIMES = [SelectChoice("1", "1 hour"), SelectChoice("24", "24 hours"), SelectChoice("168", "7 days")]


class RegistrationLinkForm(FlaskForm):
    label = StringField("Which VLE is this for", validators=[DataRequired(), Length(max=200)],
                        description="Shown on the registration page and in this list, e.g. "
                                    "“Moodle – Northfield Trust”.")
    expected_issuer = StringField("Platform issuer (optional)",
                                  validators=[Optional(), Length(max=500), _https_or_local],
                                  description="If you know it: the link then works for this "
                                              "platform only. Moodle: the site's address. Canvas: "
                                              "https://canvas.instructure.com.")
    lifetime_hours = SelectField("Link expires after", choices=LINK_LIFETIMES, default="24")


class ConfirmForm(FlaskForm):
    """A button's form: only the CSRF token (revoke a link, approve or reject a request)."""


def settings_form(specs) -> FlaskForm:
    """The settings page's form, one field per provider setting: a checkbox for a switch, a whole
    number within its bounds for a retention period, a text box for a text. A number or text
    left blank goes back to the configuration's default."""

    class SettingsForm(FlaskForm):
        pass

    for spec in specs:
        if spec.kind == "bool":
            field = BooleanField(spec.label)
        elif spec.kind in ("days", "years"):
            field = IntegerField(spec.label, validators=[Optional(), NumberRange(
                spec.minimum, spec.maximum,
                message=f"Enter a whole number of {spec.kind} from {spec.minimum} to {spec.maximum}.")])
        elif spec.max_length > 300:
            field = TextAreaField(spec.label, validators=[Optional(), Length(max=spec.max_length)])
        else:
            field = StringField(spec.label, validators=[Optional(), Length(max=spec.max_length)])
        setattr(SettingsForm, spec.key, field)
    return SettingsForm()
