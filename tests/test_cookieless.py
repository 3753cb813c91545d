"""Cookieless launch sessions (the browser blocked the tool's cookies; the launch was bound through
the platform's storage) over real HTTP: the session URL alone opens nothing, every request proves
the per-launch secret or spends a single-use ticket, sessions end when idle, and gunicorn's access
log carries neither session IDs nor tokens."""
from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from sqlalchemy import select

from lti_tool.db import utcnow
from lti_tool.models import ActivityWork, LaunchSession, Person
from lti_tool.security_models import PageTicket

from .browser import Browser, csrf_token, forms
from .conftest import learner, register
from .platform_server import PlatformServer

ROOT = Path(__file__).resolve().parent.parent
PERSON = "Asha Patel"
HEADING = "Expectations, alignment and the culture pupils actually experience"


@dataclass
class Cookieless:
    spec: object
    session_url: str        # the session's page, as a URL alone (what a log or a copy holds)
    first_url: str          # where the launch sends the browser (with its ticket, on the new code)
    secret: str | None      # handed to the launching page in the launch's answer (new code)


def _attr(page: str, name: str) -> str | None:
    found = re.search(rf'data-{name}="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def _without_ticket(url: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("_pt="))
    return urlunsplit(parts._replace(query=query))


def cookieless_launch(platform, ref: str = "NPQSL/sc-reading", **kw) -> Cookieless:
    """A launch as a browser that blocks the tool's cookies makes it: the login offers platform
    storage (lti_storage_target), and the launch comes back without the state cookie but with the
    binding read from the platform's storage (lti_storage_binding), as lti-storage.js posts it."""
    spec = learner(custom={"npq_item": ref}, **kw)
    login = requests.get(platform.login_url(spec) + "&lti_storage_target=_parent")
    assert login.status_code == 200 and 'id="lti-storage"' in login.text, login.text[:300]
    binding, auth_url = _attr(login.text, "value"), _attr(login.text, "next")
    auth = requests.get(auth_url)
    form = forms(auth.text)[0]
    launched = requests.post(form.action, data={**form.fields, "lti_storage_binding": binding},
                             allow_redirects=False)
    if launched.status_code == 303:  # the tool before the fix: straight to the session URL
        url = requests.compat.urljoin(form.action, launched.headers["Location"])
        return Cookieless(spec, url, url, None)
    assert launched.status_code == 200 and 'data-mode="handoff"' in launched.text, launched.text[:500]
    first = requests.compat.urljoin(form.action, _attr(launched.text, "next"))
    # The secret is in the answer's body, never in a URL.
    assert _attr(launched.text, "secret") not in first
    return Cookieless(spec, _without_ticket(first), first, _attr(launched.text, "secret"))


def _with_secret(c: Cookieless) -> dict:
    return {"X-Session-Secret": c.secret or ""}


def _ticket(c: Cookieless) -> str:
    r = requests.post(c.session_url.split("/s/")[0] + "/s/" + _sid(c) + "/ticket", headers=_with_secret(c))
    assert r.status_code == 200, r.text[:300]
    return r.json()["ticket"]


def _sid(c: Cookieless) -> str:
    return re.search(r"/s/([^/]+)/", c.session_url).group(1)


def _assert_nothing_opens(response, c: Cookieless) -> None:
    assert response.status_code == 401, response.status_code
    assert PERSON not in response.text and HEADING not in response.text
    assert "answer-" not in response.text and "csrf_token" not in response.text


# -- the session URL alone -----------------------------------------------------------------------

def test_cookieless_session_url_alone_opens_nothing(platform):
    c = cookieless_launch(platform)
    # The launching browser's first page (its ticket) opens.
    first = requests.get(c.first_url)
    assert first.status_code == 200 and HEADING in first.text
    # The same URL in any other browser (copied, sent, read from a log) opens nothing.
    _assert_nothing_opens(requests.Session().get(c.session_url), c)
    _assert_nothing_opens(requests.get(c.session_url, headers={"X-Session-Secret": "guess"}), c)
    # The browser that keeps the secret gets in.
    own = requests.get(c.session_url, headers=_with_secret(c))
    assert own.status_code == 200 and HEADING in own.text


def test_resume_page_is_not_cached_and_leaks_nothing(platform):
    c = cookieless_launch(platform)
    page = requests.get(c.session_url, headers={"Accept": "text/html"})
    _assert_nothing_opens(page, c)
    assert "no-store" in page.headers["Cache-Control"]
    assert 'data-mode="resume"' in page.text and "Your session has ended" in page.text
    assert c.secret not in page.text
    # A script (autosave, fetch) gets a plain JSON 401.
    assert requests.get(c.session_url, headers={"Accept": "application/json"}).json()["error"]


def test_ticket_opens_one_page_once(platform, dbs):
    c = cookieless_launch(platform)
    assert requests.get(c.first_url).status_code == 200
    _assert_nothing_opens(requests.get(c.first_url), c)  # the launch's ticket is spent
    ticket = _ticket(c)
    assert requests.get(c.session_url, params={"_pt": ticket}).status_code == 200
    _assert_nothing_opens(requests.get(c.session_url, params={"_pt": ticket}), c)
    # A ticket is for one navigation, never a write, and only into its own session.
    other = cookieless_launch(platform)
    _assert_nothing_opens(requests.get(other.session_url, params={"_pt": _ticket(c)}), other)
    # Buying a ticket needs the secret.
    assert requests.post(c.session_url.split("/s/")[0] + f"/s/{_sid(c)}/ticket").status_code == 401
    # Only digests are stored.
    stored = dbs.scalars(select(PageTicket.id).where(PageTicket.session_id == _sid(c))).all()
    assert ticket not in stored


def test_racing_uses_of_one_ticket_give_one_page(platform):
    c = cookieless_launch(platform)
    ticket = _ticket(c)
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def use():
        barrier.wait()
        statuses.append(requests.get(c.session_url, params={"_pt": ticket}).status_code)

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200] + [401] * 5


def test_expired_ticket_is_refused(platform, dbs):
    c = cookieless_launch(platform)
    ticket = _ticket(c)
    dbs.execute(PageTicket.__table__.update().where(PageTicket.session_id == _sid(c))
                .values(expires_at=utcnow() - timedelta(seconds=1)))
    dbs.commit()
    _assert_nothing_opens(requests.get(c.session_url, params={"_pt": ticket}), c)


def test_cookieless_sessions_are_short_and_end_when_idle(platform, dbs, app):
    c = cookieless_launch(platform)
    row = dbs.get(LaunchSession, _sid(c))
    assert row.cookieless and row.secret_hash and c.secret not in row.secret_hash
    lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(hours=app.config["COOKIELESS_SESSION_HOURS"]) < timedelta(hours=8)
    # Idle past SESSION_IDLE_MINUTES: refused even with the secret.
    row.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    dbs.commit()
    _assert_nothing_opens(requests.get(c.session_url, headers=_with_secret(c)), c)
    # Past its lifetime: refused even with the secret.
    d = cookieless_launch(platform)
    dbs.execute(LaunchSession.__table__.update().where(LaunchSession.id == _sid(d))
                .values(expires_at=utcnow() - timedelta(seconds=1)))
    dbs.commit()
    _assert_nothing_opens(requests.get(d.session_url, headers=_with_secret(d)), d)


def test_requests_keep_a_session_alive_and_idle_cookie_sessions_end_too(platform, dbs, app):
    c = cookieless_launch(platform)
    sid = _sid(c)
    dbs.execute(LaunchSession.__table__.update().where(LaunchSession.id == sid)
                .values(last_seen_at=utcnow() - timedelta(minutes=5)))
    dbs.commit()
    assert requests.get(c.session_url, headers=_with_secret(c)).status_code == 200
    dbs.expire_all()
    assert utcnow() - dbs.get(LaunchSession, sid).last_seen_at < timedelta(minutes=1)
    # A cookie session (the usual kind) also ends after SESSION_IDLE_MINUTES without a request.
    browser = Browser()
    page = browser.launch(platform, learner(custom={"npq_item": "NPQSL/sc-reading"}))
    assert page.status_code == 200
    cookie_sid = re.search(r"/s/([^/]+)/", page.url).group(1)
    dbs.execute(LaunchSession.__table__.update().where(LaunchSession.id == cookie_sid)
                .values(last_seen_at=utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)))
    dbs.commit()
    assert browser.http.get(page.url).status_code == 401


# -- writes ----------------------------------------------------------------------------------------

def _work(dbs, spec):
    dbs.expire_all()
    return dbs.scalar(select(ActivityWork).join(Person, ActivityWork.person_id == Person.id)
                      .where(Person.sub == spec.user_id))


def test_form_post_without_the_secret_is_refused_and_changes_nothing(platform, dbs):
    c = cookieless_launch(platform)
    page = requests.get(c.first_url)
    form = next(f for f in forms(page.text) if "version" in f.fields)
    qid = next(k for k in form.fields if k.startswith("answer-"))
    data = {**form.fields, qid: "Written by whoever holds the URL", "action": "save"}
    # Everything a page shows (its CSRF token included) is not enough: the secret is missing.
    refused = requests.post(c.session_url, data=data)
    assert refused.status_code == 401 and PERSON not in refused.text
    draft = requests.post(c.session_url.rstrip("/") + "/draft",
                          json={"answers": {qid.removeprefix("answer-"): "Autosaved by a stranger"}, "version": 0},
                          headers={"X-CSRFToken": csrf_token(page.text), "Accept": "application/json"})
    assert draft.status_code == 401
    work = _work(dbs, c.spec)
    assert work is None or "stranger" not in str(work.answers) and "whoever" not in str(work.answers)
    # The page's own form, with the secret its script adds, saves (the CSRF token still works).
    saved = requests.post(c.session_url, data={**data, "_session_secret": c.secret}, allow_redirects=False)
    assert saved.status_code == 303
    # ... and the redirect after the post carries a ticket, so the browser's GET gets through.
    follow = requests.get(requests.compat.urljoin(c.session_url, saved.headers["Location"]))
    assert follow.status_code == 200 and "Written by whoever holds the URL" in follow.text
    assert _work(dbs, c.spec).answers[qid.removeprefix("answer-")] == "Written by whoever holds the URL"
    # Autosave with the secret header works as in a cookie session.
    ok = requests.post(c.session_url.rstrip("/") + "/draft",
                       json={"answers": {qid.removeprefix("answer-"): "Autosaved"}, "version": 1},
                       headers={**_with_secret(c), "X-CSRFToken": csrf_token(page.text), "Accept": "application/json"})
    assert ok.status_code == 200, ok.text


# -- fixation and cookie lists ---------------------------------------------------------------------

def test_a_sent_cookieless_url_does_not_put_the_victim_in_the_senders_session(platform):
    attacker = cookieless_launch(platform)
    assert requests.get(attacker.first_url).status_code == 200
    # A victim follows the link the attacker sent, in a browser with no cookie of the tool (the
    # case that made the attacker's session cookieless): the attacker's session does not open, so
    # nothing the victim then types lands in it.
    victim = Browser()
    followed = victim.http.get(attacker.session_url)
    _assert_nothing_opens(followed, attacker)
    assert victim.http.post(attacker.session_url, data={"action": "save"}).status_code == 401
    # Nor for a victim who has the tool open in a session of their own.
    own = victim.launch(platform, learner(custom={"npq_item": "NPQSL/sc-reading"}, name="Victor Ng"))
    assert own.status_code == 200
    followed = victim.http.get(attacker.session_url)
    _assert_nothing_opens(followed, attacker)
    assert "Victor" not in followed.text
    assert victim.http.post(attacker.session_url, data={"csrf_token": csrf_token(own.text),
                                                        "action": "save"}).status_code == 401


def test_a_cookieless_session_is_never_opened_through_a_cookie_list(platform, app):
    """Even a signed cookie that lists the cookieless session (the launching browser's own, had it
    kept one) opens nothing without the secret."""
    c = cookieless_launch(platform)
    with app.test_request_context():
        cookie = app.session_interface.get_signing_serializer(app).dumps({"launches": [_sid(c)]})
    jar = requests.Session()
    jar.cookies.set(app.config["SESSION_COOKIE_NAME"], cookie)
    _assert_nothing_opens(jar.get(c.session_url), c)


# -- the access log ----------------------------------------------------------------------------------

def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_gunicorn_access_log_has_no_session_ids_or_tokens(app, tmp_path):
    """gunicorn (its real config) serves the tool; a cookieless session's pages, a registration
    link and a login are requested; the access log names none of their secrets."""
    env = {**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": app.config["DATABASE_URL"],
           "KEYS_DIR": app.config["KEYS_DIR"], "SECRET_KEY": app.config["SECRET_KEY"],
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    port = _free_port()
    out, err = open(tmp_path / "out.log", "w+"), open(tmp_path / "err.log", "w+")
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                 "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    p = None
    try:
        deadline = time.time() + 30
        while not _up(base) and time.time() < deadline:
            time.sleep(0.2)
        p = PlatformServer(base)
        register(app, p)
        c = cookieless_launch(p)
        assert requests.get(c.first_url, headers={"Referer": c.first_url}).status_code == 200
        ticket = _ticket(c) if c.secret else "no-ticket"
        requests.get(c.session_url, params={"_pt": ticket})
        requests.get(c.session_url)  # the URL alone, as an outsider
        requests.get(base + "/lti/register/reg-link-token-0123456789")
        requests.get(base + "/lti/register", params={"registration_token": "reg-token-abcdef",
                                                     "openid_configuration": p.issuer + "/.well-known/x"})
    finally:
        gunicorn.terminate()
        gunicorn.wait(15)
        if p is not None:
            p.stop()
    logged = (tmp_path / "out.log").read_text() + (tmp_path / "err.log").read_text()
    sid = _sid(c)
    first_ticket = parse_qs(urlsplit(c.first_url).query).get("_pt", ["no-ticket"])[0]
    assert "/s/[sid]/" in logged and "_pt=[redacted]" in logged, logged[-2000:]
    for secret in (sid, ticket, first_ticket, "reg-link-token-0123456789", "reg-token-abcdef", c.spec.user_id):
        assert secret not in logged, secret
    assert "/lti/register/[token]" in logged and "registration_token=[redacted]" in logged
