"""Which requests are taken as "over plain http from another site" (lti/cross_site.py): the pages
for that case, and no change for the same site, for HTTPS or for a popup window."""
from __future__ import annotations

import requests

from .browser import forms
from .conftest import learner

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "iframe"}
HTTPS_NEEDED = "The tool must be served over HTTPS for this platform"


def test_login_from_another_site_over_http_without_platform_storage_says_https_is_needed(platform):
    page = requests.get(platform.login_url(learner()), headers=CROSS_SITE, allow_redirects=False)
    assert page.status_code == 400 and HTTPS_NEEDED in page.text
    assert "plain http from another site" in page.text


def test_login_from_the_same_site_or_with_platform_storage_goes_on(platform):
    same_site = requests.get(platform.login_url(learner()), allow_redirects=False,
                             headers={"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "iframe"})
    assert same_site.status_code == 302
    # With platform storage (Canvas) the launch can still work without cookies: no refusal, and
    # the page that would offer a new window says the tool needs HTTPS instead.
    stored = requests.get(platform.login_url(learner()) + "&lti_storage_target=_parent", headers=CROSS_SITE)
    assert stored.status_code == 200 and "Open the activity in a new window" not in stored.text
    assert HTTPS_NEEDED in stored.text


def test_origin_is_used_where_the_browser_sends_no_fetch_metadata(platform):
    other = requests.get(platform.login_url(learner()), allow_redirects=False,
                         headers={"Referer": "http://moodle.school.example/mod/lti/launch.php"})
    assert other.status_code == 400 and HTTPS_NEEDED in other.text
    same = requests.get(platform.login_url(learner()), allow_redirects=False,
                        headers={"Referer": platform.tool_url + "/somewhere"})
    assert same.status_code == 302


def test_launch_whose_cookie_did_not_come_back_across_sites_says_https_is_needed(platform, browser):
    args = browser.begin_login(platform, learner())
    auth = requests.get(platform.issuer + "/auth", params=args)
    form = forms(auth.text)[0]
    # The form posted by the platform's page, without the state cookie (never sent cross-site on http).
    page = requests.post(form.action, data=form.fields, headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 400 and HTTPS_NEEDED in page.text
    # The same launch from the same site: the browser's settings did block the cookie.
    page = requests.post(form.action, data=form.fields, headers={"Sec-Fetch-Site": "same-site"})
    assert page.status_code == 400 and "Your browser blocked the tool" in page.text


def test_registration_framed_across_sites_over_http_says_https_is_needed(platform):
    params = {"openid_configuration": platform.issuer + "/.well-known/openid-configuration",
              "registration_token": platform.registration_token}
    page = requests.get(platform.tool_url + "/lti/register", params=params, headers=CROSS_SITE)
    assert page.status_code == 400 and HTTPS_NEEDED in page.text
    assert "Register the tool" not in page.text
    assert "/.well-known/openid-configuration" not in platform.received.paths
    # In a window of its own (Sec-Fetch-Dest: document) the confirmation form's cookie comes back.
    popup = requests.get(platform.tool_url + "/lti/register", params=params,
                         headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"})
    assert popup.status_code == 200 and "Register the tool" in popup.text


def test_registration_confirmed_without_the_cookie_explains_the_likely_cause(platform):
    params = {"openid_configuration": platform.issuer + "/.well-known/openid-configuration",
              "registration_token": platform.registration_token}
    page = requests.get(platform.tool_url + "/lti/register", params=params)
    form = forms(page.text)[0]
    # Posted by a browser that did not send the cookie back (and no fetch metadata).
    answer = requests.post(platform.tool_url + "/lti/register", data=form.fields)
    assert answer.status_code == 400 and HTTPS_NEEDED in answer.text
    assert platform.received.registrations == []
