"""Who may use the admin pages: a signed-in provider admin."""
from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, session, url_for

from ..db import db
from ..models import AdminUser
from ..permissions import ADMIN


def admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        admin_id = session.get("admin_id")
        user = db().get(AdminUser, admin_id) if admin_id else None
        if user is None:
            return redirect(url_for("admin.login", next=request.path))
        g.admin = user
        return view(*args, **kwargs)

    wrapped.allowed_roles = ADMIN
    return wrapped
