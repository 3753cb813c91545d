"""Dynamic Registration attacked from outside (finding 1), end to end: taking over a registered
platform by registering it again, issuer and redirect tricks, the registration token, and
production's one-time links. The tool is served over real HTTP; platforms and attackers are real
servers on 127.0.0.1. The tool as a fetcher of URLs (finding 2) is in test_outbound_security.py."""
from __future__ import annotations

import re
import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from lti_tool.cli import create_admin
from lti_tool.db import utcnow
from lti_tool.models import Platform
from lti_tool.security_models import AuditEvent, RegistrationLink, RegistrationRequest

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner
from .platform_server import PlatformServer

PLATFORM_CONF = "https://purl.imsglobal.org/spec/lti-platform-configuration"
WELL_KNOWN = "/.well-known/openid-configuration"


def _config(issuer: str, endpoints: str, **extra) -> dict:
    """An OpenID configuration claiming `issuer`, with its endpoints on `endpoints`."""
    return {"issuer": issuer, "authorization_endpoint": endpoints + "/auth",
            "token_endpoint": endpoints + "/token", "jwks_uri": endpoints + "/jwks",
            "registration_endpoint": endpoints + "/register",
            PLATFORM_CONF: {"product_family_code": "moodle", "version": "4.5"}, **extra}


def _start(tool, browser: Browser, config_url: str, token: str, path: str = "/lti/register"):
    return browser.http.get(tool.url + path, params={"openid_configuration": config_url,
                                                     "registration_token": token})


def _confirm(tool, browser: Browser, page):
    assert page.status_code == 200 and "Register the tool" in page.text, page.text[:600]
    form = forms(page.text)[0]
    return browser.http.post(tool.url + form.action, data=form.fields)


def _signed_in_admin(app, tool) -> tuple[Browser, str]:
    name = "reg-admin-" + secrets.token_hex(3)
    password = secrets.token_urlsafe(14)
    with app.app_context():
        create_admin(name, password)
    b = Browser()
    page = b.http.get(tool.url + "/admin/login")
    resp = b.http.post(tool.url + "/admin/login", data={
        "username": name, "password": password, "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 200 and "Platforms" in resp.text, resp.text[:400]
    return b, name


def _row(dbs, platform_id: int) -> dict:
    dbs.expire_all()
    row = dbs.get(Platform, platform_id)
    return {"login": row.auth_login_url, "token": row.auth_token_url, "keys": row.key_set_url,
            "aud": row.auth_audience, "status": row.status,
            "deployments": sorted((d.deployment_id, d.status) for d in row.deployments)}


def _audit(dbs, action: str) -> list[AuditEvent]:
    dbs.expire_all()
    return list(dbs.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# -- finding 1: a second registration never changes an existing one ----------------------------

def test_registering_again_from_the_same_host_cannot_take_over_a_platform(app, tool, platform, dbs):
    before = _row(dbs, platform.db_id)
    attacker = PlatformServer(tool.url, client_id=platform.client_id, deployment_id="attacker-dep")
    evil = attacker.server.url
    try:
        # The attacker's JSON as a file on the platform's own host, claiming its issuer and
        # naming the attacker's login, token, key set and registration endpoints.
        platform.files["uploads/openid-configuration"] = (200, _config(platform.issuer, evil), {})
        browser = Browser()
        page = _start(tool, browser, platform.issuer + "/files/uploads/openid-configuration",
                      attacker.registration_token)
        done = _confirm(tool, browser, page)
        assert len(attacker.received.registrations) == 1  # the attacker's endpoint was used
        assert _row(dbs, platform.db_id) == before  # keys, URLs, status, deployments: untouched
        assert done.status_code == 200 and "waiting for the tool" in done.text, done.text[:600]
        assert "registered.js" not in done.text  # the platform is not told "complete"
        pending = dbs.scalars(select(RegistrationRequest).where(
            RegistrationRequest.platform_id == platform.db_id)).all()
        assert [(r.status, r.proposed["key_set_url"], r.source_ip) for r in pending] == [
            ("pending", evil + "/jwks", "127.0.0.1")]
        assert any(e.actor == "registration" and e.target_id == str(pending[0].id)
                   for e in _audit(dbs, "platform.registration_request"))

        assert Browser().launch(platform, learner()).status_code == 200  # the real platform works
        # The attacker launches as an instructor of a real deployment, signing with their key.
        attacker.issuer, attacker.deployment_id = platform.issuer, platform.deployment_id
        thief = Browser()
        signed = attacker.authorize(thief.begin_login(attacker, instructor()))
        refused = thief.post_launch(signed["launch_url"], signed["id_token"], signed["state"],
                                    allow_redirects=False)
        assert refused.status_code == 400, refused.status_code

        admin, _ = _signed_in_admin(app, tool)
        detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
        assert "Registration changes waiting for approval" in detail.text
        assert evil + "/jwks" in detail.text and before["keys"] in detail.text  # side by side
        assert "attacker-dep (would be added, active)" in detail.text
        action = next(f.action for f in forms(detail.text) if f.action.endswith(f"/{pending[0].id}/reject"))
        resp = admin.http.post(tool.url + action, data={"csrf_token": csrf_token(detail.text)})
        assert resp.status_code == 200 and "Rejected" in resp.text
        assert _row(dbs, platform.db_id) == before
        dbs.expire_all()
        assert dbs.get(RegistrationRequest, pending[0].id).status == "rejected"
        assert any(e.target_id == str(platform.db_id) and e.actor.startswith("admin:")
                   for e in _audit(dbs, "platform.registration_request.reject"))
    finally:
        attacker.stop()


def test_an_approved_reregistration_applies_its_values_and_is_audited(app, tool, platform, dbs):
    """A legitimate change (new key set address, new deployment) waits, is compared, then applied."""
    platform.files["jwks2"] = (200, platform.jwks(), {})
    conf = _config(platform.issuer, platform.issuer)
    conf["jwks_uri"] = platform.issuer + "/files/jwks2"
    platform.files["site/openid-configuration"] = (200, conf, {})
    platform.deployment_id = "dep-2"
    browser = Browser()
    done = _confirm(tool, browser, _start(tool, browser, platform.issuer + "/files/site/openid-configuration",
                                          platform.registration_token))
    assert "waiting for the tool" in done.text
    assert dbs.get(Platform, platform.db_id).key_set_url == platform.issuer + "/jwks"
    pending = dbs.scalar(select(RegistrationRequest).where(RegistrationRequest.platform_id == platform.db_id))

    admin, name = _signed_in_admin(app, tool)
    detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
    action = next(f.action for f in forms(detail.text) if f.action.endswith(f"/{pending.id}/approve"))
    resp = admin.http.post(tool.url + action, data={"csrf_token": csrf_token(detail.text)})
    assert resp.status_code == 200 and "Approved" in resp.text
    assert "Registration changes waiting" not in resp.text
    row = _row(dbs, platform.db_id)
    assert row["keys"] == platform.issuer + "/files/jwks2"
    assert ("dep-2", "active") in row["deployments"]
    decided = dbs.get(RegistrationRequest, pending.id)
    assert decided.status == "approved" and decided.decided_at is not None and decided.decided_by
    entry = _audit(dbs, "platform.registration_request.approve")[-1]
    assert entry.actor == "admin:" + name and entry.target_id == str(platform.db_id)
    assert entry.detail["changes"]["key_set_url"] == {"before": platform.issuer + "/jwks",
                                                      "after": platform.issuer + "/files/jwks2"}
    assert Browser().launch(platform, learner()).status_code == 200  # deployment dep-2, new keys
    assert "/files/jwks2" in platform.received.paths


def test_admin_edits_of_a_platform_are_audited_with_before_and_after(app, tool, platform, dbs):
    admin, name = _signed_in_admin(app, tool)
    page = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}/edit")
    fields = forms(page.text)[-1].fields
    fields["key_set_url"] = platform.issuer + "/jwks?v=2"
    assert "Platform saved" in admin.http.post(page.url, data=fields).text
    detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
    admin.http.post(f"{tool.url}/admin/platforms/{platform.db_id}/status",
                    data={"status": "disabled", "csrf_token": csrf_token(detail.text)})
    admin.http.post(f"{tool.url}/admin/platforms/{platform.db_id}/deployments",
                    data={"deployment_id": "dep-added", "csrf_token": csrf_token(detail.text)})
    update = [e for e in _audit(dbs, "platform.update") if e.target_id == str(platform.db_id)][-1]
    assert update.actor == "admin:" + name
    assert update.detail == {"key_set_url": {"before": platform.issuer + "/jwks",
                                             "after": platform.issuer + "/jwks?v=2"}}
    status = [e for e in _audit(dbs, "platform.status") if e.target_id == str(platform.db_id)][-1]
    assert status.detail == {"before": "active", "after": "disabled"}
    assert any(e.detail.get("deployment_id") == "dep-added" for e in _audit(dbs, "deployment.add"))


# -- finding 1: the issuer, redirects and the registration token --------------------------------

@pytest.mark.parametrize("issuer_path, config_path, accepted", [
    ("/files/a", "/files/b/openid-configuration", False),      # another path on the same host
    ("/files/a", "/files/ab/openid-configuration", False),     # a prefix of a name is not a path
    ("/files/a", "/files/a/../b/openid-configuration", False),  # fetched as /files/b/...
    ("/files/a", "/files/a/openid-configuration", True),
    ("", "/files/b/openid-configuration", True),                # issuer at the host's root
])
def test_the_issuer_must_be_a_prefix_of_the_configuration_address(tool, issuer_path, config_path, accepted):
    platform = PlatformServer(tool.url)
    try:
        conf = _config(platform.issuer + issuer_path, platform.issuer)
        for name in ("a/openid-configuration", "ab/openid-configuration", "b/openid-configuration"):
            platform.files[name] = (200, conf, {})
        resp = _start(tool, Browser(), platform.issuer + config_path, platform.registration_token)
        if accepted:
            assert resp.status_code == 200 and "Register the tool" in resp.text
        else:
            assert resp.status_code == 400, resp.status_code
            assert "does not match the configuration" in resp.text
    finally:
        platform.stop()


def test_a_redirect_is_refused_and_not_followed(tool):
    platform = PlatformServer(tool.url)
    try:
        platform.files["moved"] = (302, "", {"Location": platform.issuer + WELL_KNOWN})
        resp = _start(tool, Browser(), platform.issuer + "/files/moved", platform.registration_token)
        assert resp.status_code == 400 and "redirect, which is not allowed" in resp.text
        assert platform.received.paths == ["/files/moved"]

        # The registration endpoint may not redirect either (a 302 would turn the POST into a GET
        # to wherever it points).
        conf = _config(platform.issuer, platform.issuer)
        conf["registration_endpoint"] = platform.issuer + "/files/register-moved"
        platform.files["conf"] = (200, conf, {})
        platform.files["register-moved"] = (307, "", {"Location": platform.issuer + "/register"})
        browser = Browser()
        done = _confirm(tool, browser, _start(tool, browser, platform.issuer + "/files/conf",
                                              platform.registration_token))
        assert done.status_code == 400 and "redirect, which is not allowed" in done.text
        assert "/register" not in platform.received.paths and platform.received.registrations == []
    finally:
        platform.stop()


@pytest.mark.parametrize("params", [{}, {"registration_token": ""}, {"registration_token": "  "}])
def test_a_registration_without_a_token_is_refused_before_any_request(tool, params):
    platform = PlatformServer(tool.url)
    try:
        resp = Browser().http.get(tool.url + "/lti/register", params={
            "openid_configuration": platform.issuer + WELL_KNOWN, **params})
        assert platform.received.paths == []
        assert resp.status_code == 400 and "did not send a registration token" in resp.text
    finally:
        platform.stop()


def test_the_token_is_sent_to_the_configuration_and_registration_endpoints(tool, dbs):
    platform = PlatformServer(tool.url)  # its endpoints answer 401 without the right bearer token
    try:
        browser = Browser()
        done = _confirm(tool, browser, _start(tool, browser, platform.issuer + WELL_KNOWN,
                                              platform.registration_token))
        assert "Registration complete" in done.text and len(platform.received.registrations) == 1
    finally:
        platform.stop()


# -- finding 1: production registers only through a one-time link -------------------------------

@pytest.fixture
def production(app, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN_DYNAMIC_REGISTRATION", False)
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False)
    return monkeypatch


def _make_link(admin: Browser, tool, label: str, *, issuer: str = "", hours: str = "1") -> str:
    page = admin.http.get(tool.url + "/admin/registration-links")
    resp = admin.http.post(tool.url + "/admin/registration-links", data={
        "label": label, "expected_issuer": issuer, "lifetime_hours": hours,
        "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 200 and "shown only this once" in resp.text, resp.text[:600]
    assert resp.headers["Cache-Control"] == "no-store"
    return re.search(r'value="(http://[^"]+/lti/register/[^"]+)"', resp.text).group(1)


def test_production_registration_needs_a_one_time_link(app, tool, dbs, production):
    platform = PlatformServer(tool.url)
    try:
        anonymous = Browser()
        refused = _start(tool, anonymous, platform.issuer + WELL_KNOWN, platform.registration_token)
        assert refused.status_code == 403 and "needs a link from the tool" in refused.text
        posted = anonymous.http.post(tool.url + "/lti/register", data={
            "openid_configuration": platform.issuer + WELL_KNOWN,
            "registration_token": platform.registration_token, "csrf_token": "x"})
        assert posted.status_code == 403
        assert platform.received.paths == []  # no request left the tool

        admin, name = _signed_in_admin(app, tool)
        link = _make_link(admin, tool, "Moodle – Northfield Trust")
        stored = dbs.scalar(select(RegistrationLink).where(RegistrationLink.label == "Moodle – Northfield Trust"))
        assert link.rsplit("/", 1)[1] not in (stored.token_hash, stored.label)  # only a hash is kept
        assert link not in admin.http.get(tool.url + "/admin/registration-links").text  # shown once

        production.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", True)  # the VLE is local
        vle_admin = Browser()
        page = vle_admin.http.get(link, params={"openid_configuration": platform.issuer + WELL_KNOWN,
                                                "registration_token": platform.registration_token})
        assert "Moodle – Northfield Trust" in page.text  # which VLE the link is for
        done = _confirm(tool, vle_admin, page)
        assert done.status_code == 200 and "Registration complete" in done.text
        row = dbs.scalar(select(Platform).where(Platform.issuer == platform.issuer,
                                                Platform.client_id == platform.client_id))
        assert row is not None and row.registered_via == "dynamic"
        entry = [e for e in _audit(dbs, "platform.register") if e.target_id == str(row.id)][0]
        assert entry.actor == "registration" and entry.detail["via"] == f"link:{stored.id}"
        listing = admin.http.get(tool.url + "/admin/registration-links").text
        assert f"Used for <a href=\"/admin/platforms/{row.id}\">" in listing

        seen = len(platform.received.paths)
        again = vle_admin.http.get(link, params={"openid_configuration": platform.issuer + WELL_KNOWN,
                                                 "registration_token": platform.registration_token})
        assert again.status_code == 410 and "Ask the tool" in again.text
        assert len(platform.received.paths) == seen
    finally:
        platform.stop()


def test_expired_revoked_unknown_and_wrong_platform_links_are_refused(app, tool, dbs, production):
    platform = PlatformServer(tool.url)
    try:
        admin, _ = _signed_in_admin(app, tool)
        expired, revoked = _make_link(admin, tool, "Expired VLE"), _make_link(admin, tool, "Revoked VLE")
        other = _make_link(admin, tool, "Another VLE", issuer="https://moodle.other.example")
        row = dbs.scalar(select(RegistrationLink).where(RegistrationLink.label == "Expired VLE"))
        row.expires_at = utcnow() - timedelta(minutes=1)
        dbs.commit()
        page = admin.http.get(tool.url + "/admin/registration-links")
        revoke = next(f for f in forms(page.text) if f.action.endswith("/revoke")
                      and "Revoked VLE" in page.text.split(f.action)[0].rsplit("<tr>", 1)[1])
        assert "revoked" in admin.http.post(tool.url + revoke.action, data=revoke.fields).text
        params = {"openid_configuration": platform.issuer + WELL_KNOWN,
                  "registration_token": platform.registration_token}
        production.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", True)
        for link in (expired, revoked, tool.url + "/lti/register/" + secrets.token_urlsafe(32)):
            resp = Browser().http.get(link, params=params)
            assert resp.status_code == 410 and "Ask the tool" in resp.text, link
        assert platform.received.paths == []
        wrong = Browser().http.get(other, params=params)
        assert wrong.status_code == 403 and "made for another platform" in wrong.text
        assert "Revoked" in admin.http.get(tool.url + "/admin/registration-links").text
    finally:
        platform.stop()


def test_two_racing_uses_of_one_link_make_one_registration(app, tool, dbs, production):
    platform = PlatformServer(tool.url)
    try:
        admin, _ = _signed_in_admin(app, tool)
        link = _make_link(admin, tool, "Raced VLE")
        production.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", True)
        params = {"openid_configuration": platform.issuer + WELL_KNOWN,
                  "registration_token": platform.registration_token}
        racers = [Browser(), Browser()]
        confirmations = [forms(b.http.get(link, params=params).text)[0] for b in racers]
        results: list = [None, None]
        start = threading.Barrier(2)

        def post(i: int) -> None:
            start.wait()
            results[i] = racers[i].http.post(tool.url + confirmations[i].action, data=confirmations[i].fields)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
        [t.start() for t in threads]
        [t.join(30) for t in threads]
        assert sorted(r.status_code for r in results) == [200, 410]
        assert len(platform.received.registrations) == 1
        # Both racers would get the platform's one client ID; an earlier test's platform may have had this address.
        assert len(dbs.scalars(select(Platform).where(Platform.issuer == platform.issuer,
                                                      Platform.client_id == platform.client_id)).all()) == 1
    finally:
        platform.stop()


def test_registration_admin_actions_need_the_csrf_token(app, tool, dbs):
    admin, _ = _signed_in_admin(app, tool)
    before = dbs.scalar(select(RegistrationLink.id).order_by(RegistrationLink.id.desc()).limit(1))
    for path, data in (("/admin/registration-links", {"label": "Forged", "lifetime_hours": "24"}),
                       ("/admin/registration-links/1/revoke", {}),
                       ("/admin/registration-requests/1/approve", {}),
                       ("/admin/registration-requests/1/reject", {})):
        resp = admin.http.post(tool.url + path, data=data)
        assert resp.status_code == 400 and "did not come from this site" in resp.text, path
    assert dbs.scalar(select(RegistrationLink.id).order_by(RegistrationLink.id.desc()).limit(1)) == before


def test_a_link_whose_registration_failed_can_be_used_again(app, tool, dbs, production):
    """The link is used up only by a registration that completes: a platform error leaves it."""
    platform = PlatformServer(tool.url)
    try:
        admin, _ = _signed_in_admin(app, tool)
        link = _make_link(admin, tool, "Retried VLE")
        production.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", True)
        params = {"openid_configuration": platform.issuer + "/files/conf",
                  "registration_token": platform.registration_token}
        conf = _config(platform.issuer, platform.issuer)
        conf["registration_endpoint"] = platform.issuer + "/files/register-down"
        platform.files["conf"] = (200, conf, {})
        platform.files["register-down"] = (503, "down for maintenance", {})
        browser = Browser()
        failed = _confirm(tool, browser, browser.http.get(link, params=params))
        assert failed.status_code == 502 and "HTTP 503" in failed.text
        platform.files["conf"] = (200, _config(platform.issuer, platform.issuer), {})
        done = _confirm(tool, browser, browser.http.get(link, params=params))
        assert "Registration complete" in done.text
        assert browser.http.get(link, params=params).status_code == 410
    finally:
        platform.stop()
