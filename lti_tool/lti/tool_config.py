"""pylti1p3's tool configuration, backed by the database instead of a JSON file."""
from __future__ import annotations

from typing import Optional

from flask import current_app
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import bindparam, select

from ..db import db
from ..models import ACTIVE, Deployment, Platform


def keystore():
    return current_app.extensions["keystore"]


# Built once: every login looks its platform up. A plain row of what a login and a registration
# object need (an ORM object costs twice the CPU; the cached key set is left out).
_pt = Platform.__table__
_COLUMNS = (_pt.c.id, _pt.c.name, _pt.c.status, _pt.c.issuer, _pt.c.client_id, _pt.c.auth_login_url,
            _pt.c.auth_token_url, _pt.c.auth_audience, _pt.c.key_set_url, _pt.c.key_set)
_BY_ISSUER = select(*_COLUMNS).where(_pt.c.issuer == bindparam("issuer")).limit(2)
_BY_ISSUER_AND_CLIENT = select(*_COLUMNS).where(_pt.c.issuer == bindparam("issuer"),
                                                _pt.c.client_id == bindparam("client_id"))


def find_platform(issuer: str, client_id: Optional[str]):
    """The registration for an issuer and client_id, as a read-only row; with no client_id, the
    issuer's only one."""
    conn = db().connection()
    if client_id:
        return conn.execute(_BY_ISSUER_AND_CLIENT, {"issuer": issuer, "client_id": client_id}).first()
    rows = conn.execute(_BY_ISSUER, {"issuer": issuer}).all()
    return rows[0] if len(rows) == 1 else None


class PlatformRegistration(Registration):
    """A platform's registration whose tool key is looked up only when something is signed with it
    (deep linking responses, service tokens): most launches sign nothing."""

    def get_tool_private_key(self):
        if self._tool_private_key is None:
            self._use_current_key()
        return self._tool_private_key

    def get_tool_public_key(self):
        if self._tool_public_key is None:
            self._use_current_key()
        return self._tool_public_key

    def _use_current_key(self) -> None:
        key = keystore().current()
        # A parsed key object: PyJWT signs with it directly (parsing a PEM costs ~100 ms of CPU).
        self.set_tool_private_key(key.private_key)
        self.set_tool_public_key(key.public_pem)


def to_registration(platform: Platform) -> Registration:
    reg = PlatformRegistration()
    reg.set_issuer(platform.issuer)
    reg.set_client_id(platform.client_id)
    reg.set_auth_login_url(platform.auth_login_url)
    reg.set_auth_token_url(platform.auth_token_url)
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    reg.set_key_set_url(platform.key_set_url)
    reg.set_key_set(platform.key_set)
    return reg


class DatabaseToolConf(ToolConfAbstract):
    """Every issuer may have many client_ids (Canvas has one issuer for all its customers)."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        platform = find_platform(iss, None)
        return to_registration(platform) if platform and platform.status == ACTIVE else None

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        return to_registration(platform) if platform and platform.status == ACTIVE else None

    def find_deployment(self, iss, deployment_id):
        return None

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        platform = find_platform(iss, client_id)
        if platform is None:
            return None
        row = db().scalar(
            select(Deployment).where(
                Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
            )
        )
        return LtiDeployment().set_deployment_id(deployment_id) if row and row.is_active else None
