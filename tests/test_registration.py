"""LTI Dynamic Registration run by a platform, end to end."""
from __future__ import annotations

from sqlalchemy import select

from lti_tool.db import db
from lti_tool.models import ACTIVE, PENDING, Deployment, Platform
from lti_tool.settings import set_setting

from .browser import forms
from .conftest import learner
from .platform_server import PlatformServer


def _register(tool, browser, platform):
    start = browser.http.get(tool.url + "/lti/register", params={
        "openid_configuration": platform.issuer + "/.well-known/openid-configuration",
        "registration_token": platform.registration_token})
    assert start.status_code == 200, start.text[:500]
    assert "Register the tool" in start.text and platform.issuer in start.text
    form = forms(start.text)[0]
    return browser.http.post(tool.url + "/lti/register", data=form.fields)


def _set(app, key, value):
    with app.app_context():
        set_setting(key, value)
        db().commit()


def test_dynamic_registration_then_launch(app, tool, browser, dbs):
    _set(app, "AUTO_ACTIVATE_REGISTRATIONS", True)
    platform = PlatformServer(tool.url)
    try:
        done = _register(tool, browser, platform)
        assert done.status_code == 200
        assert "Registration complete" in done.text
        assert "registered.js" in done.text  # posts org.imsglobal.lti.close to the platform
        sent = platform.received.registrations[0]
        conf = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        assert sent["initiate_login_uri"] == tool.url + "/lti/login"
        assert sent["jwks_uri"] == tool.url + "/lti/jwks.json"
        assert sent["redirect_uris"] == [tool.url + "/lti/launch"]
        assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]
        assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in sent["scope"]
        assert {m["type"] for m in conf["messages"]} == {"LtiDeepLinkingRequest", "LtiResourceLinkRequest"}
        row = dbs.scalar(select(Platform).where(Platform.issuer == platform.issuer,
                                                Platform.client_id == platform.client_id))
        assert row.status == ACTIVE and row.registered_via == "dynamic"
        assert row.client_id == platform.client_id
        assert [d.deployment_id for d in row.deployments] == [platform.deployment_id]
        assert browser.launch(platform, learner()).status_code == 200
    finally:
        platform.stop()


def test_registration_waits_for_approval_by_default(app, tool, browser, dbs):
    _set(app, "AUTO_ACTIVATE_REGISTRATIONS", False)
    platform = PlatformServer(tool.url)
    try:
        done = _register(tool, browser, platform)
        assert "must approve" in done.text
        row = dbs.scalar(select(Platform).where(Platform.issuer == platform.issuer,
                                                Platform.client_id == platform.client_id))
        assert row.status == PENDING
        refused = browser.http.get(platform.login_url(learner()))
        assert refused.status_code == 403 and "waiting for a provider admin" in refused.text
    finally:
        platform.stop()
        _set(app, "AUTO_ACTIVATE_REGISTRATIONS", True)


def test_registration_with_wrong_token_fails_clearly(tool, browser):
    platform = PlatformServer(tool.url)
    try:
        resp = browser.http.get(tool.url + "/lti/register", params={
            "openid_configuration": platform.issuer + "/.well-known/openid-configuration",
            "registration_token": "wrong"})
        assert resp.status_code == 400
        assert "could not register" in resp.text or "could not be read" in resp.text
    finally:
        platform.stop()


def test_registration_without_parameters_explains(tool, browser):
    resp = browser.http.get(tool.url + "/lti/register")
    assert resp.status_code == 400 and "Start the registration from your platform" in resp.text


def test_registration_confirmation_needs_csrf(tool, browser):
    platform = PlatformServer(tool.url)
    try:
        resp = browser.http.post(tool.url + "/lti/register", data={
            "openid_configuration": platform.issuer + "/.well-known/openid-configuration",
            "registration_token": platform.registration_token})
        assert resp.status_code == 400
        assert platform.received.registrations == []
    finally:
        platform.stop()


def test_issuer_must_match_configuration_host(tool, browser):
    platform = PlatformServer(tool.url)
    platform.issuer = "https://evil.example"  # configuration now claims another host
    try:
        resp = browser.http.get(tool.url + "/lti/register", params={
            "openid_configuration": platform.server.url + "/.well-known/openid-configuration",
            "registration_token": platform.registration_token})
        assert resp.status_code == 400 and "does not match the configuration" in resp.text
    finally:
        platform.stop()
