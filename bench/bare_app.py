"""The floor the tool is compared with: a bare Flask app that only redirects and answers, run under the
same gunicorn settings and driven by the same request sequence as a complete launch.

GET /login -> 302 /auth;  GET /auth -> 200 auto-post form;  POST /launch -> 303 /page;  GET /page -> 200.
"""
from __future__ import annotations

import secrets

from flask import Flask, redirect, request

app = Flask(__name__)

# About the size of a real id_token, so the form post carries a realistic body.
_TOKEN = "eyJ" + "x" * 1500


@app.get("/login")
def login():
    return redirect(f"/auth?state={secrets.token_urlsafe(24)}&nonce={secrets.token_urlsafe(24)}", code=302)


@app.get("/auth")
def auth():
    state = request.args.get("state", "")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Launching…</title></head>"
            "<body><form method='post' action='/launch' id='lti'>"
            f"<input type='hidden' name='id_token' value='{_TOKEN}'>"
            f"<input type='hidden' name='state' value='{state}'>"
            "</form><script>document.getElementById('lti').submit()</script></body></html>")


@app.post("/launch")
def launch():
    if not request.form.get("id_token") or not request.form.get("state"):
        return "bad request", 400
    return redirect("/page", code=303)


@app.get("/page")
def page():
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Page</title></head>"
            "<body><main><h1>Hello</h1><p>A small page.</p></main></body></html>")
