"""Outbound HTTP to platforms: one guarded session kind for every request the tool makes (key
sets, tokens, grades, rosters, Dynamic Registration): a User-Agent (Canvas refuses requests
without one), bounded timeouts, and the address rules of outbound.py."""
from __future__ import annotations

import threading
import time
from typing import Any

import requests
from flask import current_app

from .outbound import OutboundPolicy, PolicyAdapter

_local = threading.local()


class ResponseTooLarge(requests.exceptions.RequestException):
    """The answer was bigger than the caller accepts."""


class ResponseTooSlow(requests.exceptions.Timeout):
    """The answer kept coming for longer than the caller waits in all."""


class PlatformSession(requests.Session):
    """A requests session whose every call has the configured timeout unless given one, and
    whose every request goes through the outbound policy."""

    def __init__(self, user_agent: str, timeout: tuple[float, float],
                 policy: OutboundPolicy = OutboundPolicy(allow_private=True, require_https=False)):
        super().__init__()
        self.headers["User-Agent"] = user_agent
        self._timeout = timeout
        self.policy = policy
        adapter = PolicyAdapter(policy)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        if not policy.allow_private:
            # Proxies from the environment would hide the address reached; .netrc would send
            # credentials to whatever host a platform names.
            self.trust_env = False

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


def _session_key() -> tuple[str, tuple[float, float], OutboundPolicy]:
    cfg = current_app.config
    return cfg["HTTP_USER_AGENT"], tuple(cfg["HTTP_TIMEOUT"]), OutboundPolicy.from_config(cfg)


def platform_session() -> PlatformSession:
    """One session per thread, so connections to a platform are kept alive between calls (a grade
    worker sending hundreds of scores reuses its connection instead of opening one per score)."""
    key = _session_key()
    session = getattr(_local, "sessions", {}).get(key)
    if session is None:
        session = PlatformSession(*key)
        _local.sessions = {**getattr(_local, "sessions", {}), key: session}
    return session


def read_limited(resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
    """The body of a streamed response, refusing more than max_bytes or reading past the
    deadline (time.monotonic()): the read time-out is per packet, so a server dripping one byte
    at a time would otherwise hold the worker for as long as it likes."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"declared {declared} bytes")
    body = bytearray()
    for chunk in resp.iter_content(chunk_size=16384):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ResponseTooLarge(f"more than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise ResponseTooSlow("the answer took too long")
    return bytes(body)


def guarded_call(method: str, url: str, *, timeout: tuple[float, float], max_bytes: int,
                 total_seconds: float, **kwargs: Any) -> tuple[requests.Response, bytes]:
    """One request that follows no redirect (a 3xx is returned as it is), with short time-outs
    and a size cap: for URLs that someone outside gave the tool."""
    deadline = time.monotonic() + total_seconds
    with platform_session().request(method, url, timeout=timeout, allow_redirects=False,
                                    stream=True, **kwargs) as resp:
        return resp, read_limited(resp, max_bytes, deadline)
