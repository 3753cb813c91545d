"""Smaller hardening items, end to end: personal data is never cached, /lti/login is rate limited
per client address, expired rows are purged by the grade worker, the SQLite file is private."""
from __future__ import annotations

import os
import random
import re
import secrets
import stat
import time
from datetime import timedelta

import pytest
from requests.adapters import HTTPAdapter
from sqlalchemy import func, select, text

from lti_tool import create_app
from lti_tool.cli import create_admin, upgrade_database
from lti_tool.db import db, utcnow
from lti_tool.models import AdminUser, LaunchState
from lti_tool.security_models import AdminSession, PageTicket, RateCounter

from .browser import Browser, csrf_token
from .conftest import instructor, learner
from .test_delivery import _schedule_webinar, _tutor
from .test_writeups import RISK, _open, _post, _row_ids


# -- Cache-Control ----------------------------------------------------------------------------

def _personal_responses(app, tool, platform) -> dict:
    """Pages, JSON and exports with names, work and marks in them, as their users get them."""
    out = {}
    participant, _, page = _open(platform, "NPQSL/risk-assessment")
    base = page.url.split("/s/")[0]
    row = _row_ids(page, "risks")[0]
    out["participant write-up"] = _post(participant, page, {f"t.risks.{row}.{k}": v for k, v in RISK.items()})
    out["participant programme"] = participant.http.get(re.sub(r"/activities/.*|/writeups/.*", "/programme", page.url))
    out["autosave JSON"] = participant.http.post(page.url + "/draft", json={"pairs": [], "version": 99},
                                                 headers={"X-CSRFToken": csrf_token(page.text)})
    history = participant.http.get(page.url + "/history")
    pdf = re.search(r'href="([^"]+/export/\d+\.pdf)"', history.text).group(1)
    out["PDF export"] = participant.http.get(base + pdf)
    out["Word export"] = participant.http.get(base + pdf.replace(".pdf", ".docx"))
    ctx = "cache-" + secrets.token_hex(4)
    tutor, tbase = _tutor(platform, ctx)
    out["tutor dashboard"] = tutor.http.get(tbase + "dashboard")
    out["CSV export"] = tutor.http.get(tbase + "dashboard.csv")
    _schedule_webinar(tutor, tbase)
    listing = tutor.http.get(tbase + "webinars")
    out["calendar export"] = tutor.http.get(base + re.search(r'href="([^"]+\.ics)"', listing.text).group(1))
    out["launch redirect"] = _launch_response(platform)
    out["signed-out page (401)"] = Browser().http.get(page.url)
    out["LTI error page"] = Browser().http.get(tool.url + "/lti/login", params={"login_hint": "x"})
    name, password = "cache-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    admin = Browser()
    form = admin.http.get(tool.url + "/admin/login")
    out["admin sign-in page"] = form
    out["admin home"] = admin.http.post(tool.url + "/admin/login", allow_redirects=True, data={
        "username": name, "password": password, "csrf_token": csrf_token(form.text)})
    return out


def _launch_response(platform):
    b = Browser()
    launch = platform.authorize(b.begin_login(platform, instructor()))
    return b.post_launch(launch["launch_url"], launch["id_token"], launch["state"], allow_redirects=False)


def test_personal_data_is_never_cached_but_static_files_and_keys_are(app, tool, platform):
    for label, resp in _personal_responses(app, tool, platform).items():
        assert resp.status_code < 500, (label, resp.status_code)
        directives = {d.strip() for d in resp.headers.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives, (label, resp.headers.get("Cache-Control"))
    for path in ("/static/app.css", "/lti/jwks.json", "/lti/config/canvas.json"):
        resp = Browser().http.get(tool.url + path)
        assert resp.status_code == 200 and "no-store" not in resp.headers.get("Cache-Control", ""), path
    assert "max-age=300" in Browser().http.get(tool.url + "/lti/jwks.json").headers["Cache-Control"]


# -- /lti/login rate limit --------------------------------------------------------------------

class _FromAddress(HTTPAdapter):
    """Connect from a given loopback address (127.0.0.0/8 is all local on Linux): a client of
    its own, as the tool sees it, without trusting any forwarded header."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _client_at(address: str) -> Browser:
    b = Browser()
    b.http.mount("http://", _FromAddress(address))
    return b


def _fresh_address() -> str:
    # A loopback address no other test used: rate-limit windows are shared by every request.
    return f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(2, 254)}"


def _states(app, platform) -> int:
    with app.app_context():
        return db().scalar(select(func.count()).select_from(LaunchState).where(LaunchState.platform_id == platform.db_id))


def test_a_flood_of_anonymous_logins_stores_nothing(app, tool, platform, monkeypatch):
    # The login is anonymous: anyone can start thousands. Its state is signed, not stored, so they
    # leave no rows behind (no state rows, no rate-limit counters), and each still works.
    monkeypatch.setitem(app.config, "RATE_LIMITS_ENABLED", True)
    school = _client_at(_fresh_address())
    before = _states(app, platform), _counters(app)
    states = {school.begin_login(platform, learner())["state"] for _ in range(200)}
    assert len(states) == 200
    assert (_states(app, platform), _counters(app)) == before
    launch = platform.authorize(school.begin_login(platform, learner()))
    assert school.post_launch(launch["launch_url"], launch["id_token"], launch["state"]).status_code == 200
    assert _states(app, platform) == before[0] + 1  # a launch records its state as used


def _counters(app) -> int:
    with app.app_context():
        return db().scalar(select(func.count()).select_from(RateCounter))


def test_quick_start_has_no_rate_limits_and_production_has(tmp_path, monkeypatch):
    monkeypatch.delenv("RATE_LIMITS_ENABLED", raising=False)
    common = {"DATABASE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}", "KEYS_DIR": str(tmp_path / "keys"),
              "SECRET_KEY": "x" * 32}
    assert create_app({**common, "CONFIG_NAME": "quickstart"}).config["RATE_LIMITS_ENABLED"] is False
    production = create_app({**common, "CONFIG_NAME": "production"}).config
    assert production["RATE_LIMITS_ENABLED"] is True and production["REGISTRATION_RATE_LIMIT"]


# -- Purging expired rows ---------------------------------------------------------------------

def test_grade_worker_purges_expired_states_counters_tickets_and_old_admin_sessions(app, platform, dbs):
    page = Browser().launch(platform, learner())
    sid = re.search(r"/s/([^/]+)/", page.url).group(1)
    create_admin("purge-" + secrets.token_hex(3), secrets.token_urlsafe(12))
    admin_id = dbs.scalar(select(AdminUser.id).order_by(AdminUser.id.desc()).limit(1))
    # Expired rows go once the session retention period (RETENTION_SESSION_DAYS, 7) has passed.
    past, future, tag = utcnow() - timedelta(days=8), utcnow() - timedelta(days=6), secrets.token_hex(6)
    rows = {
        "launch_state": [LaunchState(state=f"old-{tag}", nonce=f"n-old-{tag}", platform_id=platform.db_id,
                                     browser_binding="b", expires_at=past),
                         LaunchState(state=f"new-{tag}", nonce=f"n-new-{tag}", platform_id=platform.db_id,
                                     browser_binding="b", expires_at=future)],
        "rate_counter": [RateCounter(key=f"old-{tag}", window=1, count=1, expires_at=past),
                         RateCounter(key=f"new-{tag}", window=1, count=1, expires_at=future)],
        "page_ticket": [PageTicket(id=f"old-{tag}", session_id=sid, expires_at=past),
                        PageTicket(id=f"new-{tag}", session_id=sid, expires_at=future)],
        "admin_session": [AdminSession(id=f"old-{tag}", admin_id=admin_id, expires_at=past,
                                       created_at=utcnow() - timedelta(days=9), last_seen_at=utcnow() - timedelta(days=9)),
                          AdminSession(id=f"new-{tag}", admin_id=admin_id, expires_at=future, ended_at=future)],
    }
    for group in rows.values():
        dbs.add_all(group)
    dbs.commit()
    result = app.test_cli_runner().invoke(args=["grades", "work", "--once", "--threads", "1"])
    assert result.exit_code == 0, result.output
    dbs.expire_all()
    for model, key in ((LaunchState, LaunchState.state), (RateCounter, RateCounter.key),
                       (PageTicket, PageTicket.id), (AdminSession, AdminSession.id)):
        left = set(dbs.scalars(select(key).where(key.like(f"%-{tag}"))))
        assert left == {f"new-{tag}"}, (model.__tablename__, left)


# -- The SQLite file ------------------------------------------------------------------------

def test_new_sqlite_database_and_its_wal_files_are_private(tmp_path):
    os.umask(0o022)  # a usual umask: files 0644 unless the tool says otherwise
    path = tmp_path / "fresh.sqlite3"
    app = create_app({"CONFIG_NAME": "test", "DATABASE_URL": f"sqlite:///{path}", "KEYS_DIR": str(tmp_path / "keys"),
                      "SECRET_KEY": "x" * 32})
    with app.app_context():
        upgrade_database()
        db().execute(text("SELECT count(*) FROM platform")).scalar()  # open in WAL mode: -wal and -shm
        for name in (path, f"{path}-wal", f"{path}-shm"):
            assert os.path.exists(name), name
            assert stat.S_IMODE(os.stat(name).st_mode) == 0o600, (name, oct(os.stat(name).st_mode))
    assert stat.S_IMODE(os.stat(app.instance_path).st_mode) == 0o700


def test_existing_world_readable_sqlite_file_is_tightened(tmp_path):
    path = tmp_path / "old.sqlite3"
    path.touch()
    path.chmod(0o644)
    create_app({"CONFIG_NAME": "test", "DATABASE_URL": f"sqlite:///{path}", "KEYS_DIR": str(tmp_path / "keys"),
                "SECRET_KEY": "x" * 32})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.fixture(autouse=True)
def _keep_umask():
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def test_admin_ids_too_large_for_the_database_are_not_found(app, tool):
    """An id past what a database row can have, in an admin URL: a 404 page, not a 500 (SQLite
    cannot even bind it; PostgreSQL refuses it as out of range)."""
    from .admin_support import new_admin, signed_in

    name, password = new_admin(app, "huge")
    http = signed_in(tool, name, password)
    huge = "9" * 30
    for path in (f"/admin/platforms/{huge}", f"/admin/platforms/{huge}/edit"):
        resp = http.get(tool.url + path)
        assert resp.status_code in (400, 404), (path, resp.status_code)
        assert "Internal" not in resp.text and "Something went wrong" not in resp.text
