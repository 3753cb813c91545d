"""The Deep Linking picker opens on the course's programme and remembers the tutor's choice; inside
the VLE's dialog it shows only its own header and a Cancel; every tutor page reaches the course home."""
from __future__ import annotations

import re

from .browser import Browser, csrf_token, forms
from .conftest import instructor


def _picker(platform, **kw):
    spec = instructor(resource_link_id=None, **kw)
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    page = Browser().launch(platform, spec)
    assert page.status_code == 200 and "Add NPQ items to your course" in page.text
    return page


def _selected(page) -> str:
    return re.search(r'<option value="([A-Z]+)" selected>', page.text).group(1)


def test_picker_opens_on_the_programme_in_the_course_title_and_remembers_the_choice(platform):
    context = "picker-" + platform.client_id
    page = _picker(platform, context_id=context, context_title="NPQSL Cohort B", custom={})
    assert _selected(page) == "NPQSL"  # not NPQLT, the first alphabetically
    browser = Browser()
    spec = instructor(resource_link_id=None, context_id=context, context_title="NPQSL Cohort B", custom={})
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    first = browser.launch(platform, spec)
    switched = browser.http.get(first.url, params={"programme": "NPQLT"})
    assert _selected(switched) == "NPQLT"
    # The next time anyone opens the picker in this course, it opens where the tutor left it.
    assert _selected(_picker(platform, context_id=context, context_title="NPQSL Cohort B", custom={})) == "NPQLT"


def test_picker_falls_back_to_the_providers_default_programme(platform, app):
    app.config["DEFAULT_PROGRAMME"] = "NPQSL"
    try:
        page = _picker(platform, context_title="Leadership cohort 2027", custom={})
    finally:
        app.config["DEFAULT_PROGRAMME"] = None
    assert _selected(page) == "NPQSL"
    assert _selected(_picker(platform, context_title="Leadership cohort 2027", custom={})) == "NPQLT"


def test_picker_in_the_dialog_has_no_tool_menu_and_cancel_adds_nothing(platform):
    page = _picker(platform)
    header = page.text.split("</header>")[0]
    assert "Dashboard" not in header and "Course home" not in header and "Sign out" not in header
    form = next(f for f in forms(page.text) if f.method == "post")
    browser = Browser()
    spec = instructor(resource_link_id=None)
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    page = browser.launch(platform, spec)
    answer = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "action": "cancel",
                                               "item": ["NPQSL/sc-check"]})
    assert "without adding anything" in answer.text
    back = forms(answer.text)[0]
    done = browser.http.post(back.action, data=back.fields)
    assert done.status_code == 200 and "received 0 items" in done.text
    assert platform.received.deep_link_responses[-1]["items"] == []
    assert form.fields.get("programme") == "NPQSL"


def test_tutor_in_a_placed_item_reaches_the_course_home(platform):
    browser = Browser()
    queue = browser.launch(platform, instructor(custom={"npq_item": "NPQSL/risk-assessment"}))
    assert "/marking/" in queue.url
    link = re.search(r'href="([^"]+/course)">Course home</a>', queue.text).group(1)
    home = browser.http.get(queue.url.split("/s/")[0] + link)
    assert home.status_code == 200 and "The course's activities" in home.text and "/marking/" not in home.url
