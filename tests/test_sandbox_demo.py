"""The quick start's sandbox as the README's tour promises it on first launch: the demo course
already has module windows and webinars, and a second tutor so moderation can be tried.

Runs a tool of its own with DEMO_DATA on (as config/quickstart.py), on its own SQLite database:
the demo course is made once, before anyone launches, which a shared database cannot show.
"""
from __future__ import annotations

import re
import secrets

import pytest

from lti_tool import create_app
from lti_tool.cli import upgrade_database

from .browser import Browser, csrf_token, forms
from .platform_server import ServerThread
from .test_marking import _mark_form
from .test_writeups import RISK, _post, _row_ids


@pytest.fixture(scope="module")
def demo_tool(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    app = create_app({"CONFIG_NAME": "test", "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
                      "KEYS_DIR": str(tmp / "keys"), "SECRET_KEY": secrets.token_hex(16), "DEMO_DATA": True})
    with app.app_context():
        upgrade_database()
    server = ServerThread(app)
    server.start()
    app.config["SERVER_NAME"] = None
    yield server
    server.stop()


def _open(tool, who: str, title: str) -> tuple[Browser, object]:
    """Open one of the sandbox course's links as `who`, through the real launch."""
    b = Browser()
    course = b.http.get(tool.url + "/sandbox/", params={"as": who})
    link = re.search(r'href="(/sandbox/links/\d+\?as=' + who + r')">' + re.escape(title) + "<", course.text).group(1)
    frame = b.http.get(tool.url + link)
    src = re.search(r'<iframe src="([^"]+)"', frame.text).group(1).replace("&amp;", "&")
    auto_post = forms(b.http.get(tool.url + src).text)[0]
    return b, b.http.post(auto_post.action, data=auto_post.fields)


def test_the_demo_course_has_windows_and_webinars_before_anyone_launches(demo_tool):
    course = Browser().http.get(demo_tool.url + "/sandbox/", params={"as": "participant"})
    assert "Dr Priya Shah – Second tutor (moderator)" in course.text
    # Scores as people write them: "out of 5", never "out of 5.0".
    assert "Graded · out of " in course.text and not re.search(r"out of \d+\.0\b", course.text)
    b, home = _open(demo_tool, "participant", "NPQ Learning – course home")
    assert home.status_code == 200 and "Your progress" in home.text
    base = home.url.split("/programme")[0].rstrip("/") + "/"
    programme = b.http.get(base + "programme").text
    assert "closed" in programme and "open" in programme and "upcoming" in programme  # windows in place
    assert "Pacing guide" in programme
    webinars = b.http.get(base + "webinars").text
    assert "Welcome webinar: how the programme runs" in webinars
    assert "School culture in practice" in webinars and ".ics" in webinars
    # The tutor who "scheduled" them is the sandbox's tutor, who then launches as the same person.
    t, tutor_home = _open(demo_tool, "tutor", "NPQ Learning – course home")
    base = tutor_home.url.split("/s/")[0] + "/s/" + tutor_home.url.split("/s/")[1].split("/")[0] + "/"
    assert "Welcome webinar" in t.http.get(base + "webinars").text
    schedule = t.http.get(base + "schedule")
    assert schedule.text.count('value="20') >= 5  # five module windows with their opening dates


def test_a_second_tutor_moderates_in_the_sandbox(demo_tool):
    participant, page = _open(demo_tool, "participant2", "Risk assessment")
    assert page.status_code == 200, page.text[:300]
    row = _row_ids(page, "risks")[0]
    data = {"f.overview.project-title": "Reading for all", "f.overview.sdp-priority": "Literacy",
            "f.overview.project-lead": "Ben Okafor", "f.overview.description": "A reading routine in Year 7.",
            **{f"t.risks.{row}.{k}": v for k, v in RISK.items()}}
    submitted = _post(participant, page, data, action="submit")
    assert "Submitted: read-only" in submitted.text, submitted.text[-800:]

    first, queue = _open(demo_tool, "tutor", "Risk assessment")
    mark_url = demo_tool.url + re.search(r'href="([^"]+/marking/NPQSL/risk-assessment/\d+)">Ben Okafor<', queue.text).group(1)
    mark_page = first.http.get(mark_url)
    marks, _ = _mark_form(mark_page, [2, 2, 2, 2, 2])
    assert "Draft mark saved" in first.http.post(mark_url, data={**marks, "action": "save", "kind": "first"}).text
    sampled = first.http.post(mark_url, data={"csrf_token": csrf_token(mark_page.text), "action": "sample"})
    assert "moderation sample" in sampled.text

    second, squeue = _open(demo_tool, "tutor2", "Risk assessment")
    assert "Marking: Risk assessment" in squeue.text
    moderation = second.http.get(squeue.url.split("/s/")[0] + re.search(
        r'href="([^"]+/marking/NPQSL/risk-assessment/\d+)">Ben Okafor<', squeue.text).group(1))
    assert "Moderation." in moderation.text and "First mark by Dr Tom Reid" in moderation.text
    agreed, _ = _mark_form(moderation, [3, 3, 2, 2, 2], overall="Agreed at moderation.")
    released = second.http.post(moderation.url, data={**agreed, "action": "release", "kind": "agreed"})
    assert "Mark released" in released.text and "Dr Priya Shah: mark released" in released.text
