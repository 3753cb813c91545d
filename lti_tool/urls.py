"""url_for, memoised per worker for the URLs every page builds again.

A page header alone builds a dozen URLs (stylesheet, scripts, the session's menu, sign-out), and
Werkzeug builds each one from the URL map: about a tenth of a page's CPU. A built URL depends only
on the script root, the endpoint and its values, and on the session ID that auth.py adds to
session pages: those are built once with a placeholder, and the session's ID replaces it.
External, anchored or scheme-given URLs, and explicit session IDs, are built as Flask builds them.
"""
from __future__ import annotations

import threading

from flask import Flask, g, has_request_context, request

_SID = "0session0id0placeholder0"
_LIMIT = 4096  # URLs with query values (page=, q=) are many: past the limit they are not kept


def init_app(app: Flask) -> None:
    build = app.url_for
    cache: dict[tuple, str] = {}
    sid_endpoints: set[str] = set()
    lock = threading.Lock()

    def url_for(endpoint: str, *, _anchor=None, _method=None, _scheme=None, _external=None, **values) -> str:
        if (_anchor is not None or _method is not None or _scheme is not None or _external
                or "sid" in values or endpoint[:1] == "." or not has_request_context()):
            return build(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external,
                         **values)
        if not sid_endpoints:  # the URL map is complete by the first request
            with lock:
                sid_endpoints.update(r.endpoint for r in app.url_map.iter_rules() if "sid" in r.arguments)
        ctx = g.get("ctx")
        sid = ctx.session_id if ctx is not None and endpoint in sid_endpoints else None
        try:
            key = (request.script_root, endpoint, sid is not None, *sorted(values.items()))
            url = cache.get(key)
        except TypeError:  # an unhashable value (a list of query values): not kept
            return build(endpoint, **values)
        if url is None:
            url = build(endpoint, **values, **({"sid": _SID} if sid is not None else {}))
            if len(cache) < _LIMIT:
                cache[key] = url
        return url.replace(_SID, sid) if sid is not None else url

    app.url_for = url_for  # what flask.url_for calls
    app.jinja_env.globals["url_for"] = url_for
