"""The tool's keys: generated with mode 0600, published as JWKS (current and next), rotated."""
from __future__ import annotations

import os
import stat

import requests

from lti_tool.lti.keys import KeyStore


def test_first_start_generates_private_keys_0600(tmp_path):
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    pems = list((tmp_path / "keys").glob("*.pem"))
    assert len(pems) == 2
    for pem in pems:
        assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
        assert "PRIVATE KEY" in pem.read_text()


def test_jwks_publishes_current_and_next_without_private_parts(tool, app):
    body = requests.get(tool.url + "/lti/jwks.json").json()
    store = app.extensions["keystore"]
    assert [k["kid"] for k in body["keys"]] == [store.current().kid, store.upcoming().kid]
    for key in body["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert "d" not in key and "p" not in key


def test_rotate_makes_next_current(tmp_path):
    store = KeyStore(tmp_path)
    store.ensure()
    before = (store.current().kid, store.upcoming().kid)
    current, upcoming = store.rotate()
    assert current == before[1] and upcoming not in before
    assert [k["kid"] for k in store.jwks()["keys"]] == [before[1], upcoming]


def test_rotate_command(app):
    runner = app.test_cli_runner()
    store = app.extensions["keystore"]
    old_next = store.upcoming().kid
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and old_next in result.output
    assert store.current().kid == old_next


def test_keys_are_not_committed():
    root = os.path.dirname(os.path.dirname(__file__))
    ignore = open(os.path.join(root, ".gitignore")).read()
    assert "keys/*" in ignore
