"""Start-up work (lti_tool/warmup.py) and gunicorn's preloaded workers (gunicorn.conf.py): the first
person after a deploy meets a warm worker, and every launch check still holds across workers."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from lti_tool import fragments
from lti_tool.assessment import pack as assessment_pack
from lti_tool.content import reload as pack_reload
from lti_tool.warmup import warm_up

from .browser import Browser, forms
from .conftest import learner, register
from .platform_server import PlatformServer

ROOT = Path(__file__).resolve().parent.parent


def _row_counts(app) -> dict:
    from sqlalchemy import func, select

    from lti_tool.db import db
    from lti_tool.models import Course, Deployment, Enrolment, LaunchSession, LaunchState, Person, Platform

    with app.app_context():
        counts = {m.__name__: db().scalar(select(func.count()).select_from(m))
                  for m in (Platform, Deployment, Course, Person, Enrolment, LaunchState, LaunchSession)}
        db().rollback()
    return counts


def test_warm_up_does_the_first_requests_one_off_work_and_writes_nothing(app, caplog):
    before = _row_counts(app)
    with caplog.at_level("INFO", logger="lti_tool"):
        took = warm_up(app)
    assert set(took) >= {"imports", "packs", "assessment packs", "templates", "fragments", "keys", "rehearsal"}
    assert "rehearsal stopped" not in caplog.text  # the rehearsed launch answered as a real one
    assert "lti launch: platform=" in caplog.text
    # The rehearsal's platform, course, person and sessions were made in a transaction rolled back.
    assert _row_counts(app) == before
    assert pack_reload._load_cached.cache_info().currsize >= 1
    assert assessment_pack._load_cached.cache_info().currsize >= 1
    with app.app_context():
        from lti_tool.content import catalogue

        programmes = catalogue()
    # Every programme's framework section is rendered, for the pack now loaded.
    for code, programme in programmes.items():
        cached = fragments._cache[("activities/_framework.html", code)]
        assert cached[0] is programme and 'id="framework"' in cached[1]
    compiled = {name for (_, name) in app.jinja_env.cache.keys()}
    assert {"activities/programme.html", "lti/error.html", "base.html"} <= compiled


def test_warm_up_builds_every_programmes_course_home_pieces_and_parses_platform_keys(app, platform):
    """Not only the rehearsed programme's: a worker's first launch into any programme finds its course
    home's pieces built, and the registered platforms' keys parsed."""
    from sqlalchemy import delete

    from lti_tool.db import db
    from lti_tool.lti import platform_keys
    from lti_tool.lti.keys import new_key
    from lti_tool.models import ACTIVE, Platform

    assert Browser().launch(platform, learner()).status_code == 200  # its key set is now in the database
    # More registrations than the parsed-key cache holds, with keys given at registration and none fetched:
    # the platform whose key set was fetched last (the one launching now) is parsed first.
    fixed = {"keys": [{**new_key().public_jwk, "alg": "RS256"}]}
    with app.app_context():
        # (IDs below every real one, so that they would come first in the order of registration)
        db().add_all(Platform(id=-1000 - n, name=f"Other {n}", issuer=f"https://other-{n}.example", client_id="c", status=ACTIVE,
                              auth_login_url="https://other.example/login", auth_token_url="https://other.example/t",
                              key_set=fixed) for n in range(platform_keys._parsed.cache_info().maxsize + 6))
        db().commit()
    platform_keys._parsed.cache_clear()  # as in a new process
    fragments._heads.clear()
    try:
        took = warm_up(app, rehearse_launch=False)
    finally:
        with app.app_context():
            db().execute(delete(Platform).where(Platform.issuer.like("https://other-%.example")))
            db().commit()
    assert "platform keys" in took
    assert platform_keys._parsed.cache_info().currsize >= 1  # the registered test platform's key
    # The launch finds that parsed key: no parse on the first launch from the platform.
    misses = platform_keys._parsed.cache_info().misses
    page = Browser().launch(platform, learner())
    assert page.status_code == 200
    assert platform_keys._parsed.cache_info().misses == misses
    with app.app_context():
        from lti_tool.content import catalogue

        programmes = catalogue()
    for code, programme in programmes.items():
        assert fragments._heads[code][0] is programme
        assert "coverage_units" in vars(programme)  # a cached_property, computed


def test_a_workers_warm_up_stores_nothing_and_keeps_its_warm_connection(app, caplog):
    from lti_tool.warmup import warm_worker

    before = _row_counts(app)
    engine = app.extensions["db_engine"]
    engine.dispose()
    with caplog.at_level("DEBUG", logger="lti_tool"):
        warm_worker(app)
    assert "stopped" not in caplog.text  # neither the rehearsal (PostgreSQL) nor the warm-up stopped early
    assert _row_counts(app) == before  # refused, or rolled back: nothing stored
    # The connection that ran it is back in the pool, warm, for the first request.
    assert engine.pool.checkedin() >= 1


def test_the_framework_page_shows_the_cached_framework_and_the_programme_page_links_to_it(platform):
    browser = Browser()
    page = browser.launch(platform, learner())
    assert page.status_code == 200
    # The programme page stays light: the framework's full text is a page of its own.
    assert "Read the framework" in page.text and "framework-area" not in page.text
    assert len(page.content) < 40_000
    framework = browser.http.get(page.url.rsplit("/", 1)[0] + "/framework")
    assert framework.status_code == 200
    assert 'id="framework"' in framework.text and "Learn that" in framework.text
    # Rendered once, shown to the next person as it is.
    other = Browser()
    second = other.launch(platform, learner(name="Ben Okafor"))
    again = other.http.get(second.url.rsplit("/", 1)[0] + "/framework")
    assert again.status_code == 200
    section = framework.text[framework.text.index('<section aria-labelledby="framework">'):]
    assert section.split("</section>")[0] in again.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_preloaded_gunicorn_workers_launch_and_keep_nonces_single_use(app, tmp_path):
    """gunicorn with its real configuration (the app loaded and warmed up in the master, workers
    forked from it): launches on new connections reach both workers, each opening its own database
    connections; a replayed launch is refused by whichever worker it reaches."""
    env = {**os.environ, "NPQ_CONFIG": "test", "DATABASE_URL": app.config["DATABASE_URL"],
           "KEYS_DIR": app.config["KEYS_DIR"], "SECRET_KEY": app.config["SECRET_KEY"],
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}
    port = _free_port()
    err_path = tmp_path / "err.log"
    with open(tmp_path / "out.log", "w") as out, open(err_path, "w") as err:
        gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                     "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                                    stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    p = None
    try:
        deadline = time.time() + 60
        while not _up(base) and time.time() < deadline:
            time.sleep(0.2)
        p = PlatformServer(base)
        register(app, p)
        for n in range(6):  # a new browser (new connections) each time
            page = Browser().launch(p, learner(name=f"Person{n} Tester"))
            assert page.status_code == 200, page.text[:500]
            assert 'id="framework"' in page.text
        browser = Browser()
        args = browser.begin_login(p, learner())
        form = forms(browser.http.get(p.issuer + "/auth", params=args).text)[0]
        first = browser.http.post(form.action, data=form.fields, allow_redirects=False)
        assert first.status_code == 303
        replays = [browser.http.post(form.action, data=form.fields, allow_redirects=False) for _ in range(4)]
        assert all(r.status_code == 400 and "already used" in r.text for r in replays)
        # Each worker warmed itself (lti_tool.warmup.warm_worker: on SQLite with requests that are refused):
        # it stored nothing (the launches above found one used state each) and logged no refusal.
        assert "warm-up.invalid" not in err_path.read_text()
    finally:
        gunicorn.terminate()
        gunicorn.wait(20)
        if p is not None:
            p.stop()
    logged = err_path.read_text()
    assert "warm-up done" in logged, logged[-2000:]
    assert "Traceback" not in logged and "rehearsal stopped" not in logged, logged[-3000:]
    assert "worker warm-up stopped" not in logged, logged[-3000:]


def test_a_platform_registered_after_a_rehearsal_never_meets_the_next_rehearsals_rows(app, caplog):
    """SQLite gives a rolled-back row's ID to the next row, and a worker's rehearsal posts the master's kept
    launch again: the rehearsal's platform has an ID of its own that the database never gives."""
    from sqlalchemy import delete, select

    from lti_tool.content import catalogue
    from lti_tool.db import db
    from lti_tool.models import ACTIVE, Platform
    from lti_tool.rehearsal import ISSUER, PLATFORM_ID, rehearse

    with app.app_context():
        programmes = catalogue()
    assert rehearse(app, programmes)
    with app.app_context():
        since = Platform(name="Registered since", issuer="https://since.example", client_id="since", status=ACTIVE,
                         auth_login_url="https://since.example/login", auth_token_url="https://since.example/token")
        db().add(since)
        db().commit()
        since_id = since.id
    try:
        assert since_id > 0
        with caplog.at_level("WARNING", logger="lti_tool"):
            assert rehearse(app, programmes)
        assert "rehearsal stopped" not in caplog.text
        with app.app_context():
            assert db().get(Platform, since_id).issuer == "https://since.example"
            assert db().scalar(select(Platform.id).where(Platform.id == PLATFORM_ID)) is None
            assert db().scalar(select(Platform.id).where(Platform.issuer == ISSUER)) is None
            db().rollback()
    finally:
        with app.app_context():
            db().execute(delete(Platform).where(Platform.id == since_id))
            db().commit()
