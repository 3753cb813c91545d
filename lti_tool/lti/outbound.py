"""Which addresses the tool may contact, and a requests adapter that enforces it.

A platform's URLs come from whoever registered it, and launch claims carry more (line items,
memberships): without a check, anyone who can register or launch could make the tool request
internal services (cloud metadata, databases, admin consoles). In production the host is
resolved, every address it resolves to must be public, and the connection is made to an address
that was checked, so a DNS answer that changes between the check and the connection (DNS
rebinding) cannot slip past. TLS still verifies the certificate against the host name.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (ConnectTimeoutError, MaxRetryError, NameResolutionError,
                                NewConnectionError)
from urllib3.util.connection import allowed_gai_family

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# Plain http is acceptable for these host names only: a VLE on the same machine (trials, tests).
LOCAL_HOST_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# IPv6 prefixes that carry an IPv4 address inside (NAT64): the IPv4 part is what gets reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Why a request was refused (OutboundRefused.reason); the pages put each in their own words.
SCHEME, INSECURE, CREDENTIALS, PRIVATE, PROXY = "scheme", "insecure", "credentials", "private", "proxy"


class OutboundRefused(requests.exceptions.ConnectionError):
    """The tool will not contact this address. A ConnectionError, so callers that already handle
    an unreachable platform (key sets, tokens, grades) treat it the same way."""

    def __init__(self, reason: str, host: str = ""):
        # Shaped like requests' own "connection refused" (a MaxRetryError around a
        # NewConnectionError), so code asking whether a request reached the server (grade
        # delivery's retry rules) sees that it never did.
        refused = NewConnectionError(None, f"refused by the outbound address rules: {reason}")  # type: ignore[arg-type]
        super().__init__(MaxRetryError(None, host, refused))  # type: ignore[arg-type]
        self.reason = reason
        self.host = host


class _BlockedAddress(Exception):
    """Raised inside the connection: not an OSError, so urllib3 neither retries nor rewraps it."""

    def __init__(self, host: str):
        super().__init__(host)
        self.host = host


@dataclass(frozen=True)
class OutboundPolicy:
    allow_private: bool
    require_https: bool

    @classmethod
    def from_config(cls, config: Any) -> "OutboundPolicy":
        return cls(allow_private=bool(config.get("OUTBOUND_ALLOW_PRIVATE_ADDRESSES")),
                   require_https=bool(config.get("REQUIRE_HTTPS_PLATFORM_URLS", True)))


def is_public_address(ip: IPAddress) -> bool:
    """Only globally routable unicast addresses: not loopback, private, link-local (cloud
    metadata at 169.254.169.254), shared (100.64/10), multicast, reserved or unspecified."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                 or ip.is_loopback or ip.is_link_local or ip.is_private)


def url_problem(url: str, *, require_https: bool) -> Optional[str]:
    """Why this URL may not be used for a platform (one of the reasons above), or None."""
    try:
        parts = urlsplit((url or "").strip())
        hostname = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        return SCHEME
    if parts.scheme not in ("http", "https") or not hostname:
        return SCHEME
    if parts.username is not None or parts.password is not None:
        return CREDENTIALS
    if parts.scheme == "http" and require_https and hostname not in LOCAL_HOST_NAMES:
        return INSECURE
    return None


def refused_addresses(host: str, port: int) -> list[str]:
    """The addresses this host resolves to that the tool may not contact (DNS is asked once)."""
    return [str(ip) for ip in _resolve(host, port)[1] if not is_public_address(ip)]


def check_destination(url: str, policy: OutboundPolicy) -> None:
    """Refuse a URL the tool would not contact, without connecting (for URLs saved to be used
    later: the connection is checked again when it is made)."""
    reason = url_problem(url, require_https=policy.require_https)
    if reason:
        raise OutboundRefused(reason, urlsplit(url).hostname or "")
    if not policy.allow_private:
        parts = urlsplit(url)
        try:
            blocked = refused_addresses(parts.hostname or "", parts.port or 443)
        except OSError as exc:
            raise requests.exceptions.ConnectionError(f"cannot resolve {parts.hostname}") from exc
        if blocked:
            raise OutboundRefused(PRIVATE, parts.hostname or "")


def _resolve(host: str, port: int) -> tuple[list[tuple], list[IPAddress]]:
    infos = socket.getaddrinfo(host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM)
    addresses = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(info[4][0].split("%")[0]))
        except ValueError:  # not an IP address we can judge: refuse it
            addresses.append(ipaddress.ip_address("::"))
    return infos, addresses


def _connect_checked(host: str, port: int, timeout: Any, source_address: Any,
                     socket_options: Any) -> socket.socket:
    """Like urllib3's create_connection, but every resolved address must be public, and the
    socket connects to those very addresses (no second lookup)."""
    infos, addresses = _resolve(host, port)
    if not infos or any(not is_public_address(ip) for ip in addresses):
        raise _BlockedAddress(host)
    error: Optional[OSError] = None
    for family, socktype, proto, _name, address in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, (int, float)):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address to connect to for {host}")


class _CheckedConnectionMixin:
    """Replaces only how the socket is opened; TLS (SNI, certificate host name) is unchanged."""

    def _new_conn(self) -> socket.socket:
        try:
            return _connect_checked(self._dns_host, self.port, self.timeout,  # type: ignore[attr-defined]
                                    self.source_address, self.socket_options)  # type: ignore[attr-defined]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[attr-defined,arg-type]
        except socket.timeout as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc  # type: ignore[attr-defined]
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc  # type: ignore[arg-type]


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class PolicyAdapter(HTTPAdapter):
    """Refuses URLs the policy does not allow (every redirect hop too: requests sends each hop
    through the adapter) and, unless private addresses are allowed, connects only to checked
    public addresses."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any):
        self.policy = policy
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if not self.policy.allow_private:
            self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool,
                                                       "https": _CheckedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy the tool cannot see the address it reaches, so it cannot check it.
        if not self.policy.allow_private:
            raise OutboundRefused(PROXY, urlsplit(proxy).hostname or "")
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        reason = url_problem(request.url or "", require_https=self.policy.require_https)
        if reason:
            raise OutboundRefused(reason, urlsplit(request.url or "").hostname or "")
        try:
            return super().send(request, **kwargs)
        except _BlockedAddress as exc:
            raise OutboundRefused(PRIVATE, exc.host) from None
