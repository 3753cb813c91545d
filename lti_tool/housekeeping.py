"""Rows that outlive their use: deleted now and then by the grade worker (`flask grades work`),
never on a request's path. What has expired is decided by the retention rules
(privacy/retention.py); `flask data purge` applies every category, this the sessions only."""
from __future__ import annotations


def purge_expired() -> dict[str, int]:
    """Delete expired login states, sessions, page tickets, rate-limit windows, failed sign-ins
    and access tokens past the session retention period. Returns how many rows of each went."""
    from .privacy.purge import purge  # noqa: PLC0415
    from .privacy.retention import SESSION  # noqa: PLC0415

    return {outcome.table: outcome.rows for outcome in purge(categories=[SESSION])}
