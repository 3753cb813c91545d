"""Faults: platform endpoints down or slow, the database briefly unavailable, a worker killed in
the middle of saving, oversized requests."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from lti_tool.db import db, utcnow
from lti_tool.grades.delivery import deliver_due
from lti_tool.models import GradeOutbox, Platform

from .browser import Browser, csrf_token
from .conftest import learner, register
from .platform_server import PlatformServer, ServerThread
from .test_writeups import _open, _post, _row_ids, _wait, RISK

ROOT = Path(__file__).resolve().parent.parent


def test_platform_jwks_down_gives_clear_page(platform, browser):
    platform.faults["jwks_down"] = True
    page = browser.launch(platform, learner())
    assert page.status_code == 502 and "keys could not be reached" in page.text


def test_platform_jwks_slow_is_bounded(platform, browser):
    platform.faults["jwks_slow"] = 6  # longer than the tool's read timeout (2 s in tests)
    started = time.time()
    page = browser.launch(platform, learner())
    assert page.status_code == 502 and time.time() - started < 5.5


def test_slow_key_set_costs_one_short_wait_then_launches_fail_fast(platform, app, dbs, monkeypatch):
    """Production timeouts: (5, 15) for platform calls, (3, 5) for a key-set fetch during a launch.
    The first launch waits the short timeout; the next ones, within the backoff, do not ask the
    platform again; once the backoff is over, a recovered platform works."""
    monkeypatch.setitem(app.config, "HTTP_TIMEOUT", (5, 15))
    platform.faults["jwks_slow"] = 8
    started = time.time()
    first = Browser().launch(platform, learner())
    assert first.status_code == 502 and "keys could not be reached" in first.text
    assert time.time() - started < 7.5  # the 5 s read timeout, not the platform's 8 s
    for _ in range(3):
        again = Browser().launch(platform, learner())
        assert again.status_code == 502 and "will ask it again after" in again.text
    assert platform.received.jwks_fetches == 1
    platform.faults.clear()
    row = dbs.get(Platform, platform.db_id)
    assert row.jwks_last_error and row.jwks_retry_at > utcnow()
    row.jwks_retry_at = utcnow() - timedelta(seconds=1)  # the backoff is over
    dbs.commit()
    assert Browser().launch(platform, learner()).status_code == 200
    assert platform.received.jwks_fetches == 2
    dbs.refresh(row)
    assert row.jwks_retry_at is None and row.jwks_last_error is None


def test_key_set_down_is_asked_once_per_backoff(platform):
    platform.faults["jwks_down"] = True
    for _ in range(4):
        page = Browser().launch(platform, learner())
        assert page.status_code == 502 and "keys could not be reached" in page.text
    assert platform.received.jwks_fetches == 1


def test_key_set_down_after_its_ttl_keeps_using_the_cached_keys(platform, dbs):
    assert Browser().launch(platform, learner()).status_code == 200
    row = dbs.get(Platform, platform.db_id)
    row.jwks_fetched_at = utcnow() - timedelta(days=1)  # older than PLATFORM_JWKS_TTL_SECONDS
    dbs.commit()
    platform.faults["jwks_down"] = True
    for _ in range(3):
        assert Browser().launch(platform, learner()).status_code == 200
    assert platform.received.jwks_fetches == 2  # the first, and one failed refresh


def test_token_endpoint_down_keeps_grades_queued_until_it_returns(platform, app):
    platform.faults["token_down"] = True
    _, spec, page = _open(platform, "NPQSL/action-plan")
    _post(Browser(), page, {}, action="save")  # nothing submitted yet
    from .test_activities import _placed
    b = Browser()
    kc = b.launch(platform, _placed(platform, "NPQSL/sc-check"))
    from lti_tool.content import load_programmes
    from .test_content import PACKS
    activity = load_programmes(PACKS)["NPQSL"].activities["sc-check"]
    data = {"csrf_token": csrf_token(kc.text), "action": "submit"}
    data.update({f"answer-{q.id}": str(q.correct_index) for q in activity.questions})
    assert "You scored" in b.http.post(kc.url, data=data).text
    with app.app_context():
        time.sleep(1)
        entry = db().scalar(select(GradeOutbox).where(GradeOutbox.source == "activity").order_by(GradeOutbox.id.desc()))
        assert entry.status == "pending" and "access token" in (entry.last_error or "")
        platform.faults.clear()
        deadline = time.time() + 20
        while time.time() < deadline and entry.status != "delivered":
            deliver_due()
            db().refresh(entry)
            time.sleep(0.2)
        assert entry.status == "delivered"


def test_database_briefly_unavailable_gives_503_and_no_partial_write(tmp_path, platform):
    """A separate tool instance whose SQLite database is locked by another process's long write."""
    from lti_tool import create_app
    from lti_tool.cli import upgrade_database
    url = f"sqlite:///{tmp_path / 'locked.sqlite3'}"
    app2 = create_app({"CONFIG_NAME": "test", "DATABASE_URL": url, "KEYS_DIR": str(tmp_path / "keys"),
                       "SECRET_KEY": "x" * 32, "DB_BUSY_TIMEOUT_SECONDS": 1})
    with app2.app_context():
        upgrade_database()
    server = ServerThread(app2)
    server.start()
    p = PlatformServer(server.url)
    register(app2, p)
    try:
        b = Browser()
        spec = learner(custom={"npq_item": "NPQSL/sc-reading"})
        page = b.launch(p, spec)
        qid = re.search(r'name="answer-([a-z0-9-]+)"', page.text).group(1)
        url_draft = page.url.rstrip("/") + "/draft"
        headers = {"X-CSRFToken": csrf_token(page.text), "Accept": "application/json"}
        ok = b.http.post(url_draft, json={"answers": {qid: "first"}, "version": 0}, headers=headers)
        assert ok.status_code == 200
        blocker = sqlite3.connect(str(tmp_path / "locked.sqlite3"), timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            busy = b.http.post(url_draft, json={"answers": {qid: "second"}, "version": 1}, headers=headers)
            assert busy.status_code == 503
            assert "Nothing was saved" in busy.json()["detail"] or "unavailable" in busy.json()["error"]
        finally:
            blocker.rollback()
            blocker.close()
        again = b.http.post(url_draft, json={"answers": {qid: "second"}, "version": 1}, headers=headers)
        assert again.status_code == 200 and again.json()["version"] == 2  # the failed save left nothing half-done
    finally:
        p.stop()
        server.stop()


def test_worker_killed_mid_save_keeps_last_autosave(app, tmp_path):
    """gunicorn serving the tool; its worker is killed with SIGKILL while saves stream in."""
    env = {**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": app.config["DATABASE_URL"],
           "KEYS_DIR": app.config["KEYS_DIR"], "SECRET_KEY": app.config["SECRET_KEY"],
           "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                 "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _up(base), timeout=20)
        p = PlatformServer(base)
        register(app, p)
        b = Browser()
        page = b.launch(p, learner(custom={"npq_item": "NPQSL/sc-reading"}))
        qid = re.search(r'name="answer-([a-z0-9-]+)"', page.text).group(1)
        url_draft = page.url.rstrip("/") + "/draft"
        headers = {"X-CSRFToken": csrf_token(page.text), "Accept": "application/json"}
        last_ok = None
        for version in range(0, 5):
            r = b.http.post(url_draft, json={"answers": {qid: f"text {version} " * 500}, "version": version},
                            headers=headers)
            assert r.status_code == 200
            last_ok = version + 1
        workers = _children(gunicorn.pid)
        # Kill the worker while a save is in flight.
        import threading
        t = threading.Thread(target=lambda: _quiet_post(b, url_draft, {"answers": {qid: "in flight " * 2000},
                                                                         "version": last_ok}, headers))
        t.start()
        time.sleep(0.01)
        for w in workers:
            os.kill(w, signal.SIGKILL)
        t.join(10)
        assert _wait(lambda: _up(base), timeout=20)  # the master starts a new worker
        reloaded = b.http.get(page.url)
        assert reloaded.status_code == 200
        text = re.search(r'<textarea[^>]*name="answer-' + qid + r'"[^>]*>([^<]*)</textarea>', reloaded.text).group(1)
        assert text.strip() in (("text 4 " * 500).strip(), ("in flight " * 2000).strip())  # whole, never torn
        p.stop()
    finally:
        gunicorn.terminate()
        gunicorn.wait(10)


def _up(base):
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]


def _quiet_post(b, url, body, headers):
    try:
        b.http.post(url, json=body, headers=headers, timeout=5)
    except requests.RequestException:
        pass


def test_oversized_form_post_is_refused_with_413(platform):
    browser, _, page = _open(platform, "NPQSL/impact-essay")
    resp = browser.http.post(page.url, data={"csrf_token": csrf_token(page.text), "x.context": "y" * (3 * 1024 * 1024)},
                             headers={"Accept": "text/html"})
    assert resp.status_code == 413 and "too large" in resp.text


def _pg_app(tmp_path, ping_after_idle: float):
    """A tool instance of its own on the test PostgreSQL database, its connections named so that
    only they are dropped (the session's other tool shares the server)."""
    from lti_tool import create_app
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (scripts/test.sh runs it in its PostgreSQL pass)")
    name = "npq-faults-" + os.urandom(4).hex()
    app = create_app({"CONFIG_NAME": "test", "DATABASE_URL": url + ("&" if "?" in url else "?") + "application_name=" + name,
                      "KEYS_DIR": str(tmp_path / "keys"), "SECRET_KEY": "x" * 32,
                      "DB_PING_AFTER_IDLE_SECONDS": ping_after_idle})
    return app, name


def _drop_connections(name: str) -> int:
    """What a database restart or a firewall's idle timeout does to a tool's pooled connections."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool
    other = create_engine(os.environ["TEST_DATABASE_URL"], poolclass=NullPool)
    with other.connect() as conn:
        dropped = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE application_name = :name"), {"name": name}).scalar()
    other.dispose()
    return dropped


def test_idle_connection_dropped_by_the_database_is_replaced_unseen(tmp_path):
    app, name = _pg_app(tmp_path, ping_after_idle=0.2)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # a connection now sits in the pool
    time.sleep(0.3)
    assert _drop_connections(name) >= 1
    assert client.get("/healthz").status_code == 200  # tested at checkout, replaced: nobody sees it


def test_busy_connection_dropped_costs_one_503_then_the_pool_recovers(tmp_path):
    app, name = _pg_app(tmp_path, ping_after_idle=3600)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert _drop_connections(name) >= 1
    assert client.get("/healthz").status_code == 503  # the one request on the dead connection
    assert client.get("/healthz").status_code == 200  # SQLAlchemy dropped the pool: fresh connections
