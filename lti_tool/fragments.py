"""Parts of pages that depend on a programme pack alone, rendered once per worker and pack version.

The framework page's body (every area's statements, three quarters of what the programme page weighed
when it carried them) is the same for every person: it is rendered the first time it is needed, or at
start-up by `warmup`, and reused until the pack changes (a re-read pack is a new Programme object).
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


_heads: dict[str, tuple[object, list[tuple[object, str, str]]]] = {}


def module_heads(programme) -> list[tuple[object, str, str]]:
    """Each module's section opening up to its heading's progress note, and from there to its window."""
    hit = _heads.get(programme.code)
    if hit is not None and hit[0] is programme:
        return hit[1]
    heads = []
    for number, m in enumerate(programme.modules, 1):
        head = (f'<section class="module" aria-labelledby="m-{escape(m.id)}">\n'
                f'<h2 id="m-{escape(m.id)}">{number}. {escape(m.title)}')
        tail = "</h2>\n" + (f'<p class="muted">{escape(m.summary)}</p>\n' if m.summary else "")
        heads.append((m, head, tail))
    with _lock:
        _heads[programme.code] = (programme, heads)
    return heads


def module_sections(programme, progress, windows: dict, base: str, window_block) -> Markup:
    """The programme page's modules: heading (with the person's count done), window (a Jinja macro,
    where the course has one) and activity list. A Jinja loop over them cost a sixth of the page."""
    parts = []
    for index, (module, head, tail) in enumerate(module_heads(programme)):
        mp = progress.modules[index] if progress else None
        parts.append(head)
        if mp is not None:
            parts.append(f' <span class="muted small">· {mp.done}/{mp.total} done</span>')
        parts.append(tail)
        window = windows.get(module.id)
        if window is not None:
            parts.append(str(window_block(module, window)))
        parts.append(activity_list(programme, module, mp.statuses if mp else None, base))
        parts.append("\n</section>\n")
    return Markup("".join(parts))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["programme_fragment"] = programme_fragment
    app.jinja_env.globals["module_sections"] = module_sections
