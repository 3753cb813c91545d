"""Forms of the admin second factor and the Account security page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

# What phones and password managers look for to offer a one-time code, and a digit keypad.
_CODE_INPUT = {"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false",
               "autocapitalize": "off", "class": "code-input"}


class CodeForm(FlaskForm):
    code = StringField("Code from your authenticator app",
                       validators=[DataRequired("Enter the 6-digit code."), Length(max=12)],
                       description="6 digits. A new code appears every 30 seconds.",
                       render_kw=_CODE_INPUT)


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField("Recovery code",
                                validators=[DataRequired("Enter one of your recovery codes."),
                                            Length(max=40)],
                                description="One of the codes you saved when you set up two-factor "
                                            "authentication, like abcde-fghjk. Each works once.",
                                render_kw={"autocomplete": "off", "spellcheck": "false",
                                           "autocapitalize": "off"})


class EndSessionForm(FlaskForm):
    session_ref = HiddenField(validators=[DataRequired(), Length(max=64)])
