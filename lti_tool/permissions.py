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

        wrapped.allowed_roles = tuple(roles) or ANY_LAUNCH  # read by the route-by-role test
        return wrapped

    return decorator


# What a view declares it allows (the `allowed_roles` attribute every view carries):
ANY_LAUNCH = ("any launch",)  # launch_required() with no role named
PUBLIC = ("public",)          # anyone, signed in or not (LTI endpoints, admin sign-in, sandbox)
ADMIN = ("provider admin",)   # a signed-in provider admin (admin_required)


def public(view):
    """Mark a view that anyone may call (its own checks, if any, are signatures or tokens)."""
    view.allowed_roles = PUBLIC
    return view
