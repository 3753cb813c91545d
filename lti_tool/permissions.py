"""What a launched user may do: the roles each view allows, and the items a launch may open."""
from __future__ import annotations

from functools import wraps

from flask import abort, g


def current_context():
    return g.ctx


def require_item(ref: str, programme_code: str) -> None:
    """403 unless this launch may open the item: every item of its course's programme, and the
    item its link was placed for (whatever programme that is)."""
    ctx = current_context()
    if ctx.item_ref != ref and ctx.programme_code != programme_code:
        abort(403)


def launch_required(*roles: str):
    """The view needs a launch session of this browser, with one of these roles (any if none)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            ctx = g.get("ctx")
            if ctx is None:
                abort(401)
            if roles and ctx.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
