"""What a completed Dynamic Registration changes in the tool, and one-time registration links.

A registration never changes an existing registration: a second one for the same issuer and
client ID becomes a pending RegistrationRequest that a provider admin compares and approves.
Otherwise anyone able to serve JSON under a platform's issuer (another path on a shared host, an
open redirect, an uploaded file) could swap the platform's keys for their own and launch into its
courses as an instructor.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlsplit

from flask import request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..db import db, utcnow
from ..tokens import digest
from ..models import ACTIVE, PENDING, Deployment, Platform
from ..security_models import RegistrationLink, RegistrationRequest
from ..settings import get_setting
from .registration import TOOL_CONF, RegistrationFailed, describe_platform

log = logging.getLogger(__name__)

# The values a registration sets on a platform, in the order the admin pages compare them.
PROPOSED_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url", "auth_audience", "deployment_id")
REGISTRATION_ACTOR = "registration"


@dataclass(frozen=True)
class RegistrationSource:
    """How the registration was started: a one-time link, or (quick start) the open page."""

    link_id: Optional[int] = None

    def describe(self) -> str:
        return f"link:{self.link_id}" if self.link_id is not None else "open"


@dataclass(frozen=True)
class Outcome:
    platform: Platform
    # Set when the registration matched an existing one: nothing changed, a provider admin decides.
    request: Optional[RegistrationRequest] = None


# -- one-time links ---------------------------------------------------------------------------

def usable_link(token: str) -> Optional[RegistrationLink]:
    """The link this token opens, if it is unused and unexpired."""
    if not token or len(token) > 200:
        return None
    link = db().scalar(select(RegistrationLink).where(RegistrationLink.token_hash == digest(token)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def claim_link(link_id: int) -> bool:
    """Use the link up, atomically: of two registrations racing with it, one wins."""
    now = utcnow()
    result = db().execute(update(RegistrationLink)
                          .where(RegistrationLink.id == link_id, RegistrationLink.used_at.is_(None),
                                 RegistrationLink.expires_at > now)
                          .values(used_at=now))
    db().commit()
    return result.rowcount == 1


def release_link(link_id: int) -> None:
    """The registration failed after the link was claimed: let the admin try again with it."""
    db().rollback()
    db().execute(update(RegistrationLink)
                 .where(RegistrationLink.id == link_id, RegistrationLink.platform_id.is_(None))
                 .values(used_at=None))
    db().commit()


# -- saving a registration ---------------------------------------------------------------------

def _identifier(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() \
            or len(str(value)) > 255:
        raise RegistrationFailed(f"The platform's answer has no usable {what}.")
    return str(value)


def proposed_values(config: dict[str, Any], registration: dict[str, Any]) -> dict[str, Any]:
    deployment = (registration.get(TOOL_CONF) or {}).get("deployment_id")
    return {
        "auth_login_url": config["authorization_endpoint"],
        "auth_token_url": config["token_endpoint"],
        "key_set_url": config["jwks_uri"],
        "auth_audience": config.get("authorization_server"),
        "deployment_id": _identifier(deployment, "deployment ID") if deployment else None,
        "platform_info": {**describe_platform(config), "registration": registration},
    }


def _find(issuer: str, client_id: str) -> Optional[Platform]:
    return db().scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id))


def _create(config: dict[str, Any], client_id: str, values: dict[str, Any]) -> Platform:
    info = values["platform_info"]
    platform = Platform(
        issuer=config["issuer"], client_id=client_id, registered_via="dynamic",
        status=ACTIVE if get_setting("AUTO_ACTIVATE_REGISTRATIONS") else PENDING,
        name=f"{info['product'].title()} at {urlsplit(config['issuer']).netloc}"[:200],
        auth_login_url=values["auth_login_url"], auth_token_url=values["auth_token_url"],
        key_set_url=values["key_set_url"], auth_audience=values["auth_audience"], platform_info=info)
    db().add(platform)
    db().flush()
    if values["deployment_id"]:
        db().add(Deployment(platform_id=platform.id, deployment_id=values["deployment_id"],
                            label="From dynamic registration", status=ACTIVE))
    return platform


def _audit_detail(config: dict[str, Any], client_id: str, values: dict[str, Any],
                  source: RegistrationSource) -> dict[str, Any]:
    return {"issuer": config["issuer"], "client_id": client_id, "via": source.describe(),
            **{k: values[k] for k in PROPOSED_FIELDS}}


def _record_request(platform: Platform, values: dict[str, Any], detail: dict[str, Any]) -> RegistrationRequest:
    pending = RegistrationRequest(platform_id=platform.id, proposed=values, status="pending",
                                  source_ip=(request.remote_addr or None))
    db().add(pending)
    db().flush()
    audit.record("platform.registration_request", target=pending, actor=REGISTRATION_ACTOR,
                 detail={**detail, "platform_id": platform.id})
    return pending


def _note_link(source: RegistrationSource, platform: Platform) -> None:
    if source.link_id is not None:
        db().execute(update(RegistrationLink).where(RegistrationLink.id == source.link_id)
                     .values(platform_id=platform.id))


def save_registration(config: dict[str, Any], registration: dict[str, Any],
                      source: RegistrationSource) -> Outcome:
    client_id = _identifier(registration.get("client_id"), "client ID")
    values = proposed_values(config, registration)
    detail = _audit_detail(config, client_id, values, source)
    existing = _find(config["issuer"], client_id)
    if existing is None:
        try:
            platform = _create(config, client_id, values)
            audit.record("platform.register", target=platform, actor=REGISTRATION_ACTOR,
                         detail={**detail, "status": platform.status})
            _note_link(source, platform)
            db().commit()
            log.info("dynamic registration: platform %s (%s, client %s) saved as %s",
                     platform.id, platform.issuer, platform.client_id, platform.status)
            return Outcome(platform)
        except IntegrityError:  # registered a moment ago by a racing request: treat as existing
            db().rollback()
            existing = _find(config["issuer"], client_id)
            if existing is None:
                raise
    pending = _record_request(existing, values, detail)
    _note_link(source, existing)
    db().commit()
    log.warning("dynamic registration for existing platform %s (%s, client %s): request %s "
                "waits for a provider admin", existing.id, existing.issuer, existing.client_id, pending.id)
    return Outcome(existing, pending)


# -- a provider admin's decision ---------------------------------------------------------------

def current_values(platform: Platform) -> dict[str, Any]:
    return {"auth_login_url": platform.auth_login_url, "auth_token_url": platform.auth_token_url,
            "key_set_url": platform.key_set_url, "auth_audience": platform.auth_audience}


def apply_request(pending: RegistrationRequest, platform: Platform) -> dict[str, Any]:
    """Give the platform the values the request proposed; what changed, as before/after."""
    proposed = pending.proposed or {}
    before = current_values(platform)
    for field in before:
        setattr(platform, field, proposed.get(field))
    if proposed.get("platform_info"):
        platform.platform_info = proposed["platform_info"]
    if before["key_set_url"] != platform.key_set_url:
        # Keys fetched from the old address must not sign launches for the new one.
        platform.jwks_cache, platform.jwks_fetched_at, platform.jwks_retry_at = None, None, None
    changes = {k: {"before": before[k], "after": getattr(platform, k)}
               for k in before if before[k] != getattr(platform, k)}
    deployment_id = proposed.get("deployment_id")
    if deployment_id and deployment_id not in {d.deployment_id for d in platform.deployments}:
        db().add(Deployment(platform_id=platform.id, deployment_id=deployment_id,
                            label="From dynamic registration (approved)", status=ACTIVE))
        changes["deployment_added"] = deployment_id
    return changes
