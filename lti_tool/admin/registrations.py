"""Admin pages for Dynamic Registration: one-time registration links and registration requests."""
from __future__ import annotations

from .blueprint import bp  # noqa: F401
