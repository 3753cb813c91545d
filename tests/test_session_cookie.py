"""The signed session cookie that lists a browser's launches: its format, and the requests that never touch it."""
from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

from .conftest import learner


def test_a_cookie_written_in_flasks_tagged_form_is_still_read(app):
    # Cookies set before the tool wrote plain JSON carry Flask's tagged values (a flashed message is a tuple).
    data = {"launches": ["a" * 43, "b" * 43], "csrf_token": "c" * 40, "_flashes": [("message", "Draft saved.")]}
    with app.test_request_context("/"):
        old = SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)
        ours = app.session_interface.get_signing_serializer(app)
        assert ours.loads(old) == data
        # What the tool writes now is plain JSON, and reads back the same (tuples become lists).
        assert ours.loads(ours.dumps(data)) == {**data, "_flashes": [["message", "Draft saved."]]}


def test_the_login_neither_reads_nor_rewrites_the_session_cookie(platform, browser):
    first = browser.launch(platform, learner())
    assert first.status_code == 200
    cookie = browser.http.cookies.get("npq_session")
    assert cookie
    answer = browser.http.get(platform.login_url(learner()), allow_redirects=False)
    assert answer.status_code == 302
    assert "npq_session" not in answer.headers.get("Set-Cookie", "")
    # A second launch in the same browser adds to the list; the first launch's pages still open.
    second = browser.launch(platform, learner(context_id="another-course"))
    assert second.status_code == 200
    assert browser.http.get(first.url).status_code == 200
    assert browser.http.get(second.url).status_code == 200
