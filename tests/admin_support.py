"""Helpers for the admin session and two-factor tests: admins made and signed in through the
real pages, clients that connect from another loopback address, codes computed with pyotp."""
from __future__ import annotations

import re
import secrets
import time

import pyotp
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from lti_tool.cli import create_admin
from lti_tool.models import AdminUser
from lti_tool.security_models import AdminSession, AuditEvent

from .browser import csrf_token

LOCKED_TEXT = "temporarily locked"


# ---------------------------------------------------------------------------------------------
# Helpers


class _FromAddress(HTTPAdapter):
    """Connect from a chosen loopback address, as a client on another machine would."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str | None = None) -> requests.Session:
    http = requests.Session()
    if address:
        http.mount("http://", _FromAddress(address))
    return http


def fresh_addresses(n: int) -> list[str]:
    """n loopback addresses no other test uses (each test draws its own block)."""
    a, b = secrets.randbelow(250) + 2, secrets.randbelow(250) + 2
    return [f"127.{a}.{b}.{i + 1}" for i in range(n)]


def new_admin(app, prefix: str = "adm") -> tuple[str, str]:
    name, password = f"{prefix}-{secrets.token_hex(4)}", secrets.token_urlsafe(14)
    with app.app_context():
        create_admin(name, password)
    return name, password


def post_login(tool, http: requests.Session, name: str, password: str, **kw) -> requests.Response:
    page = http.get(tool.url + "/admin/login")
    return http.post(tool.url + "/admin/login", data={
        "username": name, "password": password, "csrf_token": csrf_token(page.text)}, **kw)


def signed_in(tool, name: str, password: str, http: requests.Session | None = None) -> requests.Session:
    http = http or client()
    resp = post_login(tool, http, name, password)
    assert resp.status_code == 200 and "<h1>Platforms</h1>" in resp.text, resp.text[:500]
    return http


def is_admin(tool, http: requests.Session, path: str = "/admin/") -> bool:
    """True when this browser gets the admin page; False when it is sent to sign in."""
    resp = http.get(tool.url + path, allow_redirects=False)
    if resp.status_code == 302:
        assert "/admin/login" in resp.headers["Location"], resp.headers["Location"]
        return False
    assert resp.status_code == 200, resp.status_code
    assert "Sign out" in resp.text
    return True


def post_form(tool, http, page_path: str, action: str, data: dict, **kw) -> requests.Response:
    page = http.get(tool.url + page_path)
    return http.post(tool.url + action, data={**data, "csrf_token": csrf_token(page.text)}, **kw)


def set_cookie_headers(resp: requests.Response) -> list[str]:
    headers = []
    for r in [*resp.history, resp]:
        headers += r.raw.headers.getlist("Set-Cookie")
    return headers


def audit_actions(dbs, name: str) -> list[str]:
    dbs.expire_all()
    user = dbs.scalar(select(AdminUser).where(AdminUser.username == name))
    rows = dbs.scalars(select(AuditEvent).where(AuditEvent.target_type == "admin_user",
                                                AuditEvent.target_id == str(user.id)).order_by(AuditEvent.id))
    return [row.action for row in rows]


def user_row(dbs, name: str) -> AdminUser:
    dbs.expire_all()
    return dbs.scalar(select(AdminUser).where(AdminUser.username == name))


def enrol(tool, http: requests.Session) -> tuple[pyotp.TOTP, list[str]]:
    """Set up TOTP through the pages, as an admin would: read the key, answer with a code."""
    page = http.get(tool.url + "/admin/account/two-factor")
    assert page.status_code == 200 and "data:image/svg+xml" in page.text
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    otp = pyotp.TOTP(secret)
    done = http.post(tool.url + "/admin/account/two-factor",
                     data={"code": otp.now(), "csrf_token": csrf_token(page.text)})
    assert done.status_code == 200 and "Your recovery codes" in done.text, done.text[:800]
    assert done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(codes) == 10
    return otp, codes


def next_code(otp: pyotp.TOTP) -> str:
    """The next step's code: accepted (one step of drift is allowed) and newer than any used."""
    return otp.at(time.time(), counter_offset=1)


def enrolled_admin(app, tool) -> tuple[str, str, pyotp.TOTP, list[str]]:
    name, password = new_admin(app, "totp")
    otp, codes = enrol(tool, signed_in(tool, name, password))
    return name, password, otp, codes


def password_step(tool, name, password, http=None) -> requests.Session:
    """Sign in with the password only: an enrolled admin lands on the code page."""
    http = http or client()
    resp = post_login(tool, http, name, password)
    assert resp.status_code == 200 and "Enter your sign-in code" in resp.text, resp.text[:500]
    return http


def post_code(tool, http, code: str, field: str = "code") -> requests.Response:
    path = "/admin/login/code" if field == "code" else "/admin/login/recovery"
    page = http.get(tool.url + "/admin/login/code")
    return http.post(tool.url + path, data={field: code, "csrf_token": csrf_token(page.text)})



def only_session(dbs, name: str) -> AdminSession:
    dbs.expire_all()
    user = user_row(dbs, name)
    rows = dbs.scalars(select(AdminSession).where(AdminSession.admin_id == user.id,
                                                  AdminSession.ended_at.is_(None))).all()
    assert len(rows) == 1, rows
    return rows[0]
