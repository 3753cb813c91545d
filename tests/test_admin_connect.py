"""Admin: the "Connect a VLE" page (the tool's own addresses with copy boxes), key rotation from
the admin pages, and pending deployments approved or rejected with clear buttons."""
from __future__ import annotations

import re

from sqlalchemy import select

from lti_tool.models import Deployment, Platform
from lti_tool.security_models import AuditEvent

from .browser import Browser, csrf_token, forms
from .conftest import learner
from .test_admin import admin  # noqa: F401 (the signed-in admin fixture)


def _readonly_value(html: str, label: str) -> str:
    field_id = re.search(rf'<label for="([^"]+)">{re.escape(label)}</label>', html).group(1)
    box = re.search(rf'<input type="text" id="{field_id}" value="([^"]*)" readonly', html)
    assert box, f"no read-only box for {label}"
    return box.group(1)


def test_connect_page_shows_the_tools_addresses_for_canvas_and_moodle(admin, tool):  # noqa: F811
    page = admin.http.get(tool.url + "/admin/tool")
    assert page.status_code == 200 and "<h1>Connect a VLE</h1>" in page.text
    assert _readonly_value(page.text, "JSON configuration URL") == tool.url + "/lti/config/canvas.json"
    assert _readonly_value(page.text, "Redirect URIs and Target Link URI") == tool.url + "/lti/launch"
    assert _readonly_value(page.text, "OpenID Connect Initiation URL") == tool.url + "/lti/login"
    assert _readonly_value(page.text, "Public JWK URL") == tool.url + "/lti/jwks.json"
    assert _readonly_value(page.text, "Tool URL") == tool.url + "/lti/launch"
    assert _readonly_value(page.text, "Initiate login URL") == tool.url + "/lti/login"
    assert _readonly_value(page.text, "Redirection URI(s)") == tool.url + "/lti/launch"
    assert _readonly_value(page.text, "Public keyset") == tool.url + "/lti/jwks.json"
    assert "/admin/registration-links" in page.text  # Dynamic Registration: make a link
    # Copy buttons are an enhancement: hidden until copy.js shows them.
    assert page.text.count('class="button secondary small copy-button"') >= 8 and "copy.js" in page.text
    # Every address given really answers.
    config = Browser().http.get(_readonly_value(page.text, "JSON configuration URL")).json()
    assert config["oidc_initiation_url"] == tool.url + "/lti/login"
    assert Browser().http.get(_readonly_value(page.text, "Public JWK URL")).json()["keys"]


def test_connect_page_needs_an_admin(tool):
    resp = Browser().http.get(tool.url + "/admin/tool", allow_redirects=False)
    assert resp.status_code in (302, 303) and "/admin/login" in resp.headers["Location"]
    page = Browser().http.get(tool.url + "/admin/login")
    refused = Browser().http.post(tool.url + "/admin/tool/rotate-keys", data={"csrf_token": csrf_token(page.text),
                                                                               "confirm": "y"}, allow_redirects=False)
    assert refused.status_code in (302, 303, 400, 401, 403)


def test_rotating_keys_from_the_admin_pages(admin, tool, app, dbs):  # noqa: F811
    store = app.extensions["keystore"]
    before_current, before_next = store.current().kid, store.upcoming().kid
    page = admin.http.get(tool.url + "/admin/tool")
    assert before_current in page.text and before_next in page.text
    unconfirmed = admin.http.post(tool.url + "/admin/tool/rotate-keys", data={"csrf_token": csrf_token(page.text)})
    assert unconfirmed.status_code == 400 and "There is a problem" in unconfirmed.text
    assert "Tick the box to confirm the rotation." in unconfirmed.text
    assert store.current().kid == before_current  # nothing rotated
    no_token = admin.http.post(tool.url + "/admin/tool/rotate-keys", data={"confirm": "y"})
    assert no_token.status_code == 400 and store.current().kid == before_current

    done = admin.http.post(tool.url + "/admin/tool/rotate-keys", data={"csrf_token": csrf_token(page.text),
                                                                      "confirm": "y"})
    assert done.status_code == 200 and "Keys rotated" in done.text
    assert store.current().kid == before_next and store.upcoming().kid not in (before_current, before_next)
    published = {k["kid"] for k in Browser().http.get(tool.url + "/lti/jwks.json").json()["keys"]}
    assert before_current in published and before_next in published  # the old key still verifies
    entry = dbs.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotate").order_by(AuditEvent.id.desc()))
    assert entry.actor.startswith("admin:") and entry.detail["current"] == before_next


def _button_form(page_html: str, action_part: str, label: str):
    """The form (action and fields) whose button reads `label`, among the forms posting to action_part."""
    for block in re.findall(r"<form\b.*?</form>", page_html, re.S):
        form = forms(block)[0]
        if action_part in form.action and f">{label}<" in block:
            return form
    raise AssertionError(f"no {label} button for {action_part}")


def test_pending_deployment_is_approved_or_rejected_with_buttons(admin, tool, platform, dbs):  # noqa: F811
    for dep_id in ("wait-approve", "wait-reject"):
        dbs.add(Deployment(platform_id=platform.db_id, deployment_id=dep_id, status="pending"))
    dbs.commit()
    ids = {d.deployment_id: d.id for d in dbs.scalars(select(Deployment).where(Deployment.platform_id == platform.db_id))}
    detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
    row = detail.text.split("wait-approve</code>")[1].split("</tr>")[0]
    assert "Approve" in row and "Reject" in row and "<select" not in row
    approve = _button_form(detail.text, f"/deployments/{ids['wait-approve']}/status", "Approve")
    done = admin.http.post(tool.url + approve.action, data=approve.fields)
    assert "Deployment wait-approve approved: it is now active." in done.text
    reject = _button_form(done.text, f"/deployments/{ids['wait-reject']}/status", "Reject")
    done = admin.http.post(tool.url + reject.action, data=reject.fields)
    assert "Deployment wait-reject rejected: it is now disabled." in done.text, re.findall(r"<div class=\"notice\".*?</div>", done.text, re.S)
    dbs.expire_all()
    status = {d.deployment_id: d.status for d in dbs.scalars(select(Deployment).where(Deployment.platform_id == platform.db_id))}
    assert status["wait-approve"] == "active" and status["wait-reject"] == "disabled"
    # An active one offers Disable, a disabled one Re-activate: no drop-down anywhere.
    assert ">Disable<" in done.text and ">Re-activate<" in done.text and "<select" not in done.text
    events = [e.action for e in dbs.scalars(select(AuditEvent).where(AuditEvent.action == "deployment.status"))]
    assert len(events) >= 2


def test_pending_platform_is_approved_with_a_button(admin, tool, platform, dbs):  # noqa: F811
    row = dbs.get(Platform, platform.db_id)
    row.status = "pending"
    dbs.commit()
    detail = admin.http.get(f"{tool.url}/admin/platforms/{platform.db_id}")
    assert "waiting for your approval" in detail.text
    approve = _button_form(detail.text, f"/platforms/{platform.db_id}/status", "Approve")
    done = admin.http.post(tool.url + approve.action, data=approve.fields)
    assert "approved: it is now active." in done.text
    assert Browser().launch(platform, learner()).status_code == 200


def test_favicon_is_served(tool):
    resp = Browser().http.get(tool.url + "/favicon.ico")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert resp.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = Browser().http.get(tool.url + "/privacy")
    assert 'rel="icon" href="/favicon.ico"' in page.text and "logo.svg" in page.text


def test_copy_buttons_copy_in_a_browser(app, tool):
    """copy.js shows the Copy buttons and copies the box's value (the boxes work without it)."""
    import secrets

    from lti_tool.cli import create_admin

    from .browser_support import chromium_page

    name, password = "copy-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    with chromium_page(viewport=(768, 900)) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tool.url)
        page.goto(tool.url + "/admin/login")
        page.get_by_label("Username").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Platforms").wait_for()
        page.goto(tool.url + "/admin/tool")
        button = page.get_by_role("button", name="Copy JSON configuration URL")
        button.click()
        page.get_by_text("JSON configuration URL copied.").wait_for(state="attached")
        assert page.locator("[data-copy=canvas-json]").inner_text().startswith("Copied"), page.locator("[data-copy=canvas-json]").evaluate("b => b.outerHTML")
        assert page.evaluate("navigator.clipboard.readText()") == tool.url + "/lti/config/canvas.json"
