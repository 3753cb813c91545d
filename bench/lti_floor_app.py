"""The honest LTI floor: the least a correct LTI 1.3 tool does per launch, on the same stack (Flask under the
same gunicorn settings), driven by the same platform and load generator as the tool.

GET /lti/login   -> checks iss and client_id, makes a state, sets it in a cookie, nonce = HMAC(state), 302 to
                    the platform's auth URL;
POST /lti/launch -> state equal to the cookie's; the id_token verified with PyJWT, RS256 only, against the
                    platform's public key (fetched once per process from its JWKS); aud, iss, exp, iat, sub and
                    nonce required; the nonce equal to HMAC(state) and kept once: INSERT into a table whose primary
                    key is the nonce, in the same database as the tool under test (SQLite file or PostgreSQL),
                    so a replay fails across workers and machines; a signed session cookie; 303 to /page;
GET /page        -> reads the session cookie and answers a small page.

No ORM, no templates, no course or person records: what it leaves out is what the tool does on top.
Configured by environment: FLOOR_DB (sqlite:///path or postgresql://...), FLOOR_ISSUER, FLOOR_CLIENT_ID,
FLOOR_JWKS_URL, FLOOR_AUTH_URL, SECRET_KEY.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from urllib.parse import urlencode
from urllib.request import urlopen

import jwt
from flask import Flask, abort, redirect, request, session

app = Flask(__name__)
app.secret_key = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
DB_URL = os.environ.get("FLOOR_DB", "")
ISSUER = os.environ.get("FLOOR_ISSUER", "")
CLIENT_ID = os.environ.get("FLOOR_CLIENT_ID", "")
JWKS_URL = os.environ.get("FLOOR_JWKS_URL", "")
AUTH_URL = os.environ.get("FLOOR_AUTH_URL", "")
_local = threading.local()
_keys: dict = {}


def _conn():
    conn = getattr(_local, "conn", None)
    if conn is None:
        if DB_URL.startswith("sqlite"):
            import sqlite3

            conn = sqlite3.connect(DB_URL.split(":///", 1)[1], timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            conn = psycopg.connect(DB_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        _local.conn = conn
    return conn


def init_db() -> None:
    """Run once by the bench before the workers start (python -c), not by every worker."""
    _conn().execute("CREATE TABLE IF NOT EXISTS floor_nonce (nonce VARCHAR(64) PRIMARY KEY, expires_at BIGINT)")


def _public_key(kid: str | None):
    if kid not in _keys:
        with urlopen(JWKS_URL, timeout=10) as resp:  # 127.0.0.1: the bench's platform
            for jwk in json.load(resp)["keys"]:
                _keys[jwk.get("kid")] = jwt.PyJWK(jwk).key
    return _keys[kid]


def _nonce_for(state: str) -> str:
    return hmac.new(app.secret_key.encode(), state.encode(), hashlib.sha256).hexdigest()


@app.get("/healthz")
def healthz():
    return "ok"


@app.route("/lti/login", methods=["GET", "POST"])
def login():
    if request.values.get("iss") != ISSUER or request.values.get("client_id") != CLIENT_ID:
        abort(400)
    state = secrets.token_urlsafe(24)
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
              "client_id": CLIENT_ID, "redirect_uri": request.host_url + "lti/launch", "state": state,
              "nonce": _nonce_for(state), "login_hint": request.values.get("login_hint", "")}
    if request.values.get("lti_message_hint"):
        params["lti_message_hint"] = request.values["lti_message_hint"]
    response = redirect(AUTH_URL + "?" + urlencode(params), code=302)
    response.set_cookie("lti_state", state, max_age=600, httponly=True, samesite="Lax", path="/lti/")
    return response


@app.post("/lti/launch")
def launch():
    state = request.form.get("state", "")
    if not state or not hmac.compare_digest(state, request.cookies.get("lti_state", "")):
        abort(400)
    token = request.form.get("id_token", "")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, _public_key(header.get("kid")), algorithms=["RS256"], audience=CLIENT_ID,
                            issuer=ISSUER, leeway=60,
                            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]})
    except (jwt.InvalidTokenError, KeyError):
        abort(400)
    if not hmac.compare_digest(claims["nonce"], _nonce_for(state)):
        abort(400)
    try:  # kept once: the primary key refuses a second use, from any worker
        _conn().execute("INSERT INTO floor_nonce (nonce, expires_at) VALUES (" + ("?, ?" if DB_URL.startswith(
            "sqlite") else "%s, %s") + ")", (claims["nonce"], int(time.time()) + 600))
    except Exception:
        abort(400)
    session["sub"] = claims["sub"]
    session["name"] = claims.get("name", "")
    response = redirect("/page", code=303)
    response.delete_cookie("lti_state", path="/lti/")
    return response


@app.get("/page")
def page():
    if "sub" not in session:
        abort(401)
    from markupsafe import escape

    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Page</title></head>"
            f"<body><main><h1>Hello {escape(session['name'])}</h1><p>A small page.</p></main></body></html>")

