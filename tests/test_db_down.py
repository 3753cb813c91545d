"""The database going away while the tool runs: every kind of request (pages, autosave JSON, a
page opened without cookies, /lti/login, /lti/launch, admin pages, the health check) answers the
503 page with Retry-After, never a 500, logs one line without secrets, and the tool recovers when
the database is back. On a PostgreSQL server of the test's own, stopped by the test, and on an
SQLite database whose folder disappears."""
from __future__ import annotations

import glob
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from lti_tool import create_app
from lti_tool.cli import create_admin, upgrade_database

from .browser import Browser, csrf_token
from .conftest import learner, register
from .platform_server import PlatformServer, ServerThread


# -- A PostgreSQL server of the test's own (the one of scripts/with-postgres.sh is shared) ------

def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


class OwnPostgres:
    """initdb + pg_ctl in a temporary folder, on 127.0.0.1 and a free port; stop() and start()
    are what a database restart or outage does to the tool."""

    def __init__(self):
        self.bin = _pg_bin()
        # Under /tmp, not pytest's tmp_path: the postgres user must reach it when run as root.
        self.dir = folder = Path(tempfile.mkdtemp(prefix="npq-pg-down."))
        self.run_as = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(folder, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._pg("initdb", "-D", str(folder / "data"), "-U", "npq", "--auth=trust", "-E", "UTF8")
        self.start()
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "npq", "npq_down")
        self.url = f"postgresql+psycopg://npq@127.0.0.1:{self.port}/npq_down"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run([*self.run_as, f"{self.bin}/{tool}", *args], check=True, capture_output=True)

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o",
                 f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:  # stopped already
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# -- The tool, on a database the test controls ---------------------------------------------

def _served_tool(url: str, tmp_path: Path):
    app = create_app({"CONFIG_NAME": "test", "DATABASE_URL": url, "KEYS_DIR": str(tmp_path / "keys"),
                      "SECRET_KEY": "x" * 32, "DB_PING_AFTER_IDLE_SECONDS": 3600,
                      # As in production: errors raised outside the views (opening the session)
                      # reach the error handlers instead of the test server.
                      "PROPAGATE_EXCEPTIONS": False})
    with app.app_context():
        upgrade_database()
    server = ServerThread(app)
    server.start()
    platform = PlatformServer(server.url)
    register(app, platform)
    return app, server, platform


def _before_the_outage(app, server, platform) -> dict:
    """A participant with an activity open (autosave), an admin signed in, a login the platform
    has answered (its launch is posted during the outage)."""
    participant = Browser()
    page = participant.launch(platform, learner(custom={"npq_item": "NPQSL/sc-reading"}))
    assert page.status_code == 200
    qid = re.search(r'name="answer-([a-z0-9-]+)"', page.text).group(1)
    name, password = "down-" + secrets.token_hex(3), secrets.token_urlsafe(12)
    with app.app_context():
        create_admin(name, password)
    admin = Browser()
    form = admin.http.get(server.url + "/admin/login")
    signed_in = admin.http.post(server.url + "/admin/login", data={
        "username": name, "password": password, "csrf_token": csrf_token(form.text)})
    assert signed_in.status_code == 200
    launcher = Browser()
    launch = platform.authorize(launcher.begin_login(platform, learner()))
    return {"participant": participant, "page": page, "qid": qid, "admin": admin, "launcher": launcher,
            "launch": launch}


def _requests_during_the_outage(server, platform, before) -> dict[str, requests.Response]:
    page = before["page"]
    draft = page.url.rstrip("/") + "/draft"
    json_headers = {"X-CSRFToken": csrf_token(page.text), "Accept": "application/json"}
    launch = before["launch"]
    return {
        "page": before["participant"].http.get(page.url),
        "autosave (JSON)": before["participant"].http.post(
            draft, json={"answers": {before["qid"]: "during the outage"}, "version": 0}, headers=json_headers),
        "page without cookies (session opened from the URL)": Browser().http.get(page.url),
        "home": Browser().http.get(server.url + "/"),
        "/lti/login": Browser().http.get(platform.login_url(learner()), allow_redirects=False),
        "/lti/launch": before["launcher"].post_launch(launch["launch_url"], launch["id_token"], launch["state"]),
        "admin page": before["admin"].http.get(server.url + "/admin/"),
        "health check": requests.get(server.url + "/healthz"),
    }


def _assert_all_503(answers: dict[str, requests.Response]) -> None:
    statuses = {label: resp.status_code for label, resp in answers.items()}
    assert set(statuses.values()) == {503}, statuses
    for label, resp in answers.items():
        assert resp.headers.get("Retry-After") == "30", label
        if resp.headers["Content-Type"].startswith("text/html"):
            assert "briefly unavailable" in resp.text and "Nothing was saved" in resp.text, label
            assert "frame-ancestors" not in resp.headers["Content-Security-Policy"], label
        else:
            body = resp.json()
            assert body.get("error") == "The service is briefly unavailable" or body.get("status") == "unavailable", label
    assert answers["autosave (JSON)"].headers["Content-Type"].startswith("application/json")


def _assert_logged_once_without_secrets(records: list[logging.LogRecord], before: dict) -> None:
    lines = [r for r in records if r.name == "lti_tool.web" and "database unavailable" in r.getMessage()]
    assert len(lines) == 7, [r.getMessage() for r in lines]  # one per request (the health check logs none)
    assert not any(r.exc_info for r in records if r.levelno >= logging.ERROR), "a traceback was logged"
    secrets_seen = [before["launch"]["id_token"], before["launch"]["state"]]
    for record in records:
        text = record.getMessage() + str(record.exc_info or "")
        assert not any(s in text for s in secrets_seen), record.getMessage()


def _outage(app, server, platform, caplog, go_down, come_back) -> None:
    before = _before_the_outage(app, server, platform)
    go_down()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        answers = _requests_during_the_outage(server, platform, before)
    _assert_all_503(answers)
    _assert_logged_once_without_secrets(caplog.records, before)
    come_back()
    deadline = time.time() + 20
    while before["participant"].http.get(before["page"].url).status_code != 200:
        assert time.time() < deadline, "the tool did not recover"
        time.sleep(0.2)
    saved = before["participant"].http.post(
        before["page"].url.rstrip("/") + "/draft", json={"answers": {before["qid"]: "after"}, "version": 0},
        headers={"X-CSRFToken": csrf_token(before["page"].text), "Accept": "application/json"})
    assert saved.status_code == 200  # nothing half-written during the outage


@pytest.mark.skipif(_pg_bin() is None, reason="PostgreSQL binaries (initdb, pg_ctl) are not installed")
def test_postgresql_stopped_gives_503_everywhere_then_recovers(tmp_path, caplog):
    pg = OwnPostgres()
    try:
        app, server, platform = _served_tool(pg.url, tmp_path)
        try:
            _outage(app, server, platform, caplog, pg.stop, pg.start)
        finally:
            platform.stop()
            server.stop()
            app.extensions["db_engine"].dispose()
    finally:
        pg.destroy()


def test_sqlite_file_gone_gives_503_everywhere_then_recovers(tmp_path, caplog):
    folder = tmp_path / "db"
    folder.mkdir()
    app, server, platform = _served_tool(f"sqlite:///{folder / 'tool.sqlite3'}", tmp_path)

    def go_down():
        folder.rename(tmp_path / "db-away")  # the volume unmounted, the folder removed
        app.extensions["db_engine"].dispose()  # and the pooled connections closed, as a restart does

    try:
        _outage(app, server, platform, caplog, go_down, lambda: (tmp_path / "db-away").rename(folder))
    finally:
        platform.stop()
        server.stop()
