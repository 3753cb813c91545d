"""The LTI 1.3 launch, validated end to end, on top of pylti1p3.

pylti1p3 gives the OIDC login, JWT parsing, message validators and the registration objects. The
tool closes the library's gaps here:
- the login stores nothing: its state carries the nonce and the platform, signed with the tool's
  secret and timed (lti/state.py), and is bound to the browser by a cookie; the launch records the
  state as used, in the database that every worker and machine shares, in the statement that
  checks it was not used before, so a state and its nonce work exactly once;
- the signature is checked with aud, iss, exp and iat required and a small leeway for clock skew,
  and `azp` checked when present or when there are several audiences;
- the platform's key set is cached in the database and re-fetched once on an unknown kid.
"""
from __future__ import annotations

import logging
from typing import NamedTuple
from urllib.parse import urlencode

import jwt
from flask import current_app, request
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators
from sqlalchemy import and_, bindparam, select

from ..db import db, utcnow
from ..models import ACTIVE, DISABLED, PENDING, Deployment, Platform
from ..settings import get_setting
from .errors import (
    CookiesBlocked,
    DeploymentError,
    InvalidToken,
    LaunchError,
    RegistrationError,
    StateError,
    UnsupportedMessage,
)
from .cross_site import explain, insecure_cross_site
from .deep_linking import DeepLinkSettingsError, check_settings
from .http import platform_session
from .platform_keys import platform_public_key
from .state import IssuedState, binding_matches, issue, mark_used, read, state_id, was_used
from .tool_config import DatabaseToolConf, find_platform, to_registration

log = logging.getLogger(__name__)

SUPPORTED_MESSAGES = {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
STATE_COOKIE_PREFIX = "lti_state_"  # + the state's ID
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
# What a launch that cannot work across sites over http fails to do (cross_site.explain).
LAUNCH_ACTION = "open the activity, or the tool's content picker, from your course"


def _cookie_kwargs() -> dict:
    if request.is_secure:
        # Inside the platform's iframe the tool is a third party: the cookie must say so.
        return {"secure": True, "samesite": "None", "partitioned": True, "httponly": True}
    return {"secure": False, "samesite": "Lax", "httponly": True}


def platform_status_error(platform: Platform | None, issuer: str, client_id: str | None) -> None:
    if platform is None:
        raise RegistrationError(
            f"No registration for issuer {issuer!r} and client ID {client_id or '(none given)'!r}."
        )
    if platform.status == PENDING:
        raise RegistrationError(
            f"The registration of {platform.name} ({issuer}) is waiting for a provider admin's approval.",
            title="This platform is waiting for approval",
        )
    if platform.status == DISABLED:
        raise RegistrationError(
            f"The registration of {platform.name} ({issuer}) has been disabled by a provider admin.",
            title="This platform has been disabled",
        )


class ToolOIDCLogin(FlaskOIDCLogin):
    """Third-party initiated login: a signed state carrying the nonce (nothing stored), bound to this browser."""

    def __init__(self):
        req = FlaskRequest(request_data=request.values.to_dict())
        super().__init__(req, DatabaseToolConf(), cookie_service=FlaskCookieService(req))
        self.state_cookie: tuple[str, str] | None = None

    def build_redirect_url(self, launch_url: str) -> str:
        issuer = self._get_request_param("iss")
        client_id = self._get_request_param("client_id")
        if not issuer or not self._get_request_param("login_hint"):
            raise LaunchError("The login request is missing iss or login_hint.",
                              title="The login request from the platform is incomplete")
        limits = {"iss": 500, "client_id": 255, "login_hint": 2000, "lti_message_hint": 4000,
                  "lti_deployment_id": 255, "target_link_uri": 2000, "lti_storage_target": 100}
        for name, limit in limits.items():
            if "\x00" in (self._get_request_param(name) or ""):
                raise LaunchError(f"The login request's {name} contains a NUL character.",
                                  title="The login request from the platform is not valid")
            if len(self._get_request_param(name) or "") > limit:
                raise LaunchError(f"The login request's {name} is longer than {limit} characters.",
                                  title="The login request from the platform is not valid")
        platform = find_platform(issuer, client_id)
        if platform is None or platform.status != ACTIVE:
            platform_status_error(platform, issuer, client_id)

        self.storage_target = (self._get_request_param("lti_storage_target") or "")[:100] or None
        self.platform = platform
        issued, self.binding = issue(platform.id, self.storage_target)
        self.state = issued.state
        self.state_cookie = (STATE_COOKIE_PREFIX + issued.id, self.binding)
        nonce = issued.nonce

        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": platform.client_id,
            "redirect_uri": launch_url,
            "state": self.state,
            "nonce": nonce,
            "login_hint": self._get_request_param("login_hint"),
        }
        hint = self._get_request_param("lti_message_hint")
        if hint:
            params["lti_message_hint"] = hint
        auth_url = platform.auth_login_url  # the registration's fields, without building pylti1p3's object
        return auth_url + ("&" if "?" in auth_url else "?") + urlencode(params)

    def set_state_cookie(self, response) -> None:
        name, value = self.state_cookie
        ttl = current_app.config["LAUNCH_STATE_TTL_SECONDS"]
        response.set_cookie(name, value, max_age=ttl, path="/lti/", **_cookie_kwargs())


# The platform of a launch and the deployment its token names, in one round trip, as a plain row
# (ORM objects cost twice the CPU; the few writes a launch may make load the platform's object then:
# platform_keys.platform_for_update).
_pt, _dt = Platform.__table__, Deployment.__table__
_PLATFORM_AND_DEPLOYMENT = (
    select(_pt, _dt.c.id.label("deployment_row_id"), _dt.c.status.label("deployment_status"))
    .select_from(_pt)
    .outerjoin(_dt, and_(_dt.c.platform_id == _pt.c.id, _dt.c.deployment_id == bindparam("deployment_id")))
    .where(_pt.c.issuer == bindparam("issuer"), _pt.c.client_id == bindparam("client_id")))


class KnownDeployment(NamedTuple):
    id: int
    status: str


_TOOL_SESSION = object()  # a placeholder pylti1p3 accepts: ToolMessageLaunch._requests_session is the session


class ToolMessageLaunch(FlaskMessageLaunch):
    """An id_token posted to /lti/launch, validated in full; see the module docstring."""

    def __init__(self):
        req = FlaskRequest(request_data=request.form.to_dict())
        # pylti1p3 makes a requests.Session when given none; the property below gives it the tool's.
        super().__init__(req, DatabaseToolConf(), cookie_service=FlaskCookieService(req),
                         requests_session=_TOOL_SESSION)
        self.platform = None  # the registration's row (read-only: platform_keys.platform_for_update for writes)
        self.deployment: Deployment | KnownDeployment | None = None
        self._deployment_row: KnownDeployment | None = None
        self._state: IssuedState | None = None  # the login's state, read from the launch
        self.cookieless = False
        self.storage_target: str | None = None  # the platform's storage frame, offered at login

    @property
    def _requests_session(self):
        # The tool's guarded outbound session (kept per thread), looked up only when a service call
        # needs it: most launches make none, and a thread's first would build the session for nothing.
        return platform_session()

    @_requests_session.setter
    def _requests_session(self, _value) -> None:
        pass

    def validate(self):
        self._validated = True
        try:
            self.validate_jwt_format()
            self.validate_state()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_nonce()
            self.validate_deployment()
            self.validate_message()
        except LaunchError:
            self._validated = False
            raise
        except LtiException as exc:
            self._validated = False
            raise InvalidToken(str(exc)) from exc
        return self

    def validate_jwt_format(self):
        if not request.form.get("id_token"):
            raise InvalidToken("The launch has no id_token.")
        try:
            super().validate_jwt_format()
        except LtiException as exc:
            raise InvalidToken(f"The id_token is malformed: {exc}") from exc
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise InvalidToken("The id_token's header and body must be JSON objects.")
        return self

    def validate_state(self):
        state = request.form.get("state")
        if not state:
            raise StateError("The launch has no state parameter.")
        issued = read(state)  # its signature and age: nothing is read from the database yet
        binding = request.cookies.get(STATE_COOKIE_PREFIX + issued.id)
        self.cookieless = False
        self.storage_target = issued.storage_target
        if binding is None and issued.storage_target:
            # No cookie: the binding may come from the platform's storage (lti.get_data).
            binding = request.form.get("lti_storage_binding")
            if binding is None:
                raise NeedsPlatformStorage(issued)
            self.cookieless = True
        if binding is None:
            if insecure_cross_site():
                raise explain(LAUNCH_ACTION)
            if was_used(issued):  # the launch posted again (Back, or a replay): its cookie is gone
                raise StateError("The launch state is unknown: it was already used, or never issued.")
            raise CookiesBlocked("The state cookie set at login was not sent back.")
        if not binding_matches(issued, binding):
            raise StateError("The launch state does not belong to this browser.")
        self._state = issued
        return self

    def get_client_id(self) -> str:
        """The audience: one client ID, or the first of a list of them (azp is checked later)."""
        aud = self._jwt.get("body", {}).get("aud")
        if isinstance(aud, list) and aud and all(isinstance(a, str) and a for a in aud):
            return aud[0]
        if isinstance(aud, str) and aud:
            return aud
        raise InvalidToken("The token's aud must be a client ID or a list of them.")

    def validate_registration(self):
        body = self._jwt.get("body", {})
        issuer, client_id = body.get("iss"), self.get_client_id()
        if not isinstance(issuer, str) or not issuer or len(issuer) > 500 or len(client_id) > 255 \
                or "\x00" in issuer + client_id:
            raise InvalidToken("The token has no valid iss or aud.")
        deployment_id = body.get(CLAIM + "deployment_id")
        platform = db().connection().execute(_PLATFORM_AND_DEPLOYMENT, {
            "issuer": issuer, "client_id": client_id,
            "deployment_id": deployment_id if isinstance(deployment_id, str) else ""}).first()
        if platform is not None and platform.deployment_row_id is not None:
            self._deployment_row = KnownDeployment(platform.deployment_row_id, platform.deployment_status)
        if platform is None or platform.status != ACTIVE:
            platform_status_error(platform, issuer, client_id)
        if platform.id != self._state.platform_id:
            raise StateError("The launch comes from a different registration than its login.")
        self.platform = platform
        # The registration pylti1p3 needs later (deep linking, services), from the row found above.
        self._registration = to_registration(platform)
        return self

    def validate_jwt_signature(self):
        header = self._jwt.get("header", {})
        alg = header.get("alg")
        if alg != "RS256":
            raise InvalidToken(f"Tokens must be signed with RS256, not {alg!r}.")
        key = platform_public_key(self.platform, header.get("kid"), alg)
        try:
            claims = jwt.decode(
                self._get_id_token(),
                key,
                algorithms=["RS256"],
                audience=self.platform.client_id,
                issuer=self.platform.issuer,
                leeway=current_app.config["JWT_LEEWAY_SECONDS"],
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("The token was issued in the future (iat).") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("The token's audience (aud) is not this tool's client ID.") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("The token's signature does not match the platform's key.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"The token is not valid: {exc}") from exc
        self._check_iat(claims)
        self._check_azp(claims)
        return self

    def _check_iat(self, claims: dict) -> None:
        # PyJWT checks iat only loosely; a token "issued" beyond the leeway is refused.
        leeway = current_app.config["JWT_LEEWAY_SECONDS"]
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat > utcnow().timestamp() + leeway:
            raise InvalidToken("The token was issued in the future (iat).")

    def _check_azp(self, claims: dict) -> None:
        aud = claims.get("aud")
        azp = claims.get("azp")
        several = isinstance(aud, list) and len(aud) > 1
        if several and not azp:
            raise InvalidToken("The token has several audiences but no azp.")
        if azp is not None and azp != self.platform.client_id:
            raise InvalidToken("The token's authorized party (azp) is not this tool's client ID.")

    def validate_nonce(self):
        nonce = self._jwt["body"].get("nonce")
        if not nonce or nonce != self._state.nonce:
            raise StateError("The token's nonce is not the one issued with this state.")
        # Only now, with the token's signature checked, is anything written: the state is recorded
        # as used in this launch's transaction. Of two requests racing with the same state, one
        # records it; the other waits on its row lock until that launch commits, then finds it used.
        if not mark_used(self._state):
            raise StateError("The launch state is unknown: it was already used, or never issued.")
        return self

    def validate_deployment(self):
        deployment_id = self._jwt["body"].get(CLAIM + "deployment_id")
        if not deployment_id or not isinstance(deployment_id, str):
            raise InvalidToken("The token has no deployment_id.")
        row = self._deployment_row  # read with the platform (validate_registration)
        if row is None:
            accept = get_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS")
            row = Deployment(platform_id=self.platform.id, deployment_id=deployment_id,
                             status=ACTIVE if accept else PENDING, label="Seen at launch")
            db().add(row)
            db().commit()
            log.info("new deployment %r of platform %s recorded as %s",
                     deployment_id, self.platform.id, row.status)
        if row.status == PENDING:
            raise DeploymentError(
                f"Deployment {deployment_id!r} of {self.platform.name} is waiting for approval.")
        if row.status == DISABLED:
            raise DeploymentError(
                f"Deployment {deployment_id!r} of {self.platform.name} has been disabled.",
                title="This deployment of the tool has been disabled")
        self.deployment = row
        return self

    def validate_message(self):
        body = self._jwt["body"]
        message_type = body.get(CLAIM + "message_type")
        if message_type not in SUPPORTED_MESSAGES:
            raise UnsupportedMessage(f"Message type {message_type!r} is not supported.")
        if message_type == "LtiDeepLinkingRequest":
            try:
                check_settings(body.get(DL_SETTINGS))
            except DeepLinkSettingsError as exc:
                raise UnsupportedMessage(str(exc), title="The tool cannot add items here",
                                         fix="Add the tool from a part of the course that accepts "
                                             "external tool links.") from exc
        for validator in get_validators():
            if validator.can_validate(body):
                try:
                    validator.validate(body)
                except LtiException as exc:
                    raise InvalidToken(f"A required claim is missing or wrong: {exc}") from exc
        return self

    def claims(self) -> dict:
        return self._jwt["body"]


class NeedsPlatformStorage(Exception):
    """The state cookie is missing but the platform offers storage: fetch the binding from it."""

    def __init__(self, row: IssuedState):
        super().__init__("binding is in platform storage")
        self.row = row


def storage_key(state: str) -> str:
    """The key of a login's binding in the platform's storage: named by the state's short ID."""
    return "npq_" + state_id(state)
