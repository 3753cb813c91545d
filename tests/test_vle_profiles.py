"""The independent platform behaving like the two VLEs the tool meets most, through registration,
deep linking, a launch and a grade:

- Moodle 5: Dynamic Registration, a login initiation without lti_storage_target (iss,
  target_link_uri, login_hint, lti_message_hint, client_id and lti_deployment_id only), scores
  without Canvas's extension, and rubric feedback readable in the grader report;
- Canvas: issuer https://canvas.instructure.com shared by two developer keys (client IDs), one key
  installed twice (two deployments), lti_storage_target on every login, the AGS submission
  extension on every score, custom variables, and a privacy level that leaves names out.
"""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from lti_tool.content import load_programmes
from lti_tool.models import NAME_WITHHELD, Deployment, Person, Platform

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner
from .platform_server import PlatformServer
from .test_content import PACKS

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CANVAS = "https://canvas.instructure.com"
SUBMISSION = "https://canvas.instructure.com/lti/submission"
CHECK = "NPQSL/sc-check"


def _wait_for_score(platform: PlatformServer, user_id: str, timeout: float = 15.0) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        for _, body in platform.received.scores:
            if body["userId"] == user_id:
                return body
        time.sleep(0.1)
    raise AssertionError(f"no score for {user_id}")


def _deep_link(browser: Browser, platform: PlatformServer, spec, item_ref: str, login=None) -> dict:
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    picker = (login or browser.launch)(platform, spec)
    assert picker.status_code == 200 and "Add NPQ items to your course" in picker.text
    answer = browser.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                                 "item": [item_ref]})
    form = forms(answer.text)[0]
    assert browser.http.post(form.action, data=form.fields).status_code == 200
    return platform.received.deep_link_responses[-1]["items"][0]


def _submit_check(browser: Browser, page) -> None:
    activity = load_programmes(PACKS)["NPQSL"].activities["sc-check"]
    data = {"csrf_token": csrf_token(page.text), "action": "submit"}
    for q in activity.questions:
        data[f"answer-{q.id}"] = str(q.correct_index)
    done = browser.http.post(page.url, data=data)
    assert "You scored" in done.text, done.text[:300]


# -- Moodle 5 --------------------------------------------------------------------------------

def test_moodle_registration_deep_linking_launch_and_grade(app, tool, dbs):
    moodle = PlatformServer(tool.url, deployment_id="2")
    try:
        browser = Browser()
        config = moodle.issuer + "/.well-known/openid-configuration"
        page = browser.http.get(tool.url + "/lti/register", params={
            "openid_configuration": config, "registration_token": moodle.registration_token})
        done = browser.http.post(tool.url + "/lti/register", data=forms(page.text)[0].fields)
        assert done.status_code == 200 and "Registration complete" in done.text
        # The admin is told the one step Moodle still needs for teachers to find the tool.
        assert "Show in activity chooser and as a preconfigured tool" in done.text
        assert "LTI External tools" in done.text
        # By client ID too: an earlier test's platform may have had this address (a port used again).
        registered = dbs.scalar(select(Platform).where(Platform.issuer == moodle.issuer,
                                                       Platform.client_id == moodle.client_id))
        assert registered is not None

        course = "moodle-course-" + str(time.time_ns())[-6:]
        item = _deep_link(browser, moodle, instructor(resource_link_id=None, context_id=course), CHECK)
        line_item = moodle.add_line_item(item["lineItem"]["label"], item["lineItem"]["scoreMaximum"],
                                         resource_id=item["lineItem"]["resourceId"])

        spec = learner(context_id=course, custom=item["custom"], lineitems_url=moodle.issuer + "/lineitems")
        spec.lineitem_url = line_item
        participant = Browser()
        # Moodle's login initiation carries no lti_storage_target: straight on to its auth page.
        first = participant.http.get(moodle.login_url(spec), allow_redirects=False)
        assert "lti_storage_target" not in moodle.login_url(spec)
        assert first.status_code == 302 and first.headers["Location"].startswith(moodle.issuer + "/auth")
        page = participant.launch(moodle, spec)
        assert page.url.endswith("/activities/" + CHECK)
        _submit_check(participant, page)
        body = _wait_for_score(moodle, spec.user_id)
        assert body["gradingProgress"] == "FullyGraded" and body["scoreGiven"] == body["scoreMaximum"]
        assert SUBMISSION not in body  # Canvas's extension goes to Canvas only
    finally:
        moodle.stop()


# -- Canvas ----------------------------------------------------------------------------------

def _canvas_launch(platform: PlatformServer):
    """A launch as Canvas makes it: lti_storage_target on the login, the tool_platform claim."""
    def launch(_platform, spec, browser_=None):
        spec.extra_claims = {**spec.extra_claims,
                             CLAIM + "tool_platform": {"product_family_code": "canvas", "guid": "canvas-guid"}}
        b = browser_ or launch.browser
        login = b.http.get(platform.login_url(spec) + "&lti_storage_target=post_message_forwarding")
        assert login.status_code == 200 and 'data-target="post_message_forwarding"' in login.text
        next_url = re.search(r'data-next="([^"]+)"', login.text).group(1).replace("&amp;", "&")
        auth = b.http.get(next_url)
        form = forms(auth.text)[0]
        return b.http.post(form.action, data=form.fields)
    return launch


@pytest.fixture
def canvas(app, tool):
    """Two developer keys of one Canvas (one issuer), added by the provider admin with the CLI;
    the first installed in two sub-accounts (two deployments)."""
    keys = [PlatformServer(tool.url, issuer=CANVAS, client_id=f"1000000000004{n}", deployment_id=f"{n}:abc")
            for n in (2, 3)]
    runner = app.test_cli_runner()
    for key in keys:
        f = key.registration_fields()
        result = runner.invoke(args=["platform", "add", "--name", "Canvas – Northfield Trust", "--issuer", CANVAS,
                                     "--client-id", f["client_id"], "--auth-login-url", f["auth_login_url"],
                                     "--auth-token-url", f["auth_token_url"], "--key-set-url", f["key_set_url"],
                                     "--deployment", key.deployment_id])
        assert result.exit_code == 0, result.output
        key.db_id = int(result.output.split()[1])
    second_install = runner.invoke(args=["deployment", "add", str(keys[0].db_id), "7:def"])
    assert second_install.exit_code == 0, second_install.output
    yield keys
    for key in keys:
        key.stop()
    with app.app_context():
        from lti_tool.db import db
        for key in keys:  # the issuer and client IDs are fixed: leave no row for the next test
            db().delete(db().get(Platform, key.db_id))
        db().commit()


def test_canvas_two_keys_deep_linking_launch_grade_and_withheld_names(canvas, dbs):
    first, second = canvas
    browser = Browser()
    launch = _canvas_launch(first)
    launch.browser = browser
    course = "canvas-course-" + str(time.time_ns())[-6:]
    item = _deep_link(browser, first, instructor(resource_link_id=None, context_id=course), CHECK, login=launch)
    line_item = first.add_line_item("Knowledge check", item["lineItem"]["scoreMaximum"], resource_id=CHECK)

    # Canvas's "anonymous" privacy level: no name, no email; custom variables substituted.
    spec = learner(context_id=course, name=None, email=None, given_name=None, family_name=None,
                   custom={**item["custom"], "person_time_zone": "Europe/London",
                           "course_sis_id": "$Canvas.course.sisSourceId"},
                   lineitems_url=first.issuer + "/lineitems")
    spec.lineitem_url = line_item
    participant = Browser()
    page = launch(first, spec, participant)
    assert page.status_code == 200 and page.url.endswith("/activities/" + CHECK)
    assert NAME_WITHHELD in page.text and "None" not in re.sub(r"<[^>]+>", " ", page.text).split()
    person = dbs.scalar(select(Person).where(Person.sub == spec.user_id))
    assert person.display_name.startswith(NAME_WITHHELD) and person.time_zone == "Europe/London"

    _submit_check(participant, page)
    body = _wait_for_score(first, spec.user_id)
    # SpeedGrader shows the knowledge check as a submission, with its score.
    ext = body[SUBMISSION]
    assert ext["new_submission"] is True and ext["submission_type"] == "basic_lti_launch"
    assert ext["submitted_at"] and ext["submission_data"].endswith("/lti/launch")

    # The tutor's export names the participant as withheld, never "None".
    tutor = Browser()
    home = launch(first, instructor(context_id=course), tutor)
    export = tutor.http.get(home.url.split("/s/")[0] + "/s/" + home.url.split("/s/")[1].split("/")[0]
                            + "/dashboard.csv")
    assert export.status_code == 200 and NAME_WITHHELD in export.text and "None" not in export.text

    # The second developer key (same issuer, another client ID) launches on its own registration.
    other = Browser()
    other_launch = _canvas_launch(second)
    page = other_launch(second, learner(), other)
    assert page.status_code == 200
    # The first key's second install (another deployment ID) launches as well.
    first.deployment_id = "7:def"
    page = launch(first, learner(), Browser())
    assert page.status_code == 200
    deployments = dbs.scalars(select(Deployment.deployment_id).where(Deployment.platform_id == first.db_id)).all()
    assert set(deployments) == {"2:abc", "7:def"}


def test_canvas_configuration_asks_for_custom_variables_and_storage(tool):
    config = Browser().http.get(tool.url + "/lti/config/canvas.json").json()
    custom = config["custom_fields"]
    assert custom["person_time_zone"] == "$Person.address.timezone"
    assert custom["canvas_course_id"] == "$Canvas.course.id"
