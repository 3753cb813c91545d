"""tests.platform_server.PlatformServer in a process of its own, with a small control API for the bench.

Run by bench.run as `python -m bench.platform_proc TOOL_URL`; prints one JSON line (issuer, client_id,
deployment_id, registration fields) and serves until terminated.

One change from the test suite's platform, made in this process only (never in the tool's processes):
parsed RSA private keys are cached. `cryptography` validates an RSA private key on every
load_pem_private_key (about 40-90 ms on this machine), and lti1p3platform / PyJWT / jwcrypto re-parse
the platform's PEM several times per id_token and per bearer-token check. Uncached, the test platform
needs ~80-120 ms of CPU per launch and per score POST and would be the bottleneck of every figure. A real
platform keeps its key loaded.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading


def _cache_private_key_parsing() -> None:
    # Must run before jwt / jwcrypto / lti1p3platform are imported: they bind the function at import.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import base

    original = base.load_pem_private_key
    cache: dict = {}
    lock = threading.Lock()

    def load_pem_private_key(data, password=None, backend=None, **kw):
        key = (bytes(data) if not isinstance(data, str) else data.encode(), password, tuple(sorted(kw.items())))
        hit = cache.get(key)
        if hit is None:
            hit = original(data, password, backend, **kw)
            with lock:
                cache[key] = hit
        return hit

    serialization.load_pem_private_key = load_pem_private_key
    base.load_pem_private_key = load_pem_private_key


def main() -> None:
    tool_url = sys.argv[1]
    _cache_private_key_parsing()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from flask import jsonify, request

    from lti_tool.sandbox.platform import LaunchSpec
    from tests.platform_server import PlatformServer

    p = PlatformServer(tool_url)
    app = p.app
    lock = threading.Lock()

    # Control routes, added before anyone knows the server's address (so before its first request).
    @app.post("/_bench/users", endpoint="bench_users")
    def users():
        body = request.get_json(force=True)
        urls = []
        for spec in body["specs"]:
            urls.append(p.login_url(LaunchSpec(**spec)))
        return jsonify(urls)

    @app.post("/_bench/line_item", endpoint="bench_line_item")
    def line_item():
        body = request.get_json(force=True)
        return jsonify({"id": p.add_line_item(body["label"], body["score_maximum"], body.get("resource_id", ""))})

    @app.post("/_bench/gradebook", endpoint="bench_gradebook")
    def gradebook():
        body = request.get_json(force=True)
        with lock:
            for k in ("delay_next", "delay_seconds", "fail_next", "fail_status"):
                if k in body:
                    setattr(p.gradebook, k, body[k])
        return jsonify({"ok": True})

    @app.get("/_bench/stats", endpoint="bench_stats")
    def stats():
        r = p.received
        return jsonify({"jwks_fetches": r.jwks_fetches, "score_attempts": r.score_attempts,
                        "scores": len(r.scores), "token_requests": len(r.token_requests)})

    @app.get("/_bench/scores", endpoint="bench_scores")
    def scores():
        return jsonify([[item, body.get("userId"), body.get("timestamp")] for item, body in list(p.received.scores)])

    @app.post("/_bench/reset_scores", endpoint="bench_reset_scores")
    def reset_scores():
        p.received.scores.clear()
        p.received.score_attempts = 0
        p.gradebook.latest.clear()
        return jsonify({"ok": True})

    print(json.dumps({"issuer": p.issuer, "client_id": p.client_id, "deployment_id": p.deployment_id,
                      "registration": p.registration_fields(), "pid": os.getpid()}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (p.stop(), os._exit(0)))
    signal.signal(signal.SIGINT, lambda *_: (p.stop(), os._exit(0)))
    # Stop too if the bench that started us goes away (stdin closes).
    try:
        sys.stdin.read()
    finally:
        p.stop()
        os._exit(0)


if __name__ == "__main__":
    main()
