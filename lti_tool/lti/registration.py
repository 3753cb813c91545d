"""LTI Dynamic Registration (1EdTech LTI-DR 1.0), as Moodle 4.1+ and Canvas run it: the exchange
with the platform.

The platform opens /lti/register (or a one-time link) with `openid_configuration` and
`registration_token`; the tool reads the platform's configuration with the token, its admin
confirms, and the tool posts its own configuration to the platform's registration endpoint.
Everything the tool fetches here comes from an address someone outside gave it, so: no redirects,
short time-outs, a size cap, the outbound address rules, and error pages in the tool's own words
(the remote answer is never shown; its technical cause is logged without tokens).
"""
from __future__ import annotations

import json
import logging
from typing import Any, Optional
from urllib.parse import urlsplit

import requests
from flask import current_app, url_for
from pylti1p3.dynamic_registration import DynamicRegistration
from urllib3.util import parse_url

from .errors import LaunchError
from .http import ResponseTooLarge, guarded_call
from .outbound import (CREDENTIALS, INSECURE, PRIVATE, PROXY, SCHEME, OutboundPolicy,
                       OutboundRefused, check_destination, url_problem)

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
# The platform URLs a configuration must give, with the words the pages use for them.
URL_FIELDS = {
    "authorization_endpoint": "login (authorisation) address",
    "token_endpoint": "token address",
    "jwks_uri": "key set address",
    "registration_endpoint": "registration address",
}
MAX_ANSWER_BYTES = 256 * 1024  # a platform configuration is a few KiB; Canvas's is the largest
CONFIGURATION = "The platform's configuration could not be read"
REGISTRATION = "The platform's registration service could not complete the registration"
START_AGAIN = ("Start the registration again from your platform. If it keeps failing, give this "
               "page's reference to the tool's provider.")
REFUSED_WORDS = {
    PRIVATE: "its address is a private or local address, which this tool does not contact in "
             "production",
    INSECURE: "its address does not start with https://, and this tool contacts platforms over "
              "https only",
    SCHEME: "its address is not a web address (http or https)",
    CREDENTIALS: "its address contains a user name or password, which is not allowed",
    PROXY: "the tool is set to use a proxy, through which it cannot check the addresses it "
           "contacts",
}


class RegistrationFailed(LaunchError):
    title = "The tool could not register with this platform"
    fix = START_AGAIN
    status = 400


class ToolRegistration(DynamicRegistration):
    """What the tool tells the platform about itself (pylti1p3 builds the document). The exchange
    itself is run_* below: pylti1p3's register() follows redirects and reads any size of answer."""

    client_name = TOOL_NAME
    description = ("National Professional Qualification activities, in-school project write-ups "
                   "and tutor marking with grades sent to the gradebook.")

    def register(self):
        # pylti1p3's own exchange follows redirects and reads any size of answer: never used.
        raise NotImplementedError("use fetch_configuration() and send_registration()")

    def get_initiate_login_uri(self) -> str:
        return url_for("lti.login", _external=True)

    def get_jwks_uri(self) -> str:
        return url_for("lti.jwks", _external=True)

    def get_redirect_uris(self) -> list[str]:
        return [url_for("lti.launch", _external=True)]

    def get_target_link_uri(self) -> str:
        return url_for("lti.launch", _external=True)

    def get_domain(self) -> str:
        return urlsplit(self.get_target_link_uri()).netloc

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


# -- talking to the platform ------------------------------------------------------------------

def _policy() -> OutboundPolicy:
    return OutboundPolicy.from_config(current_app.config)


def _where(url: str) -> str:
    """A URL for the logs: no query (Canvas puts the registration token there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _call(method: str, url: str, token: str, what: str, **kwargs: Any) -> tuple[requests.Response, bytes]:
    cfg = current_app.config
    problem = url_problem(url, require_https=_policy().require_https)
    if problem:  # said in the tool's words here: requests would call it an invalid schema
        log.warning("registration: refused to %s %s: %s", method, _where(url), problem)
        raise _failure(what, OutboundRefused(problem, urlsplit(url).hostname or ""))
    timeout = tuple(cfg["REGISTRATION_HTTP_TIMEOUT"])
    headers = {"Accept": "application/json", "Authorization": "Bearer " + token}
    try:
        return guarded_call(method, url, timeout=timeout, max_bytes=MAX_ANSWER_BYTES,
                            total_seconds=sum(timeout) + 2, headers=headers, **kwargs)
    except requests.RequestException as exc:
        # The class (and the refusal's reason) only: requests' messages repeat the URL, query
        # and all, and Canvas puts the registration token in the query.
        log.warning("registration: %s %s failed: %s %s", method, _where(url), type(exc).__name__,
                    getattr(exc, "reason", ""))
        raise _failure(what, exc) from None


def _failure(what: str, exc: requests.RequestException) -> RegistrationFailed:
    if isinstance(exc, OutboundRefused):
        fix = ("Register the platform by its public https:// address. " + START_AGAIN
               if exc.reason in (PRIVATE, INSECURE) else START_AGAIN)
        return RegistrationFailed(f"{what}: {REFUSED_WORDS[exc.reason]}.", fix=fix)
    if isinstance(exc, requests.Timeout):
        return RegistrationFailed(f"{what}: the address did not answer in time.", status=504)
    if isinstance(exc, ResponseTooLarge):
        return RegistrationFailed(f"{what}: the answer was larger than a platform's would be.")
    if isinstance(exc, requests.ConnectionError):
        return RegistrationFailed(f"{what}: the address could not be reached.", status=502)
    return RegistrationFailed(f"{what}: the exchange with the platform failed.", status=502)


def _json_answer(resp: requests.Response, body: bytes, url: str, what: str) -> dict[str, Any]:
    """The answer as a JSON object, or a failure that says what was wrong in the tool's words."""
    if 300 <= resp.status_code < 400:
        log.warning("registration: %s answered %s (redirect refused)", _where(url), resp.status_code)
        raise RegistrationFailed(f"{what}: the address answered with a redirect, which is not "
                                 "allowed. Use the address the platform gives, unchanged.")
    if resp.status_code in (401, 403):
        log.warning("registration: %s refused the token (%s)", _where(url), resp.status_code)
        raise RegistrationFailed(f"{what}: the platform did not accept the registration token "
                                 "(it may have expired, or been used already).")
    if resp.status_code >= 400:
        log.warning("registration: %s answered %s", _where(url), resp.status_code)
        raise RegistrationFailed(f"{what}: the platform answered with an error "
                                 f"(HTTP {resp.status_code}).", status=502)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        log.warning("registration: %s did not answer with a JSON object", _where(url))
        raise RegistrationFailed(f"{what}: the answer was not in the form LTI Dynamic "
                                 "Registration uses.")
    return answer


def fetch_configuration(url: str, token: str) -> tuple[dict[str, Any], str]:
    """The platform's OpenID configuration, and the URL it was actually fetched from."""
    resp, body = _call("GET", url, token, CONFIGURATION)
    return _json_answer(resp, body, url, CONFIGURATION), resp.url or url


def send_registration(config: dict[str, Any], token: str) -> dict[str, Any]:
    """Post the tool's configuration to the platform; its answer (client_id, deployment_id)."""
    url = config["registration_endpoint"]
    payload = ToolRegistration().lti_registration_data()
    resp, body = _call("POST", url, token, REGISTRATION, json=payload)
    answer = _json_answer(resp, body, url, REGISTRATION)
    if not isinstance(answer.get(TOOL_CONF, {}), dict):
        raise RegistrationFailed(f"{REGISTRATION}: its answer was not in the form LTI Dynamic "
                                 "Registration uses.")
    return answer


# -- checking what the platform says -----------------------------------------------------------

def _unsafe_path(path: str) -> bool:
    # Dot segments are removed before the request is sent ("/a/../b" fetches "/b"), and some
    # servers decode %2e or treat "\" as "/": a prefix check on such a path proves nothing.
    return ("\\" in path or "%2e" in path.lower()
            or any(segment in (".", "..") for segment in path.split("/")))


def issuer_matches(issuer: str, fetched_url: str) -> bool:
    """LTI-DR 1.0: the issuer must be a prefix of the openid_configuration URL (same scheme and
    host, and the URL's path at or under the issuer's path)."""
    try:
        iss, url = urlsplit(issuer), urlsplit(fetched_url)
        url_path = parse_url(fetched_url).path or "/"
    except ValueError:
        return False
    if (iss.scheme.lower(), iss.netloc.lower()) != (url.scheme.lower(), url.netloc.lower()):
        return False
    if iss.query or iss.fragment or _unsafe_path(url.path) or _unsafe_path(iss.path):
        return False
    base = iss.path.rstrip("/")
    return url_path == iss.path or url_path == base or url_path.startswith(base + "/")


def same_issuer(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def _require_fields(config: dict[str, Any]) -> None:
    missing = [name for name in ("issuer", *URL_FIELDS)
               if not isinstance(config.get(name), str) or not config[name].strip()]
    if missing or not isinstance(config.get(PLATFORM_CONF), dict):
        raise RegistrationFailed(f"{CONFIGURATION}: it is not a complete LTI platform "
                                 "configuration (it needs an issuer and its login, token, key set "
                                 "and registration addresses).")
    audience = config.get("authorization_server")
    if len(config["issuer"]) > 500 or any(len(config[name]) > 1000 for name in URL_FIELDS) \
            or (audience is not None and (not isinstance(audience, str) or len(audience) > 1000)):
        raise RegistrationFailed(f"{CONFIGURATION}: some of its values are longer than any "
                                 "platform's would be.")


def _check_platform_urls(config: dict[str, Any], policy: OutboundPolicy) -> None:
    for name, words in URL_FIELDS.items():
        try:
            check_destination(config[name], policy)
        except OutboundRefused as exc:
            raise RegistrationFailed(f"The platform's configuration gives a {words} the tool will "
                                     f"not use: {REFUSED_WORDS[exc.reason]}.") from None
        except requests.ConnectionError:
            raise RegistrationFailed(f"The platform's configuration gives a {words} whose host "
                                     "could not be found.") from None


def check_configuration(config: dict[str, Any], fetched_url: str,
                        expected_issuer: Optional[str] = None) -> None:
    _require_fields(config)
    issuer = config["issuer"]
    policy = _policy()
    if url_problem(issuer, require_https=policy.require_https) or not issuer_matches(issuer, fetched_url):
        log.warning("registration: issuer does not match %s", _where(fetched_url))
        raise RegistrationFailed(
            "The platform's configuration could not be used: the issuer in the configuration "
            "does not match the configuration's address.",
            fix="Start the registration from the platform itself, with the address it gives. "
                "If it keeps failing, give this page's reference to the tool's provider.")
    if expected_issuer and not same_issuer(issuer, expected_issuer):
        raise RegistrationFailed(
            "This registration link was made for another platform.",
            fix="Use the link from the platform it was made for, or ask the tool's provider for a "
                "link for this platform.", status=403)
    _check_platform_urls(config, policy)


def describe_platform(config: dict) -> dict[str, str]:
    info = config.get(PLATFORM_CONF, {})
    info = info if isinstance(info, dict) else {}
    return {
        "issuer": str(config.get("issuer", ""))[:500],
        "product": str(info.get("product_family_code") or "unknown")[:60],
        "version": str(info.get("version") or "")[:60],
    }
