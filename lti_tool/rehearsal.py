"""Complete launches rehearsed at start-up, inside one database transaction that is rolled back.

What the warm-up cannot load by itself is SQLAlchemy's compiled form of each statement a launch and
its first page run (compiled on first use, per process: ~15-20 ms of a worker's first launch). A
rehearsal runs the real requests (OIDC login, a signed id_token, the launch, the course home and an
activity page) through the app in the master, as the sandbox does, against a throwaway platform made
in the same transaction: the compiled statements stay in the engine's cache, which the forked workers
inherit, and nothing reaches the database (every commit inside is kept from the outer transaction,
which is rolled back). Rate limits are off meanwhile (the limiter writes on a connection of its own).
"""
from __future__ import annotations

import logging
import secrets
import time
from typing import NamedTuple
from weakref import WeakKeyDictionary
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, url_for

from .lti.keys import new_key
from .lti.launch import STATE_COOKIE_PREFIX
from .lti.state import state_id
from .models import ACTIVE, Deployment, Platform
from .sandbox.platform import LaunchSpec, PlatformSetup, build_launch, login_initiation_url

log = logging.getLogger(__name__)

ISSUER = "https://rehearsal.invalid"  # never resolvable: nothing is ever fetched from it
# The rehearsal's platform ID, which a kept launch's state names. The database gives positive IDs, so it
# never meets a real registration's (SQLite would give a rolled-back row's ID to the next platform).
PLATFORM_ID = -1
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


_setups: WeakKeyDictionary[Flask, PlatformSetup] = WeakKeyDictionary()


def _setup(app: Flask) -> PlatformSetup:
    # Made once per app and process (a new RSA key is 50-100 ms of CPU); forked workers inherit the master's.
    if app not in _setups:
        _setups[app] = _make_setup(app)
    return _setups[app]


def _make_setup(app: Flask) -> PlatformSetup:
    with app.test_request_context("/"):
        return PlatformSetup(issuer=ISSUER, client_id="rehearsal", deployment_id="rehearsal",
                             private_pem=new_key().private_pem, tool_login_url=url_for("lti.login", _external=True),
                             tool_launch_url=url_for("lti.launch", _external=True),
                             tool_jwks=app.extensions["keystore"].jwks())


def _register(app: Flask, setup: PlatformSetup) -> None:
    with app.app_context():
        session = app.extensions["db_session"]()
        platform = Platform(id=PLATFORM_ID, name="Start-up rehearsal", issuer=ISSUER, client_id=setup.client_id,
                            status=ACTIVE, registered_via="rehearsal", auth_login_url=ISSUER + "/auth",
                            auth_token_url=ISSUER + "/token", key_set=setup.jwks())
        session.add(platform)
        session.flush()
        session.add(Deployment(platform_id=PLATFORM_ID, deployment_id=setup.deployment_id, status=ACTIVE))
        session.commit()  # kept from the outer transaction (rollback_only)
        app.extensions["db_session"].remove()


class _Signed(NamedTuple):
    made_at: float
    secret_key: str  # what signed the login's state
    form: dict
    cookie_name: str
    cookie_value: str


# The signed launch (its form and the state cookie that goes with it) of the last rehearsal that signed
# one: a worker's rehearsal posts it again, within its own rolled-back transaction, rather than sign a
# new token (the platform side's signing parses its PEM key each time: ~55 ms of CPU, in every worker at once).
_signed: WeakKeyDictionary[Flask, _Signed] = WeakKeyDictionary()
REUSE_SIGNED_SECONDS = 60  # well within the token's and the state's lifetimes


def _kept_launch(app: Flask) -> _Signed | None:
    kept = _signed.get(app)
    if kept is None or time.monotonic() - kept.made_at >= REUSE_SIGNED_SECONDS or kept.secret_key != app.secret_key:
        return None
    return kept


def _launch(app: Flask, setup: PlatformSetup, kept: _Signed | None, programme: str,
            activity: str | None) -> None:
    client = app.test_client()
    spec = LaunchSpec(user_id="rehearsal-" + secrets.token_hex(4), roles=[LEARNER], name="Start-up Rehearsal",
                      context_id="rehearsal", context_title="Rehearsal", resource_link_id="rehearsal",
                      resource_link_title="Rehearsal", custom={"npq_programme": programme})
    login = urlsplit(login_initiation_url(setup, spec.user_id, secrets.token_hex(4)))
    answer = client.get(f"{login.path}?{login.query}")
    if answer.status_code != 302:
        raise RuntimeError(f"login answered {answer.status_code}")
    if kept is not None:
        form = kept.form
        client.set_cookie(kept.cookie_name, kept.cookie_value, path="/lti/")
    else:
        signed = build_launch(setup, dict(parse_qsl(urlsplit(answer.headers["Location"]).query)), spec)
        form = {"id_token": signed["id_token"], "state": signed["state"]}
        cookie_name = STATE_COOKIE_PREFIX + state_id(signed["state"])
        cookie = client.get_cookie(cookie_name, path="/lti/")
        if cookie is not None:
            _signed[app] = _Signed(time.monotonic(), app.secret_key, form, cookie_name, cookie.value)
    answer = client.post("/lti/launch", data=form)
    if answer.status_code != 303:
        raise RuntimeError(f"launch answered {answer.status_code}")
    home = answer.headers["Location"]
    pages = [home] + ([home.rsplit("/", 1)[0] + f"/activities/{programme}/{activity}"] if activity else [])
    for page in pages:
        answer = client.get(page)
        if answer.status_code != 200:
            raise RuntimeError(f"{page.split('/')[-1]} answered {answer.status_code}")


def rehearse(app: Flask, programmes: dict, keep_connection: bool = False) -> bool:
    """Rehearse a learner's launch into a programme's course home and its first activity (the
    statements are the same for every programme); True when every request answered as a real one
    would. Never fails start-up. With `keep_connection` (a worker's own rehearsal), the connection it
    used goes back to the pool warm: on PostgreSQL, a new connection's server process reads the
    catalogue of every table and index on its first statements over them."""
    engine = app.extensions["db_engine"]
    scoped = app.extensions["db_session"]
    factory = scoped.session_factory
    saved = {k: factory.kw.get(k) for k in ("bind", "join_transaction_mode")}
    limits = app.config.get("RATE_LIMITS_ENABLED", True)
    conn = None
    try:
        setup = _setup(app)
        conn = engine.connect()
        conn.begin()
        scoped.remove()
        factory.configure(bind=conn, join_transaction_mode="rollback_only")
        app.config["RATE_LIMITS_ENABLED"] = False
        kept = _kept_launch(app)
        _register(app, setup)
        code, programme = next(((c, p) for c, p in programmes.items() if p.activities), (None, None))
        if code is None:
            return False
        _launch(app, setup, kept, code, next(iter(programme.activities)))
        return True
    except Exception as exc:  # a warm-up, not a check: the workers start regardless
        log.warning("start-up rehearsal stopped: %s: %s", type(exc).__name__, exc)
        return False
    finally:
        scoped.remove()
        if conn is not None:
            if conn.in_transaction():
                conn.rollback()
            conn.close()
        for key, value in saved.items():
            if value is None:
                factory.kw.pop(key, None)
            else:
                factory.kw[key] = value
        app.config["RATE_LIMITS_ENABLED"] = limits
        if not keep_connection:
            engine.dispose()  # no connection of the master's is inherited by a worker
