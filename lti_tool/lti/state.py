"""The OIDC login state: issued without a database write, used once.

A login is anonymous (any page on the web can start one), so it stores nothing. Its state is
`<id>~<signed payload>`: the payload (state ID, platform, nonce, the platform's storage frame) is
signed with the tool's secret key and timed (itsdangerous), so the launch can trust it without a
lookup and refuse it after LAUNCH_STATE_TTL_SECONDS. The browser that logged in holds the binding,
a value derived from the state ID with the secret key, in a cookie named by the state ID (or in the
platform's storage where its cookies are blocked): a launch posted from another browser fails.

Single use is the database's job, shared by every worker and machine: a launch whose token checks
out records its state ID in `launch_state` with INSERT ... ON CONFLICT DO NOTHING, in the launch's
own transaction, and a state already recorded is refused. Rows expire with the state (purged by
`flask data purge`): past that time the signature's age refuses a replay by itself.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..db import db, utcnow
from ..models import LaunchState
from ..tokens import digest
from .errors import StateError

_SALT = "npq-lti-login-state"
_SEPARATOR = "~"


@dataclass(frozen=True)
class IssuedState:
    state: str  # what the platform echoes back
    id: str
    platform_id: int
    nonce: str
    storage_target: Optional[str]
    issued_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    # Built once per app (building one costs more than a signature).
    ext = current_app.extensions
    if "lti_state_serializer" not in ext:
        ext["lti_state_serializer"] = URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)
    return ext["lti_state_serializer"]


def _binding(state_id: str) -> str:
    mac = hmac.new(current_app.secret_key.encode(), b"npq-lti-state-binding:" + state_id.encode(), hashlib.sha256)
    return mac.hexdigest()[:43]


def issue(platform_id: int, storage_target: Optional[str]) -> tuple[IssuedState, str]:
    """A new state for a login, and the binding value its browser keeps."""
    state_id, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    signed = _serializer().dumps({"i": state_id, "p": platform_id, "n": nonce, "t": storage_target})
    issued = IssuedState(state_id + _SEPARATOR + signed, state_id, platform_id, nonce, storage_target, utcnow())
    return issued, _binding(state_id)


def read(state: str) -> IssuedState:
    """The state a launch brings back, checked for its signature and age (StateError otherwise)."""
    state_id, _, signed = state.partition(_SEPARATOR)
    try:
        payload, signed_at = _serializer().loads(signed, max_age=current_app.config["LAUNCH_STATE_TTL_SECONDS"],
                                                 return_timestamp=True)
    except SignatureExpired as exc:
        raise StateError("The launch state has expired.") from exc
    except BadSignature as exc:
        raise StateError("The launch state is unknown: it was already used, or never issued.") from exc
    if not isinstance(payload, dict) or payload.get("i") != state_id or not isinstance(payload.get("p"), int):
        raise StateError("The launch state is unknown: it was already used, or never issued.")
    return IssuedState(state, state_id, payload["p"], str(payload.get("n") or ""), payload.get("t"),
                       signed_at.astimezone(timezone.utc))


def binding_matches(issued: IssuedState, binding: str) -> bool:
    return secrets.compare_digest(binding.encode(), _binding(issued.id).encode())


def state_id(state: str) -> str:
    return state.partition(_SEPARATOR)[0]


def was_used(issued: IssuedState) -> bool:
    """Whether a launch already used this state (asked only to word a refusal)."""
    return db().get(LaunchState, issued.id) is not None


def _build_mark(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = LaunchState.__table__
    return insert(table).values({c.name: bindparam(c.name) for c in table.c}) \
        .on_conflict_do_nothing(index_elements=["state"]).returning(table.c.state)


_MARKS = {name: _build_mark(name) for name in ("postgresql", "sqlite")}


def mark_used(issued: IssuedState) -> bool:
    """Record the state as used, in the current transaction; False if it already was."""
    conn = db().connection()
    stmt = _MARKS.get(conn.dialect.name)
    if stmt is None:
        stmt = _build_mark(conn.dialect.name)
    expires = issued.issued_at + timedelta(seconds=current_app.config["LAUNCH_STATE_TTL_SECONDS"])
    row = conn.execute(stmt, {"state": issued.id, "nonce": issued.nonce, "platform_id": issued.platform_id,
                              "browser_binding": digest(_binding(issued.id)), "storage_target": issued.storage_target,
                              "created_at": utcnow(), "expires_at": expires}).first()
    return row is not None
