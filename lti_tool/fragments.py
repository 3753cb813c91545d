"""Parts of pages that depend on a programme pack alone, rendered once per worker and pack version.

The framework section of the programme page (every area's statements, ~40% of that page's rendering)
is the same for every person: it is rendered the first time it is needed, or at start-up by
`warmup`, and reused until the pack changes (a re-read pack is a new Programme object).
A fragment must use nothing of the request: no url_for, ctx, CSRF token or local times.
"""
from __future__ import annotations

import threading

from flask import Flask, render_template
from markupsafe import Markup

_cache: dict[tuple[str, str], tuple[object, Markup]] = {}
_lock = threading.Lock()


def programme_fragment(template: str, programme) -> Markup:
    """`template` rendered with `programme` only, cached while `programme` is the current pack's."""
    key = (template, programme.code)
    hit = _cache.get(key)
    if hit is not None and hit[0] is programme:
        return hit[1]
    html = Markup(render_template(template, programme=programme))
    with _lock:
        _cache[key] = (programme, html)
    return html


def init_app(app: Flask) -> None:
    app.jinja_env.globals["programme_fragment"] = programme_fragment
