"""Parts of pages that depend on a programme pack alone, rendered once per worker and pack version.

The framework section of the programme page (every area's statements, ~40% of that page's rendering)
is the same for every person: it is rendered the first time it is needed, or at start-up by
`warmup`, and reused until the pack changes (a re-read pack is a new Programme object).
A fragment must use nothing of the request: no url_for, ctx, CSRF token or local times.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from flask import Flask, render_template
from markupsafe import Markup, escape

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


# Where an activity list's links start (the session's activities URL): one replace per list.
_BASE = "\x00activities-base\x00"
_items: dict[str, tuple[object, dict[str, list[tuple[str, str]]]]] = {}


@lru_cache(maxsize=64)
def _status(state: str) -> str:
    return f'<span class="status status-{escape(state.replace(" ", "-"))}">{escape(state)}</span>'


def module_items(programme) -> dict[str, list[tuple[str, str]]]:
    """Each module's activities as (activity ID, the item's markup up to its status): built once per pack."""
    hit = _items.get(programme.code)
    if hit is not None and hit[0] is programme:
        return hit[1]
    items = {m.id: [(a.id, f'<li>\n<a href="{_BASE}{escape(a.id)}">{escape(a.title)}</a>\n'
                           f'<span class="muted small">{escape(a.kind_label)} · {escape(a.minutes)} min</span>\n')
                    for a in m.activities] for m in programme.modules}
    with _lock:
        _items[programme.code] = (programme, items)
    return items


def activity_list(programme, module, statuses: dict[str, str] | None, base: str) -> Markup:
    """A module's activity list with the person's status of each (None: no statuses, for staff).
    The programme page's 80-odd items cost a Jinja loop per person before; their markup depends on
    the pack alone but for the status, so it is joined here from pieces built once."""
    parts = ['<ul class="activity-list">\n']
    for activity_id, item in module_items(programme)[module.id]:
        parts.append(item)
        if statuses is not None:
            parts.append(_status(statuses[activity_id]))
        parts.append("\n</li>\n")
    parts.append("</ul>")
    return Markup("".join(parts).replace(_BASE, str(escape(base))))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["programme_fragment"] = programme_fragment
    app.jinja_env.globals["activity_list"] = activity_list
