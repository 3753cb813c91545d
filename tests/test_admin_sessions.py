"""Admin sessions (security finding 8): server-side sessions that sign-out, idle and absolute
limits end; a SameSite=Strict admin cookie apart from the LTI session cookie; per-account
lock-out and a separate per-address limit. Two-factor sign-in: tests/test_admin_2fa.py.

Everything runs against the tool over real HTTP; a requests.Session is the browser or the
attacker. Attempts "from another address" really come from another loopback address
(127.x.y.z), which the server sees as request.remote_addr."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import select

from lti_tool.db import utcnow
from lti_tool.models import LoginAttempt
from lti_tool.security_models import AdminSession, AuditEvent

from .admin_support import (LOCKED_TEXT, audit_actions, client, fresh_addresses, is_admin, new_admin,
                            only_session, post_form, post_login, set_cookie_headers, signed_in, user_row)
from .browser import Browser, csrf_token
from .conftest import learner


# ---------------------------------------------------------------------------------------------
# (a) Sign-out ends the session on the server: a copied cookie dies with it


def test_cookies_copied_before_sign_out_are_refused_after_it(app, tool):
    name, password = new_admin(app)
    victim = signed_in(tool, name, password)
    thief = client()
    thief.cookies.update(victim.cookies.copy())  # every cookie the admin's browser holds
    assert is_admin(tool, thief)  # the copy works while the admin is signed in ...

    out = post_form(tool, victim, "/admin/", "/admin/logout", {})
    assert out.status_code == 200 and "Provider admin sign-in" in out.text
    # ... and not after: not the platforms page, not settings, not account security, nor a POST.
    for path in ("/admin/", "/admin/settings", "/admin/account", "/admin/platforms/new"):
        assert not is_admin(tool, thief, path), path
    forged = thief.post(tool.url + "/admin/settings", allow_redirects=False, data={
        "AUTO_ACCEPT_NEW_DEPLOYMENTS": "y",
        "csrf_token": csrf_token(thief.get(tool.url + "/admin/login").text)})
    assert forged.status_code == 302 and "/admin/login" in forged.headers["Location"]
    assert not is_admin(tool, victim)
    assert "You have signed out" in out.text


def test_signing_in_again_ends_the_previous_session(app, tool, dbs):
    name, password = new_admin(app)
    http = signed_in(tool, name, password)
    first = client()
    first.cookies.update(http.cookies.copy())
    again = post_login(tool, http, name, password)  # the same browser signs in again
    assert "<h1>Platforms</h1>" in again.text
    assert not is_admin(tool, first)  # the cookie it had before names an ended session
    assert is_admin(tool, http)
    assert len([h for h in set_cookie_headers(again) if h.startswith("npq_admin=")]) == 1


# ---------------------------------------------------------------------------------------------
# (b) Idle and absolute limits


def test_session_idle_for_31_minutes_is_refused(app, tool, dbs):
    name, password = new_admin(app)
    http = signed_in(tool, name, password)
    row = only_session(dbs, name)
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    dbs.commit()
    assert is_admin(tool, http)  # 29 minutes idle: still fine, and now seen again
    dbs.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)

    row.last_seen_at = utcnow() - timedelta(minutes=31)
    dbs.commit()
    assert not is_admin(tool, http)
    dbs.refresh(row)
    assert row.ended_at is not None  # ended for good, not just turned away once
    row.last_seen_at = utcnow()
    dbs.commit()
    assert not is_admin(tool, http)


def test_session_older_than_8_hours_is_refused_even_when_busy(app, tool, dbs):
    name, password = new_admin(app)
    http = signed_in(tool, name, password)
    row = only_session(dbs, name)
    assert timedelta(hours=7, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=8)
    row.created_at -= timedelta(hours=8, minutes=1)
    row.expires_at -= timedelta(hours=8, minutes=1)
    row.last_seen_at = utcnow()  # in use a moment ago: the absolute limit still applies
    dbs.commit()
    assert not is_admin(tool, http)


# ---------------------------------------------------------------------------------------------
# (c) The admin cookie: its own, SameSite=Strict, nothing of the admin in the LTI cookie


def test_admin_cookie_is_strict_httponly_and_only_for_admin_paths(app, tool):
    name, password = new_admin(app)
    http = client()
    resp = post_login(tool, http, name, password)
    admin_cookies = [h for h in set_cookie_headers(resp) if h.startswith("npq_admin=")]
    assert len(admin_cookies) == 1, set_cookie_headers(resp)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in admin_cookies[0].split(";")[1:]}
    assert attributes["samesite"] == "SameSite=Strict"
    assert "httponly" in attributes
    assert attributes["path"] == "Path=/admin"
    assert "max-age" not in attributes and "expires" not in attributes  # gone when the browser closes
    token = http.cookies.get("npq_admin", path="/admin")
    assert token and len(token) >= 40
    # Not sent anywhere else on the site: an LTI page never sees it.
    assert all(c.path == "/admin" for c in http.cookies if c.name == "npq_admin")


def test_lti_session_cookie_carries_no_admin_identity_and_cannot_open_admin_pages(app, tool, platform, dbs):
    name, password = new_admin(app)
    http = signed_in(tool, name, password)
    serializer = app.session_interface.get_signing_serializer(app)
    lti_cookie = http.cookies.get("npq_session")
    if lti_cookie:  # the CSRF token lives there; nothing about the admin does
        assert not any("admin" in key for key in serializer.loads(lti_cookie))
    # An LTI session cookie saying "admin_id" (what the old sign-in stored) is not an admin.
    user = user_row(dbs, name)
    forged = client()
    forged.cookies.set("npq_session", serializer.dumps({"admin_id": user.id}), domain="127.0.0.1")
    assert not is_admin(tool, forged)
    # A browser with a launch session (the SameSite=None cookie) is not an admin either.
    launched = Browser()
    assert launched.launch(platform, learner()).status_code == 200
    assert not is_admin(tool, launched.http)


def test_admin_token_not_in_the_lti_cookie_is_the_only_key(app, tool):
    """Only the npq_admin cookie opens admin pages: the other cookies of a signed-in browser do not."""
    name, password = new_admin(app)
    http = signed_in(tool, name, password)
    others = client()
    for cookie in http.cookies:
        if cookie.name != "npq_admin":
            others.cookies.set(cookie.name, cookie.value, domain=cookie.domain, path=cookie.path)
    assert not is_admin(tool, others)
    only_admin = client()
    only_admin.cookies.set("npq_admin", http.cookies.get("npq_admin"), domain="127.0.0.1", path="/admin")
    assert is_admin(tool, only_admin)


# ---------------------------------------------------------------------------------------------
# (d) Per-account lock-out, and a separate per-address limit


def test_five_failures_from_five_addresses_lock_the_account_for_everyone(app, tool, dbs):
    name, password = new_admin(app, "locked")
    addresses = fresh_addresses(7)
    for address in addresses[:5]:  # each "attacker" tries once, from its own address
        resp = post_login(tool, client(address), name, "wrong-" + address)
        assert resp.status_code == 401 and "do not match" in resp.text
    # The right password, from a client that never failed, is refused while the lock lasts.
    refused = post_login(tool, client(addresses[5]), name, password)
    assert refused.status_code == 429 and LOCKED_TEXT in refused.text
    assert "Platforms" not in refused.text and "npq_admin" not in refused.cookies
    user = user_row(dbs, name)
    assert user.locked_until is not None and user.locked_until > utcnow() + timedelta(minutes=14)
    actions = audit_actions(dbs, name)
    assert actions.count("admin.sign_in_failed") == 5 and "admin.locked" in actions
    failed = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "admin.sign_in_failed",
                                                  AuditEvent.target_id == str(user.id))).all()
    assert all(row.detail == {"username": name, "step": "password"} for row in failed)  # no password

    result = app.test_cli_runner().invoke(args=["admin", "unlock", name])
    assert result.exit_code == 0, result.output
    signed_in(tool, name, password, client(addresses[6]))
    assert user_row(dbs, name).failed_logins == 0


def test_lock_lifts_after_15_minutes(app, tool, dbs):
    name, password = new_admin(app, "lift")
    address = fresh_addresses(1)[0]
    for _ in range(5):
        post_login(tool, client(address), name, "wrong")
    assert post_login(tool, client(address), name, password).status_code == 429
    user = user_row(dbs, name)
    user.locked_until = utcnow() - timedelta(seconds=1)
    dbs.commit()
    signed_in(tool, name, password, client(address))


def test_a_success_resets_the_count(app, tool, dbs):
    name, password = new_admin(app, "reset")
    address = fresh_addresses(1)[0]
    for _ in range(4):
        post_login(tool, client(address), name, "wrong")
    assert user_row(dbs, name).failed_logins == 4
    signed_in(tool, name, password, client(address))
    assert user_row(dbs, name).failed_logins == 0
    for _ in range(4):
        assert post_login(tool, client(address), name, "wrong").status_code == 401
    signed_in(tool, name, password, client(address))


def test_unknown_usernames_get_the_same_answers(app, tool):
    real, _ = new_admin(app, "known")
    unknown = "unknown-" + secrets.token_hex(4)
    answers = {}
    for name in (real, unknown):
        address = fresh_addresses(1)[0]
        answers[name] = [(r.status_code, re.sub(r"\s+", " ", re.search(r'role="alert"><p>([^<]*)', r.text).group(1)))
                         for r in (post_login(tool, client(address), name, "wrong") for _ in range(7))]
    assert answers[real] == answers[unknown]
    assert [status for status, _ in answers[real]] == [401] * 5 + [429] * 2


def test_per_address_limit_is_separate_from_the_account_lock(app, tool, dbs):
    name, password = new_admin(app, "addr")
    noisy, quiet = fresh_addresses(2)
    # One address sprays many usernames, one attempt each: no account reaches its lock ...
    for i in range(20):
        assert post_login(tool, client(noisy), f"spray-{i}-{secrets.token_hex(2)}", "wrong").status_code == 401
    # ... but that address is now held back, even with a right password ...
    held = post_login(tool, client(noisy), name, password)
    assert held.status_code == 429 and "from your network" in held.text
    # ... while the account itself is not locked: from elsewhere it signs in.
    signed_in(tool, name, password, client(quiet))
    assert user_row(dbs, name).locked_until is None
    rows = dbs.scalars(select(LoginAttempt).where(LoginAttempt.key == f"addr:{noisy}")).all()
    assert len(rows) == 20


def test_other_sessions_can_be_seen_and_ended(app, tool, dbs):
    name, password = new_admin(app, "two")
    laptop, phone = signed_in(tool, name, password), signed_in(tool, name, password)
    page = laptop.get(tool.url + "/admin/account")
    assert page.text.count("End<span") == 1 and "This session" in page.text
    ended = post_form(tool, laptop, "/admin/account", "/admin/account/sessions/end", {"session_ref": "others"})
    assert "Ended 1 other session" in ended.text
    assert not is_admin(tool, phone) and is_admin(tool, laptop)
    assert "admin.session_ended" in [row.action for row in dbs.scalars(select(AuditEvent))]
    # Another admin's session cannot be ended from here.
    other_name, other_password = new_admin(app, "other")
    other = signed_in(tool, other_name, other_password)
    theirs = only_session(dbs, other_name)
    post_form(tool, laptop, "/admin/account", "/admin/account/sessions/end", {"session_ref": theirs.id})
    assert is_admin(tool, other)


def test_cli_new_password_ends_sessions(app, tool):
    name, password = new_admin(app, "newpw")
    http = signed_in(tool, name, password)
    result = app.test_cli_runner().invoke(args=["admin", "create", name, "--password", "another-password-1"])
    assert result.exit_code == 0, result.output
    assert not is_admin(tool, http)


def test_sessions_long_gone_are_purged(app, tool, dbs):
    from lti_tool.admin.access import purge_old_sessions
    from lti_tool.db import db

    name, password = new_admin(app, "purge")
    http = signed_in(tool, name, password)
    live = only_session(dbs, name)
    old = AdminSession(id=secrets.token_hex(32), admin_id=live.admin_id, stage="complete",
                       created_at=utcnow() - timedelta(days=40), last_seen_at=utcnow() - timedelta(days=40),
                       expires_at=utcnow() - timedelta(days=39, hours=16))
    dbs.add(old)
    dbs.commit()
    old_id = old.id
    with app.app_context():
        purge_old_sessions()
        db().commit()
    dbs.expire_all()
    assert dbs.get(AdminSession, old_id) is None and dbs.get(AdminSession, live.id) is not None
    assert is_admin(tool, http)
