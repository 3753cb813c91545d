"""Fixed-window rate limits counted in the database, so every worker on every machine shares
them (Flask-Limiter's storages are Redis, Memcached or MongoDB: none of which this tool runs)."""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import bindparam, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .db import engine, utcnow
from .security_models import RateCounter

_TABLE = RateCounter.__table__


def _build_upsert(dialect_name: str):
    insert = pg_insert if dialect_name == "postgresql" else sqlite_insert
    stmt = insert(_TABLE).values(key=bindparam("key"), window=bindparam("window"), count=1,
                                 expires_at=bindparam("expires_at"))
    return stmt.on_conflict_do_update(index_elements=["key", "window"],
                                      set_={"count": _TABLE.c.count + 1}).returning(_TABLE.c.count)


# Built once per dialect: every OIDC login counts one (building it per call cost more than running it).
_UPSERTS = {name: _build_upsert(name) for name in ("postgresql", "sqlite")}


def _increment(conn, key: str, window: int, expires_at: datetime) -> int:
    stmt = _UPSERTS.get(conn.dialect.name)
    if stmt is None:
        stmt = _build_upsert(conn.dialect.name)
    return conn.execute(stmt, {"key": key, "window": window, "expires_at": expires_at}).scalar_one()


def hit(key: str, limit: int, per_seconds: int) -> bool:
    """Count one request for `key`; False when it is over `limit` in the current window of
    `per_seconds`. Always True where rate limits are switched off (RATE_LIMITS_ENABLED)."""
    if not current_app.config.get("RATE_LIMITS_ENABLED", True) or limit <= 0:
        return True
    now = time.time()
    window = int(now // per_seconds)
    expires_at = datetime.fromtimestamp((window + 1) * per_seconds, timezone.utc)
    with engine().begin() as conn:  # its own short transaction: never mixed with the request's
        count = _increment(conn, key[:200], window, expires_at)
        if random.random() < 0.01:  # now and then, clear windows that have passed
            conn.execute(delete(_TABLE).where(_TABLE.c.expires_at < utcnow()))
    return count <= limit


def parse_limit(spec: str) -> tuple[int, int]:
    """'600/60' -> (600 requests, per 60 seconds)."""
    count, _, seconds = str(spec).partition("/")
    return int(count), int(seconds or 60)
