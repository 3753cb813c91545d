"""Admin two-factor authentication (security finding 8): TOTP enrolment through the pages,
sign-in that needs the code, codes that work once, recovery codes, lock-out on wrong codes,
required enrolment (ADMIN_REQUIRE_TOTP), `flask admin reset-2fa`, and the pages in Chromium.
Codes are computed with pyotp, as an authenticator app would."""
from __future__ import annotations

import re
import secrets

import pyotp
from sqlalchemy import select

from lti_tool.security_models import AdminSession, AuditEvent

from .admin_support import (LOCKED_TEXT, audit_actions, client, enrol, enrolled_admin, fresh_addresses,
                            is_admin, new_admin, next_code, password_step, post_code, post_form,
                            post_login, signed_in, user_row)
from .browser import csrf_token, forms
from .browser_support import ARTIFACTS, chromium_page


# ---------------------------------------------------------------------------------------------
# (e) TOTP two-factor


def test_enrolment_then_sign_in_needs_the_code(app, tool, dbs):
    name, password = new_admin(app, "enrol")
    http = signed_in(tool, name, password)
    page = http.get(tool.url + "/admin/account")
    assert "Set up two-factor authentication" in page.text
    setup = http.get(tool.url + "/admin/account/two-factor")
    assert 'autocomplete="one-time-code"' in setup.text and 'inputmode="numeric"' in setup.text
    assert setup.headers["Cache-Control"] == "no-store"
    wrong = http.post(tool.url + "/admin/account/two-factor", data={"code": "000000", "csrf_token": csrf_token(setup.text)})
    assert wrong.status_code == 400 and 'id="code-error"' in wrong.text and 'aria-invalid="true"' in wrong.text
    assert user_row(dbs, name).totp_enabled_at is None
    otp, codes = enrol(tool, http)
    user = user_row(dbs, name)
    assert user.totp_enabled_at is not None and len(user.recovery_codes) == 10
    assert not any(code.replace("-", "") in str(user.recovery_codes) for code in codes)  # hashes only
    assert "admin.totp_enrolled" in audit_actions(dbs, name)
    assert "On" in http.get(tool.url + "/admin/account").text

    # Signing in now: the password alone opens nothing.
    pending = password_step(tool, name, password)
    for path in ("/admin/", "/admin/settings", "/admin/account"):
        resp = pending.get(tool.url + path, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/login/code"), path
    done = post_code(tool, pending, next_code(otp))
    assert done.status_code == 200 and "<h1>Platforms</h1>" in done.text
    assert is_admin(tool, pending)


def test_the_code_step_returns_to_the_page_asked_for(app, tool):
    name, password, otp, _ = enrolled_admin(app, tool)
    http = client()
    first = http.get(tool.url + "/admin/settings")
    step = http.post(first.url, data={"username": name, "password": password, "csrf_token": csrf_token(first.text)})
    assert "Enter your sign-in code" in step.text and "next=" in step.url
    code_form = [f for f in forms(step.text) if "code" in f.fields][0]
    done = http.post(tool.url + code_form.action, data={**code_form.fields, "code": next_code(otp)})
    assert done.url.endswith("/admin/settings") and "Provider settings" in done.text


def test_replayed_and_wrong_codes_are_refused_and_count(app, tool, dbs):
    name, password, otp, _ = enrolled_admin(app, tool)
    code = next_code(otp)
    assert "<h1>Platforms</h1>" in post_code(tool, password_step(tool, name, password), code).text
    # Someone who saw that code (shoulder, phishing proxy) and knows the password: refused.
    attacker = password_step(tool, name, password, client(fresh_addresses(1)[0]))
    replay = post_code(tool, attacker, code)
    assert replay.status_code == 401 and "used already" in replay.text and 'id="code-error"' in replay.text
    assert not is_admin(tool, attacker)
    assert user_row(dbs, name).failed_logins == 1
    wrong = post_code(tool, attacker, "123456" if code != "123456" else "654321")
    assert wrong.status_code == 401 and user_row(dbs, name).failed_logins == 2
    steps = [row.detail["step"] for row in dbs.scalars(select(AuditEvent).where(
        AuditEvent.action == "admin.sign_in_failed", AuditEvent.target_id == str(user_row(dbs, name).id)))]
    assert steps == ["code", "code"]


def test_five_wrong_codes_lock_the_account_and_end_the_attempt(app, tool, dbs):
    name, password, otp, codes = enrolled_admin(app, tool)
    attacker = password_step(tool, name, password, client(fresh_addresses(1)[0]))
    for i in range(4):
        assert post_code(tool, attacker, f"{i:06d}").status_code == 401
    locked = post_code(tool, attacker, "999999")
    assert locked.status_code == 429 and LOCKED_TEXT in locked.text
    assert not is_admin(tool, attacker, "/admin/login/code")  # the half-signed-in session ended
    # Not even the real admin with password and code gets in until the lock lifts.
    refused = post_login(tool, client(), name, password)
    assert refused.status_code == 429 and LOCKED_TEXT in refused.text


def test_a_recovery_code_works_once(app, tool, dbs):
    name, password, otp, codes = enrolled_admin(app, tool)
    http = password_step(tool, name, password)
    used = post_code(tool, http, codes[3].upper().replace("-", " "), field="recovery_code")  # as typed off paper
    assert used.status_code == 200 and "<h1>Platforms</h1>" in used.text and "9 left" in used.text
    assert len(user_row(dbs, name).recovery_codes) == 9
    assert "admin.recovery_code_used" in audit_actions(dbs, name)
    again = post_code(tool, password_step(tool, name, password), codes[3], field="recovery_code")
    assert again.status_code == 401 and 'id="recovery_code-error"' in again.text


def test_regenerating_recovery_codes_needs_a_current_code(app, tool, dbs):
    name, password, otp, codes = enrolled_admin(app, tool)
    http = password_step(tool, name, password)
    post_code(tool, http, next_code(otp))
    refused = post_form(tool, http, "/admin/account", "/admin/account/recovery-codes", {"code": "000000"})
    assert refused.status_code == 400 and 'id="code-error"' in refused.text
    user = user_row(dbs, name)
    user.totp_last_step -= 2  # let the test use a current code again without waiting 30 seconds
    dbs.commit()
    fresh = post_form(tool, http, "/admin/account", "/admin/account/recovery-codes", {"code": otp.now()})
    assert fresh.status_code == 200 and "New recovery codes made" in fresh.text
    assert fresh.headers["Cache-Control"] == "no-store"
    new_codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", fresh.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert "admin.recovery_codes_regenerated" in audit_actions(dbs, name)
    old = post_code(tool, password_step(tool, name, password), codes[0], field="recovery_code")
    assert old.status_code == 401


def test_required_totp_leaves_an_unenrolled_admin_only_enrolment(app, tool, dbs, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_REQUIRE_TOTP", True)
    name, password = new_admin(app, "must")
    http = client()
    resp = post_login(tool, http, name, password, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/account/two-factor")
    pending_cookie = http.cookies.get("npq_admin")
    for path in ("/admin/", "/admin/settings", "/admin/account", "/admin/platforms/new"):
        resp = http.get(tool.url + path, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/account/two-factor"), path
    setup = http.get(tool.url + "/admin/account/two-factor")
    assert "needs two-factor authentication for every admin" in setup.text and "Sign out</button>" not in setup.text
    changed = http.post(tool.url + "/admin/settings", allow_redirects=False, data={
        "AUTO_ACCEPT_NEW_DEPLOYMENTS": "y", "csrf_token": csrf_token(setup.text)})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/admin/account/two-factor")
    enrol(tool, http)
    assert is_admin(tool, http)
    assert http.cookies.get("npq_admin") != pending_cookie  # a new token once signed in
    stale = client()
    stale.cookies.set("npq_admin", pending_cookie, domain="127.0.0.1", path="/admin")
    assert not is_admin(tool, stale)
    sign_in = dbs.scalars(select(AuditEvent).where(AuditEvent.action == "admin.sign_in",
                                                   AuditEvent.target_id == str(user_row(dbs, name).id))).all()
    assert [row.detail for row in sign_in] == [{"second_factor": "totp_enrolment"}]


def _security_state(dbs, name: str) -> tuple:
    user = user_row(dbs, name)
    sessions = dbs.scalars(select(AdminSession).where(AdminSession.admin_id == user.id)
                           .order_by(AdminSession.id)).all()
    return (user.totp_secret, user.totp_enabled_at, user.totp_last_step, user.recovery_codes,
            user.failed_logins, [(s.id, s.stage, s.ended_at) for s in sessions])


def test_account_forms_refuse_a_missing_or_foreign_csrf_token(app, tool, dbs):
    name, password, otp, codes = enrolled_admin(app, tool)
    admin = password_step(tool, name, password)
    post_code(tool, admin, next_code(otp))
    pending = password_step(tool, name, password)
    other_name, other_password = new_admin(app, "csrf")
    unenrolled = signed_in(tool, other_name, other_password)
    foreign = csrf_token(client().get(tool.url + "/admin/login").text)  # real, but another browser's
    cases = [(admin, "/admin/account/recovery-codes", {"code": otp.now()}, name),
             (admin, "/admin/account/sessions/end", {"session_ref": "others"}, name),
             (admin, "/admin/logout", {}, name),
             (pending, "/admin/login/code", {"code": otp.now()}, name),
             (pending, "/admin/login/recovery", {"recovery_code": codes[0]}, name),
             (unenrolled, "/admin/account/two-factor", {"code": "123456"}, other_name)]
    for http, path, data, who in cases:
        for extra in ({}, {"csrf_token": foreign}):
            before = _security_state(dbs, who)
            resp = http.post(tool.url + path, data={**data, **extra}, allow_redirects=False)
            assert resp.status_code == 400 and "did not come from this site" in resp.text, (path, extra)
            assert _security_state(dbs, who) == before, (path, extra)
    assert is_admin(tool, admin) and is_admin(tool, unenrolled)


# ---------------------------------------------------------------------------------------------
# (f) The CLI


def test_cli_reset_2fa_clears_the_factor_and_ends_sessions(app, tool, dbs):
    name, password, otp, _ = enrolled_admin(app, tool)
    http = password_step(tool, name, password)
    post_code(tool, http, next_code(otp))
    assert is_admin(tool, http)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["admin", "reset-2fa", name])
    # Two: this one, and the one the admin enrolled in (still signed in).
    assert result.exit_code == 0 and "2 session(s) ended" in result.output, result.output
    assert not is_admin(tool, http)
    user = user_row(dbs, name)
    assert (user.totp_secret, user.totp_enabled_at, user.totp_last_step, user.recovery_codes) == (None,) * 4
    reset = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "admin.2fa_reset",
                                                AuditEvent.target_id == str(user.id)))
    assert reset.actor == "cli" and reset.detail == {"sessions_ended": 2}
    signed_in(tool, name, password)  # password alone again (2FA not required in this config)
    missing = runner.invoke(args=["admin", "reset-2fa", "nobody-" + secrets.token_hex(3)])
    assert missing.exit_code != 0 and "no admin" in missing.output



# ---------------------------------------------------------------------------------------------
# In a real browser


def test_sign_in_with_totp_in_chromium(app, tool, dbs):
    name, password, otp, _ = enrolled_admin(app, tool)
    with chromium_page() as page:
        page.goto(tool.url + "/admin/login")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Enter your sign-in code").wait_for()
        box = page.get_by_label("Code from your authenticator app")
        assert box.get_attribute("autocomplete") == "one-time-code"
        assert box.get_attribute("inputmode") == "numeric"
        page.screenshot(path=str(ARTIFACTS / "admin-2fa-code.png"), full_page=True)
        box.fill("000000")
        page.get_by_role("button", name="Continue").click()
        page.get_by_text("That code is not right").first.wait_for()
        assert page.get_by_label("Code from your authenticator app").get_attribute("aria-invalid") == "true"
        page.screenshot(path=str(ARTIFACTS / "admin-2fa-code-error.png"), full_page=True)
        page.get_by_label("Code from your authenticator app").fill(next_code(otp))
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="Platforms").wait_for()
        cookie = next(c for c in page.context.cookies() if c["name"] == "npq_admin")
        assert (cookie["sameSite"], cookie["httpOnly"], cookie["path"]) == ("Strict", True, "/admin")
        assert cookie["expires"] == -1  # a browser-session cookie
        page.get_by_role("link", name="Account security").click()
        page.get_by_role("heading", name="Account security").wait_for()
        page.screenshot(path=str(ARTIFACTS / "admin-account-security.png"), full_page=True)
        page.get_by_role("button", name="Sign out", exact=True).click()
        page.get_by_text("You have signed out").wait_for()
        page.goto(tool.url + "/admin/")
        page.get_by_role("heading", name="Provider admin sign-in").wait_for()


def test_totp_setup_page_in_chromium(app, tool):
    name, password = new_admin(app, "qr")
    with chromium_page() as page:
        page.goto(tool.url + "/admin/login")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Platforms").wait_for()
        page.goto(tool.url + "/admin/account/two-factor")
        qr = page.get_by_role("img", name=re.compile("QR code"))
        qr.wait_for()
        assert page.evaluate("img => img.naturalWidth > 0", qr.element_handle())  # the SVG renders
        page.screenshot(path=str(ARTIFACTS / "admin-2fa-setup.png"), full_page=True)
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-factor authentication").click()
        page.get_by_role("heading", name="Your recovery codes").wait_for()
        page.screenshot(path=str(ARTIFACTS / "admin-recovery-codes.png"), full_page=True)
