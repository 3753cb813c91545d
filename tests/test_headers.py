"""Security headers on what the tool serves: nosniff, a referrer policy, a Content-Security-Policy
whose frame-ancestors lets the registered platforms (and only them) frame the tool, and HSTS over
HTTPS. Over real HTTP through the test platform, and through Flask's test client for HTTPS (the
tests trust no X-Forwarded-Proto)."""
from __future__ import annotations

import re
import secrets

import pytest

from lti_tool.models import Platform

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner

SANDBOX_ISSUER_ORIGIN = "https://sandbox.npq-lti.example"


def _directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.url}"
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def _frame_ancestors(response) -> list[str]:
    directives = _directives(response)
    assert "frame-ancestors" in directives, f"CSP without frame-ancestors on {response.url}"
    return directives["frame-ancestors"]


def _is_html(response) -> bool:
    return response.headers.get("Content-Type", "").startswith("text/html")


@pytest.fixture
def pages(app, tool, platform):
    """HTML pages of every kind, as the test platform's users and a provider admin get them."""
    out = {}
    b = Browser()
    out["home"] = b.http.get(tool.url + "/")
    out["signed out"] = b.http.get(tool.url + "/signed-out")
    out["not found"] = b.http.get(tool.url + "/no-such-page")
    out["sandbox course"] = b.http.get(tool.url + "/sandbox/")
    participant = Browser()
    out["participant activity"] = participant.launch(platform, learner(custom={"npq_item": "NPQSL/sc-reading"}))
    out["participant programme"] = participant.http.get(re.sub(r"/activities/.*", "/programme",
                                                               out["participant activity"].url))
    out["participant 401"] = Browser().http.get(out["participant activity"].url)
    page = out["participant activity"]
    out["participant 400 (CSRF)"] = participant.http.post(page.url, data={"action": "save"})
    tutor = Browser()
    out["tutor landing"] = tutor.launch(platform, instructor(custom={"npq_programme": "NPQSL"}))
    dl = instructor(resource_link_id=None)
    dl.deep_link_return_url = platform.issuer + "/deep-link-return"
    designer = Browser()
    out["picker"] = designer.launch(platform, dl)
    out["deep-linking return"] = designer.http.post(out["picker"].url, data={
        "csrf_token": csrf_token(out["picker"].text), "programme": "NPQSL", "item": "NPQSL/sc-reading"})
    assert forms(out["deep-linking return"].text)[0].action == platform.issuer + "/deep-link-return"
    for label, resp in out.items():
        assert _is_html(resp), label
    return out


def test_every_html_response_has_nosniff_and_a_referrer_policy(pages, tool):
    extra = {"admin login": Browser().http.get(tool.url + "/admin/login"),
             "LTI launch error": Browser().http.get(tool.url + "/lti/login")}
    for label, resp in {**pages, **extra}.items():
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", label
        policy = resp.headers.get("Referrer-Policy", "")
        assert policy and policy != "unsafe-url", (label, policy)


def test_non_html_responses_have_nosniff_too(tool):
    for path in ("/healthz", "/lti/jwks.json", "/static/app.css", "/static/autosave.js"):
        resp = Browser().http.get(tool.url + path)
        assert resp.status_code == 200 and resp.headers.get("X-Content-Type-Options") == "nosniff", path


def test_html_csp_frame_ancestors_lists_self_and_the_registered_platforms(pages, platform):
    for label, resp in pages.items():
        ancestors = _frame_ancestors(resp)
        assert "*" not in ancestors, (label, ancestors)
        assert not any(a in ("http:", "https:", "http://*", "https://*") for a in ancestors), (label, ancestors)
        assert "'self'" in ancestors, (label, ancestors)
        assert platform.issuer in ancestors, (label, ancestors)  # http://127.0.0.1:PORT


def test_csp_leaves_out_platforms_that_are_not_active(app, tool, platform, dbs):
    disabled = Platform(name="Disabled", issuer=f"https://disabled-{secrets.token_hex(3)}.example",
                        client_id="c", auth_login_url="https://disabled.example/auth",
                        auth_token_url="https://disabled.example/token", key_set_url="https://disabled.example/jwks",
                        status="disabled", registered_via="test")
    pending = Platform(name="Pending", issuer=f"https://pending-{secrets.token_hex(3)}.example",
                       client_id="c", auth_login_url="https://pending.example/auth",
                       auth_token_url="https://pending.example/token", key_set_url="https://pending.example/jwks",
                       status="pending", registered_via="test")
    dbs.add_all([disabled, pending])
    dbs.commit()
    for resp in (Browser().http.get(tool.url + "/"), Browser().launch(platform, learner())):
        ancestors = _frame_ancestors(resp)
        assert platform.issuer in ancestors
        for origin in (disabled.issuer, pending.issuer, "https://disabled.example", "https://pending.example"):
            assert origin not in ancestors, (origin, ancestors)


def test_admin_pages_are_never_framed_by_anyone(tool):
    resp = Browser().http.get(tool.url + "/admin/login")
    ancestors = _frame_ancestors(resp)
    assert "*" not in ancestors
    assert ancestors == ["'none'"] or "'self'" in ancestors, ancestors


def test_lti_launch_error_page_is_not_framable_by_any_site(tool, platform):
    """An LTI launch error page (here: a login without an issuer) is HTML like any other."""
    resp = Browser().http.get(tool.url + "/lti/login", params={"login_hint": "x"})
    assert resp.status_code == 400 and _is_html(resp)
    ancestors = _frame_ancestors(resp)
    assert "*" not in ancestors, ancestors
    assert "'self'" in ancestors and platform.issuer in ancestors, ancestors


def test_csp_does_not_break_the_deep_linking_return(pages, platform):
    """The auto-posting form goes to the platform: a form-action, if any, must allow it; and the
    page's script is the tool's own file, not inline."""
    page = pages["deep-linking return"]
    directives = _directives(page)
    if "form-action" in directives:
        allowed = directives["form-action"]
        assert platform.issuer in allowed or platform.issuer + "/deep-link-return" in allowed, allowed
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "inline script on the return page"


# ---------------------------------------------------------------------------------------------
# HTTPS: Flask's test client with an https base URL (X-Forwarded-Proto is not trusted in tests).


def test_https_responses_carry_hsts(app):
    client = app.test_client()
    for path in ("/", "/admin/login", "/no-such-page", "/healthz"):
        resp = client.get(path, base_url="https://localhost")
        hsts = resp.headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", hsts)
        assert match and int(match.group(1)) >= 15552000, (path, hsts)  # at least 180 days


def test_https_html_responses_have_the_same_headers(app):
    client = app.test_client()
    resp = client.get("/", base_url="https://localhost")
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy")
    ancestors = _frame_ancestors(resp)
    assert "'self'" in ancestors and "*" not in ancestors


def test_plain_http_and_an_untrusted_forwarded_proto_get_no_hsts(app, tool):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/", base_url="http://localhost").headers
    spoofed = client.get("/", base_url="http://localhost", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers
    over_http = Browser().http.get(tool.url + "/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in over_http.headers
