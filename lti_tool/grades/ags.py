"""Sending one outbox entry's score to the platform's gradebook (AGS): access tokens kept in the
database for every worker, the line item found or created, and what each failure answer means
for a retry."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Optional

import requests
from urllib3.exceptions import ProtocolError
from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db import db, utcnow
from ..lti.http import platform_session
from ..lti.tool_config import to_registration
from ..models import AccessToken, GradeOutbox, Platform
from .status import DELIVERED, SUPERSEDED

log = logging.getLogger(__name__)

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPES = [LINEITEM_SCOPE, SCORE_SCOPE]
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
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


def _superseded(entry: GradeOutbox) -> bool:
    """A newer score of ours for the same person and item has been delivered: this one's older
    timestamp would be refused, and the gradebook already holds our latest word."""
    return db().scalar(select(GradeOutbox.id).where(
        GradeOutbox.platform_id == entry.platform_id, GradeOutbox.course_id == entry.course_id,
        GradeOutbox.person_id == entry.person_id, GradeOutbox.resource_id == entry.resource_id,
        GradeOutbox.id > entry.id, GradeOutbox.status == DELIVERED).limit(1)) is not None


def deliver(entry: GradeOutbox) -> str:
    """Send the entry's score: DELIVERED, or SUPERSEDED when the gradebook already holds a newer score of
    ours for the same person and item (this one is then not sent, or was refused as older)."""
    if _superseded(entry):
        log.info("grade %s not sent: a newer grade for the same person and item was delivered", entry.id)
        return SUPERSEDED
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
        return DELIVERED
    if entry.maybe_delivered and _is_stale_timestamp_refusal(resp):
        log.info("grade %s: an earlier attempt had arrived (%s)", entry.id, resp.status_code)
        return DELIVERED
    if _is_stale_timestamp_refusal(resp) and _superseded(entry):  # another worker sent the newer one first
        log.info("grade %s refused as older than a newer grade of ours (%s)", entry.id, resp.status_code)
        return SUPERSEDED
    raise _refusal(resp)
