"""Glue between Flask and the `lti1p3platform` package: enough of an LTI 1.3 platform to launch the
tool for real (OIDC login, signed id_token, access tokens, deep-linking responses).

Used by the built-in sandbox VLE and by the test suite's independent platform server. The protocol
work (token signing, client-assertion checks, deep-linking validation) is lti1p3platform's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration


DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@lru_cache(maxsize=32)
def private_key_of(private_pem: str):
    return serialization.load_pem_private_key(private_pem.encode(), password=None,
                                              unsafe_skip_rsa_key_validation=True)


@lru_cache(maxsize=32)
def public_pem_of(private_pem: str) -> str:
    key = private_key_of(private_pem)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_or_create_key(path: Path) -> str:
    import os

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_private_pem())
    return path.read_text()


@dataclass
class PlatformSetup:
    """How the platform sees the tool: its own identity and keys, and the tool's URLs."""

    issuer: str
    client_id: str
    deployment_id: str
    private_pem: str
    tool_login_url: str
    tool_launch_url: str
    tool_jwks: Optional[dict] = None  # given inline (sandbox) ...
    tool_jwks_url: Optional[str] = None  # ... or fetched (test platform)

    @property
    def public_pem(self) -> str:
        return public_pem_of(self.private_pem)

    def registration(self) -> Registration:
        reg = Registration()
        reg.set_iss(self.issuer).set_client_id(self.client_id).set_deployment_id(self.deployment_id)
        reg.set_launch_url(self.tool_launch_url).set_deeplink_launch_url(self.tool_launch_url)
        reg.set_oidc_login_url(self.tool_login_url)
        reg.set_platform_public_key(self.public_pem).set_platform_private_key(self.private_pem)
        if self.tool_jwks:
            reg.set_tool_key_set(self.tool_jwks)
        if self.tool_jwks_url:
            reg.set_tool_key_set_url(self.tool_jwks_url)
        return reg

    def jwks(self) -> dict:
        return {"keys": self.registration().get_jwks()}


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self.setup: PlatformSetup = kwargs["setup"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self.setup.registration()


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


def login_initiation_url(setup: PlatformSetup, user_id: str, message_hint: str) -> str:
    """The URL the platform sends the browser to, to start a launch (third-party initiated login)."""
    login = _Login(None, PlatformConf(setup=setup))
    login.set_lti_message_hint(hint=message_hint)
    return login.prepare_preflight_url(user_id)


@dataclass
class LaunchSpec:
    """What one launch says: who, in which course, through which link, with which services."""

    user_id: str
    roles: list[str]
    name: Optional[str] = None
    email: Optional[str] = None
    given_name: Optional[str] = None
    family_name: Optional[str] = None
    context_id: str = "course-1"
    context_title: str = "Course"
    resource_link_id: Optional[str] = None
    resource_link_title: Optional[str] = None
    custom: dict[str, str] = field(default_factory=dict)
    lineitems_url: Optional[str] = None
    lineitem_url: Optional[str] = None
    nrps_url: Optional[str] = None
    deep_link_return_url: Optional[str] = None
    deep_link_accept_types: Optional[set[str]] = None
    deep_link_data: Optional[str] = None
    deep_link_overrides: dict[str, Any] = field(default_factory=dict)
    extra_claims: dict[str, Any] = field(default_factory=dict)


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def __init__(self, args: dict, setup: PlatformSetup):
        self._args = args
        super().__init__(None, PlatformConf(setup=setup))

    def get_preflight_response(self) -> dict:
        return self._args

    def render_launch_form(self, launch_data: dict, **kwargs: Any) -> dict:
        return launch_data


class PreflightRejected(Exception):
    pass


def build_launch(setup: PlatformSetup, args: dict, spec: LaunchSpec) -> dict:
    """Answer the tool's authentication request: a signed id_token, state and where to post them.

    Checks what a platform must before it signs anything: client_id, the redirect URI registered
    for the tool, and that the login_hint is the user the launch was started for.
    """
    if args.get("client_id") != setup.client_id:
        raise PreflightRejected("unknown client_id")
    if args.get("redirect_uri") != setup.tool_launch_url:
        raise PreflightRejected("redirect_uri is not the tool's registered launch URL")
    if args.get("login_hint") != spec.user_id:
        raise PreflightRejected("login_hint does not match the launching user")
    if args.get("response_type") != "id_token" or args.get("scope") != "openid":
        raise PreflightRejected("not an OIDC id_token request")
    launch = _Launch(args, setup)
    launch.set_user_data(spec.user_id, spec.roles, spec.name, spec.email)
    user_extra = {k: v for k, v in (("given_name", spec.given_name),
                                    ("family_name", spec.family_name)) if v}
    launch.set_extra_claims(user_extra)
    launch.set_launch_context_claim(spec.context_id, context_title=spec.context_title,
                                    context_types=["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"])
    if spec.resource_link_id:
        launch.set_resource_link_claim(spec.resource_link_id, title=spec.resource_link_title)
    if spec.custom:
        launch.set_custom_parameters_claim(spec.custom)
    launch.set_launch_presentation_claim(document_target="iframe")
    if spec.lineitems_url:
        launch.set_ags(spec.lineitems_url, spec.lineitem_url, allow_creating_lineitems=True)
    if spec.nrps_url:
        launch.set_nrps(spec.nrps_url)
    if spec.deep_link_return_url:
        accept = spec.deep_link_accept_types or {"ltiResourceLink"}
        # lti1p3platform sends `extra_data` as the settings' opaque `data`.
        launch.set_dl(spec.deep_link_return_url, accept_types=accept, extra_data=spec.deep_link_data)
        if spec.deep_link_overrides:
            launch._deep_linking_launch_data[DL_SETTINGS].update(spec.deep_link_overrides)
    if spec.extra_claims:
        launch.set_extra_claims(spec.extra_claims)
    return launch.lti_launch()


def auto_post_form(launch_data: dict, script_src: Optional[str] = None) -> str:
    """The self-submitting form a platform returns to post the id_token to the tool. With
    `script_src`, the submitting script is loaded from there (for a strict CSP)."""
    script = (f"<script src='{escape(script_src)}'></script>" if script_src
              else "<script>document.querySelector('form[data-autopost]').submit()</script>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Launching…</title></head>"
        f"<body><form method='post' action='{escape(launch_data['launch_url'])}' id='lti' data-autopost>"
        f"<input type='hidden' name='id_token' value='{escape(launch_data['id_token'])}'>"
        f"<input type='hidden' name='state' value='{escape(launch_data['state'])}'>"
        "<noscript><button type='submit'>Continue to the tool</button></noscript></form>"
        f"{script}</body></html>"
    )


def issue_access_token(setup: PlatformSetup, form: dict) -> dict:
    """OAuth2 client-credentials grant with a JWT client assertion signed by the tool."""
    conf = PlatformConf(setup=setup)
    conf.get_registration()
    return conf.get_access_token(form)


def validate_token(setup: PlatformSetup, token: str, scopes: list[str]) -> bool:
    conf = PlatformConf(setup=setup)
    conf.get_registration()
    return conf.validate_token(token, allowed_scopes=scopes)


def read_deep_linking_response(setup: PlatformSetup, jwt_value: str) -> list[dict]:
    conf = PlatformConf(setup=setup)
    conf.get_registration()
    return conf.validate_deeplinking_resp({"JWT": jwt_value})


def decode_claims_unverified(token: str) -> dict:
    import base64

    body = token.split(".")[1]
    body += "=" * (-len(body) % 4)
    return json.loads(base64.urlsafe_b64decode(body))
