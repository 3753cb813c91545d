"""Start-up work, so that the first person after a deploy waits no longer than the hundredth.

Left to the first request, a worker imports the modules its views import lazily, parses the programme
packs, compiles each template, renders the framework fragments and parses its keys: about half a second
of CPU on the first launch of each worker (measured: 128 ms for the launch, 428 ms for the programme
page). `warm_up` does it once at start-up; gunicorn.conf.py calls it in the master (preload_app), so
every worker is forked warm and shares the memory.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import time

from flask import Flask

log = logging.getLogger(__name__)

# Imported by views only when a person exports or downloads (PDF, Word, calendar files).
_LAZY_LIBRARIES = ("fpdf", "docx", "fontTools.ttLib", "icalendar", "psycopg")


def _import_everything(app: Flask) -> None:
    import lti_tool

    for mod in pkgutil.walk_packages(lti_tool.__path__, "lti_tool."):
        if mod.name.startswith("lti_tool.sandbox") and not app.config.get("SANDBOX_ENABLED"):
            continue
        try:
            importlib.import_module(mod.name)
        except Exception as exc:  # a module that cannot load here is loaded (and fails) where it is used
            log.warning("warm-up: %s not imported: %s", mod.name, exc)
    for name in _LAZY_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _compile_templates(app: Flask) -> int:
    names = app.jinja_env.list_templates(extensions=("html",))
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def _parse_platform_keys() -> int:
    from .db import db
    from .lti.platform_keys import parse_registered_keys

    try:
        return parse_registered_keys()
    except Exception as exc:  # the database is not up yet: the first launch parses its platform's key
        log.warning("warm-up: platform keys not parsed: %s: %s", type(exc).__name__, exc)
        return 0
    finally:
        db().rollback()


def warm_up(app: Flask, rehearse_launch: bool = True) -> dict[str, float]:
    """Do the first request's one-off work now; returns the seconds each step took. With
    `rehearse_launch`, also a complete launch in a rolled-back transaction (lti_tool/rehearsal.py)."""
    from sqlalchemy.orm import configure_mappers

    from .assessment.service import assessments
    from .content import catalogue
    from .content.outline import facts_table
    from .fragments import module_heads, module_items, programme_fragment

    took: dict[str, float] = {}

    def step(name: str, fn) -> object:
        t = time.perf_counter()
        out = fn()
        took[name] = time.perf_counter() - t
        return out

    step("imports", lambda: _import_everything(app))
    step("mappers", configure_mappers)
    with app.app_context():
        programmes = step("packs", catalogue)
        step("assessment packs", assessments)
        step("facts table", facts_table)
    step("templates", lambda: _compile_templates(app))
    with app.test_request_context("/"):
        # Every programme's, not only the one rehearsed below: what its course home builds once.
        step("fragments", lambda: [(programme_fragment("activities/_framework.html", p), module_items(p),
                                    module_heads(p), p.coverage_units) for p in programmes.values()])
    keystore = app.extensions["keystore"]
    step("keys", lambda: (keystore.current().private_key, keystore.jwks()))
    with app.app_context():
        step("platform keys", _parse_platform_keys)
    if rehearse_launch:
        from .rehearsal import rehearse

        step("rehearsal", lambda: rehearse(app, programmes))  # says itself if it stopped early
    log.info("warm-up done in %.2fs: %s", sum(took.values()),
             ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in took.items()))
    return took


def _unknown_platform_launch(app: Flask, client) -> dict:
    """A launch form whose state and binding are good but whose token names no registered platform:
    refused after the state check and the registration lookup, having stored nothing."""
    import base64
    import json

    from .lti.launch import STATE_COOKIE_PREFIX
    from .lti.state import issue

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    with app.test_request_context("/"):
        issued, binding = issue(0, None)
    client.set_cookie(STATE_COOKIE_PREFIX + issued.id, binding, path="/lti/")
    token = ".".join((part({"alg": "RS256", "kid": "warm-up"}),
                      part({"iss": "https://warm-up.invalid", "aud": "warm-up", "nonce": issued.nonce}), "c2ln"))
    return {"id_token": token, "state": issued.state}


def warm_worker(app: Flask) -> None:
    """In each forked worker, before it serves anyone. A forked worker's first request pays for touching
    the memory it shares with the master (each page copied on first write) and for its connection's first
    statements; this pays for them here instead, storing nothing and logging no INFO line.

    On PostgreSQL: the launch rehearsal again (a complete launch and its pages in a rolled-back
    transaction, lti_tool/rehearsal.py) on the worker's own connection, which then stays in its pool: a
    new connection's server process reads the catalogue of each table and index its first statements
    meet. On SQLite there is no such server process, and a rehearsal's write transaction would make the
    workers starting beside it wait: a few requests that are refused and store nothing instead."""
    t = time.perf_counter()
    previous = logging.root.manager.disable
    try:
        if app.extensions["db_engine"].dialect.name == "sqlite":
            logging.disable(logging.WARNING)  # the refusals are expected
            client = app.test_client()
            client.get("/lti/login", query_string={"iss": "https://warm-up.invalid", "login_hint": "warm-up",
                                                   "client_id": "warm-up"})
            client.post("/lti/launch", data=_unknown_platform_launch(app, client))
            client.get("/s/" + "w" * 32 + "/programme")
        else:
            from .content import catalogue
            from .rehearsal import rehearse

            logging.disable(logging.INFO)
            with app.app_context():
                programmes = catalogue()
            rehearse(app, programmes, keep_connection=True)  # says itself (a warning) if it stopped early
        app.test_client().get("/healthz")
    except Exception as exc:  # a warm-up, not a check
        logging.disable(previous)  # so that this line is logged
        log.warning("worker warm-up stopped: %s: %s", type(exc).__name__, exc)
    finally:
        logging.disable(previous)
    log.debug("worker warm-up done in %.0f ms", (time.perf_counter() - t) * 1000)
