"""Used by the test suite."""
TESTING = True
SANDBOX_ENABLED = True
DEMO_DATA = False
AUTO_ACTIVATE_REGISTRATIONS = True
AUTO_ACCEPT_NEW_DEPLOYMENTS = False
PLATFORM_JWKS_TTL_SECONDS = 3600
HTTP_TIMEOUT = (2, 2)
JWKS_REFETCH_MIN_SECONDS = 0
GRADE_RETRY_BASE_SECONDS = 0.2
# Trials against a local VLE over http: open registration, http and private addresses allowed.
OPEN_DYNAMIC_REGISTRATION = True
REQUIRE_HTTPS_PLATFORM_URLS = False
OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
# Every test registers from 127.0.0.1: the rate-limit test sets its own small limit.
REGISTRATION_RATE_LIMIT = "10000/600"
# Most tests sign admins in with a password; the 2FA tests turn this on themselves.
ADMIN_REQUIRE_TOTP = False
