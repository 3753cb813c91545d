"""/lti/register and /lti/register/<token>: LTI Dynamic Registration started by a platform's admin.

Who may start one: in production (OPEN_DYNAMIC_REGISTRATION False) only the holder of a one-time
link that a provider admin made; anyone else gets a page saying how to get a link, and the tool
contacts nothing. (An admin's session cookie is SameSite=Strict and sent to /admin only, so it
never reaches these pages, least of all inside the platform's iframe: an admin registering their
own VLE makes a link for it, which takes one click.) The quick start keeps /lti/register open (trials
against a local VLE), with every other rule applied.

Moodle and Canvas append their own query parameters to the URL pasted into them, so the link's
token is in the path. The confirmation form posts to /lti/register with the token in a hidden
field, where the link is used up atomically just before the tool registers with the platform.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from flask import abort, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from ..permissions import public
from .cross_site import WHAT_FIXES_IT, explain, insecure_cross_site_frame
from ..web import rate_limited
from .registration import (SCOPES, TOOL_NAME, RegistrationFailed, check_configuration,
                           describe_platform, fetch_configuration, send_registration)
from .registration_store import (Outcome, RegistrationSource, claim_link, release_link,
                                 save_registration, usable_link)
from .views import bp

log = logging.getLogger(__name__)
_slots_lock = threading.Lock()

START_FROM_PLATFORM = ("Paste the registration link the tool's provider gave you into your "
                       "platform's LTI registration screen (Moodle: Site administration → Plugins → "
                       "Activity modules → External tool → Manage tools → Tool URL; Canvas: "
                       "Admin → Developer Keys → + Developer Key → + LTI Registration).")


REGISTRATION_ACTION = "keep the registration's confirmation form inside your platform's page"


class RegisterForm(FlaskForm):
    openid_configuration = HiddenField(validators=[DataRequired(), Length(max=2000)])
    registration_token = HiddenField(validators=[DataRequired(), Length(max=8000)])
    link = HiddenField(validators=[Length(max=200)])


class LinkUnusable(RegistrationFailed):
    status = 410
    title = "This registration link cannot be used"
    fix = ("Registration links work once and for a short time. Ask the tool's provider for a new "
           "link, then start the registration again from your platform.")


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    return _registration(request.form.get("link", "") if request.method == "POST" else "")


@bp.get("/register/<token>")
@public
def register_with_link(token: str):
    if not token:
        abort(404)
    return _registration(token)


def _registration(link_token: str):
    refused = rate_limited("register", "REGISTRATION_RATE_LIMIT")
    if refused is not None:  # each request may make the tool fetch: bounded per client address
        return refused
    if request.method == "GET" and insecure_cross_site_frame():
        # The confirmation form's cookie would never come back: refuse before any exchange.
        raise explain(REGISTRATION_ACTION)
    source, link = _who_may_register(link_token)
    form = RegisterForm() if request.method == "POST" else RegisterForm(formdata=request.args)
    if request.method == "GET":
        form.link.data = link_token
    _require_parameters(form)
    if request.method == "POST":
        return _complete(form, source, link)
    with _fetch_slot():
        config, fetched_url = fetch_configuration(form.openid_configuration.data,
                                                  form.registration_token.data)
        check_configuration(config, fetched_url, link.expected_issuer if link else None)
    return render_template("lti/register.html", form=form, platform=describe_platform(config),
                           scopes=SCOPES, tool_name=TOOL_NAME, link=link)


def _who_may_register(link_token: str):
    if link_token:
        link = usable_link(link_token)
        if link is None:
            raise LinkUnusable("This registration link has expired, has been used already, or "
                               "does not exist.")
        return RegistrationSource(link_id=link.id), link
    if current_app.config["OPEN_DYNAMIC_REGISTRATION"]:
        return RegistrationSource(), None
    raise RegistrationFailed(
        "This tool registers a platform only through a one-time registration link from the "
        "tool's provider.", title="Registration needs a link from the tool's provider",
        fix="Ask the tool's provider for a registration link for your platform. " + START_FROM_PLATFORM,
        status=403)


def _require_parameters(form: RegisterForm) -> None:
    if not form.openid_configuration.data:
        raise RegistrationFailed("The platform did not send openid_configuration.",
                                 title="Start the registration from your platform",
                                 fix=START_FROM_PLATFORM)
    if not (form.registration_token.data or "").strip():
        raise RegistrationFailed(
            "The platform did not send a registration token, without which the tool cannot "
            "register with it.", title="Start the registration from your platform",
            fix="Start the registration from your platform's LTI registration screen, which sends "
                "the token. " + START_FROM_PLATFORM)


@contextmanager
def _fetch_slot() -> Iterator[None]:
    """At most REGISTRATION_CONCURRENT_FETCHES registration exchanges at once in this process:
    slow platforms (or addresses that never answer) cannot take every worker thread."""
    slots = _slots()
    if not slots.acquire(blocking=False):
        log.warning("registration refused: %s exchanges already under way", current_app.config[
            "REGISTRATION_CONCURRENT_FETCHES"])
        raise RegistrationFailed("The tool is busy with other registrations.",
                                 title="The tool is busy", fix="Try again in a minute.", status=503)
    try:
        yield
    finally:
        slots.release()


def _slots() -> threading.BoundedSemaphore:
    size = int(current_app.config["REGISTRATION_CONCURRENT_FETCHES"])
    with _slots_lock:
        held = current_app.extensions.get("registration_slots")
        if held is None or held[0] != size:
            held = (size, threading.BoundedSemaphore(size))
            current_app.extensions["registration_slots"] = held
    return held[1]


def _complete(form: RegisterForm, source: RegistrationSource, link):
    if not form.validate():
        if not request.is_secure and not request.cookies:
            # Browsers that do not say where a request comes from: the usual cause is an http
            # tool on another site than the platform, whose cookie never comes back.
            raise RegistrationFailed(
                "Your browser did not send back the tool's cookie with the confirmation form. That "
                "always happens when the tool is served over plain http from another site than "
                "your platform.", title="The tool must be served over HTTPS for this platform",
                fix=WHAT_FIXES_IT)
        raise RegistrationFailed("The confirmation form expired or was tampered with.",
                                 fix="Start the registration again from the platform.")
    with _fetch_slot():
        if link is not None and not claim_link(link.id):
            raise LinkUnusable("This registration link has just been used.")
        try:
            outcome = _register_and_save(form, source, link)
        except Exception:
            if link is not None:
                release_link(link.id)
            raise
    if outcome.request is not None:
        return render_template("lti/registration_pending.html", platform=outcome.platform)
    return render_template("lti/registered.html", platform=outcome.platform)


def _register_and_save(form: RegisterForm, source: RegistrationSource, link) -> Outcome:
    # The configuration is read again: the copy behind the confirmation page is not trusted.
    token = form.registration_token.data
    config, fetched_url = fetch_configuration(form.openid_configuration.data, token)
    check_configuration(config, fetched_url, link.expected_issuer if link else None)
    registration = send_registration(config, token)
    return save_registration(config, registration, source)


__all__ = ["register", "register_with_link"]
