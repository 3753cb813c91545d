"""Flask extensions, created here so that modules use them without importing the app factory."""
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
