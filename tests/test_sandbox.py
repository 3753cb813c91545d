"""The built-in sandbox VLE launches the tool through the real flow, for every role."""
from __future__ import annotations

import re

import pytest

from .browser import Browser, forms


def _launch_in_sandbox(tool, who: str):
    b = Browser()
    course = b.http.get(tool.url + "/sandbox/", params={"as": who})
    assert course.status_code == 200
    # The course home (other tests add links of their own to the same sandbox course).
    link = re.search(r'href="(/sandbox/links/\d+\?as=' + who + ')">NPQ Learning – course home', course.text).group(1)
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


def test_sandbox_gradebook_receives_a_knowledge_check_score(tool):
    import time
    from .test_content import PACKS
    from lti_tool.content import load_programmes
    tutor = Browser()
    frame = tutor.http.get(tool.url + "/sandbox/add", params={"as": "tutor"})
    src = re.search(r'<iframe src="([^"]+)"', frame.text).group(1).replace("&amp;", "&")
    auto = tutor.http.get(tool.url + src)
    form = forms(auto.text)[0]
    picker = tutor.http.post(form.action, data=form.fields)
    from .browser import csrf_token
    ret = tutor.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                            "item": "NPQSL/om-check"})
    back = forms(ret.text)[0]
    assert "Added 1 item" in tutor.http.post(back.action, data=back.fields).text

    student = Browser()
    course = student.http.get(tool.url + "/sandbox/", params={"as": "participant2"})
    link = re.findall(r'href="(/sandbox/links/\d+\?as=participant2)"', course.text)[-1]
    frame = student.http.get(tool.url + link)
    src = re.search(r'<iframe src="([^"]+)"', frame.text).group(1).replace("&amp;", "&")
    auto = student.http.get(tool.url + src)
    form = forms(auto.text)[0]
    page = student.http.post(form.action, data=form.fields)
    activity = load_programmes(PACKS)["NPQSL"].activities["om-check"]
    data = {"csrf_token": csrf_token(page.text), "action": "submit"}
    data.update({f"answer-{q.id}": str(q.correct_index) for q in activity.questions})
    assert "You scored" in student.http.post(page.url, data=data).text
    deadline = time.time() + 15
    while time.time() < deadline:
        book = tutor.http.get(tool.url + "/sandbox/gradebook")
        if f"<strong>{len(activity.questions)}" in book.text:
            break
        time.sleep(0.2)
    # The VLE's word for the state, not the AGS code (FullyGraded).
    assert f"<strong>{len(activity.questions)}<" in book.text and "marked" in book.text and "FullyGraded" not in book.text
