"""Deep Linking 2.0 end to end: the picker, the signed response, and launching what was placed."""
from __future__ import annotations

import re

from sqlalchemy import select

from lti_tool.models import Placement
from lti_tool.sandbox.platform import decode_claims_unverified

from .browser import Browser, csrf_token, forms
from .conftest import instructor, learner

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def _dl_spec(platform, **kw):
    spec = instructor(resource_link_id=None, **kw)
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    spec.deep_link_data = "opaque-platform-data-42"
    return spec


def test_pick_two_items_then_launch_each(platform, browser, app):
    spec = _dl_spec(platform)
    picker = browser.launch(platform, spec)
    assert picker.status_code == 200 and "Add NPQ items to your course" in picker.text
    assert 'type="checkbox"' in picker.text  # the platform accepts several
    assert "marked automatically, out of" in picker.text and "Develops:" in picker.text

    found = browser.http.get(picker.url, params={"programme": "NPQSL", "q": "behaviour"})
    assert "Behaviour" in found.text and "School culture" not in found.text

    chosen = ["NPQSL/sc-reading", "NPQSL/sc-check"]
    ret = browser.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                              "item": chosen})
    form = forms(ret.text)[0]
    assert form.action == platform.issuer + "/deep-link-return"
    done = browser.http.post(form.action, data=form.fields)
    assert done.status_code == 200 and "received 2 items" in done.text

    response = platform.received.deep_link_responses[-1]
    header = __import__("jwt").get_unverified_header(response["token"])
    assert header["kid"] == app.extensions["keystore"].current().kid
    claims = decode_claims_unverified(response["token"])
    assert claims[DL + "data"] == "opaque-platform-data-42"
    assert claims["aud"] == [platform.issuer] and claims["iss"] == platform.client_id
    items = {i["custom"]["npq_item"]: i for i in response["items"]}
    assert set(items) == set(chosen)
    for item in items.values():
        assert item["type"] == "ltiResourceLink" and item["title"] and item["text"] and "iframe" in item
    check = items["NPQSL/sc-check"]["lineItem"]
    assert check["resourceId"] == "NPQSL/sc-check" and check["scoreMaximum"] > 0 and check["label"] and check["tag"]
    assert "lineItem" not in items["NPQSL/sc-reading"]

    # The platform makes links of the items; each launch reaches its own page.
    for ref, item in items.items():
        page = Browser().launch(platform, learner(context_id=spec.context_id, custom=item["custom"],
                                                  resource_link_title=item["title"]))
        assert page.status_code == 200 and page.url.endswith("/activities/" + ref)
        assert item["title"] in page.text


def test_single_item_when_platform_does_not_accept_multiple(platform, browser):
    spec = _dl_spec(platform)
    spec.deep_link_overrides = {"accept_multiple": False, "accept_presentation_document_targets": ["window"]}
    picker = browser.launch(platform, spec)
    assert picker.status_code == 200 and 'type="radio"' in picker.text and 'type="checkbox"' not in picker.text
    two = browser.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                              "item": ["NPQSL/sc-reading", "NPQSL/sc-check"]})
    assert two.status_code == 400 and "Choose one item" in two.text
    one = browser.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                              "item": "NPQSL/sc-reading"})
    form = forms(one.text)[0]
    browser.http.post(form.action, data=form.fields)
    item = platform.received.deep_link_responses[-1]["items"][0]
    assert "window" in item and "iframe" not in item  # honours accept_presentation_document_targets


def test_copied_course_keeps_working_through_custom_parameter(platform, browser, dbs):
    custom = {"npq_item": "NPQSL/sc-scenario", "npq_programme": "NPQSL"}
    first = Browser().launch(platform, learner(custom=custom))
    assert first.url.endswith("/activities/NPQSL/sc-scenario")
    # Next year's copy: new context and new resource link IDs, same custom parameter.
    copied = Browser().launch(platform, learner(context_id="copied-2028", resource_link_id="new-link-id",
                                                custom=custom))
    assert copied.status_code == 200 and copied.url.endswith("/activities/NPQSL/sc-scenario")
    placement = dbs.scalar(select(Placement).where(Placement.resource_link_id == "new-link-id"))
    assert placement.item_ref == "NPQSL/sc-scenario"


def test_unconfigured_link_participant_is_told_tutor_picks(platform, dbs):
    link = "plain-link-" + __import__("secrets").token_hex(3)
    student = Browser().launch(platform, learner(resource_link_id=link, context_id="c-" + link, custom={}))
    assert student.status_code == 200 and "This link is not set up yet" in student.text

    tutor = Browser()
    page = tutor.launch(platform, instructor(resource_link_id=link, context_id="c-" + link, custom={}))
    assert "Set up this link" in page.text and 'type="radio"' in page.text
    resp = tutor.http.post(page.url, data={"csrf_token": csrf_token(page.text), "programme": "NPQSL",
                                           "item": "NPQSL/be-reading"})
    assert resp.status_code == 200 and resp.url.endswith("/activities/NPQSL/be-reading")

    again = Browser().launch(platform, learner(resource_link_id=link, context_id="c-" + link, custom={}))
    assert again.url.endswith("/activities/NPQSL/be-reading")


def test_request_without_resource_links_gets_clear_message(platform, browser):
    spec = _dl_spec(platform)
    spec.deep_link_accept_types = {"file", "html"}
    page = browser.launch(platform, spec)
    assert page.status_code == 400
    assert "The tool cannot add items here" in page.text
    assert re.search(r"accepts (file, html|html, file)", page.text)


def test_participant_deep_linking_is_refused(platform, browser):
    spec = _dl_spec(platform)
    spec.roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    page = browser.launch(platform, spec)
    assert page.status_code == 403 and "Only tutors and course designers" in page.text


def test_choosing_nothing_explains(platform, browser):
    picker = browser.launch(platform, _dl_spec(platform))
    resp = browser.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL"})
    assert resp.status_code == 400 and "Choose at least one item" in resp.text


def test_sandbox_deep_linking_adds_links(tool):
    b = Browser()
    frame = b.http.get(tool.url + "/sandbox/add", params={"as": "tutor"})
    src = re.search(r'<iframe src="([^"]+)"', frame.text).group(1).replace("&amp;", "&")
    auto = b.http.get(tool.url + src)
    form = forms(auto.text)[0]
    picker = b.http.post(form.action, data=form.fields)
    assert "Add NPQ items" in picker.text
    ret = b.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                        "item": ["NPQSL/te-check", "NPQSL/te-reading"]})
    back = forms(ret.text)[0]
    added = b.http.post(back.action, data=back.fields)
    assert added.status_code == 200 and "Added 2 items" in added.text
    course = b.http.get(tool.url + "/sandbox/", params={"as": "participant"})
    assert "Graded · out of" in course.text
