"""Failed admin sign-ins: a per-account lock-out, whatever address the attempts come from, and a
separate per-address limit, both shared by every worker through the database.

An unknown username is counted and "locked" exactly like a real account (in login_attempt rows
rather than on admin_user), so the answers never tell whether a username exists."""
from __future__ import annotations

import random
from datetime import timedelta
from typing import Optional

from sqlalchemy import delete, func, select

from .. import audit
from ..db import db, utcnow
from ..models import AdminUser, LoginAttempt

MAX_ACCOUNT_FAILURES = 5  # wrong passwords or codes for one account ...
FAILURE_WINDOW = timedelta(minutes=15)  # ... within this long lock it ...
LOCK_DURATION = timedelta(minutes=15)  # ... for this long.
MAX_ADDRESS_FAILURES = 20  # failures from one address, any usernames, within FAILURE_WINDOW


def _account_key(username: str) -> str:
    return "acct:" + username[:150]


def _lock_key(username: str) -> str:
    return "lock:" + username[:150]


def _address_key(address: Optional[str]) -> str:
    return "addr:" + (address or "unknown")[:100]


def _count(key: str, since) -> int:
    return db().scalar(select(func.count()).select_from(LoginAttempt)
                       .where(LoginAttempt.key == key, LoginAttempt.at > since))


def address_blocked(address: Optional[str]) -> bool:
    return _count(_address_key(address), utcnow() - FAILURE_WINDOW) >= MAX_ADDRESS_FAILURES


def account_locked(username: str, user: Optional[AdminUser]) -> bool:
    if user is not None:
        return user.locked_until is not None and user.locked_until > utcnow()
    return _count(_lock_key(username), utcnow() - LOCK_DURATION) > 0


def record_failure(username: str, user: Optional[AdminUser], address: Optional[str], step: str) -> bool:
    """Count a wrong password or code (the caller commits); True when it locks the account."""
    now = utcnow()
    db().add_all([LoginAttempt(key=_account_key(username), at=now),
                  LoginAttempt(key=_address_key(address), at=now)])
    db().flush()
    failures = _count(_account_key(username), now - FAILURE_WINDOW)
    if user is not None:
        user.failed_logins = failures
    audit.record("admin.sign_in_failed", target=user, actor="anonymous",
                 detail={"username": username[:100], "step": step})
    if failures < MAX_ACCOUNT_FAILURES:
        return False
    _lock(username, user, now)
    return True


def _lock(username: str, user: Optional[AdminUser], now) -> None:
    db().execute(delete(LoginAttempt).where(LoginAttempt.key == _account_key(username)))
    if user is not None:
        user.locked_until = now + LOCK_DURATION
        user.failed_logins = 0
    else:  # the same lock, for a name that is no account
        db().add(LoginAttempt(key=_lock_key(username), at=now))
    audit.record("admin.locked", target=user, actor="system",
                 detail={"username": username[:100], "minutes": int(LOCK_DURATION.total_seconds() // 60)})


def record_success(username: str, user: AdminUser) -> None:
    db().execute(delete(LoginAttempt).where(LoginAttempt.key == _account_key(username)))
    user.failed_logins = 0
    user.locked_until = None
    if random.random() < 0.05:  # now and then, clear rows nothing counts any more
        db().execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(days=1)))


def unlock(username: str, user: Optional[AdminUser]) -> None:
    """`flask admin unlock`: forget the failures and any lock (the caller commits)."""
    db().execute(delete(LoginAttempt).where(
        LoginAttempt.key.in_([_account_key(username), _lock_key(username)])))
    if user is not None:
        user.failed_logins = 0
        user.locked_until = None
