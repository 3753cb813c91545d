"""Rows that outlive their use: deleted now and then by the grade worker (`flask grades work`),
never on a request's path."""
from __future__ import annotations

from sqlalchemy import delete

from .db import db, utcnow
from .models import LaunchState
from .security_models import PageTicket, RateCounter


def purge_expired() -> dict[str, int]:
    """Delete expired login states, rate-limit windows and page tickets, and admin sessions that
    ended or expired long ago. Returns how many rows of each went."""
    from .admin.access import purge_old_sessions  # the admin sessions' own retention rule

    now = utcnow()
    statements = {
        # Login states nobody came back for (a flood of anonymous logins leaves many).
        "launch_state": delete(LaunchState).where(LaunchState.expires_at < now),
        "rate_counter": delete(RateCounter).where(RateCounter.expires_at < now),
        "page_ticket": delete(PageTicket).where(PageTicket.expires_at < now),
    }
    counts = {name: db().execute(stmt).rowcount for name, stmt in statements.items()}
    purge_old_sessions()
    db().commit()
    return counts
