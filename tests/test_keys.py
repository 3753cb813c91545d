"""The tool's keys: generated with mode 0600, published as JWKS (current and next), rotated with
the retired key still published for a grace period."""
from __future__ import annotations

import json
import os
import secrets
import stat
import time
from datetime import datetime, timedelta, timezone

import jwt
import requests

from lti_tool.lti.keys import KeyStore

from .browser import Browser, csrf_token, forms
from .conftest import instructor
from .platform_server import SCORE


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
    # Current and next first; keys retired by a rotation in their grace period after them.
    assert [k["kid"] for k in body["keys"]] == [store.current().kid, store.upcoming().kid,
                                                *[k.kid for k in store.previous()]]
    for key in body["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert "d" not in key and "p" not in key


def test_rotate_makes_next_current_and_keeps_the_old_one_published(tmp_path):
    store = KeyStore(tmp_path)
    store.ensure()
    before = (store.current().kid, store.upcoming().kid)
    current, upcoming = store.rotate(timedelta(hours=24))
    assert current == before[1] and upcoming not in before
    assert [k["kid"] for k in store.jwks()["keys"]] == [before[1], upcoming, before[0]]
    for pem in tmp_path.glob("*.pem*"):
        assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600


def test_a_second_rotation_after_the_grace_period_drops_the_first_key(tmp_path):
    store = KeyStore(tmp_path)
    store.ensure()
    first = store.current().kid
    store.rotate(timedelta(seconds=0.05))
    time.sleep(0.1)
    assert first not in [k["kid"] for k in store.jwks()["keys"]]  # unpublished at once
    second = store.current().kid
    store.rotate(timedelta(hours=1))
    index = json.loads((tmp_path / "keyset.json").read_text())
    assert [p["kid"] for p in index["previous"]] == [second]  # dropped from the index ...
    assert (tmp_path / f"{first}.pem.retired").exists() and not (tmp_path / f"{first}.pem").exists()
    assert stat.S_IMODE(os.stat(tmp_path / f"{first}.pem.retired").st_mode) == 0o600  # ... kept, private


def test_rotate_command(app):
    runner = app.test_cli_runner()
    store = app.extensions["keystore"]
    old_next = store.upcoming().kid
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and old_next in result.output and "24 hours" in result.output
    assert store.current().kid == old_next


def _deep_linking_response_in_flight(platform):
    """A teacher picked items; the tool signed its response, which the browser has not posted yet."""
    tutor = Browser()
    spec = instructor(resource_link_id=None)
    spec.deep_link_return_url = platform.issuer + "/deep-link-return"
    picker = tutor.launch(platform, spec)
    ret = tutor.http.post(picker.url, data={"csrf_token": csrf_token(picker.text), "programme": "NPQSL",
                                            "item": "NPQSL/sc-reading"})
    return tutor, forms(ret.text)[0]


def _client_assertion(platform, key) -> dict:
    """A client-credentials request signed with `key`, as a worker still holding it would send."""
    now = int(time.time())
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.issuer + "/token",
              "iat": now, "exp": now + 300, "jti": secrets.token_hex(8)}
    return {"grant_type": "client_credentials", "scope": SCORE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})}


def test_tokens_signed_before_a_rotation_verify_during_the_grace_period_only(app, tool, platform):
    store = app.extensions["keystore"]
    retired = store.current()
    tutor, in_flight = _deep_linking_response_in_flight(platform)
    assert jwt.get_unverified_header(in_flight.fields["JWT"])["kid"] == retired.kid
    assert app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    published = [k["kid"] for k in requests.get(tool.url + "/lti/jwks.json").json()["keys"]]
    assert published[0] == store.current().kid != retired.kid and retired.kid in published
    # The platform, fetching the tool's key set now, still verifies what the old key signed.
    assert tutor.http.post(in_flight.action, data=in_flight.fields).status_code == 200
    assert requests.post(platform.issuer + "/token", data=_client_assertion(platform, retired)).status_code == 200
    # New tokens are signed with the new current key.
    _, fresh = _deep_linking_response_in_flight(platform)
    assert jwt.get_unverified_header(fresh.fields["JWT"])["kid"] == store.current().kid
    # The grace period ends: the retired key is no longer published, nor accepted.
    index_path = store.dir / "keyset.json"
    index = json.loads(index_path.read_text())
    for entry in index["previous"]:
        if entry["kid"] == retired.kid:
            entry["published_until"] = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    index_path.write_text(json.dumps(index))
    published = [k["kid"] for k in requests.get(tool.url + "/lti/jwks.json").json()["keys"]]
    assert retired.kid not in published
    assert requests.post(platform.issuer + "/token", data=_client_assertion(platform, retired)).status_code == 400


def test_keys_are_not_committed():
    root = os.path.dirname(os.path.dirname(__file__))
    ignore = open(os.path.join(root, ".gitignore")).read()
    assert "keys/*" in ignore
