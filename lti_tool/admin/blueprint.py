"""The provider admin blueprint, shared by its route modules (platforms, account, registrations)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
