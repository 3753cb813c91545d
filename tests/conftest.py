"""Fixtures: the tool served over real HTTP on a real database, and independent platforms."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.cli import upgrade_database
from lti_tool.db import db
from lti_tool.models import ACTIVE, Deployment, Platform
from lti_tool.sandbox.platform import LaunchSpec

from .browser import Browser
from .platform_server import INSTRUCTOR, LEARNER, ServerThread, PlatformServer


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tool")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'tool.sqlite3'}"
    app = create_app({
        "CONFIG_NAME": "test",
        "DATABASE_URL": url,
        "KEYS_DIR": str(tmp / "keys"),
        "SECRET_KEY": secrets.token_hex(16),
    })
    with app.app_context():
        upgrade_database()
    return app


@pytest.fixture(scope="session")
def tool(app):
    """The tool on 127.0.0.1 over real HTTP."""
    server = ServerThread(app)
    server.start()
    app.config["SERVER_NAME"] = None
    yield server
    server.stop()


@contextmanager
def _ctx(app):
    with app.app_context():
        yield db()


@pytest.fixture
def dbs(app):
    """A database session for arranging and checking state (not for the code under test)."""
    with _ctx(app) as session:
        yield session


def register(app, platform: PlatformServer, *, status=ACTIVE, deployment_status=ACTIVE) -> int:
    with _ctx(app) as s:
        row = Platform(**platform.registration_fields(), status=status, registered_via="test")
        s.add(row)
        s.flush()
        if deployment_status:
            s.add(Deployment(platform_id=row.id, deployment_id=platform.deployment_id,
                             status=deployment_status))
        s.commit()
        return row.id


@pytest.fixture
def platform(app, tool):
    """A fresh platform, registered and active, with one approved deployment."""
    p = PlatformServer(tool.url)
    p.db_id = register(app, p)
    yield p
    p.stop()


@pytest.fixture
def browser():
    return Browser()


def learner(**kw) -> LaunchSpec:
    n = secrets.token_hex(4)
    base = dict(user_id="learner-" + n, roles=[LEARNER], name="Asha Patel", email="asha@example.org",
                given_name="Asha", family_name="Patel", context_id="course-" + n,
                context_title="NPQSL Cohort A", resource_link_id="rl-" + n, resource_link_title="Module 1",
                custom={"npq_programme": "NPQSL"})  # a course-home link
    base.update(kw)
    return LaunchSpec(**base)


def instructor(**kw) -> LaunchSpec:
    spec = learner(**kw)
    spec.roles = kw.get("roles", [INSTRUCTOR])
    spec.user_id = kw.get("user_id", "tutor-" + secrets.token_hex(4))
    spec.name = kw.get("name", "Tom Reid")
    return spec
