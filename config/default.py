"""Settings every environment starts from. Environment variables override them (see README)."""

# SQLite file in instance/ unless DATABASE_URL says otherwise.
DATABASE_URL = None
# Generated into instance/secret_key on first start when not given; set it in production.
SECRET_KEY = None
# Where the tool's RSA keys live (created on first start, mode 0600).
KEYS_DIR = None
# Programme packs (YAML); the shipped ones by default.
CONTENT_PACKS_DIR = None

# Dynamic registration: True makes a newly registered platform active at once,
# False holds it until a provider admin approves it.
AUTO_ACTIVATE_REGISTRATIONS = False
# A launch with an unseen deployment_id of a known registration (Canvas makes one per install):
# True accepts it at once, False records it as pending for an admin to approve.
AUTO_ACCEPT_NEW_DEPLOYMENTS = False
# Mentors (LTI Mentor role) see progress and outcomes; True also shows released feedback text.
MENTORS_SEE_FEEDBACK = False

# Seconds of clock skew tolerated on iat/exp of platform tokens.
JWT_LEEWAY_SECONDS = 60
# Login state (and its nonce) lives this long between /lti/login and /lti/launch.
LAUNCH_STATE_TTL_SECONDS = 600
# How long a platform's key set is trusted before it is fetched again.
PLATFORM_JWKS_TTL_SECONDS = 3600
# Outbound HTTP to platforms: (connect, read) timeout in seconds.
HTTP_TIMEOUT = (5, 15)
HTTP_USER_AGENT = "NPQ-Learning-LTI-Tool/0.1 (python-requests)"
# A session opened by a launch lasts this long without a new launch.
LAUNCH_SESSION_HOURS = 8

# Serve the built-in sandbox VLE at /sandbox (quick start and demos only).
SANDBOX_ENABLED = False
# Load demo platform, admin and content on first start (quick start only).
DEMO_DATA = False

# Requests larger than this are refused with 413.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024

# A pooled database connection idle this long is tested before use (one used a moment ago is
# not: that test is a round trip per request); 0 tests every connection.
DB_PING_AFTER_IDLE_SECONDS = 10.0

# Trust X-Forwarded-* headers from this many proxies (0 when not behind a proxy).
PROXY_COUNT = 0

SESSION_COOKIE_NAME = "npq_session"
# Re-sign the session cookie only when it changes (not on every response).
SESSION_REFRESH_EACH_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
WTF_CSRF_TIME_LIMIT = None
# An unknown kid re-fetches a platform's key set at most once per this many seconds.
JWKS_REFETCH_MIN_SECONDS = 10
# Grade delivery retries wait this many seconds, doubling each time (up to 30 minutes).
GRADE_RETRY_BASE_SECONDS = 2

# -- Security (see docs/security.md) ---------------------------------------------------------
# Anonymous /lti/register starts Dynamic Registration for anyone (quick start, trials against a
# local VLE). False (production): only from a one-time link made in the admin pages, or by a
# signed-in admin.
OPEN_DYNAMIC_REGISTRATION = False
# Platform URLs (login, token, key set, registration) must be https://.
REQUIRE_HTTPS_PLATFORM_URLS = True
# Outbound requests may go to loopback, private and link-local addresses (a VLE on this machine
# or network). False in production: checked after DNS resolution, on the address connected to.
OUTBOUND_ALLOW_PRIVATE_ADDRESSES = False
# Shared (database) rate limits on anonymous endpoints; "count/seconds" per client address.
RATE_LIMITS_ENABLED = True
