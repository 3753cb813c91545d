"""Provider admin pages. Importing the route modules registers their views on the blueprint."""
from . import account, audit_pages, people, registrations, replace_registration, security_pages, views  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
