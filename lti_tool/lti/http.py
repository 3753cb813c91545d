"""Outbound HTTP to platforms: a User-Agent (Canvas refuses requests without one) and bounded timeouts."""
from __future__ import annotations

import threading

import requests
from flask import current_app

_local = threading.local()


class PlatformSession(requests.Session):
    """A requests session whose every call has the configured timeout unless given one."""

    def __init__(self, user_agent: str, timeout: tuple[float, float]):
        super().__init__()
        self.headers["User-Agent"] = user_agent
        self._timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


def platform_session() -> PlatformSession:
    """One session per thread, so connections to a platform are kept alive between calls (a grade
    worker sending hundreds of scores reuses its connection instead of opening one per score)."""
    cfg = current_app.config
    key = (cfg["HTTP_USER_AGENT"], tuple(cfg["HTTP_TIMEOUT"]))
    session = getattr(_local, "sessions", {}).get(key)
    if session is None:
        session = PlatformSession(*key)
        _local.sessions = {**getattr(_local, "sessions", {}), key: session}
    return session
