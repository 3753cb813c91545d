"""Outbound HTTP to platforms: a User-Agent (Canvas refuses requests without one) and bounded timeouts."""
from __future__ import annotations

import requests
from flask import current_app


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
    cfg = current_app.config
    return PlatformSession(cfg["HTTP_USER_AGENT"], tuple(cfg["HTTP_TIMEOUT"]))
