"""The built-in sandbox VLE launches the tool through the real flow, for every role."""
from __future__ import annotations

import re

import pytest

from .browser import Browser, forms


def _launch_in_sandbox(tool, who: str):
    b = Browser()
    course = b.http.get(tool.url + "/sandbox/", params={"as": who})
    assert course.status_code == 200
    link = re.search(r'href="(/sandbox/links/\d+\?as=' + who + ')"', course.text).group(1)
    frame = b.http.get(tool.url + link)
    src = re.search(r'<iframe src="([^"]+)"', frame.text).group(1).replace("&amp;", "&")
    auto_post = b.http.get(tool.url + src)
    form = forms(auto_post.text)[0]
    return b.http.post(form.action, data=form.fields)


@pytest.mark.parametrize("who,expect", [
    ("participant", "Your progress"),
    ("tutor", "The course's activities"),
    ("mentor", "mentees"),
])
def test_sandbox_launch(tool, who, expect):
    page = _launch_in_sandbox(tool, who)
    assert page.status_code == 200 and expect in page.text
    assert "NPQSL International" in page.text or "Senior Leadership" in page.text
