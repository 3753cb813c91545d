"""The tool on another site than the VLE, over plain http: a set-up that cannot work in a browser.

Over http the tool's cookies are `SameSite=Lax` (a `Secure` cookie cannot be set without HTTPS),
and browsers never send Lax cookies into a frame whose page is on another site, nor with a form
posted from another site. So with the VLE on one site and the tool on another (Moodle at
moodle.school.org, the tool at npq.provider.org), registration cannot keep its confirmation form
and a launch cannot find its state, in every browser and whatever the cookie settings. The pages
say so, and what fixes it (HTTPS), instead of blaming the browser's settings.

The browser says where a request comes from in `Sec-Fetch-Site` (all current browsers); where it
does not, the `Origin` or `Referer` host is compared with the tool's host.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import request

from .errors import LaunchError

WHAT_FIXES_IT = (
    "Serve the tool over HTTPS (its address must start with https://). Over HTTPS its cookies are "
    "marked SameSite=None; Secure; Partitioned, which browsers keep inside another site's page, even "
    "where third-party cookies are blocked. A provider admin or whoever runs the tool's server must "
    "change this; opening the activity in a new window does not help.")


class InsecureCrossSite(LaunchError):
    title = "The tool must be served over HTTPS for this platform"
    fix = WHAT_FIXES_IT


def explain(action: str) -> InsecureCrossSite:
    """The error for `action` ("open this activity", "confirm the registration", ...)."""
    return InsecureCrossSite(
        f"The tool is served over plain http from another site than your course platform. Browsers "
        f"never send an http site's cookies into another site's page, so it cannot {action} "
        f"here, whatever the browser's settings.")


def _site(host: str) -> str:
    """A rough registrable domain: the last two labels of a name; an IP address or a one-label
    name as it is (localhost and 127.0.0.1 are two sites, as browsers see them)."""
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    host = host.strip("[]").lower()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return ".".join(host.split(".")[-2:])


def _from_another_site() -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "cross-site"
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    source_host = urlsplit(source).hostname if source and source != "null" else None
    return bool(source_host) and _site(source_host) != _site(request.host)


def insecure_cross_site() -> bool:
    """This request came over plain http from a page on another site (a form posted by the VLE,
    or the VLE's page navigating its frame to the tool)."""
    return not request.is_secure and _from_another_site()


def insecure_cross_site_frame() -> bool:
    """As insecure_cross_site, and the tool is being loaded into a frame of that page."""
    return insecure_cross_site() and request.headers.get("Sec-Fetch-Dest") in ("iframe", "frame")
