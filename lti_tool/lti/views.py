"""The LTI 1.3 endpoints: login, launch, JWKS, Canvas configuration and dynamic registration."""
from __future__ import annotations

import logging

from flask import (Blueprint, current_app, g, jsonify, make_response, redirect, render_template, request, session,
                   url_for)
from flask_wtf.csrf import generate_csrf

from ..auth import remember_launch
from ..permissions import public
from ..core.views import destination
from ..security import learn_origins, platform_origins
from .context import TIME_ZONE_PARAMETER, open_session
from .. import cookieless
from .errors import LaunchError
from ..db import begin_reading, db
from ..models import Platform
from ..security import origin_of
from .cross_site import explain, insecure_cross_site
from .launch import (LAUNCH_ACTION, STATE_COOKIE_PREFIX, NeedsPlatformStorage, ToolMessageLaunch, ToolOIDCLogin,
                     storage_key)
from .state import state_id
from .registration import SCOPES, TOOL_NAME, ToolRegistration

log = logging.getLogger(__name__)
bp = Blueprint("lti", __name__, url_prefix="/lti")


@bp.errorhandler(LaunchError)
def launch_failed(exc: LaunchError):
    # One line per refusal, without the token itself (it may carry personal data).
    log.warning("lti refused: %s: %s (%s %s)", type(exc).__name__, exc.detail, request.method, request.path)
    return render_template("lti/error.html", error=exc), exc.status


@bp.route("/login", methods=["GET", "POST"])
@public  # platforms and browsers call it; signatures and state are its checks
def login():
    # Anonymous, so it writes nothing: its state is signed, not stored (lti/state.py).
    request.values  # noqa: B018  (an oversized body is refused, 413, before anything else)
    begin_reading()
    insecure = insecure_cross_site()
    if insecure and not request.values.get("lti_storage_target"):
        # Nothing can carry the state to the launch (Moodle offers no platform storage): say so
        # now rather than after the platform's round trip.
        raise explain(LAUNCH_ACTION)
    login = ToolOIDCLogin()
    url = login.build_redirect_url(url_for("lti.launch", _external=True))
    if login.storage_target:
        # The platform offers postMessage storage (Canvas does; Moodle 5.0 does not): keep the state binding there
        # too, for browsers that block the tool's cookie inside the iframe.
        new_window = url_for("lti.login", **{k: v for k, v in request.values.items()
                                               if k != "lti_storage_target"}, _external=True)
        response = make_response(render_template(
            "lti/storage_login.html", next_url=url, target=login.storage_target,
            origin=origin_of(login.platform.auth_login_url), key=storage_key(login.state),
            value=login.binding, new_window=None if insecure else new_window))
    else:
        response = redirect(url, code=302)
    login.set_state_cookie(response)
    # The access log has the request; this line is for tracing a platform's set-up.
    log.debug("lti login: iss=%s client_id=%s", request.values.get("iss"), request.values.get("client_id"))
    return response


@bp.route("/launch", methods=["POST"])
@public
def launch():
    try:
        message = ToolMessageLaunch().validate()
    except NeedsPlatformStorage as need:
        platform = db().get(Platform, need.row.platform_id)
        return render_template("lti/storage_launch.html", id_token=request.form.get("id_token", ""),
                               state=need.row.state, key=storage_key(need.row.state),
                               target=need.row.storage_target, origin=origin_of(platform.auth_login_url),
                               insecure_cross_site=insecure_cross_site())
    platform = learn_origins(message.platform, message.claims())
    secret, secret_hash = cookieless.new_secret() if message.cookieless else (None, None)
    storage = {"target": message.storage_target, "origin": origin_of(platform.auth_login_url)}
    ctx = open_session(platform, message.deployment, message.claims(), cookieless=message.cookieless,
                       frame_origins=sorted(platform_origins(platform)), secret_hash=secret_hash,
                       storage=storage)
    log.info("lti launch: platform=%s course=%s person=%s role=%s type=%s", ctx.platform_id,
             ctx.course_id, ctx.person_id, ctx.role, ctx.message_type)
    # Straight to the page the launch opens (one redirect fewer on every launch), or to the
    # landing page where that page depends on more than the launch.
    g.ctx = ctx
    target = destination(ctx) or url_for("core.landing")
    if secret is not None:
        # Cookieless: the secret goes to the page in this response's body, never in a URL, and
        # the session is not added to any cookie's list of sessions.
        response = cookieless.handoff(ctx.session_id, secret, target, ctx.services)
    else:
        remember_launch(ctx.session_id)
        if "csrf_token" not in session:
            generate_csrf()  # now, while the session changes anyway: the first page then leaves it as it is
        response = redirect(target, code=303)
    # The state cookie has done its job.
    response.delete_cookie(STATE_COOKIE_PREFIX + state_id(request.form.get("state", "")), path="/lti/")
    return response


@bp.get("/jwks.json")
@public
def jwks():
    response = jsonify(current_app.extensions["keystore"].jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/config/canvas.json")
@public
def canvas_config():
    """The JSON a Canvas admin pastes into an LTI developer key (Admin → Developer Keys → LTI Key)."""
    launch_url = url_for("lti.launch", _external=True)
    domain = request.host
    return jsonify({
        "title": TOOL_NAME,
        "description": ToolRegistration.description,
        "oidc_initiation_url": url_for("lti.login", _external=True),
        "target_link_uri": launch_url,
        "public_jwk_url": url_for("lti.jwks", _external=True),
        "scopes": SCOPES,
        "extensions": [{
            "domain": domain,
            "tool_id": "npq-lti-tool",
            "platform": "canvas.instructure.com",
            "privacy_level": "public",
            "settings": {
                "text": TOOL_NAME,
                "placements": [
                    {"placement": "link_selection", "message_type": "LtiDeepLinkingRequest",
                     "target_link_uri": launch_url, "text": "Add NPQ activities"},
                    {"placement": "assignment_selection", "message_type": "LtiDeepLinkingRequest",
                     "target_link_uri": launch_url, "text": "Add NPQ activity"},
                    {"placement": "course_navigation", "message_type": "LtiResourceLinkRequest",
                     "target_link_uri": launch_url, "text": TOOL_NAME, "default": "disabled"},
                ],
            },
        }],
        # Canvas fills these in at each launch (or sends the variable's name where it cannot).
        "custom_fields": {"canvas_course_id": "$Canvas.course.id",
                          "course_sis_id": "$Canvas.course.sisSourceId",
                          TIME_ZONE_PARAMETER: "$Person.address.timezone"},
    })


from . import registration_views  # noqa: E402,F401  (registers /lti/register on bp)
