"""Complete LTI 1.3 launches through an independent platform, and every way a launch is refused."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from lti_tool.models import DISABLED, PENDING, Deployment, Enrolment, LaunchSession, LaunchState, Person, Platform
from lti_tool.sandbox.platform import decode_claims_unverified

from .conftest import instructor, learner, register
from .platform_server import LIS, PlatformServer

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def test_participant_launch_lands_on_their_activities(platform, browser, dbs):
    spec = learner()
    page = browser.launch(platform, spec)
    assert page.status_code == 200
    assert "/s/" in page.url
    assert "Your progress" in page.text and "Asha Patel" in page.text and "School culture" in page.text
    person = dbs.scalar(select(Person).where(Person.sub == spec.user_id))
    assert (person.name, person.email, person.given_name) == ("Asha Patel", "asha@example.org", "Asha")
    enrolment = dbs.scalar(select(Enrolment).where(Enrolment.person_id == person.id))
    assert enrolment.role == "participant" and enrolment.course.title == "NPQSL Cohort A"


def test_a_later_launch_keeps_the_person_up_to_date_without_rewriting_them_each_time(platform, browser, dbs):
    """Names and email follow the platform's latest claims (a claim left out keeps its value); the
    launch time is written at most hourly, and each launch's own time is its session's."""
    spec = learner()
    browser.launch(platform, spec)
    person = dbs.scalar(select(Person).where(Person.sub == spec.user_id))
    first_seen = person.last_launch_at
    spec.name, spec.email, spec.given_name = "Asha Patel-Okafor", "asha.po@example.org", None
    browser.launch(platform, spec)
    dbs.expire_all()
    person = dbs.get(Person, person.id)
    assert (person.name, person.email, person.given_name) == ("Asha Patel-Okafor", "asha.po@example.org", "Asha")
    assert person.last_launch_at == first_seen  # within the hour: not written again
    sessions = dbs.scalars(select(LaunchSession.created_at).where(LaunchSession.person_id == person.id)
                           .order_by(LaunchSession.created_at)).all()
    assert len(sessions) == 2 and sessions[1] > first_seen

    dbs.execute(update(Person).where(Person.id == person.id).values(last_launch_at=first_seen - timedelta(hours=2)))
    dbs.commit()
    browser.launch(platform, spec)
    dbs.expire_all()
    assert dbs.get(Person, person.id).last_launch_at > sessions[1]  # an hour on: written with this launch


def test_tutor_launch_lands_on_course_and_marking(platform, browser):
    page = browser.launch(platform, instructor())
    assert page.status_code == 200
    assert "The course's activities" in page.text and "Marking" in page.text


@pytest.mark.parametrize("roles,expected", [
    ([LIS + "Learner"], "participant"),
    ([LIS + "Instructor"], "tutor"),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], "tutor"),
    ([LIS + "ContentDeveloper"], "tutor"),
    ([LIS + "Administrator"], "course_admin"),
    ([LIS + "Mentor"], "mentor"),
    (["Learner"], "participant"),
    ([LIS + "Learner", LIS + "Instructor"], "tutor"),
])
def test_roles_are_mapped(platform, browser, dbs, roles, expected):
    spec = learner(roles=roles)
    page = browser.launch(platform, spec)
    assert page.status_code == 200
    session = dbs.scalar(select(LaunchSession).join(Person).where(Person.sub == spec.user_id))
    assert session.role == expected


def test_role_without_access_is_refused_clearly(platform, browser):
    page = browser.launch(platform, learner(roles=["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Guest"]))
    assert page.status_code == 403
    assert "Your role in this course does not give access" in page.text


def test_session_is_bound_to_the_browser(platform, browser):
    page = browser.launch(platform, learner())
    from .browser import Browser
    stranger = Browser()
    assert stranger.http.get(page.url).status_code == 401


def test_signed_out_session_cannot_be_replayed(platform, browser):
    from .browser import csrf_token
    page = browser.launch(platform, learner())
    import re
    out = browser.http.post(re.sub(r"(/s/[^/]+/).*", r"\1logout", page.url), data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 200 and "signed out" in out.text
    assert browser.http.get(page.url).status_code == 401


def test_two_courses_in_two_tabs_keep_both_sessions(platform, browser):
    a = browser.launch(platform, learner(context_title="Course A"))
    b = browser.launch(platform, learner(context_title="Course B"))
    assert "Course A" in browser.http.get(a.url).text
    assert "Course B" in browser.http.get(b.url).text


def test_platform_jwks_is_fetched_once_for_many_launches(platform, browser):
    for _ in range(5):
        assert browser.launch(platform, learner()).status_code == 200
    assert platform.received.jwks_fetches == 1


def test_unknown_kid_triggers_one_refetch(platform, browser):
    assert browser.launch(platform, learner()).status_code == 200
    platform.rotate_key()  # the platform now signs with a key the tool has not seen
    assert browser.launch(platform, learner()).status_code == 200
    assert platform.received.jwks_fetches == 2


def test_login_stores_nothing_and_the_launch_records_its_state_once(platform, browser, dbs):
    rows = lambda: dbs.scalar(select(func.count()).select_from(LaunchState))  # noqa: E731
    before = rows()
    args = browser.begin_login(platform, learner())
    dbs.expire_all()
    assert rows() == before  # an anonymous login writes nothing: its state is signed, not stored
    state_id = args["state"].split("~", 1)[0]
    assert dbs.get(LaunchState, state_id) is None
    launch = platform.authorize(args)
    assert browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"]).status_code == 200
    dbs.expire_all()
    used = dbs.get(LaunchState, state_id)
    assert used is not None and used.nonce == args["nonce"] and used.platform_id == platform.db_id
    assert rows() == before + 1


def test_tampered_or_expired_state_is_refused(app, platform, browser, monkeypatch):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    state_id, signed = launch["state"].split("~", 1)
    # Another platform ID or nonce cannot be written into the state: its signature breaks.
    tampered = state_id + "~" + signed[:10] + ("A" if signed[10] != "A" else "B") + signed[11:]
    _refused(browser.post_launch(launch["launch_url"], launch["id_token"], tampered), 400, "unknown")
    # Nor can another state's signed part be put under this state's ID (the ID is signed too).
    other = browser.begin_login(platform, learner())["state"].split("~", 1)[1]
    _refused(browser.post_launch(launch["launch_url"], launch["id_token"], state_id + "~" + other), 400, "unknown")
    monkeypatch.setitem(app.config, "LAUNCH_STATE_TTL_SECONDS", 1)
    time.sleep(2.1)
    _refused(browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"]), 400, "expired")


# ---------------------------------------------------------------------------------------
# Bad input: each gets a clear 4xx page, never a 500.


def _signed_launch(platform, browser, mutate=None, **sign_kw):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    claims = decode_claims_unverified(launch["id_token"])
    if mutate:
        mutate(claims)
    token = platform.sign(claims, **sign_kw)
    return browser.post_launch(launch["launch_url"], token, launch["state"]), args


def _refused(resp, status, *phrases):
    assert resp.status_code == status, resp.text[:800]
    for phrase in phrases:
        assert phrase in resp.text, phrase
    assert "What to do" in resp.text


def test_bad_signature_is_refused(platform, browser):
    from lti_tool.lti.keys import ToolKey
    from lti_tool.sandbox.platform import new_private_pem
    forger = ToolKey(kid=platform.key.kid, private_pem=new_private_pem())
    resp, _ = _signed_launch(platform, browser, key=forger)
    _refused(resp, 400, "signature does not match")


def test_unknown_kid_is_refused(platform, browser):
    resp, _ = _signed_launch(platform, browser, kid="no-such-key")
    _refused(resp, 400, "No key with kid")


def test_expired_token_is_refused(platform, browser):
    def expire(c):
        c["iat"], c["exp"] = int(time.time()) - 3600, int(time.time()) - 600
    resp, _ = _signed_launch(platform, browser, expire)
    _refused(resp, 400, "expired")


def test_small_clock_skew_is_tolerated(platform, browser):
    def skew(c):
        c["iat"] = int(time.time()) + 20  # platform clock 20 s ahead
    resp, _ = _signed_launch(platform, browser, skew)
    assert resp.status_code == 200


def test_future_iat_is_refused(platform, browser):
    def future(c):
        c["iat"], c["exp"] = int(time.time()) + 3600, int(time.time()) + 7200
    resp, _ = _signed_launch(platform, browser, future)
    _refused(resp, 400, "issued in the future")


def test_wrong_audience_is_refused(platform, browser):
    def wrong_aud(c):
        c["aud"] = "someone-else"
    resp, _ = _signed_launch(platform, browser, wrong_aud)
    # The registration is looked up by (iss, aud): another client_id is another registration.
    _refused(resp, 403, "No registration")


def test_wrong_audience_in_list_is_refused(platform, browser):
    def aud_list(c):
        c["aud"] = ["someone-else", "another"]
        c["azp"] = "someone-else"
    resp, _ = _signed_launch(platform, browser, aud_list)
    assert resp.status_code in (400, 403)


def test_wrong_azp_is_refused(platform, browser):
    def wrong_azp(c):
        c["aud"] = [platform.client_id, "other-client"]
        c["azp"] = "other-client"
    resp, _ = _signed_launch(platform, browser, wrong_azp)
    _refused(resp, 400, "azp")


def test_several_audiences_without_azp_are_refused(platform, browser):
    def no_azp(c):
        c["aud"] = [platform.client_id, "other-client"]
        c.pop("azp", None)
    resp, _ = _signed_launch(platform, browser, no_azp)
    _refused(resp, 400, "azp")


def test_replayed_launch_is_refused(platform, browser):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    first = browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"])
    assert first.status_code == 200
    again = browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"])
    _refused(again, 400, "already used")


def test_replayed_nonce_with_fresh_state_is_refused(platform, browser):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    assert browser.post_launch(launch["launch_url"], launch["id_token"], launch["state"]).status_code == 200
    # A second login gives a new state; the old token (old nonce) must not ride on it.
    args2 = browser.begin_login(platform, learner())
    again = browser.post_launch(launch["launch_url"], launch["id_token"], args2["state"])
    _refused(again, 400, "nonce")


def test_missing_state_is_refused(platform, browser):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    resp = browser.http.post(launch["launch_url"], data={"id_token": launch["id_token"]})
    _refused(resp, 400, "no state")


def test_state_from_another_browser_is_refused(platform, browser):
    from .browser import Browser
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    other = Browser()  # has not got the state cookie
    resp = other.post_launch(launch["launch_url"], launch["id_token"], launch["state"])
    _refused(resp, 400, "cookie")


def test_mismatched_state_is_refused(platform, browser):
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    resp = browser.post_launch(launch["launch_url"], launch["id_token"], "state-made-up")
    _refused(resp, 400, "unknown")


def test_unknown_issuer_is_refused_at_login(tool, browser):
    stranger = PlatformServer(tool.url)  # never registered
    try:
        resp = browser.http.get(stranger.login_url(learner()))
        _refused(resp, 403, "No registration", "provider admin")
    finally:
        stranger.stop()


def test_unknown_client_id_is_refused_at_launch(platform, browser):
    def other_client(c):
        c["aud"] = c["azp"] = "unknown-client"
    resp, _ = _signed_launch(platform, browser, other_client)
    _refused(resp, 403, "No registration")


def test_disabled_platform_is_refused(app, tool, browser):
    p = PlatformServer(tool.url)
    register(app, p, status=DISABLED)
    try:
        resp = browser.http.get(p.login_url(learner()))
        _refused(resp, 403, "disabled")
    finally:
        p.stop()


def test_pending_platform_is_refused(app, tool, browser):
    p = PlatformServer(tool.url)
    register(app, p, status=PENDING)
    try:
        resp = browser.http.get(p.login_url(learner()))
        _refused(resp, 403, "waiting for a provider admin")
    finally:
        p.stop()


def test_unknown_deployment_is_held_for_approval(platform, browser, dbs):
    def new_dep(c):
        c[CLAIM + "deployment_id"] = "brand-new-deployment"
    resp, _ = _signed_launch(platform, browser, new_dep)
    _refused(resp, 403, "waiting for approval", "approve this deployment")
    row = dbs.scalar(select(Deployment).where(Deployment.deployment_id == "brand-new-deployment"))
    assert row.status == PENDING and row.platform_id == platform.db_id


def test_new_deployment_accepted_when_setting_allows(platform, browser, app):
    from lti_tool.settings import set_setting
    from lti_tool.db import db
    with app.app_context():
        set_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS", True)
        db().commit()
    try:
        def new_dep(c):
            c[CLAIM + "deployment_id"] = "auto-accepted-deployment"
        resp, _ = _signed_launch(platform, browser, new_dep)
        assert resp.status_code == 200
    finally:
        with app.app_context():
            set_setting("AUTO_ACCEPT_NEW_DEPLOYMENTS", False)
            db().commit()


def test_disabled_deployment_is_refused(platform, browser, dbs):
    row = dbs.scalar(select(Deployment).where(Deployment.platform_id == platform.db_id))
    row.status = DISABLED
    dbs.commit()
    resp = browser.launch(platform, learner())
    _refused(resp, 403, "disabled")


@pytest.mark.parametrize("claim", ["sub", CLAIM + "roles", CLAIM + "version", CLAIM + "deployment_id",
                                   CLAIM + "resource_link", "nonce"])
def test_missing_required_claim_is_refused(platform, browser, claim):
    def drop(c):
        c.pop(claim, None)
    resp, _ = _signed_launch(platform, browser, drop)
    assert resp.status_code == 400, resp.text[:500]
    assert "What to do" in resp.text


def test_unsupported_message_type_is_refused(platform, browser):
    def privacy(c):
        c[CLAIM + "message_type"] = "DataPrivacyLaunchRequest"
    resp, _ = _signed_launch(platform, browser, privacy)
    _refused(resp, 400, "not supported")


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 5000])
def test_malformed_token_is_refused(platform, browser, token):
    args = browser.begin_login(platform, learner())
    resp = browser.post_launch(args["redirect_uri"], token, args["state"])
    assert resp.status_code == 400
    assert "What to do" in resp.text


def test_alg_none_is_refused(platform, browser):
    import base64, json
    args = browser.begin_login(platform, learner())
    launch = platform.authorize(args)
    claims = decode_claims_unverified(launch["id_token"])
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    token = enc({"alg": "none", "kid": platform.key.kid}) + "." + enc(claims) + "."
    resp = browser.post_launch(launch["launch_url"], token, launch["state"])
    _refused(resp, 400, "RS256")


def test_launch_without_course_is_refused_clearly(platform, browser):
    def no_context(c):
        c.pop(CLAIM + "context", None)
    resp, _ = _signed_launch(platform, browser, no_context)
    _refused(resp, 400, "launched from a course")


def test_login_without_issuer_is_refused(tool, browser):
    resp = browser.http.get(tool.url + "/lti/login", params={"login_hint": "x"})
    assert resp.status_code == 400 and "incomplete" in resp.text


def test_login_by_post_works(platform, browser):
    from urllib.parse import parse_qs, urlparse
    url = platform.login_url(learner())
    params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    resp = browser.http.post(url.split("?")[0], data=params, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].startswith(platform.issuer + "/auth")


def test_many_first_launches_into_a_new_course_at_once(platform):
    """Participants opening a new course's link at the same moment: each gets in, one course row."""
    import threading
    from .browser import Browser
    context = "rush-" + str(time.time_ns())
    results = []

    def go(i):
        results.append(Browser().launch(platform, learner(context_id=context, resource_link_id="rush-link",
                                                          user_id=f"rush-{i}")).status_code)
    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert results == [200] * 8
