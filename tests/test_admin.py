"""Provider admin: sign-in, platforms and deployments in the web UI and the CLI."""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from lti_tool.cli import create_admin
from lti_tool.db import db
from lti_tool.models import DISABLED, Deployment, Platform

from .browser import Browser, csrf_token
from .conftest import learner
from .platform_server import PlatformServer


@pytest.fixture
def admin(app, tool):
    name, password = "admin-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    browser = Browser()
    page = browser.http.get(tool.url + "/admin/login")
    resp = browser.http.post(tool.url + "/admin/login", data={
        "username": name, "password": password, "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 200 and "Platforms" in resp.text
    return browser


def test_admin_pages_need_sign_in(tool):
    b = Browser()
    for path in ("/admin/", "/admin/platforms/new", "/admin/settings"):
        resp = b.http.get(tool.url + path, allow_redirects=False)
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]


def test_wrong_password_then_lock_out(app, tool):
    with app.app_context():
        create_admin("ratelimited", "correct-horse-battery")
    b = Browser()
    page = b.http.get(tool.url + "/admin/login")
    token = csrf_token(page.text)
    statuses = [b.http.post(tool.url + "/admin/login", data={
        "username": "ratelimited", "password": "nope", "csrf_token": token}).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    # Even the right password waits now (tests/test_admin_sessions.py: from any address).
    resp = b.http.post(tool.url + "/admin/login", data={
        "username": "ratelimited", "password": "correct-horse-battery", "csrf_token": token})
    assert resp.status_code == 429 and "temporarily locked" in resp.text


def test_sign_out_ends_the_session(admin, tool):
    page = admin.http.get(tool.url + "/admin/")
    resp = admin.http.post(tool.url + "/admin/logout", data={"csrf_token": csrf_token(page.text)})
    assert "You have signed out" in resp.text and "npq_admin" not in admin.http.cookies
    assert admin.http.get(tool.url + "/admin/", allow_redirects=False).status_code == 302


def test_sign_in_returns_to_the_page_asked_for(app, tool):
    name, password = "next-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    b = Browser()
    first = b.http.get(tool.url + "/admin/settings")
    assert first.url.endswith("/admin/login?next=/admin/settings") or "next=%2Fadmin%2Fsettings" in first.url
    resp = b.http.post(first.url, data={"username": name, "password": password, "csrf_token": csrf_token(first.text)})
    assert resp.url.endswith("/admin/settings") and "Provider settings" in resp.text
    # Only admin pages: another site is never a place to return to.
    page = b.http.get(tool.url + "/admin/login")
    away = b.http.post(tool.url + "/admin/login?next=https://evil.example/", allow_redirects=False, data={
        "username": name, "password": password, "csrf_token": csrf_token(page.text)})
    assert away.headers["Location"].endswith("/admin/")


def test_admin_forms_need_csrf(admin, tool):
    resp = admin.http.post(tool.url + "/admin/platforms/new", data={"name": "x"})
    assert resp.status_code == 400


def test_add_platform_in_ui_then_launch(admin, app, tool, dbs):
    p = PlatformServer(tool.url)
    try:
        page = admin.http.get(tool.url + "/admin/platforms/new")
        data = {**p.registration_fields(), "status": "active", "deployment_ids": p.deployment_id,
                "csrf_token": csrf_token(page.text)}
        resp = admin.http.post(tool.url + "/admin/platforms/new", data=data)
        assert resp.status_code == 200 and "added" in resp.text and p.deployment_id in resp.text
        listing = admin.http.get(tool.url + "/admin/")
        assert p.client_id in listing.text
        assert Browser().launch(p, learner()).status_code == 200

        row = dbs.scalar(select(Platform).where(Platform.client_id == p.client_id))
        detail = admin.http.get(f"{tool.url}/admin/platforms/{row.id}")
        resp = admin.http.post(f"{tool.url}/admin/platforms/{row.id}/status",
                               data={"status": "disabled", "csrf_token": csrf_token(detail.text)})
        assert "is now disabled" in resp.text
        refused = Browser().http.get(p.login_url(learner()))
        assert refused.status_code == 403
    finally:
        p.stop()


def test_invalid_platform_form_keeps_input_and_explains(admin, tool):
    page = admin.http.get(tool.url + "/admin/platforms/new")
    resp = admin.http.post(tool.url + "/admin/platforms/new", data={
        "name": "Half-filled", "issuer": "ftp://nope", "client_id": "", "auth_login_url": "not a url",
        "auth_token_url": "", "key_set_url": "", "status": "active", "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 400
    assert "There is a problem" in resp.text and 'value="Half-filled"' in resp.text
    assert "https://" in resp.text


def test_duplicate_platform_is_refused(admin, tool, platform):
    page = admin.http.get(tool.url + "/admin/platforms/new")
    resp = admin.http.post(tool.url + "/admin/platforms/new", data={
        **platform.registration_fields(), "status": "active", "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 400 and "already registered" in resp.text


def test_approve_pending_deployment(admin, tool, platform, dbs):
    dbs.add(Deployment(platform_id=platform.db_id, deployment_id="held-dep", status="pending"))
    dbs.commit()
    dep = dbs.scalar(select(Deployment).where(Deployment.deployment_id == "held-dep"))
    detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
    assert "held-dep" in detail.text and "pending" in detail.text
    resp = admin.http.post(f"{tool.url}/admin/deployments/{dep.id}/status",
                           data={"status": "active", "csrf_token": csrf_token(detail.text)})
    assert "is now active" in resp.text


def test_settings_page_saves(admin, tool, app):
    page = admin.http.get(tool.url + "/admin/settings")
    resp = admin.http.post(tool.url + "/admin/settings", data={
        "csrf_token": csrf_token(page.text), "AUTO_ACCEPT_NEW_DEPLOYMENTS": "y"})
    assert "Settings saved" in resp.text
    with app.app_context():
        from lti_tool.settings import get_setting, set_setting
        from lti_tool.db import db
        assert get_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS") is True
        assert get_setting("AUTO_ACTIVATE_REGISTRATIONS") is False
        set_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS", False)
        set_setting("AUTO_ACTIVATE_REGISTRATIONS", True)
        db().commit()


def test_cli_platform_and_deployment_commands(app, tool):
    runner = app.test_cli_runner()
    p = PlatformServer(tool.url)
    try:
        f = p.registration_fields()
        result = runner.invoke(args=["platform", "add", "--name", f["name"], "--issuer", f["issuer"],
                                     "--client-id", f["client_id"], "--auth-login-url", f["auth_login_url"],
                                     "--auth-token-url", f["auth_token_url"], "--key-set-url", f["key_set_url"],
                                     "--deployment", p.deployment_id])
        assert result.exit_code == 0, result.output
        listing = runner.invoke(args=["platform", "list"])
        assert p.client_id in listing.output and p.deployment_id in listing.output
        assert Browser().launch(p, learner()).status_code == 200
        platform_id = int(result.output.split()[1])
        assert runner.invoke(args=["platform", "disable", str(platform_id)]).exit_code == 0
        assert Browser().http.get(p.login_url(learner())).status_code == 403
        assert runner.invoke(args=["platform", "activate", str(platform_id)]).exit_code == 0
        assert runner.invoke(args=["deployment", "add", str(platform_id), "second"]).exit_code == 0
        r = runner.invoke(args=["deployment", "set-status", str(platform_id), "second", "disabled"])
        assert r.exit_code == 0 and "disabled" in r.output
        dup = runner.invoke(args=["platform", "add", "--name", "x", "--issuer", f["issuer"],
                                  "--client-id", f["client_id"], "--auth-login-url", "https://a",
                                  "--auth-token-url", "https://a", "--key-set-url", "https://a"])
        assert dup.exit_code != 0 and "exists already" in dup.output
        with app.app_context():  # every change the operator made is in the audit trail
            from lti_tool.security_models import AuditEvent
            def about_this_platform(e):
                if e.target_type == "platform":
                    return e.target_id == str(platform_id)
                return e.detail.get("platform_id") == platform_id
            done = [(e.action, e.actor) for e in db().scalars(
                select(AuditEvent).where(AuditEvent.target_type.in_(("platform", "deployment")))
                .order_by(AuditEvent.id)) if about_this_platform(e)]
        assert [a for a, _ in done] == ["platform.create", "platform.status", "platform.status",
                                        "deployment.add", "deployment.status"], done
        assert {actor for _, actor in done} == {"cli"}
    finally:
        p.stop()
