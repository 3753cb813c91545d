"""The embedded default for trying the tool: SQLite, sandbox VLE, demo data."""
SANDBOX_ENABLED = True
DEMO_DATA = True
AUTO_ACTIVATE_REGISTRATIONS = True
AUTO_ACCEPT_NEW_DEPLOYMENTS = True
# Trials against a local VLE over http: open registration, http and private addresses allowed.
OPEN_DYNAMIC_REGISTRATION = True
REQUIRE_HTTPS_PLATFORM_URLS = False
OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
RATE_LIMITS_ENABLED = False
# The demo admin signs in with its password alone (it may still enrol in 2FA).
ADMIN_REQUIRE_TOTP = False
