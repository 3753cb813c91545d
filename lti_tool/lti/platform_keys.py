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

from ..db import db, utcnow
from ..models import Platform
from .errors import InvalidToken
from .http import platform_session

log = logging.getLogger(__name__)


def _find(keys: dict | None, kid: str, alg: str) -> dict | None:
    for key in (keys or {}).get("keys", []):
        if key.get("kid") == kid and key.get("alg", "RS256") == alg:
            return key
    return None


def _fetch(platform: Platform) -> dict:
    try:
        resp = platform_session().get(platform.key_set_url)
        resp.raise_for_status()
        keys = resp.json()
    except (requests.RequestException, ValueError) as exc:
        log.warning("platform %s key set fetch failed: %s", platform.id, exc)
        raise InvalidToken(
            f"The platform's public keys could not be fetched from {platform.key_set_url}.",
            title="The platform's keys could not be reached",
            fix="Try again in a minute. If it keeps happening, a provider admin should check the "
                "platform's key set URL in the tool's admin pages.",
            status=502,
        ) from exc
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        raise InvalidToken("The platform's key set URL did not return a JSON Web Key Set.", status=502)
    platform.jwks_cache = keys
    platform.jwks_fetched_at = utcnow()
    platform.jwks_fetch_count = (platform.jwks_fetch_count or 0) + 1
    db().commit()
    log.info("platform %s key set fetched (%d keys)", platform.id, len(keys["keys"]))
    return keys


@lru_cache(maxsize=64)
def _parsed(jwk_json: str):
    # Parsed once per process and key (a key is the same object for every launch it signs).
    return serialization.load_pem_public_key(JWK(**json.loads(jwk_json)).export_to_pem())


def platform_public_key(platform: Platform, kid: str, alg: str):
    """The platform key that signed a token (a parsed public key), fetching the key set only when
    needed."""
    if not kid:
        raise InvalidToken("The token's header has no key ID (kid).")
    key = _find(platform.key_set, kid, alg)
    if key is None and platform.key_set_url:
        ttl = timedelta(seconds=current_app.config["PLATFORM_JWKS_TTL_SECONDS"])
        fetched = platform.jwks_fetched_at
        stale = fetched is None or utcnow() - fetched > ttl
        if stale:
            _fetch(platform)
        key = _find(platform.jwks_cache, kid, alg)
        # An unknown kid makes at most one re-fetch per platform per JWKS_REFETCH_MIN_SECONDS, so
        # forged tokens with random kids cannot turn the tool into a load generator.
        min_gap = timedelta(seconds=current_app.config["JWKS_REFETCH_MIN_SECONDS"])
        if key is None and not stale and utcnow() - fetched >= min_gap:
            # The platform may have rotated its key since we cached the set: look once more.
            _fetch(platform)
            key = _find(platform.jwks_cache, kid, alg)
    if key is None:
        raise InvalidToken(f"No key with kid {kid!r} ({alg}) is published by the platform.")
    try:
        return _parsed(json.dumps(key, sort_keys=True))
    except Exception as exc:  # malformed JWK published by the platform
        raise InvalidToken("The platform published a key that cannot be read.") from exc
