"""Deliver the grade outbox through AGS: leased rows (several workers never send one twice),
access tokens reused per platform and scope set, retries with backoff (and the platform's
Retry-After), idempotent re-delivery."""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

import requests
from urllib3.exceptions import ProtocolError
from flask import Flask, current_app
from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..db import db, utcnow
from ..lti.http import platform_session
from ..lti.tool_config import to_registration
from ..models import AccessToken, GradeOutbox, Platform

log = logging.getLogger(__name__)

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPES = [LINEITEM_SCOPE, SCORE_SCOPE]
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LEASE = timedelta(seconds=120)
MAX_BACKOFF = timedelta(minutes=30)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# After this many attempts the entry is marked failed (a tutor can retry it by hand).
MAX_ATTEMPTS = 12
# Shown to tutors (truncated to 80 characters in the marking queue: the gist comes first).
STALE_REFUSED = ("Refused by the platform: its gradebook holds a newer grade for this person. "
                 "A grade entered there (by hand, or by another tool) after this mark was released "
                 "wins; release the mark again if it should replace that grade.")


class DeliveryError(Exception):
    """A failed attempt. `sent`: the request may have reached the platform before it failed (no
    answer came back); `may_have_arrived`: this was the score itself, so the platform may hold it;
    `retry_after`: seconds the platform asked us to wait."""

    def __init__(self, message: str, retry: bool = True, *, sent: bool = False,
                 may_have_arrived: bool = False, retry_after: Optional[float] = None):
        super().__init__(message)
        self.retry, self.sent, self.may_have_arrived = retry, sent, may_have_arrived
        self.retry_after = retry_after


_token_lock = threading.Lock()


class DatabaseTokenConnector(ServiceConnector):
    """pylti1p3's client-credentials grant, with tokens kept in the database for every worker."""

    def __init__(self, platform: Platform):
        super().__init__(to_registration(platform), platform_session())
        self.platform = platform

    def _get_cached_access_token(self, scope_key: str) -> Optional[str]:
        row = db().scalar(select(AccessToken).where(AccessToken.platform_id == self.platform.id,
                                                    AccessToken.scope_key == scope_key))
        if row and row.expires_at > utcnow() + timedelta(seconds=30):
            return row.token
        return None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float):
        expires = utcnow() + timedelta(seconds=max(0, float(expires_in or 0)))
        # Workers that start together may all fetch a token: the last one stored wins, none fails.
        for _ in range(2):
            row = db().scalar(select(AccessToken).where(AccessToken.platform_id == self.platform.id,
                                                        AccessToken.scope_key == scope_key))
            try:
                if row is None:
                    db().add(AccessToken(platform_id=self.platform.id, scope_key=scope_key,
                                         token=access_token, expires_at=expires))
                else:
                    row.token, row.expires_at = access_token, expires
                db().commit()
                return
            except IntegrityError:
                db().rollback()

    def token(self) -> str:
        try:
            # One thread of this process asks the platform for a token; the others then find it
            # stored (a worker's delivery threads start together).
            with _token_lock:
                return self.get_access_token(SCOPES)
        except LtiServiceException as exc:
            raise DeliveryError(f"the platform refused an access token: {exc}") from exc
        except (requests.RequestException, KeyError, ValueError) as exc:
            raise DeliveryError(f"access token request failed: {exc.__class__.__name__}: {exc}") from exc

    def forget_token(self) -> None:
        scope_key = self._scope_key(sorted(SCOPES))
        row = db().scalar(select(AccessToken).where(AccessToken.platform_id == self.platform.id,
                                                    AccessToken.scope_key == scope_key))
        if row:
            db().delete(row)
            db().commit()


def _scores_url(line_item: str) -> str:
    path, _, query = line_item.partition("?")
    return path.rstrip("/") + "/scores" + (("?" + query) if query else "")


def _may_have_been_sent(exc: requests.RequestException) -> bool:
    """The request went out and no answer came back (a read timeout, the connection dropped while
    waiting): the platform may have acted on it. Not when no connection was made (refused,
    unresolvable, a connect timeout, an address the outbound policy blocks)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, (requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return True
    cause = exc.args[0] if exc.args else None
    return isinstance(cause, (ProtocolError, OSError))  # urllib3's MaxRetryError: never connected


def _request(connector: DatabaseTokenConnector, method: str, url: str, **kw) -> requests.Response:
    for attempt in range(2):
        headers = {"Authorization": "Bearer " + connector.token(), **kw.pop("headers", {})}
        try:
            resp = platform_session().request(method, url, headers=headers, **kw)
        except requests.RequestException as exc:
            what = "timed out calling" if isinstance(exc, requests.Timeout) else "could not reach"
            raise DeliveryError(f"{what} {url}: {exc.__class__.__name__}", sent=_may_have_been_sent(exc)) from exc
        if resp.status_code == 401 and attempt == 0:
            connector.forget_token()  # revoked or expired early: one fresh token, once
            kw["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            continue
        return resp
    return resp


def _find_or_create_line_item(connector, entry: GradeOutbox) -> str:
    container = entry.lineitems_url
    params = {"resource_id": entry.resource_id}
    if entry.resource_link_id:
        params["resource_link_id"] = entry.resource_link_id
    resp = _request(connector, "GET", container, params=params,
                    headers={"Accept": "application/vnd.ims.lis.v2.lineitemcontainer+json"})
    if resp.ok:
        try:
            items = resp.json()
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if item.get("resourceId") == entry.resource_id and item.get("id"):
                return item["id"]
    elif resp.status_code >= 500 or resp.status_code == 429:  # not "none found": ask again later
        raise DeliveryError(f"line items lookup failed with {resp.status_code}", retry_after=_retry_after(resp))
    body = {"scoreMaximum": entry.score["scoreMaximum"], "label": entry.label,
            "resourceId": entry.resource_id, "tag": "npq"}
    if entry.resource_link_id:
        body["resourceLinkId"] = entry.resource_link_id
    resp = _request(connector, "POST", container, json=body,
                    headers={"Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE})
    if not resp.ok:
        raise DeliveryError(f"creating the line item failed with {resp.status_code}",
                            retry=resp.status_code >= 500 or resp.status_code == 429, retry_after=_retry_after(resp))
    return resp.json()["id"]


def _is_stale_timestamp_refusal(resp: requests.Response) -> bool:
    """Moodle answers 409 and Canvas 400 to a score whose timestamp is not newer than the one it
    holds."""
    if resp.status_code == 409:
        return True
    if resp.status_code == 400:
        text = resp.text.lower()
        return "timestamp" in text
    return False


def _retry_after(resp: requests.Response) -> Optional[float]:
    return retry_after_seconds(resp.headers.get("Retry-After")) if resp.status_code in (429, 503) else None


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - utcnow()).total_seconds())


# A 5xx after the body was sent leaves the score's fate unknown (the platform may have stored it
# and failed afterwards; a gateway may have timed out while it was storing it), except for 501
# and 503, which say the request was not handled at all.
_UNHANDLED_5XX = (501, 503)


def _refusal(resp: requests.Response) -> DeliveryError:
    """What a score POST's failure answer means for this entry."""
    status = resp.status_code
    if _is_stale_timestamp_refusal(resp):
        # Our timestamp is fixed when the mark is released: the platform holds this score (an
        # earlier attempt arrived without our knowing) or a newer grade. Only the first is a
        # delivery, and only an earlier attempt whose fate is unknown can have brought it.
        return DeliveryError(STALE_REFUSED + f" ({status})", retry=False)
    return DeliveryError(f"the platform answered {status}: {resp.text[:200]}",
                         retry=status >= 500 or status in (408, 429), retry_after=_retry_after(resp),
                         may_have_arrived=status >= 500 and status not in _UNHANDLED_5XX)


def deliver(entry: GradeOutbox) -> None:
    platform = db().get(Platform, entry.platform_id)
    if platform is None or not platform.is_active:
        raise DeliveryError("the platform is not active in the tool", retry=False)
    connector = DatabaseTokenConnector(platform)
    if not entry.line_item_url:
        entry.line_item_url = _find_or_create_line_item(connector, entry)
        db().commit()
    try:
        resp = _request(connector, "POST", _scores_url(entry.line_item_url), json=entry.score,
                        headers={"Content-Type": SCORE_TYPE})
    except DeliveryError as exc:
        exc.may_have_arrived = exc.sent  # the score went out; its answer never came back
        raise
    if resp.ok:
        return
    if entry.maybe_delivered and _is_stale_timestamp_refusal(resp):
        log.info("grade %s: an earlier attempt had arrived (%s)", entry.id, resp.status_code)
        return
    raise _refusal(resp)


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
    ).order_by(GradeOutbox.next_attempt_at).limit(limit)
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
    return list(db().scalars(select(GradeOutbox).where(GradeOutbox.id.in_(ids), GradeOutbox.lease_owner == owner)
                             .execution_options(populate_existing=True)))  # as stored, not as last seen


def process(entry: GradeOutbox) -> None:
    try:
        deliver(entry)
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
        entry.status, entry.delivered_at, entry.last_error = DELIVERED, utcnow(), None
        log.info("grade %s delivered", entry.id)
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
_kicked: set[int] = set()


def kick(app: Flask) -> None:
    """Start delivering soon in a background thread of this process (one at a time), so grades
    reach the platform without waiting for the worker's next poll. The worker remains the
    guarantee: an entry this thread does not finish stays in the outbox."""
    key = id(app)
    with _kick_lock:
        if key in _kicked:
            return
        _kicked.add(key)

    def run():
        try:
            with app.app_context():
                while deliver_due():
                    pass
        except Exception:  # never let a background delivery crash the process
            log.exception("background grade delivery stopped")
        finally:
            with _kick_lock:
                _kicked.discard(key)

    threading.Thread(target=run, name="grade-delivery", daemon=True).start()


def retry_now(entry: GradeOutbox) -> None:
    """A tutor's manual retry: due at once, failed entries pending again."""
    entry.status, entry.next_attempt_at = PENDING, utcnow()
    # A lease still held is an attempt under way or cut short: its score may have been sent.
    entry.maybe_delivered = entry.maybe_delivered or entry.lease_owner is not None
    entry.lease_owner = entry.lease_until = None


__all__ = ["deliver_due", "kick", "retry_now", "claim_due", "process", "and_", "hashlib",
           "current_app"]
