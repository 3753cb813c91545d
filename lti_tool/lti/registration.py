"""LTI Dynamic Registration (1EdTech LTI-DR 1.0), as Moodle 4.1+ and Canvas run it.

The platform opens /lti/register with `openid_configuration` and `registration_token`; the
platform's admin confirms on that page (the registration token is the platform's authority, so no
login to the tool is needed); the tool registers itself and records the platform and deployment.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

import requests
from flask import current_app, url_for
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException
from sqlalchemy import select

from ..db import db
from ..models import ACTIVE, PENDING, Deployment, Platform
from ..settings import get_setting
from .errors import LaunchError
from .http import PlatformSession

log = logging.getLogger(__name__)

TOOL_NAME = "NPQ Learning"
PLATFORM_CONF = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONF = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


class RegistrationFailed(LaunchError):
    title = "The tool could not register with this platform"
    fix = ("Start the registration again from the platform. If it fails again, give this message "
           "to the tool's provider.")
    status = 400


class ToolRegistration(DynamicRegistration):
    client_name = TOOL_NAME
    description = ("National Professional Qualification activities, in-school project write-ups "
                   "and tutor marking with grades sent to the gradebook.")

    def __init__(self, openid_configuration: str, registration_token: str | None):
        self.openid_configuration_url = openid_configuration
        self.registration_token = registration_token or None
        self.platform: Platform | None = None

    # -- what the tool tells the platform ---------------------------------------------------
    def get_request_session(self):
        # pylti1p3 closes this session when done: give it one of its own.
        cfg = current_app.config
        return PlatformSession(cfg["HTTP_USER_AGENT"], tuple(cfg["HTTP_TIMEOUT"]))

    def get_initiate_login_uri(self) -> str:
        return url_for("lti.login", _external=True)

    def get_jwks_uri(self) -> str:
        return url_for("lti.jwks", _external=True)

    def get_redirect_uris(self) -> list[str]:
        return [url_for("lti.launch", _external=True)]

    def get_target_link_uri(self) -> str:
        return url_for("lti.launch", _external=True)

    def get_domain(self) -> str:
        return urlparse(self.get_target_link_uri()).netloc

    def get_logo_uri(self) -> str:
        return url_for("static", filename="logo.svg", _external=True)

    def get_scopes(self) -> list[str]:
        return SCOPES

    def get_claims(self) -> list[str]:
        return ["iss", "sub", "name", "given_name", "family_name", "email", "locale"]

    def get_messages(self) -> list[dict[str, Any]]:
        launch = self.get_target_link_uri()
        return [
            {"type": "LtiDeepLinkingRequest", "target_link_uri": launch,
             "label": "Add NPQ activities", "placements": ["ContentArea", "link_selection",
                                                           "assignment_selection"]},
            {"type": "LtiResourceLinkRequest", "target_link_uri": launch, "label": TOOL_NAME},
        ]

    def get_openid_configuration_endpoint(self) -> str:
        return self.openid_configuration_url

    def get_registration_token(self) -> str | None:
        return self.registration_token

    # -- the platform's side ------------------------------------------------------------------
    def get_openid_configuration(self) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if self.registration_token:
            headers["Authorization"] = "Bearer " + self.registration_token
        try:
            resp = self.get_request_session().get(self.openid_configuration_url, headers=headers)
            resp.raise_for_status()
            config = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise RegistrationFailed(
                f"The platform's configuration could not be read from "
                f"{self.openid_configuration_url}: {exc}") from exc
        check_openid_configuration(config, self.openid_configuration_url)
        return config

    def complete_registration(self, openid_configuration, openid_registration):
        self.platform = save_registration(openid_configuration, openid_registration)
        return self.platform

    def run(self) -> Platform:
        try:
            self.register()
        except LtiException as exc:
            raise RegistrationFailed(f"The platform refused the registration: {exc}") from exc
        except (requests.RequestException, AssertionError, KeyError, TypeError) as exc:
            raise RegistrationFailed(f"The registration exchange failed: {exc}") from exc
        return self.platform


def check_openid_configuration(config: Any, url: str) -> None:
    if not isinstance(config, dict):
        raise RegistrationFailed("The platform's configuration is not a JSON object.")
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                           "registration_endpoint") if not config.get(k)]
    if missing:
        raise RegistrationFailed(f"The platform's configuration lacks {', '.join(missing)}.")
    if PLATFORM_CONF not in config:
        raise RegistrationFailed("The configuration is not an LTI platform configuration.")
    # The issuer must be on the host that served the configuration (LTI-DR 1.0, 3.5.1).
    if urlparse(config["issuer"]).netloc != urlparse(url).netloc:
        raise RegistrationFailed(
            f"The issuer {config['issuer']!r} does not match the host of {url!r}.")


def describe_platform(config: dict) -> dict[str, str]:
    info = config.get(PLATFORM_CONF, {})
    return {
        "issuer": config.get("issuer", ""),
        "product": info.get("product_family_code", "unknown"),
        "version": info.get("version", ""),
    }


def save_registration(config: dict, registration: dict) -> Platform:
    client_id = registration.get("client_id")
    if not client_id:
        raise RegistrationFailed("The platform's answer has no client_id.")
    tool_conf = registration.get(TOOL_CONF, {})
    deployment_id = tool_conf.get("deployment_id")
    info = describe_platform(config)
    status = ACTIVE if get_setting("AUTO_ACTIVATE_REGISTRATIONS") else PENDING
    platform = db().scalar(select(Platform).where(Platform.issuer == config["issuer"],
                                                  Platform.client_id == str(client_id)))
    if platform is None:
        platform = Platform(issuer=config["issuer"], client_id=str(client_id), status=status)
        db().add(platform)
    platform.name = f"{info['product'].title()} at {urlparse(config['issuer']).netloc}"[:200]
    platform.auth_login_url = config["authorization_endpoint"]
    platform.auth_token_url = config["token_endpoint"]
    platform.key_set_url = config["jwks_uri"]
    platform.auth_audience = config.get("authorization_server")
    platform.registered_via = "dynamic"
    platform.platform_info = {**info, "registration": registration}
    db().flush()
    if deployment_id:
        exists = db().scalar(select(Deployment).where(Deployment.platform_id == platform.id,
                                                      Deployment.deployment_id == str(deployment_id)))
        if exists is None:
            db().add(Deployment(platform_id=platform.id, deployment_id=str(deployment_id),
                                label="From dynamic registration", status=ACTIVE))
    db().commit()
    log.info("dynamic registration: platform %s (%s, client %s) saved as %s",
             platform.id, platform.issuer, platform.client_id, platform.status)
    return platform
