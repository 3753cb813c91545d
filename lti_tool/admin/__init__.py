"""Provider admin pages. Importing the route modules registers their views on the blueprint."""
from . import (account, audit_pages, people, registrations, replace_registration, security_pages,  # noqa: F401
               tool_setup, views)  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
