"""Security: CSRF on every state-changing request, an authorisation matrix, stored and reflected
XSS, secrets kept out of logs, and oversized requests. All through the real HTTP server and an
independent platform, as in the other end-to-end tests."""
from __future__ import annotations

import io
import json
import logging
import re
import secrets
import time
import zipfile
from html.parser import HTMLParser

import jwt
import pytest
from sqlalchemy import func, select

from lti_tool.cli import create_admin
from lti_tool.content import load_programmes
from lti_tool.db import Base, db, engine
from lti_tool.grades.delivery import deliver_due
from lti_tool.models import (
    AccessToken,
    ActivityWork,
    Course,
    Deployment,
    GradeOutbox,
    LaunchSession,
    Mark,
    Person,
    Platform,
    SandboxLink,
    WriteupDoc,
)
from lti_tool.lti.keys import ToolKey
from lti_tool.sandbox.platform import decode_claims_unverified, new_private_pem

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner, register
from .platform_server import PlatformServer
from .test_content import PACKS
from .test_marking import _course, _doc_link, _mark_form, _submit_as, _tutor
from .test_writeups import RISK, _open, _row_ids, _wait

REF_RISK = "NPQSL/risk-assessment"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_REFUSAL = "did not come from this site"


# ---------------------------------------------------------------------------------------------
# Helpers


def _sid(url: str) -> str:
    return re.search(r"/s/([^/]+)/", url).group(1)


def _base(url: str) -> str:
    return url.split("/s/")[0]


def _in_session(page_url: str, path: str) -> str:
    """An address inside the same launch session as page_url."""
    return f"{_base(page_url)}/s/{_sid(page_url)}/{path.lstrip('/')}"


def _participant(platform, ref, browser=None, **kw):
    browser = browser or Browser()
    spec = learner(custom={"npq_item": ref}, **kw)
    page = browser.launch(platform, spec)
    assert page.status_code == 200, page.text[:500]
    return browser, spec, page


def _work_form(page):
    """The page's activity or write-up form (the one with a version), whatever other forms it has."""
    return next(f for f in forms(page.text) if "version" in f.fields and f.action in ("", page.url.split("#")[0]))


def _qids(page) -> list[str]:
    return [k.removeprefix("answer-") for k in _work_form(page).fields if k.startswith("answer-")]


def _post(browser, page, data, action="save"):
    """Post the write-up form as the browser would, with these fields changed."""
    return browser.http.post(page.url.split("#")[0], data={**_work_form(page).fields, **data, "action": action})


def _autosave(browser, page, body, token=True):
    headers = {"Accept": "application/json"}
    if token:
        headers["X-CSRFToken"] = csrf_token(page.text)
    return browser.http.post(page.url.split("#")[0].rstrip("/") + "/draft", json=body, headers=headers)


def _admin(app, tool):
    name, password = "sec-admin-" + secrets.token_hex(3), secrets.token_urlsafe(14)
    with app.app_context():
        create_admin(name, password)
    b = Browser()
    page = b.http.get(tool.url + "/admin/login")
    resp = b.http.post(tool.url + "/admin/login", data={
        "username": name, "password": password, "csrf_token": csrf_token(page.text)})
    assert resp.status_code == 200 and "Platforms" in resp.text
    return b, name, password


def _snapshot(app, platform_ids=()) -> dict[str, list[str]]:
    """Every row of every table. Grade deliveries and access tokens of other tests' platforms may
    still be retried by a background thread, so those two tables keep only our platforms' rows."""
    out = {}
    with app.app_context():
        with engine().connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(select(table)).mappings().all()
                if table.name in ("grade_outbox", "access_token"):
                    rows = [r for r in rows if r["platform_id"] in platform_ids]
                out[table.name] = sorted(repr(tuple(r.values())) for r in rows)
    return out


def _diff(before: dict, after: dict) -> dict:
    return {t: {"gone": sorted(set(before[t]) - set(after[t]))[:3], "new": sorted(set(after[t]) - set(before[t]))[:3]}
            for t in before if before[t] != after[t]}


def _settle(app, platform_ids, timeout=20.0):
    """Wait until no grade of these platforms is on its way (background delivery finished)."""
    end = time.time() + timeout
    while time.time() < end:
        with app.app_context():
            pending = db().scalar(select(func.count()).select_from(GradeOutbox).where(
                GradeOutbox.platform_id.in_(platform_ids), GradeOutbox.status == "pending"))
        if not pending:
            return
        time.sleep(0.1)
    raise AssertionError("grades still pending")


# ---------------------------------------------------------------------------------------------
# CSRF: every state-changing route is protected by the CSRF token, or listed here with the
# reason it is protected otherwise (each reason is tested below).

EXEMPT = {
    "lti.login": "OIDC login initiation from the platform (cross-site by design); its state is bound "
                 "to this browser by a cookie: test_lti_login_and_launch_are_protected_by_state_and_signature",
    "lti.launch": "a signed id_token and a browser-bound state: "
                  "test_lti_login_and_launch_are_protected_by_state_and_signature",
    "lti.register": "its own FlaskForm token: test_dynamic_registration_checks_its_own_form_token",
    "sandbox.token": "a signed client assertion: test_sandbox_token_needs_a_signed_client_assertion",
    "sandbox.deep_link_return": "a JWT signed by the tool: test_sandbox_deep_link_return_needs_the_tools_signature",
    "sandbox.line_items": "the sandbox's AGS API, bearer token: test_sandbox_ags_endpoints_need_a_bearer_token",
    "sandbox.scores": "the sandbox's AGS API, bearer token: test_sandbox_ags_endpoints_need_a_bearer_token",
    "session.ticket": "a cookieless session's page ticket: needs the per-launch secret in the X-Session-Secret "
                      "header, which no other site can know or send: test_cookieless.py::test_ticket_opens_one_page_once",
}
# JSON endpoints called by the pages' scripts: the CSRF token comes in the X-CSRFToken header
# (test_json_endpoints_check_the_csrf_header, test_json_autosave_checks_the_csrf_header).
HEADER_TOKEN = {"activities.autosave", "writeups.autosave", "assessment.autosave", "delivery.set_timezone"}


def _state_changing_rules(app):
    return [r for r in app.url_map.iter_rules() if r.methods & STATE_CHANGING]


def test_exempt_lists_name_real_routes(app):
    endpoints = {r.endpoint for r in _state_changing_rules(app)}
    assert set(EXEMPT) | HEADER_TOKEN <= endpoints, f"stale entries: {(set(EXEMPT) | HEADER_TOKEN) - endpoints}"


@pytest.fixture
def world(app, tool, platform, dbs):
    """Something for every state-changing route to change: a participant with an activity draft and
    a submitted write-up, a tutor with a draft mark and a failed grade, a deep-linking tutor, an
    admin with a platform and a deployment."""
    w = {}
    participant, _, activity = _participant(platform, "NPQSL/sc-reading")
    qid = _qids(activity)[0]
    assert _autosave(participant, activity, {"answers": {qid: "Draft text"}, "version": 0}).status_code == 200
    w["participant"], w["activity"], w["qid"] = participant, participant.http.get(activity.url), qid
    _, _, wpage = _open(platform, "NPQSL/action-plan", browser=participant, context_id="ctx-" + secrets.token_hex(3))
    w["writeup"] = wpage

    course = _course(platform)
    writer, _, _ = _submit_as(platform, course, "p-csrf-" + secrets.token_hex(3), "Casey Writer")
    tutor, queue = _tutor(platform, course, user_id="t-csrf-" + secrets.token_hex(3))
    mpage = tutor.http.get(_base(queue.url) + _doc_link(queue, "Casey Writer"))
    data, _ = _mark_form(mpage, [2, 2, 2, 2, 2])
    tutor.http.post(mpage.url, data={**data, "action": "save", "kind": "first"})
    w["tutor"], w["queue"], w["mark_page"] = tutor, tutor.http.get(queue.url), tutor.http.get(mpage.url)
    w["doc_id"] = int(mpage.url.rsplit("/", 1)[1])
    doc = dbs.get(WriteupDoc, w["doc_id"])
    entry = GradeOutbox(platform_id=platform.db_id, course_id=doc.course_id, person_id=doc.person_id,
                        line_item_url=course["line_item"], resource_id=REF_RISK, label="Risk assessment",
                        score={"userId": "x", "scoreMaximum": 100, "activityProgress": "Completed",
                               "gradingProgress": "FullyGraded", "timestamp": "2026-01-01T00:00:00Z"},
                        source="test", status="failed", attempts=12, last_error="the platform answered 500")
    dbs.add(entry)
    dbs.commit()
    w["entry_id"] = entry.id

    dl = instructor(resource_link_id=None)
    dl.deep_link_return_url = platform.issuer + "/deep-link-return"
    picker_browser = Browser()
    w["picker"] = picker_browser.launch(platform, dl)
    assert "Add NPQ items" in w["picker"].text
    w["picker_browser"] = picker_browser

    admin, name, password = _admin(app, tool)
    w["admin"], w["admin_name"], w["admin_password"] = admin, name, password
    row = Platform(name="CSRF target", issuer="https://csrf-target.example", client_id="c-" + secrets.token_hex(4),
                   auth_login_url="https://csrf-target.example/auth",
                   auth_token_url="https://csrf-target.example/token",
                   key_set_url="https://csrf-target.example/jwks", status="active", registered_via="test")
    dbs.add(row)
    dbs.flush()
    dep = Deployment(platform_id=row.id, deployment_id="dep-csrf", status="active")
    dbs.add(dep)
    dbs.commit()
    w["platform_row"], w["deployment_row"] = row.id, dep.id
    _settle(app, [platform.db_id])
    w["platform_ids"] = (platform.db_id, row.id)
    return w


def _cases(tool, w):
    """For each protected endpoint: (browser, URL, the form a real user would send minus the token)."""
    act, wu, q, m = w["activity"], w["writeup"], w["queue"], w["mark_page"]
    level_data, _ = _mark_form(m, [3, 3, 3, 3, 3], overall="Released without a token?")
    level_data.pop("csrf_token")
    row = _row_ids(wu, "actions")[0]
    wu_fields = {k: v for k, v in _work_form(wu).fields.items() if k != "csrf_token"}
    a = tool.url + "/admin"
    return {
        "core.logout": (w["participant"], _in_session(act.url, "logout"), {}),
        "admin.login": (Browser(), a + "/login", {"username": w["admin_name"], "password": w["admin_password"]}),
        "admin.logout": (w["admin"], a + "/logout", {}),
        "admin.new_platform": (w["admin"], a + "/platforms/new", {
            "name": "Planted", "issuer": "https://planted.example", "client_id": "planted",
            "auth_login_url": "https://planted.example/a", "auth_token_url": "https://planted.example/t",
            "key_set_url": "https://planted.example/k", "status": "active", "deployment_ids": "d1"}),
        "admin.edit_platform": (w["admin"], f"{a}/platforms/{w['platform_row']}/edit", {
            "name": "Renamed", "issuer": "https://csrf-target.example", "client_id": "other",
            "auth_login_url": "https://evil.example/a", "auth_token_url": "https://evil.example/t",
            "key_set_url": "https://evil.example/k", "status": "active"}),
        "admin.platform_status": (w["admin"], f"{a}/platforms/{w['platform_row']}/status", {"status": "disabled"}),
        "admin.add_deployment": (w["admin"], f"{a}/platforms/{w['platform_row']}/deployments",
                                 {"deployment_id": "planted-dep", "label": "x"}),
        "admin.deployment_status": (w["admin"], f"{a}/deployments/{w['deployment_row']}/status",
                                    {"status": "disabled"}),
        "admin.settings": (w["admin"], a + "/settings", {"AUTO_ACCEPT_NEW_DEPLOYMENTS": "y",
                                                        "AUTO_ACTIVATE_REGISTRATIONS": "y"}),
        "activities.save_or_submit": (w["participant"], act.url, {
            "action": "submit", "version": "1", **{f"answer-{q_}": "Submitted by a forged form" for q_ in _qids(act)}}),
        "writeups.save_or_submit": (w["participant"], wu.url, {
            **wu_fields, "action": "save", "f.plan.aim": "Planted aim", f"t.actions.{row}.action": "Planted"}),
        "catalogue.choose": (w["picker_browser"], w["picker"].url, {"programme": "NPQSL", "item": "NPQSL/sc-reading"}),
        "marking.act": (w["tutor"], m.url, {**level_data, "action": "release", "kind": "first"}),
        "marking.bulk_release": (w["tutor"], q.url.split("?")[0] + "/release", {"doc": str(w["doc_id"])}),
        "marking.retry": (w["tutor"], _in_session(q.url, f"grades/{w['entry_id']}/retry"), {"next": "/s/x"}),
    }


def _generic_url(rule, sid: str) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        is_int = converter is not None and type(converter).__name__ == "IntegerConverter"
        values[arg] = sid if arg == "sid" else (1 if is_int else "x")
    return rule.build(values, append_unknown=False)[1]


def test_every_state_changing_request_without_a_csrf_token_is_refused_and_changes_nothing(app, tool, world):
    cases = _cases(tool, world)
    stranger = Browser()  # a token that is real, but another browser's
    forged = csrf_token(stranger.http.get(tool.url + "/admin/login").text)
    checked = []
    for rule in _state_changing_rules(app):
        if rule.endpoint in EXEMPT or rule.endpoint in HEADER_TOKEN:
            continue
        if rule.endpoint in cases:
            browser, url, data = cases[rule.endpoint]
        else:  # a route added since this test was written: probed with placeholder values
            browser, url, data = world["participant"], tool.url + _generic_url(rule, _sid(world["activity"].url)), {}
        for label, extra in (("no token", {}), ("another browser's token", {"csrf_token": forged})):
            before = _snapshot(app, world["platform_ids"])
            resp = browser.http.post(url, data={**data, **extra}, allow_redirects=False)
            after = _snapshot(app, world["platform_ids"])
            assert resp.status_code == 400, (rule.endpoint, label, resp.status_code, resp.text[:300])
            assert CSRF_REFUSAL in resp.text, (rule.endpoint, label, resp.text[:600])
            assert before == after, (rule.endpoint, label, _diff(before, after))
        checked.append(rule.endpoint)
    assert set(cases) <= set(checked), f"cases for routes that no longer exist: {set(cases) - set(checked)}"
    # Nothing was refused for want of a session: every browser is still signed in and unchanged.
    assert world["participant"].http.get(world["activity"].url).status_code == 200
    assert world["admin"].http.get(tool.url + "/admin/", allow_redirects=False).status_code == 200
    assert "Draft text" in world["participant"].http.get(world["activity"].url).text


def test_the_same_requests_with_the_token_do_work(app, tool, world, platform, dbs):
    """A control: the refusals above are the token's doing, not a bad form."""
    cases = _cases(tool, world)
    browser, url, data = cases["marking.act"]
    resp = browser.http.post(url, data={**data, "csrf_token": csrf_token(world["mark_page"].text)})
    assert resp.status_code == 200 and "Mark released" in resp.text, resp.text[:500]
    browser, url, data = cases["admin.platform_status"]
    detail = world["admin"].http.get(f"{tool.url}/admin/platforms/{world['platform_row']}")
    resp = browser.http.post(url, data={**data, "csrf_token": csrf_token(detail.text)})
    assert "is now disabled" in resp.text
    browser, url, data = cases["activities.save_or_submit"]
    resp = browser.http.post(url, data={**data, "csrf_token": csrf_token(world["activity"].text)})
    assert "You submitted this on" in resp.text


def test_json_autosave_checks_the_csrf_header(app, platform, dbs):
    browser, _, page = _participant(platform, "NPQSL/sc-reading")
    qid = _qids(page)[0]
    _, _, wpage = _open(platform, "NPQSL/impact-essay", browser=browser)
    stranger_token = csrf_token(Browser().launch(platform, learner()).text)
    for target, body in ((page, {"answers": {qid: "Planted"}, "version": 0}),
                         (wpage, {"pairs": [["x.context", "Planted"]], "version": 0})):
        url = target.url.split("#")[0].rstrip("/") + "/draft"
        before = _snapshot(app, (platform.db_id,))
        refusals = [
            browser.http.post(url, json=body),  # no header, no token in the body
            browser.http.post(url, json=body, headers={"X-CSRFToken": ""}),
            browser.http.post(url, json=body, headers={"X-CSRFToken": "not-a-token"}),
            browser.http.post(url, json=body, headers={"X-CSRFToken": stranger_token}),
            browser.http.post(url, json={**body, "csrf_token": stranger_token}),
            # A form post (what a cross-site page can send without CORS) is no way round it.
            browser.http.post(url, data={"answers": "x", "version": "0"}),
            browser.http.post(url, data=json.dumps(body), headers={"Content-Type": "text/plain"}),
        ]
        for resp in refusals:
            assert resp.status_code == 400, (url, resp.status_code, resp.text[:200])
            assert resp.headers["Content-Type"].startswith("application/json")
        assert _snapshot(app, (platform.db_id,)) == before
        ok = browser.http.post(url, json=body, headers={"X-CSRFToken": csrf_token(target.text)})
        assert ok.status_code == 200, ok.text[:300]


def test_json_endpoints_check_the_csrf_header(app, tool, platform):
    """Every endpoint of HEADER_TOKEN, at placeholder addresses inside a real session: without the
    header (or with another browser's token) it refuses with a JSON 400 and changes nothing."""
    browser, _, page = _participant(platform, "NPQSL/sc-reading")
    stranger_token = csrf_token(Browser().launch(platform, learner()).text)
    sid = _sid(page.url)
    for rule in _state_changing_rules(app):
        if rule.endpoint not in HEADER_TOKEN:
            continue
        url = tool.url + _generic_url(rule, sid)
        body = {"version": 0, "answers": {}, "pairs": [], "tz": "Europe/London", "csrf_token": None}
        before = _snapshot(app, (platform.db_id,))
        for headers in ({}, {"X-CSRFToken": ""}, {"X-CSRFToken": stranger_token}):
            resp = browser.http.post(url, json=body, headers={"Accept": "application/json", **headers})
            assert resp.status_code == 400, (rule.endpoint, headers, resp.status_code, resp.text[:200])
            assert resp.headers["Content-Type"].startswith("application/json"), rule.endpoint
        assert _snapshot(app, (platform.db_id,)) == before, rule.endpoint


def test_lti_login_and_launch_are_protected_by_state_and_signature(app, platform, browser, dbs):
    # Login is cross-site by design (the platform starts it) and needs no CSRF token ...
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    sessions = lambda: dbs.scalar(select(func.count()).select_from(LaunchSession))  # noqa: E731
    count = sessions()
    # ... but a launch posted by another site into this browser, without the state this browser
    # was given, opens nothing;
    attacker = platform.authorize(Browser().begin_login(platform, learner()))
    assert browser.post_launch(attacker["launch_url"], attacker["id_token"], attacker["state"]).status_code == 400
    # nor does a token that the platform did not sign, even with this browser's own state;
    forger = ToolKey(kid=platform.key.kid, private_pem=new_private_pem())
    forged = platform.sign(decode_claims_unverified(launch["id_token"]), key=forger)
    assert browser.post_launch(launch["launch_url"], forged, launch["state"]).status_code == 400
    dbs.expire_all()
    assert sessions() == count
    # while the platform's own launch works, once.
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    assert browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"]).status_code == 200
    dbs.expire_all()
    assert sessions() == count + 1


def test_dynamic_registration_checks_its_own_form_token(app, tool, dbs):
    p = PlatformServer(tool.url)
    try:
        b = Browser()
        start = b.http.get(tool.url + "/lti/register", params={
            "openid_configuration": p.issuer + "/.well-known/openid-configuration",
            "registration_token": p.registration_token})
        assert start.status_code == 200
        fields = forms(start.text)[0].fields
        assert fields.get("csrf_token")
        other = Browser()
        other_token = forms(other.http.get(tool.url + "/lti/register", params={
            "openid_configuration": p.issuer + "/.well-known/openid-configuration",
            "registration_token": p.registration_token}).text)[0].fields["csrf_token"]
        for tampered in ({k: v for k, v in fields.items() if k != "csrf_token"},
                         {**fields, "csrf_token": ""}, {**fields, "csrf_token": other_token}):
            resp = b.http.post(tool.url + "/lti/register", data=tampered)
            assert resp.status_code == 400 and "expired or was tampered with" in resp.text, resp.text[:300]
        assert p.received.registrations == []
        assert dbs.scalar(select(Platform).where(Platform.issuer == p.issuer, Platform.client_id == p.client_id)) is None
        done = b.http.post(tool.url + "/lti/register", data=fields)
        assert done.status_code == 200 and "Registration complete" in done.text
        assert len(p.received.registrations) == 1
    finally:
        p.stop()


def test_sandbox_token_needs_a_signed_client_assertion(tool):
    b = Browser()
    b.http.get(tool.url + "/sandbox/")  # registers the sandbox
    forged = jwt.encode({"iss": "npq-sandbox-client", "sub": "npq-sandbox-client", "aud": tool.url + "/sandbox/token",
                         "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": secrets.token_hex(8)},
                        new_private_pem(), algorithm="RS256", headers={"kid": "made-up"})
    for form in ({}, {"grant_type": "client_credentials"},
                 {"grant_type": "client_credentials", "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                  "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                  "client_assertion": forged}):
        resp = b.http.post(tool.url + "/sandbox/token", data=form)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_client"
        assert "access_token" not in resp.json()


def test_sandbox_ags_endpoints_need_a_bearer_token(app, tool):
    b = Browser()
    b.http.get(tool.url + "/sandbox/")
    before = _snapshot(app)
    for headers in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer " + jwt.encode({"scope": "x"}, "k" * 32, algorithm="HS256")}):
        made = b.http.post(tool.url + "/sandbox/lineitems", headers=headers,
                           json={"label": "Planted", "scoreMaximum": 10, "resourceId": "x"})
        assert made.status_code == 401, (headers, made.status_code)
        scored = b.http.post(tool.url + "/sandbox/lineitems/1/scores", headers=headers,
                             json={"userId": "x", "scoreGiven": 10, "timestamp": "2030-01-01T00:00:00Z"})
        assert scored.status_code == 401, (headers, scored.status_code)
    assert _snapshot(app) == before


def test_sandbox_deep_link_return_needs_the_tools_signature(app, tool, dbs):
    b = Browser()
    b.http.get(tool.url + "/sandbox/")
    kid = app.extensions["keystore"].current().kid
    claims = {"iss": "npq-sandbox-client", "aud": "https://sandbox.npq-lti.example", "iat": int(time.time()),
              "exp": int(time.time()) + 60, "nonce": "n",
              "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingResponse",
              "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
              "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "npq-sandbox-deployment",
              "https://purl.imsglobal.org/spec/lti-dl/claim/data": "sandbox-course",
              "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [
                  {"type": "ltiResourceLink", "title": "Planted link", "custom": {"npq_item": "NPQSL/sc-reading"}}]}
    forged = jwt.encode(claims, new_private_pem(), algorithm="RS256", headers={"kid": kid})
    links = dbs.scalar(select(func.count()).select_from(SandboxLink))
    for form in ({}, {"JWT": ""}, {"JWT": "not.a.jwt"}, {"JWT": forged}):
        resp = b.http.post(tool.url + "/sandbox/deep-link-return", data=form)
        assert resp.status_code == 400 and "Nothing was added" in resp.text
    dbs.expire_all()
    assert dbs.scalar(select(func.count()).select_from(SandboxLink)) == links


# ---------------------------------------------------------------------------------------------
# Authorisation matrix


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).replace(" ", "").replace("\n", "")


def test_participant_cannot_reach_another_participants_activity_work(platform, dbs):
    course = "course-" + secrets.token_hex(4)
    a, a_spec, a_page = _participant(platform, "NPQSL/sc-reading", context_id=course)
    qid = _qids(a_page)[0]
    assert _autosave(a, a_page, {"answers": {qid: "Asha's private draft"}, "version": 0}).status_code == 200
    b, _, b_page = _participant(platform, "NPQSL/sc-reading", context_id=course, user_id="b-" + secrets.token_hex(3))
    assert "Asha&#39;s private draft" not in b_page.text and "private draft" not in b_page.text
    # B's own autosave and submit touch B's work only.
    assert _autosave(b, b_page, {"answers": {qid: "Ben's text"}, "version": 0}).status_code == 200
    b.http.post(b_page.url, data={"csrf_token": csrf_token(b_page.text), "action": "submit",
                                  **{f"answer-{q}": "Ben's answer" for q in _qids(b_page)}})
    # A's address is A's session: B's browser gets nothing from it, by GET or POST.
    assert b.http.get(a_page.url).status_code == 401
    assert b.http.post(a_page.url.rstrip("/") + "/draft", json={"answers": {qid: "Overwritten"}, "version": 1},
                       headers={"X-CSRFToken": csrf_token(b_page.text)}).status_code == 401
    assert b.http.post(a_page.url, data={"csrf_token": csrf_token(b_page.text), "action": "submit",
                                         **{f"answer-{q}": "x" for q in _qids(a_page)}}).status_code == 401
    dbs.expire_all()
    work = dbs.scalar(select(ActivityWork).join(Person, ActivityWork.person_id == Person.id)
                      .where(Person.sub == a_spec.user_id))
    assert work.answers == {qid: "Asha's private draft"} and work.status == "draft" and not work.submissions
    assert "Asha&#39;s private draft" in a.http.get(a_page.url).text


def test_participant_cannot_reach_another_participants_writeup(platform, dbs):
    course = "course-" + secrets.token_hex(4)
    a, a_spec, a_page = _open(platform, "NPQSL/action-plan", context_id=course)
    _post(a, a_page, {"f.plan.aim": "Secret aim of A"})
    a_page = a.http.get(a_page.url)
    _post(a, a_page, {"f.plan.aim": "Secret aim of A, revised"})
    a_doc = dbs.scalar(select(WriteupDoc).join(Person, WriteupDoc.person_id == Person.id)
                       .where(Person.sub == a_spec.user_id))
    b, _, b_page = _open(platform, "NPQSL/action-plan", context_id=course)
    # Pages: editor, history, versions by number, exports by number and by A's doc id.
    assert "Secret aim" not in b_page.text
    assert "Secret aim" not in b.http.get(b_page.url + "/history").text
    for v in (1, 2):
        assert b.http.get(f"{b_page.url}/versions/{v}").status_code == 404
        for fmt in ("pdf", "docx"):
            assert b.http.get(f"{b_page.url}/export/{v}.{fmt}").status_code == 404
            assert b.http.get(f"{b_page.url}/export/{v}.{fmt}", params={"doc": a_doc.id}).status_code == 404
    # Once B has a document of their own, the same addresses give B's, never A's.
    _post(b, b_page, {"f.plan.aim": "B's own aim"})
    own = b.http.get(f"{b_page.url}/versions/1")
    assert own.status_code == 200 and "B&#39;s own aim" in own.text and "Secret aim" not in own.text
    pdf = b.http.get(f"{b_page.url}/export/1.pdf", params={"doc": a_doc.id})
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content)
    assert "Secretaim" not in text and "ownaim" in text
    word = b.http.get(f"{b_page.url}/export/1.docx", params={"doc": a_doc.id})
    assert word.status_code == 200
    xml = zipfile.ZipFile(io.BytesIO(word.content)).read("word/document.xml")
    assert b"Secret aim" not in xml and b"own aim" in xml
    assert b.http.get(f"{b_page.url}/versions/2").status_code == 404
    # A's session addresses are A's alone.
    for path in ("", "/history", "/versions/1", "/export/1.pdf", "/export/2.docx"):
        assert b.http.get(a_page.url + path).status_code == 401, path
    # Autosave into A's document: from B's session it can only reach B's; from A's address, 401.
    version = int(_work_form(b.http.get(b_page.url)).fields["version"])
    ok = b.http.post(b_page.url + "/draft", json={"pairs": [["f.plan.aim", "B autosaved"]], "version": version},
                     headers={"X-CSRFToken": csrf_token(b_page.text)})
    assert ok.status_code == 200
    stolen = b.http.post(a_page.url + "/draft", json={"pairs": [["f.plan.aim", "Hijacked"]], "version": 2},
                         headers={"X-CSRFToken": csrf_token(b_page.text)})
    assert stolen.status_code == 401
    dbs.expire_all()
    assert dbs.get(WriteupDoc, a_doc.id).content["plan"]["aim"] == "Secret aim of A, revised"


def test_tutor_of_another_course_cannot_reach_its_marking(platform, dbs):
    course_a = _course(platform)
    participant, _, ppage = _submit_as(platform, course_a, "p-m-" + secrets.token_hex(3), "Mira Stone")
    tutor_a, queue_a = _tutor(platform, course_a, user_id="t-a-" + secrets.token_hex(3))
    link = _doc_link(queue_a, "Mira Stone")
    doc_id = int(link.rsplit("/", 1)[1])
    mpage = tutor_a.http.get(_base(queue_a.url) + link)
    data, _ = _mark_form(mpage, [2, 2, 2, 2, 2], overall="Tutor A's draft")
    tutor_a.http.post(mpage.url, data={**data, "action": "save", "kind": "first"})
    person_id = dbs.get(WriteupDoc, doc_id).person_id
    assert _wait(lambda: dbs.scalar(select(GradeOutbox).where(GradeOutbox.source == "writeup-submitted",
                                                              GradeOutbox.person_id == person_id)))
    entry = dbs.scalar(select(GradeOutbox).where(GradeOutbox.person_id == person_id))
    assert _wait(lambda: (dbs.refresh(entry) or entry.status) == "delivered")

    course_b = _course(platform)
    tutor_b, queue_b = _tutor(platform, course_b, user_id="t-b-" + secrets.token_hex(3))
    token = csrf_token(queue_b.text)
    mark_b = re.sub(r"/marking/.*", f"/marking/NPQSL/risk-assessment/{doc_id}", queue_b.url)
    assert "Mira Stone" not in queue_b.text
    assert tutor_b.http.get(mark_b).status_code == 404
    assert tutor_b.http.post(mark_b, data={**data, "csrf_token": token, "action": "release"}).status_code == 404
    assert tutor_b.http.post(mark_b, data={"csrf_token": token, "action": "return",
                                           "return_feedback": "Returned by a stranger"}).status_code == 404
    released = tutor_b.http.post(queue_b.url.split("?")[0] + "/release", data={"csrf_token": token, "doc": str(doc_id)})
    assert "Released 0 marks" in released.text
    assert "Mira" not in tutor_b.http.get(released.url).text
    export = re.sub(r"/marking/.*", "/writeups/NPQSL/risk-assessment/export/1.pdf", queue_b.url)
    assert tutor_b.http.get(export, params={"doc": doc_id}).status_code == 404
    assert tutor_b.http.get(export.replace(".pdf", ".docx"), params={"doc": doc_id}).status_code == 404
    retry = _in_session(queue_b.url, f"grades/{entry.id}/retry")
    assert tutor_b.http.post(retry, data={"csrf_token": token}).status_code == 404
    progress = tutor_b.http.get(queue_b.url.split("?")[0] + "/progress", params={"ids": str(entry.id)})
    assert progress.status_code == 200 and "0 of 0" in progress.text and "Mira" not in progress.text
    # Tutor A's own view of the same document still works, and nothing moved.
    own_export = export.replace(_sid(queue_b.url), _sid(queue_a.url))
    assert tutor_a.http.get(own_export, params={"doc": doc_id}).status_code == 200
    dbs.expire_all()
    submissions = [s.id for s in dbs.get(WriteupDoc, doc_id).submissions]
    marks = dbs.scalars(select(Mark).where(Mark.submission_id.in_(submissions))).all()
    assert [(m.status, m.overall_comment) for m in marks] == [("draft", "Tutor A's draft")]
    assert dbs.get(WriteupDoc, doc_id).status == "submitted"
    dbs.refresh(entry)
    assert entry.status == "delivered"


def test_participant_cannot_open_tutor_pages_or_actions(platform, dbs):
    course = _course(platform)
    participant, _, ppage = _submit_as(platform, course, "p-t-" + secrets.token_hex(3), "Pat Jones")
    doc = dbs.scalar(select(WriteupDoc).join(Person, WriteupDoc.person_id == Person.id)
                     .where(Person.name == "Pat Jones").order_by(WriteupDoc.id.desc()))
    entry = dbs.scalar(select(GradeOutbox).where(GradeOutbox.person_id == doc.person_id))
    token = csrf_token(ppage.text)
    s = lambda path: _in_session(ppage.url, path)  # noqa: E731
    for path in ("marking/NPQSL/risk-assessment", f"marking/NPQSL/risk-assessment/{doc.id}",
                 "marking/NPQSL/risk-assessment/progress", "coverage", "pick"):
        assert participant.http.get(s(path)).status_code == 403, path
    for path, data in ((f"marking/NPQSL/risk-assessment/{doc.id}", {"action": "release", "overall": "Self-marked"}),
                       (f"marking/NPQSL/risk-assessment/{doc.id}", {"action": "return", "return_feedback": "x"}),
                       ("marking/NPQSL/risk-assessment/release", {"doc": str(doc.id)}),
                       (f"grades/{entry.id}/retry", {}),
                       ("pick", {"programme": "NPQSL", "item": "NPQSL/sc-reading"})):
        assert participant.http.post(s(path), data={"csrf_token": token, **data}).status_code == 403, path
    # And the other way round: a tutor cannot act as a participant.
    tutor, queue = _tutor(platform, course, user_id="t-p-" + secrets.token_hex(3))
    t = lambda path: _in_session(queue.url, path)  # noqa: E731
    assert tutor.http.post(t("activities/NPQSL/sc-reading"), data={
        "csrf_token": csrf_token(queue.text), "action": "save", "answer-q1": "x"}).status_code == 403
    assert tutor.http.post(t("activities/NPQSL/sc-reading/draft"), json={"answers": {}, "version": 0},
                           headers={"X-CSRFToken": csrf_token(queue.text)}).status_code == 403
    assert tutor.http.get(t("writeups/NPQSL/risk-assessment/history")).status_code == 403
    dbs.expire_all()
    submissions = [x.id for x in dbs.get(WriteupDoc, doc.id).submissions]
    assert not dbs.scalars(select(Mark).where(Mark.submission_id.in_(submissions))).all()


def test_launched_users_are_not_admins(app, platform, tool, dbs):
    row = dbs.get(Platform, platform.db_id)
    tutor = Browser()
    tpage = tutor.launch(platform, instructor())
    participant = Browser()
    ppage = participant.launch(platform, learner())
    for b, page in ((tutor, tpage), (participant, ppage)):
        assert page.status_code == 200
        for path in ("/admin/", "/admin/platforms/new", f"/admin/platforms/{row.id}", f"/admin/platforms/{row.id}/edit",
                     "/admin/settings"):
            resp = b.http.get(tool.url + path, allow_redirects=False)
            assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], (path, resp.status_code)
        # The launch session's CSRF token is a real token for this browser: it must not stand in for
        # an admin sign-in.
        token = csrf_token(page.text)
        for path, data in ((f"/admin/platforms/{row.id}/status", {"status": "disabled"}),
                           ("/admin/settings", {"AUTO_ACCEPT_NEW_DEPLOYMENTS": "y"}),
                           ("/admin/platforms/new", {"name": "x", "issuer": "https://x.example", "client_id": "x",
                                                     "auth_login_url": "https://x.example/a",
                                                     "auth_token_url": "https://x.example/t",
                                                     "key_set_url": "https://x.example/k", "status": "active"})):
            resp = b.http.post(tool.url + path, data={"csrf_token": token, **data}, allow_redirects=False)
            assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], (path, resp.status_code)
    dbs.expire_all()
    assert dbs.get(Platform, platform.db_id).status == "active"
    assert dbs.scalar(select(Platform).where(Platform.issuer == "https://x.example")) is None
    from lti_tool.settings import get_setting
    with app.app_context():
        assert get_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS") is False
    assert Browser().launch(platform, learner()).status_code == 200


def test_same_ids_on_two_platforms_stay_apart(app, tool, platform, dbs):
    other = PlatformServer(tool.url)
    other.db_id = register(app, other)
    try:
        user, ctx = "same-user-" + secrets.token_hex(3), "same-course-" + secrets.token_hex(3)
        x, _, x_page = _participant(platform, REF_RISK, user_id=user, context_id=ctx,
                                    lineitems_url=platform.issuer + "/lineitems", name="Xena Platform")
        row = _row_ids(x_page, "risks")[0]
        done = _post(x, x_page, {"f.overview.project-title": "Platform X secret", "f.overview.sdp-priority": "P",
                                 "f.overview.project-lead": "L", "f.overview.description": "D",
                                 **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}}, action="submit")
        assert "Submitted: read-only" in done.text
        y, _, y_page = _participant(other, REF_RISK, user_id=user, context_id=ctx,
                                    lineitems_url=other.issuer + "/lineitems", name="Yuri Platform")
        assert "Platform X secret" not in y_page.text and "Submit for marking" in y_page.text
        assert "Platform X secret" not in y.http.get(y_page.url + "/history").text
        assert y.http.get(y_page.url + "/export/1.pdf").status_code == 404
        people = dbs.scalars(select(Person).where(Person.sub == user)).all()
        assert sorted(p.platform_id for p in people) == sorted([platform.db_id, other.db_id])
        assert {p.name for p in people} == {"Xena Platform", "Yuri Platform"}  # neither overwrote the other
        courses = dbs.scalars(select(Course).where(Course.context_id == ctx)).all()
        assert sorted(c.platform_id for c in courses) == sorted([platform.db_id, other.db_id])
        x_doc = dbs.scalar(select(WriteupDoc).join(Course).where(Course.context_id == ctx,
                                                                 Course.platform_id == platform.db_id))
        # A tutor of the "same" course on platform Y sees none of platform X's work.
        tutor_y = Browser()
        spec = instructor(context_id=ctx, custom={"npq_item": REF_RISK}, lineitems_url=other.issuer + "/lineitems")
        spec.lineitem_url = other.add_line_item("Risk", 100, resource_id=REF_RISK)
        queue = tutor_y.launch(other, spec)
        assert "Marking: Risk assessment" in queue.text
        assert "Xena" not in queue.text and "Submitted (0)" in queue.text
        x_doc_on_y = re.sub(r"/marking/.*", f"/marking/NPQSL/risk-assessment/{x_doc.id}", queue.url)
        assert tutor_y.http.get(x_doc_on_y).status_code == 404
        assert _wait(lambda: platform.received.scores)
        assert not [s for s in other.received.scores if s[1]["userId"] == user]
    finally:
        other.stop()


def test_session_replayed_after_sign_out_is_refused(platform):
    browser, _, page = _open(platform, "NPQSL/action-plan")
    _post(browser, page, {"f.plan.aim": "Before sign-out"})
    page = browser.http.get(page.url)
    token = csrf_token(page.text)
    out = browser.http.post(_in_session(page.url, "logout"), data={"csrf_token": token})
    assert out.status_code == 200 and "signed out" in out.text
    for path in ("", "/history", "/versions/1", "/export/1.pdf"):
        assert browser.http.get(page.url + path).status_code == 401, path
    assert browser.http.post(page.url + "/draft", json={"pairs": [["f.plan.aim", "After"]], "version": 1},
                             headers={"X-CSRFToken": token, "Accept": "application/json"}).status_code == 401
    saved = browser.http.post(page.url, data={"csrf_token": token, "action": "save", "f.plan.aim": "After"})
    assert saved.status_code == 401
    assert browser.http.get(_in_session(page.url, "programme")).status_code == 401


def test_session_address_from_another_browser_is_refused(platform):
    browser, _, page = _open(platform, "NPQSL/action-plan")
    _post(browser, page, {"f.plan.aim": "Mine"})
    stranger = Browser()
    other = stranger.launch(platform, learner())  # signed in, with a session of their own
    token = csrf_token(other.text)
    for path in ("", "/history", "/versions/1", "/export/1.pdf", "/export/1.docx"):
        assert stranger.http.get(page.url + path).status_code == 401, path
    assert stranger.http.get(_in_session(page.url, "programme")).status_code == 401
    assert stranger.http.post(page.url, data={"csrf_token": token, "action": "save"}).status_code == 401
    assert stranger.http.post(page.url + "/draft", json={"pairs": [], "version": 1},
                              headers={"X-CSRFToken": token}).status_code == 401
    assert Browser().http.get(page.url).status_code == 401  # no cookie at all
    assert browser.http.get(page.url).status_code == 200  # still the owner's


# ---------------------------------------------------------------------------------------------
# Stored and reflected XSS: every text a person or a platform can put in comes back as text.

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"
PAYLOAD = f"{SCRIPT} {IMG} {JS}"


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def assert_inert(html: str, where: str = "", *, shown: tuple[str, ...] = ()):
    """No payload became markup: no script, no event handler, no javascript: address, no img from
    the payload; and each text in `shown` is on the page, escaped."""
    assert SCRIPT not in html and IMG not in html and "<img src=x" not in html.lower(), where
    parser = _Markup()
    parser.feed(html)
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.lower().startswith("on"), (where, tag, name, value)
            if name.lower() in ("href", "src", "action", "formaction", "data", "xlink:href", "poster"):
                assert not (value or "").strip().lower().startswith("javascript:"), (where, tag, name, value)
        assert not (tag == "img" and dict(attrs).get("src") == "x"), where
    assert not any("alert(1)" in s for s in parser.scripts), where
    for text in shown:
        assert _escaped(text) in html, (where, _escaped(text))


def _no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_export_literal(browser, url, *texts):
    """The PDF and Word exports at url (.pdf) show the texts literally, and carry no script or link."""
    import docx

    pdf = browser.http.get(url)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = _no_space(_pdf_text(pdf.content))
    for t in texts:
        assert _no_space(t) in text, (t, text[:500])
    for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/URI", b"/Launch"):  # no script, no link
        assert marker not in pdf.content, marker
    word = browser.http.get(url[:-4] + ".docx")
    assert word.status_code == 200
    document = docx.Document(io.BytesIO(word.content))
    words = " ".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for r in t.rows for c in r.cells])
    for t in texts:
        assert t in words, t
    package = zipfile.ZipFile(io.BytesIO(word.content))
    for name in package.namelist():
        assert b"<script" not in package.read(name).lower(), name  # text is XML-escaped, never an element
    rels = b"".join(package.read(n) for n in package.namelist() if n.endswith(".rels"))
    assert b"javascript:" not in rels.lower() and b'TargetMode="External"' not in rels  # no hyperlinks made


def test_activity_answers_are_escaped(platform):
    browser, _, page = _participant(platform, "NPQSL/sc-reading")
    qids = _qids(page)
    # The redisplay after a refused submission (only the first answer given) ...
    partial = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "action": "submit",
                                                f"answer-{qids[0]}": PAYLOAD})
    assert partial.status_code == 400
    assert_inert(partial.text, "activity redisplay", shown=(PAYLOAD,))
    # ... the autosaved draft, the submitted answers.
    assert _autosave(browser, page, {"answers": {q: PAYLOAD for q in qids}, "version": 1}).status_code == 200
    assert_inert(browser.http.get(page.url).text, "activity draft", shown=(PAYLOAD,))
    page = browser.http.get(page.url)
    done = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "action": "submit", "version": "2",
                                             **{f"answer-{q}": PAYLOAD for q in qids}})
    assert "You submitted this on" in done.text
    assert_inert(done.text, "activity submitted", shown=(PAYLOAD,))


def test_writeup_fields_cells_references_are_escaped_in_pages_and_literal_in_exports(platform):
    browser, _, page = _open(platform, "NPQSL/risk-assessment")
    row = _row_ids(page, "risks")[0]
    data = {"f.overview.project-title": PAYLOAD, "f.overview.sdp-priority": IMG, "f.overview.project-lead": JS,
            "f.overview.description": PAYLOAD,
            f"t.risks.{row}.description": PAYLOAD, f"t.risks.{row}.likelihood": "5", f"t.risks.{row}.impact": "5",
            f"t.risks.{row}.mitigation": PAYLOAD, f"t.risks.{row}.owner": IMG,
            f"t.risks.{row}.review-date": "2027-01-01"}
    # A date that is not a date comes back in a text box, escaped, with the refusal.
    bad = _post(browser, page, {**data, f"t.risks.{row}.review-date": IMG}, action="submit")
    assert bad.status_code == 400
    assert_inert(bad.text, "risk assessment refused", shown=(PAYLOAD, IMG))
    page = browser.http.get(page.url)
    saved = _post(browser, page, data)
    assert saved.status_code == 200
    assert_inert(saved.text, "risk assessment editor", shown=(PAYLOAD, IMG, JS))
    history = browser.http.get(page.url + "/history")
    assert_inert(history.text, "history")
    version = re.findall(r'/versions/(\d+)"', history.text)[0]
    view = browser.http.get(f"{page.url}/versions/{version}")
    assert_inert(view.text, "version view", shown=(PAYLOAD, IMG, JS))
    done = _post(browser, browser.http.get(page.url), {}, action="submit")
    assert "Submitted: read-only" in done.text
    assert_inert(done.text, "read-only submitted", shown=(PAYLOAD, IMG, JS))
    assert_export_literal(browser, f"{page.url}/export/{version}.pdf", SCRIPT, IMG, JS)


def test_essay_references_and_action_plan_are_escaped(platform):
    browser, _, page = _open(platform, "NPQSL/impact-essay")
    added = _post(browser, page, {"x.context": PAYLOAD + "\n\n" + PAYLOAD, "x.evaluation": JS},
                  action="ref:add:references")
    page = browser.http.get(added.url.split("#")[0])
    saved = _post(browser, page, {"r.references.0.author": PAYLOAD, "r.references.0.year": IMG,
                                  "r.references.0.title": SCRIPT, "r.references.0.source": JS})
    assert_inert(saved.text, "essay editor", shown=(PAYLOAD, IMG, JS))
    history = browser.http.get(page.url + "/history")
    last = re.findall(r'/versions/(\d+)"', history.text)[0]
    view = browser.http.get(f"{page.url}/versions/{last}")
    assert_inert(view.text, "essay version", shown=(PAYLOAD, IMG, JS, SCRIPT))
    assert_export_literal(browser, f"{page.url}/export/{last}.pdf", SCRIPT, IMG, JS)

    browser, _, page = _open(platform, "NPQSL/action-plan")
    row = _row_ids(page, "actions")[0]
    saved = _post(browser, page, {"f.plan.aim": PAYLOAD, f"t.actions.{row}.action": PAYLOAD,
                                  f"t.actions.{row}.owner": IMG, f"t.actions.{row}.start": "2027-01-10",
                                  f"t.actions.{row}.end": "2027-02-20", f"t.actions.{row}.milestones": JS})
    assert "tl-bar" in saved.text  # the timeline labels carry the text too
    assert_inert(saved.text, "action plan", shown=(PAYLOAD, IMG, JS))


def _xss_course(platform):
    course = _course(platform)
    b = Browser()
    spec = learner(user_id="p-xss-" + secrets.token_hex(3), name=PAYLOAD, given_name=IMG, family_name=JS,
                   email=IMG, context_id=course["context_id"], context_title=PAYLOAD, resource_link_title=PAYLOAD,
                   custom={"npq_item": REF_RISK}, lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = course["line_item"]
    page = b.launch(platform, spec)
    assert page.status_code == 200
    assert_inert(page.text, "participant editor with hostile claims", shown=(PAYLOAD,))
    row = _row_ids(page, "risks")[0]
    done = _post(b, page, {"f.overview.project-title": "T", "f.overview.sdp-priority": "P",
                           "f.overview.project-lead": "L", "f.overview.description": "D",
                           **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}}, action="submit")
    assert "Submitted: read-only" in done.text
    return course, b, spec, page


def test_names_and_titles_from_lti_claims_are_escaped(platform):
    course, participant, spec, page = _xss_course(platform)
    home = participant.http.get(_in_session(page.url, "programme"))
    assert_inert(home.text, "programme home", shown=(PAYLOAD,))
    not_set_up = Browser().launch(platform, learner(name=PAYLOAD, context_title=PAYLOAD, resource_link_title=PAYLOAD,
                                                    custom={}))
    assert "not set up yet" in not_set_up.text
    assert_inert(not_set_up.text, "link not set up", shown=(PAYLOAD,))
    tutor = Browser()
    tspec = instructor(name=PAYLOAD, context_id=course["context_id"], context_title=PAYLOAD,
                       resource_link_title=PAYLOAD, custom={"npq_programme": "NPQSL"})
    landing = tutor.launch(platform, tspec)
    assert "The course's activities" in landing.text
    assert_inert(landing.text, "tutor landing", shown=(PAYLOAD,))
    queue = tutor.http.get(_in_session(landing.url, "marking/NPQSL/risk-assessment"))
    assert_inert(queue.text, "marking queue", shown=(PAYLOAD, IMG))
    link = re.search(r'href="([^"]+/marking/NPQSL/risk-assessment/\d+)"', queue.text).group(1)
    mark_page = tutor.http.get(_base(queue.url) + link)
    assert_inert(mark_page.text, "marking view", shown=(PAYLOAD,))
    coverage = tutor.http.get(_in_session(landing.url, "coverage"))
    assert_inert(coverage.text, "coverage", shown=(PAYLOAD,))
    doc_id = link.rsplit("/", 1)[1]
    export = _in_session(landing.url, f"writeups/NPQSL/risk-assessment/export/1.pdf?doc={doc_id}")
    pdf = tutor.http.get(export)
    assert pdf.status_code == 200
    disposition = pdf.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9_-]+\.pdf"', disposition), disposition
    assert _no_space(SCRIPT) in _no_space(_pdf_text(pdf.content))  # the participant's name, literally


def test_marking_comments_and_feedback_are_escaped(platform):
    course, participant, spec, ppage = _xss_course(platform)
    tutor, queue = _tutor(platform, course, user_id="t-xss-" + secrets.token_hex(3))
    link = re.search(r'href="([^"]+/marking/NPQSL/risk-assessment/\d+)"', queue.text).group(1)
    mpage = tutor.http.get(_base(queue.url) + link)
    data, crits = _mark_form(mpage, [2, 2, 2, 2, 2], overall=PAYLOAD)
    data.update({f"comment-{c}": PAYLOAD for c in crits})
    incomplete = tutor.http.post(mpage.url, data={**{k: v for k, v in data.items() if not k.startswith("level-")},
                                                  "action": "release", "kind": "first"})
    assert incomplete.status_code == 400
    assert_inert(incomplete.text, "marking refused", shown=(PAYLOAD,))
    released = tutor.http.post(mpage.url, data={**data, "action": "release", "kind": "first"})
    assert "Mark released" in released.text
    assert_inert(released.text, "marking view after release", shown=(PAYLOAD,))
    mine = participant.http.get(ppage.url)
    assert "Your mark for attempt 1" in mine.text
    assert_inert(mine.text, "participant's released mark", shown=(PAYLOAD,))

    # Return-for-resubmission feedback, on another participant's submission.
    rhea, _, rhea_page = _submit_as(platform, course, "p-ret-" + secrets.token_hex(3), "Rhea Back")
    queue = tutor.http.get(queue.url)
    rpage = tutor.http.get(_base(queue.url) + _doc_link(queue, "Rhea Back"))
    back = tutor.http.post(rpage.url, data={"csrf_token": csrf_token(rpage.text), "action": "return",
                                            "return_feedback": PAYLOAD})
    assert "Returned for resubmission" in back.text
    assert_inert(back.text, "marking view after return")
    returned = rhea.http.get(rhea_page.url)
    assert "Returned for resubmission" in returned.text
    assert_inert(returned.text, "participant's returned note", shown=(PAYLOAD,))
    assert_inert(rhea.http.get(rhea_page.url + "/history").text, "history with feedback", shown=(PAYLOAD,))


def test_questions_to_tutors_and_answers_are_escaped_and_stay_in_their_course(platform):
    course = "course-" + secrets.token_hex(4)
    participant, _, page = _participant(platform, "NPQSL/sc-reading", context_id=course)
    ask = next(f for f in forms(page.text) if f.action.endswith("/questions"))
    asked = participant.http.post(_base(page.url) + ask.action, data={**ask.fields, "question": PAYLOAD})
    assert asked.status_code == 200
    assert_inert(asked.text, "activity page with my question", shown=(PAYLOAD,))
    tutor = Browser()
    landing = tutor.launch(platform, instructor(context_id=course, custom={"npq_programme": "NPQSL"}))
    inbox = tutor.http.get(_in_session(landing.url, "questions"))
    assert inbox.status_code == 200
    assert_inert(inbox.text, "tutor's questions", shown=(PAYLOAD,))
    answer = next(f for f in forms(inbox.text) if re.search(r"/questions/\d+/answer$", f.action))
    # A tutor of another course cannot answer it.
    stranger = Browser()
    other = stranger.launch(platform, instructor(custom={"npq_programme": "NPQSL"}))
    assert PAYLOAD not in stranger.http.get(_in_session(other.url, "questions")).text
    refused = stranger.http.post(_in_session(other.url, answer.action.split("/", 3)[3]),
                                 data={"csrf_token": csrf_token(other.text), "answer": "Hijacked"})
    assert refused.status_code == 404
    done = tutor.http.post(_base(inbox.url) + answer.action, data={**answer.fields, "answer": PAYLOAD})
    assert done.status_code == 200
    assert_inert(done.text, "tutor's questions, answered", shown=(PAYLOAD,))
    mine = participant.http.get(page.url)
    assert "Hijacked" not in mine.text
    assert_inert(mine.text, "activity page with the answer", shown=(PAYLOAD,))


def test_reflected_query_parameters_and_headers_are_escaped(platform, tool):
    dl = instructor(resource_link_id=None)
    dl.deep_link_return_url = platform.issuer + "/deep-link-return"
    b = Browser()
    picker = b.launch(platform, dl)
    found = b.http.get(picker.url, params={"programme": "NPQSL", "q": PAYLOAD})
    assert found.status_code == 200
    assert_inert(found.text, "picker search", shown=(PAYLOAD,))
    assert b.http.get(picker.url, params={"programme": PAYLOAD}).status_code == 404
    course = _course(platform)
    tutor, queue = _tutor(platform, course, user_id="t-refl-" + secrets.token_hex(3))
    for params in ({"status": PAYLOAD}, {"sort": PAYLOAD}, {"page": PAYLOAD}):
        resp = tutor.http.get(queue.url, params=params)
        assert resp.status_code == 200
        assert_inert(resp.text, f"queue {params}")
    assert _escaped(PAYLOAD) in tutor.http.get(queue.url, params={"status": PAYLOAD}).text
    # Error pages repeat what the platform or the browser sent: as text.
    refused = Browser().http.get(tool.url + "/lti/login", params={"iss": PAYLOAD, "login_hint": IMG,
                                                                  "client_id": SCRIPT})
    assert refused.status_code in (400, 403)
    assert_inert(refused.text, "lti login error", shown=(SCRIPT,))
    for url in (tool.url + "/no-such-page", tool.url + "/lti/login"):
        resp = Browser().http.get(url, headers={"X-Request-ID": IMG})
        assert resp.status_code in (400, 404)
        assert_inert(resp.text, "error page with request id", shown=(IMG,))
    signed_out = Browser().http.get(tool.url + "/admin/login", params={"next": JS})
    assert_inert(signed_out.text, "admin login next")


def test_admin_platform_form_is_escaped(app, tool, dbs):
    admin, _, _ = _admin(app, tool)
    page = admin.http.get(tool.url + "/admin/platforms/new")
    fields = {"name": PAYLOAD, "issuer": "https://xss.example/" + IMG, "client_id": PAYLOAD + secrets.token_hex(2),
              "auth_login_url": JS, "auth_token_url": "https://xss.example/t", "key_set_url": "https://xss.example/k",
              "auth_audience": PAYLOAD, "status": "active", "deployment_ids": PAYLOAD,
              "csrf_token": csrf_token(page.text)}
    refused = admin.http.post(tool.url + "/admin/platforms/new", data=fields)
    assert refused.status_code == 400 and "There is a problem" in refused.text  # a javascript: URL is refused
    assert_inert(refused.text, "platform form refused", shown=(PAYLOAD, JS))
    fields["auth_login_url"] = "https://xss.example/a"
    added = admin.http.post(tool.url + "/admin/platforms/new", data=fields)
    assert added.status_code == 200 and "added" in added.text
    assert_inert(added.text, "platform detail", shown=(PAYLOAD,))
    assert_inert(admin.http.get(tool.url + "/admin/").text, "platform list", shown=(PAYLOAD,))
    row = dbs.scalar(select(Platform).where(Platform.issuer == "https://xss.example/" + IMG))
    edit = admin.http.get(f"{tool.url}/admin/platforms/{row.id}/edit")
    assert_inert(edit.text, "platform edit form", shown=(PAYLOAD,))
    detail = admin.http.get(f"{tool.url}/admin/platforms/{row.id}")
    dep = admin.http.post(f"{tool.url}/admin/platforms/{row.id}/deployments",
                          data={"csrf_token": csrf_token(detail.text), "deployment_id": IMG, "label": PAYLOAD})
    assert_inert(dep.text, "deployment added", shown=(PAYLOAD, IMG))


# ---------------------------------------------------------------------------------------------
# Secrets and private keys never in logs

JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def _pem_body_lines(pem: str) -> list[str]:
    return [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]


def test_secrets_and_private_keys_never_reach_the_logs(app, tool, platform, dbs, caplog):
    caplog.set_level(logging.DEBUG)
    tokens: list[str] = []

    # 1. A full launch (by hand, to know its id_token), into a knowledge check with AGS.
    participant = Browser()
    spec = learner(custom={"npq_item": "NPQSL/sc-check"}, lineitems_url=platform.issuer + "/lineitems")
    spec.lineitem_url = platform.add_line_item("Knowledge check", 5, resource_id="NPQSL/sc-check")
    launch = platform.authorize(participant.begin_login(platform, spec))
    tokens.append(launch["id_token"])
    page = participant.post_launch(launch["launch_url"], launch["id_token"], launch["state"])
    assert page.status_code == 200
    # ... the same token replayed, and a forged one: refusals are logged too.
    assert participant.post_launch(launch["launch_url"], launch["id_token"], launch["state"]).status_code == 400
    forged = platform.sign({**jwt.decode(launch["id_token"], options={"verify_signature": False}), "sub": "x"},
                           key=ToolKey(kid=platform.key.kid, private_pem=new_private_pem()))
    tokens.append(forged)
    args = participant.begin_login(platform, spec)
    assert participant.post_launch(args["redirect_uri"], forged, args["state"]).status_code == 400

    # 2. A grade delivery (client-credentials grant, bearer token), once after a platform error.
    platform.gradebook.fail_next, platform.gradebook.fail_status = 1, 500
    activity = load_programmes(PACKS)["NPQSL"].activities["sc-check"]
    data = {"csrf_token": csrf_token(page.text), "action": "submit",
            **{f"answer-{q.id}": str(q.correct_index) for q in activity.questions}}
    assert "You scored" in participant.http.post(page.url, data=data).text
    end = time.time() + 20
    while not platform.received.scores and time.time() < end:
        with app.app_context():
            deliver_due()
        time.sleep(0.2)
    assert platform.received.scores, "no grade delivered"

    # 3. A deep-linking request and the signed response, delivered to the platform.
    dl = instructor(resource_link_id=None)
    dl.deep_link_return_url = platform.issuer + "/deep-link-return"
    tutor = Browser()
    dl_launch = platform.authorize(tutor.begin_login(platform, dl))
    tokens.append(dl_launch["id_token"])
    picker = tutor.post_launch(dl_launch["launch_url"], dl_launch["id_token"], dl_launch["state"])
    ret = tutor.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                            "item": ["NPQSL/sc-reading", "NPQSL/sc-check"]})
    back = forms(ret.text)[0]
    assert tutor.http.post(back.action, data=back.fields).status_code == 200
    tokens.append(platform.received.deep_link_responses[-1]["token"])

    # 4. Admin sign-in: a wrong password, then the right one.
    name, password = "log-admin-" + secrets.token_hex(3), "Pw-" + secrets.token_urlsafe(16)
    with app.app_context():
        create_admin(name, password)
    admin = Browser()
    login = admin.http.get(tool.url + "/admin/login")
    wrong = "Wrong-" + secrets.token_urlsafe(16)
    assert admin.http.post(tool.url + "/admin/login", data={"username": name, "password": wrong,
                                                            "csrf_token": csrf_token(login.text)}).status_code == 401
    assert admin.http.post(tool.url + "/admin/login", data={"username": name, "password": password,
                                                            "csrf_token": csrf_token(login.text)}).status_code == 200

    assertions = [r["client_assertion"] for r in platform.received.token_requests if r.get("client_assertion")]
    assert assertions, "the tool asked for no access token"
    dbs.expire_all()
    access = [row.token for row in dbs.scalars(select(AccessToken).where(AccessToken.platform_id == platform.db_id))]
    assert access, "no access token was stored"
    keystore = app.extensions["keystore"]
    private_lines = _pem_body_lines(keystore.current().private_pem) + _pem_body_lines(platform.key.private_pem)
    private_lines += _pem_body_lines(keystore.upcoming().private_pem)

    logged = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert "lti launch:" in logged and "deep linking response" in logged and "delivered" in logged  # captured
    assert "PRIVATE KEY" not in logged
    for line in private_lines:
        assert line not in logged, "private key material in the logs"
    for secret, what in ([(t, "id_token/JWT") for t in tokens] + [(a, "client_assertion") for a in assertions]
                         + [(a, "access token") for a in access]
                         + [(password, "admin password"), (wrong, "a tried password"),
                            (app.config["SECRET_KEY"], "SECRET_KEY")]):
        assert secret not in logged, f"{what} in the logs"
        signature = secret.rsplit(".", 1)[-1] if secret.count(".") == 2 else ""
        if len(signature) >= 16:
            assert signature not in logged, f"{what} signature in the logs"
    found = JWT_SHAPE.findall(logged)
    assert not found, f"JWT-shaped strings in the logs: {[f[:40] for f in found]}"


# ---------------------------------------------------------------------------------------------
# Oversized requests


def test_oversized_requests_are_refused_with_413_and_a_clear_message(app, tool, platform, dbs):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 2 * 1024 * 1024
    big = "x" * (limit + 1024)
    browser, _, page = _participant(platform, "NPQSL/sc-reading")
    qid = _qids(page)[0]
    _, _, wpage = _open(platform, "NPQSL/impact-essay", browser=browser)
    token = csrf_token(page.text)
    html_cases = [
        ("activity form", page.url, {"data": {"csrf_token": token, "action": "save", f"answer-{qid}": big}}),
        ("write-up form", wpage.url, {"data": {"csrf_token": csrf_token(wpage.text), "action": "save",
                                               "x.context": big}}),
        ("write-up upload", wpage.url, {"data": {"csrf_token": csrf_token(wpage.text)},
                                        "files": {"x.context": ("big.txt", big.encode())}}),
        ("admin sign-in", tool.url + "/admin/login", {"data": {"username": "a", "password": big}}),
        ("LTI launch", tool.url + "/lti/launch", {"data": {"id_token": big, "state": "s"}}),
        ("LTI login", tool.url + "/lti/login", {"data": {"iss": big, "login_hint": "x"}}),
        ("registration", tool.url + "/lti/register", {"data": {"openid_configuration": big}}),
    ]
    before = _snapshot(app, (platform.db_id,))
    for what, url, kw in html_cases:
        resp = browser.http.post(url, **kw)
        assert resp.status_code == 413, (what, resp.status_code, resp.text[:300])
        assert resp.headers["Content-Type"].startswith("text/html"), what
        assert "That was too large to send" in resp.text and "Nothing has been saved" in resp.text, what
    body = json.dumps({"answers": {qid: big}, "pairs": [["x.context", big]], "version": 0})
    for what, url in (("activity autosave", page.url.rstrip("/") + "/draft"),
                      ("write-up autosave", wpage.url + "/draft")):
        resp = browser.http.post(url, data=body,
                                 headers={"Content-Type": "application/json", "Accept": "application/json",
                                          "X-CSRFToken": token})
        assert resp.status_code == 413, what
        assert resp.json()["error"] == "That was too large to send", what
    assert _snapshot(app, (platform.db_id,)) == before
    # Just under the limit is not a 413: the per-field limit explains itself instead.
    under = browser.http.post(page.url, data={"csrf_token": token, "action": "save",
                                              f"answer-{qid}": "x" * (limit - 64 * 1024)})
    assert under.status_code == 400 and "20,000 characters" in under.text
