"""Deliver the grade outbox: leased rows (several workers never send one twice), retries with
backoff (and the platform's Retry-After), idempotent re-delivery. Sending one score is ags.py."""
from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Optional

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..db import db, utcnow
from ..models import GradeOutbox
from .ags import DeliveryError, deliver
from .status import DELIVERED, FAILED, PENDING

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
MAX_BACKOFF = timedelta(minutes=30)
# After this many attempts the entry is marked failed (a tutor can retry it by hand).
MAX_ATTEMPTS = 12


def _backoff(attempts: int) -> timedelta:
    base = float(current_app.config.get("GRADE_RETRY_BASE_SECONDS", 2))
    return min(MAX_BACKOFF, timedelta(seconds=base * 2 ** min(attempts - 1, 12)))


def _platform_wait(exc: DeliveryError) -> Optional[timedelta]:
    """The platform's Retry-After, capped (a platform cannot park grades for days)."""
    if exc.retry_after is None:
        return None
    cap = float(current_app.config.get("AGS_RETRY_AFTER_MAX_SECONDS", 3600))
    return timedelta(seconds=min(exc.retry_after, cap))


def claim_due(owner: str, limit: int = 20) -> list[GradeOutbox]:
    """Lease up to `limit` due entries to this worker. The conditional UPDATE is atomic, so two
    workers (processes or machines) never hold the same entry."""
    now = utcnow()
    due = select(GradeOutbox.id).where(
        GradeOutbox.status == PENDING, GradeOutbox.next_attempt_at <= now,
        or_(GradeOutbox.lease_until.is_(None), GradeOutbox.lease_until < now),
    ).order_by(GradeOutbox.next_attempt_at, GradeOutbox.id).limit(limit)
    if db().bind.dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        due = due.with_for_update(skip_locked=True)
    ids = list(db().scalars(due))
    if not ids:
        return []
    db().execute(
        update(GradeOutbox).where(
            GradeOutbox.id.in_(ids), GradeOutbox.status == PENDING,
            or_(GradeOutbox.lease_until.is_(None), GradeOutbox.lease_until < now),
        ).values(lease_owner=owner, lease_until=now + LEASE,
                 # A lease that expired with its owner still named: that worker stopped in the
                 # middle of an attempt (killed, or its database went away) without recording
                 # it, so the score may have been sent.
                 maybe_delivered=or_(GradeOutbox.maybe_delivered, GradeOutbox.lease_owner.is_not(None)))
    )
    db().commit()
    # In queue order: a person's newer score for an item is sent after the older one, not before
    # (the platform would refuse the older as stale).
    return list(db().scalars(select(GradeOutbox).where(GradeOutbox.id.in_(ids), GradeOutbox.lease_owner == owner)
                             .order_by(GradeOutbox.next_attempt_at, GradeOutbox.id)
                             .execution_options(populate_existing=True)))  # as stored, not as last seen


def process(entry: GradeOutbox) -> None:
    try:
        outcome = deliver(entry)
    except (SQLAlchemyError, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        # Anything unexpected is a retryable failure of this entry, never the end of the worker.
        db().rollback()
        entry = db().get(GradeOutbox, entry.id)
        exc = DeliveryError(f"{exc.__class__.__name__}: {exc}"[:500])
        _record_failure(entry, exc)
    except DeliveryError as exc:
        _record_failure(entry, exc)
    else:
        entry.attempts += 1
        entry.status, entry.last_error = outcome, None
        entry.delivered_at = utcnow() if outcome == DELIVERED else None
        log.info("grade %s %s", entry.id, outcome)
    entry.lease_owner, entry.lease_until = None, None
    db().commit()


def _record_failure(entry: GradeOutbox, exc: DeliveryError) -> None:
    entry.attempts += 1
    entry.last_error = str(exc)[:1000]
    if exc.may_have_arrived:
        entry.maybe_delivered = True
    wait, now = _platform_wait(exc), utcnow()
    if exc.retry and entry.attempts < MAX_ATTEMPTS:
        entry.next_attempt_at = now + max(_backoff(entry.attempts), wait or timedelta(0))
    else:
        entry.status = FAILED
    if wait:
        _pause_platform(entry.platform_id, now + wait)
    log.warning("grade %s attempt %s failed: %s", entry.id, entry.attempts, exc)


_paused_lock = threading.Lock()


def _pauses() -> dict[int, datetime]:
    """Platforms that asked (Retry-After) to be left alone, until when: this process's passes
    skip them at once, and every worker finds their pending grades moved past that time."""
    return current_app.extensions.setdefault("grade_delivery_pauses", {})


def _pause_platform(platform_id: int, until: datetime) -> None:
    with _paused_lock:
        _pauses()[platform_id] = until = max(until, _pauses().get(platform_id, until))
    db().execute(update(GradeOutbox).where(GradeOutbox.platform_id == platform_id, GradeOutbox.status == PENDING,
                                           GradeOutbox.next_attempt_at < until)
                 .values(next_attempt_at=until).execution_options(synchronize_session=False))


def _paused_until(platform_id: int) -> Optional[datetime]:
    until = _pauses().get(platform_id)
    return until if until is not None and utcnow() < until else None


def deliver_due(limit: int = 20) -> int:
    """One pass over what is due now. Returns how many entries were attempted. Leases this pass
    did not get to are released at once, whatever happens, rather than left to expire; the lease
    of an attempt that ended without being recorded is left to expire (see claim_due)."""
    owner = secrets.token_hex(8)
    entries = claim_due(owner, limit)
    untouched = {entry.id for entry in entries}
    attempted = 0
    try:
        for entry in entries:
            until = _paused_until(entry.platform_id)
            if until is not None:  # queued after the pause began: moved past it, released below
                _pause_platform(entry.platform_id, until)
                db().commit()
                continue
            untouched.discard(entry.id)
            process(entry)
            attempted += 1
    finally:
        db().rollback()
        if untouched:
            db().execute(update(GradeOutbox).where(GradeOutbox.lease_owner == owner, GradeOutbox.id.in_(untouched))
                         .values(lease_owner=None, lease_until=None))
            db().commit()
    return attempted


_kick_lock = threading.Lock()
# App id -> whether it was kicked again while its delivery thread was running.
_kicked: dict[int, bool] = {}


def kick(app: Flask) -> None:
    """Start delivering soon in a background thread of this process (one at a time), so grades
    reach the platform without waiting for the worker's next poll. A kick while that thread runs
    makes it look once more before it stops, so a grade queued as it finishes is not left for the
    worker. The worker remains the guarantee: an entry this thread does not finish stays queued."""
    key = id(app)
    with _kick_lock:
        if key in _kicked:
            _kicked[key] = True
            return
        _kicked[key] = False

    def kicked_again() -> bool:
        with _kick_lock:
            again = _kicked.get(key, False)
            if again:
                _kicked[key] = False
            else:
                _kicked.pop(key, None)
            return again

    def run():
        try:
            with app.app_context():
                while True:
                    while deliver_due():
                        pass
                    if not kicked_again():
                        return
        except Exception:  # never let a background delivery crash the process
            log.exception("background grade delivery stopped")
            with _kick_lock:
                _kicked.pop(key, None)

    threading.Thread(target=run, name="grade-delivery", daemon=True).start()


def retry_now(entry: GradeOutbox) -> None:
    """A tutor's manual retry: due at once, failed entries pending again."""
    entry.status, entry.next_attempt_at = PENDING, utcnow()
    # A lease still held is an attempt under way or cut short: its score may have been sent.
    entry.maybe_delivered = entry.maybe_delivered or entry.lease_owner is not None
    entry.lease_owner = entry.lease_until = None


__all__ = ["deliver_due", "kick", "retry_now", "claim_due", "process"]
