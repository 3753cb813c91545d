"""Platform public keys: cached in the database (shared by every worker), re-fetched on an unknown kid."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from functools import lru_cache

import requests
from cryptography.hazmat.primitives import serialization
from flask import current_app
from jwcrypto.jwk import JWK
from sqlalchemy import select

from ..db import db, utcnow
from ..models import ACTIVE, Platform
from .errors import InvalidToken
from .http import platform_session

log = logging.getLogger(__name__)


def _find(keys: dict | None, kid: str, alg: str) -> dict | None:
    for key in (keys or {}).get("keys", []):
        if key.get("kid") == kid and key.get("alg", "RS256") == alg:
            return key
    return None


def _timeout() -> tuple[float, float]:
    # A person waits on a launch: the key-set fetch gets a shorter timeout than other calls.
    general, short = current_app.config["HTTP_TIMEOUT"], current_app.config["JWKS_HTTP_TIMEOUT"]
    return min(general[0], short[0]), min(general[1], short[1])


def _unreachable(platform: Platform) -> InvalidToken:
    retry = platform.jwks_retry_at
    when = f" The tool will ask it again after {retry:%H:%M:%S} UTC." if retry else ""
    return InvalidToken(
        f"The platform's public keys could not be fetched from {platform.key_set_url} "
        f"({platform.jwks_last_error or 'no answer'}).{when}",
        title="The platform's keys could not be reached",
        fix="Try again in a minute. If it keeps happening, a provider admin should check the "
            "platform's key set URL in the tool's admin pages.",
        status=502,
    )


def platform_for_update(platform) -> Platform:
    """The platform's ORM object, for the writes below: a launch reads its platform as a plain row."""
    return platform if isinstance(platform, Platform) else db().get(Platform, platform.id)


def _backing_off(platform: Platform) -> bool:
    return platform.jwks_retry_at is not None and utcnow() < platform.jwks_retry_at


def _fetch_failed(platform: Platform, reason: str) -> InvalidToken:
    """Negative caching: every worker leaves the platform's key set alone until jwks_retry_at."""
    platform = platform_for_update(platform)
    log.warning("platform %s key set fetch failed: %s", platform.id, reason)
    backoff = timedelta(seconds=current_app.config["JWKS_FAILURE_BACKOFF_SECONDS"])
    platform.jwks_retry_at = utcnow() + backoff
    platform.jwks_last_error = reason[:300]
    db().commit()
    return _unreachable(platform)


def _fetch(platform: Platform) -> dict:
    platform = platform_for_update(platform)
    try:
        resp = platform_session().get(platform.key_set_url, timeout=_timeout())
        resp.raise_for_status()
        keys = resp.json()
    except requests.Timeout as exc:
        raise _fetch_failed(platform, f"no answer within {_timeout()[1]:g} s") from exc
    except (requests.RequestException, ValueError) as exc:
        raise _fetch_failed(platform, f"{exc.__class__.__name__}: {exc}") from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise _fetch_failed(platform, "the answer is not a JSON Web Key Set")
    platform.jwks_cache = keys
    platform.jwks_fetched_at = utcnow()
    platform.jwks_fetch_count = (platform.jwks_fetch_count or 0) + 1
    platform.jwks_retry_at = platform.jwks_last_error = None
    db().commit()
    log.info("platform %s key set fetched (%d keys)", platform.id, len(keys["keys"]))
    return keys


def _from_key_set_url(platform: Platform, kid: str, alg: str) -> dict | None:
    """The key from the cached key set, fetched again when the cache is older than the TTL, or
    when it lacks this kid (at most once per JWKS_REFETCH_MIN_SECONDS: forged tokens with random
    kids cannot turn the tool into a load generator)."""
    cached = _find(platform.jwks_cache, kid, alg)
    fetched = platform.jwks_fetched_at
    age = utcnow() - fetched if fetched else None
    stale = age is None or age > timedelta(seconds=current_app.config["PLATFORM_JWKS_TTL_SECONDS"])
    if not stale and (cached is not None or age < timedelta(seconds=current_app.config["JWKS_REFETCH_MIN_SECONDS"])):
        return cached
    if _backing_off(platform):
        # The platform failed a moment ago: the key held (if any) rather than another wait.
        if cached is not None:
            return cached
        raise _unreachable(platform)
    try:
        keys = _fetch(platform)
    except InvalidToken:
        if cached is not None:  # its key set is out of date, not wrong: keep launches working
            log.warning("platform %s: using its key set cached at %s", platform.id, fetched)
            return cached
        raise
    return _find(keys, kid, alg)


@lru_cache(maxsize=64)
def _parsed(jwk_json: str):
    # Parsed once per process and key (a key is the same object for every launch it signs).
    return serialization.load_pem_public_key(JWK(**json.loads(jwk_json)).export_to_pem())


def _public_key(jwk: dict):
    """The parsed key of a JWK, from the per-process cache: the launch and the warm-up ask the same way."""
    return _parsed(json.dumps(jwk, sort_keys=True))


def parse_registered_keys(limit: int = _parsed.cache_info().maxsize) -> int:
    """Parse the keys of active registrations now, at start-up (lti_tool/warmup.py): otherwise each
    worker parses a platform's key on its first launch from it. As many as the cache holds, those whose
    key sets were fetched last first (the platforms launching now). Returns how many were parsed."""
    parsed = 0
    rows = db().execute(select(Platform.key_set, Platform.jwks_cache).where(Platform.status == ACTIVE)
                        .order_by(Platform.jwks_fetched_at.desc().nulls_last(), Platform.id.desc()).limit(limit))
    for fixed, fetched in rows:
        for key in (fixed or {}).get("keys", []) + (fetched or {}).get("keys", []):
            if parsed < limit and key.get("kty") == "RSA" and key.get("alg", "RS256") == "RS256":
                try:
                    _public_key(key)
                    parsed += 1
                except Exception:  # noqa: BLE001 - a malformed key is refused at launch, with its reason
                    pass
    return parsed


def platform_public_key(platform: Platform, kid: str, alg: str):
    """The platform key that signed a token (a parsed public key), fetching the key set only when
    needed."""
    if not kid:
        raise InvalidToken("The token's header has no key ID (kid).")
    key = _find(platform.key_set, kid, alg)
    if key is None and platform.key_set_url:
        key = _from_key_set_url(platform, kid, alg)
    if key is None:
        raise InvalidToken(f"No key with kid {kid!r} ({alg}) is published by the platform.")
    try:
        return _public_key(key)
    except Exception as exc:  # malformed JWK published by the platform
        raise InvalidToken("The platform published a key that cannot be read.") from exc
