"""The production shape in Chromium: the tool on another site than the VLE, whose login initiation
is Moodle 5's (a posted form, no lti_storage_target, so no platform storage to fall back on).

Over plain http that cannot work in any browser (the tool's cookies are SameSite=Lax and never
reach another site's page): registration, launches and deep linking must say so and what fixes it.
Over HTTPS (https://tool.test and https://vle.test, two sites, a throwaway certificate authority)
the tool's cookies are SameSite=None; Secure; Partitioned and the whole job works, with
third-party cookies allowed and blocked: registration, a participant's launch, a submitted
knowledge check and its score at the platform."""
from __future__ import annotations

import time
from urllib.parse import quote

import pytest
from sqlalchemy import select

from lti_tool.models import LaunchSession, Person, Platform

from .browser_support import ARTIFACTS, chromium_page
from .conftest import instructor, learner, register
from .platform_server import PlatformServer, ServerThread
from .tls_support import TOOL_HOST, VLE_HOST, make_certificates, resolving_test_names

# Chromium's setting "Block third-party cookies" (see test_browser_iframe.py for the other flags).
THIRD_PARTY_COOKIES_BLOCKED = ["--test-third-party-cookie-phaseout", "--disable-site-isolation-trials",
                               "--disable-features=IsolateOrigins,site-per-process"]
HTTPS_MESSAGE = "The tool must be served over HTTPS for this platform"
CHECK = "NPQSL/sc-check"


# -- plain http, two sites: the failure pages ------------------------------------------------

@pytest.fixture
def http_moodle(app, tool):
    """A Moodle-like platform on 127.0.0.1 whose registration points at http://localhost:PORT."""
    p = PlatformServer(tool.url.replace("127.0.0.1", "localhost"), storage=False)
    p.db_id = register(app, p)
    yield p
    p.stop()


def test_http_across_sites_launch_says_https_is_needed(http_moodle):
    """A default browser (third-party cookies allowed): the launch still cannot work, and the
    page says why and what fixes it, not that the browser blocked cookies."""
    with chromium_page() as page:
        page.goto(http_moodle.course_page_url(learner(custom={"npq_item": CHECK})))
        frame = page.frame_locator("#tool")
        frame.get_by_role("heading", name=HTTPS_MESSAGE).wait_for(timeout=20000)
        text = frame.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "cross-site-http-launch.png"))
    assert "plain http from another site" in text and "Serve the tool over HTTPS" in text
    assert "Your browser blocked" not in text and "Open the activity in a new window" not in text
    assert "/auth" not in http_moodle.received.paths  # refused at login, before the round trip


def test_http_across_sites_deep_linking_says_https_is_needed(http_moodle):
    spec = instructor(resource_link_id=None)
    spec.deep_link_return_url = http_moodle.issuer + "/deep-link-return"
    with chromium_page() as page:
        page.goto(http_moodle.course_page_url(spec))
        page.frame_locator("#tool").get_by_role("heading", name=HTTPS_MESSAGE).wait_for(timeout=20000)
    assert http_moodle.received.deep_link_responses == []


def test_http_across_sites_registration_says_https_is_needed(http_moodle):
    register_url = http_moodle.tool_url + "/lti/register"
    with chromium_page() as page:
        page.goto(f"{http_moodle.issuer}/admin/register-tool?url={quote(register_url)}")
        frame = page.frame_locator("#tool")
        frame.get_by_role("heading", name=HTTPS_MESSAGE).wait_for(timeout=20000)
        assert frame.get_by_role("button", name="Register the tool").count() == 0
        page.screenshot(path=str(ARTIFACTS / "cross-site-http-registration.png"))
    # Refused before the tool read the platform's configuration.
    assert "/.well-known/openid-configuration" not in http_moodle.received.paths


# -- HTTPS, two sites: the whole job -----------------------------------------------------------

@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https_tool(app, certificates):
    """The same tool, also served over HTTPS as https://tool.test:PORT."""
    with pytest.MonkeyPatch.context() as mp, resolving_test_names(mp, certificates):
        server = ServerThread(app, ssl_context=certificates.server_context(), name=TOOL_HOST)
        server.start()
        yield server
        server.stop()


@pytest.fixture
def https_moodle(https_tool, certificates):
    """A Moodle-like VLE at https://vle.test:PORT, not yet registered with the tool."""
    p = PlatformServer(https_tool.url, ssl_context=certificates.server_context(), host_name=VLE_HOST,
                       storage=False)
    yield p
    p.stop()


def _score_for(platform: PlatformServer, item: str, user_id: str, timeout: float = 20) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line_item, body in platform.received.scores:
            if line_item == item and body["userId"] == user_id:
                return body
        time.sleep(0.2)
    raise AssertionError(f"no score for {user_id} at {item}: {platform.received.scores}")


@pytest.mark.parametrize("third_party_cookies", ["allowed", "blocked"])
def test_https_across_sites_registration_launch_submit_and_grade(third_party_cookies, https_moodle,
                                                                 certificates, dbs):
    p = https_moodle
    args = certificates.chromium_args()
    if third_party_cookies == "blocked":
        args += THIRD_PARTY_COOKIES_BLOCKED
    user = "https-learner-" + third_party_cookies
    with chromium_page(extra_args=args) as page:
        # Dynamic Registration inside the VLE admin's dialog: the confirmation form's cookie comes back.
        page.goto(f"{p.issuer}/admin/register-tool?url={quote(p.tool_url + '/lti/register')}")
        frame = page.frame_locator("#tool")
        frame.get_by_role("button", name="Register the tool").click(timeout=20000)
        frame.get_by_role("heading", name="Registration complete").wait_for(timeout=20000)
        page.screenshot(path=str(ARTIFACTS / f"cross-site-https-registered-{third_party_cookies}.png"))
        # By client ID too: an earlier test's platform may have had this address (a port used again).
        registered = dbs.scalar(select(Platform).where(Platform.issuer == p.issuer, Platform.client_id == p.client_id))
        assert registered is not None

        # A tutor adds the knowledge check through the VLE's "add content" dialog (Deep Linking).
        tutor = instructor(resource_link_id=None, context_title="NPQSL Cohort A", custom={})
        tutor.deep_link_return_url = p.issuer + "/deep-link-return"
        page.goto(p.course_page_url(tutor))
        frame = page.frame_locator("#tool")
        frame.get_by_role("heading", name="Add NPQ items to your course").wait_for(timeout=20000)
        page.screenshot(path=str(ARTIFACTS / f"cross-site-https-picker-{third_party_cookies}.png"))
        frame.locator("input[name=item][value='NPQSL/sc-check']").check()
        frame.get_by_role("button", name="Add to course").click()
        frame.get_by_text("received 1 items").wait_for(timeout=15000)
        placed = p.received.deep_link_responses[-1]["items"][0]

        # A participant opens the placed knowledge check from the course page and submits it.
        item = p.add_line_item("Knowledge check", placed["lineItem"]["scoreMaximum"], resource_id=CHECK)
        spec = learner(user_id=user, custom=placed["custom"], lineitems_url=p.issuer + "/lineitems")
        spec.lineitem_url = item
        page.goto(p.course_page_url(spec))
        frame = page.frame_locator("#tool")
        frame.get_by_role("button", name="Submit").wait_for(timeout=20000)
        for group in frame.locator("fieldset.question").all():
            group.locator("input[type=radio]").first.check()
        frame.get_by_role("button", name="Submit").click()
        frame.get_by_text("You submitted this on").wait_for(timeout=15000)
        page.screenshot(path=str(ARTIFACTS / f"cross-site-https-{third_party_cookies}.png"))
        cookies = page.context.cookies(p.tool_url)
    score = _score_for(p, item, user)
    assert score["gradingProgress"] == "FullyGraded" and score["activityProgress"] == "Completed"
    # The tool's cookies carried the launch (no platform storage was offered), partitioned under
    # the VLE's site.
    dbs.expire_all()
    session = dbs.scalar(select(LaunchSession).join(Person).where(Person.sub == user))
    assert session is not None and session.cookieless is False
    assert cookies and all(c["secure"] and c["sameSite"] == "None" for c in cookies)
    assert all(c.get("partitionKey") == "https://" + VLE_HOST for c in cookies)
