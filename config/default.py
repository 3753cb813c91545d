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
# True lets mentors export their mentees' submitted (never draft) write-ups as PDF or Word.
MENTORS_SEE_SUBMITTED_WORK = False
# True makes an LTI institution or system Administrator a course admin even where their course
# role is Learner, Instructor, ...; False lets the course role decide (admins without one still get in).
INSTITUTION_ADMINS_ARE_COURSE_ADMINS = False
# The programme the Deep Linking picker opens on in a course that says nothing of its own (no
# items placed, no programme in its title, label or SIS ID), e.g. "NPQSL"; None: the first.
DEFAULT_PROGRAMME = None

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
# A cookieless session (the browser blocked the tool's cookies; bound through the platform's
# storage and a per-launch secret the page keeps) lasts this long: shorter, as its page URLs are
# the more exposed way in.
COOKIELESS_SESSION_HOURS = 2
# Any launch session ends after this long without a request (both kinds; the last request is
# recorded at most once a minute, so the timeout is exact to about a minute).
SESSION_IDLE_MINUTES = 60
# A cookieless session's page ticket (what lets one navigation through) is valid this long, once.
PAGE_TICKET_SECONDS = 30

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
# local VLE). False (production): only from a one-time link made in the admin pages (the admin
# cookie is SameSite=Strict and Path=/admin, so a signed-in admin makes a link rather than opening
# /lti/register inside the VLE's frame).
OPEN_DYNAMIC_REGISTRATION = False
# Platform URLs (login, token, key set, registration) must be https://.
REQUIRE_HTTPS_PLATFORM_URLS = True
# Outbound requests may go to loopback, private and link-local addresses (a VLE on this machine
# or network). False in production: checked after DNS resolution, on the address connected to.
OUTBOUND_ALLOW_PRIVATE_ADDRESSES = False
# Shared (database) rate limits on anonymous endpoints; "count/seconds" per client address.
RATE_LIMITS_ENABLED = True
# Dynamic Registration pages (/lti/register...) per client address: each may make the tool fetch
# a platform's configuration, so a caller cannot use the tool to probe addresses at speed.
REGISTRATION_RATE_LIMIT = "20/600"
# Registration exchanges under way at once in one worker process; more are answered "busy, try
# again in a minute" at once, so platforms that never answer cannot take every worker thread.
REGISTRATION_CONCURRENT_FETCHES = 2
# (connect, read) timeout in seconds for each registration request to a platform (its
# configuration, its registration endpoint); the whole answer must arrive within their sum + 2 s.
REGISTRATION_HTTP_TIMEOUT = (3, 5)
# Provider admins must use two-factor authentication (TOTP): an admin without it is sent to
# enrolment at sign-in and can do nothing else until it is set up.
ADMIN_REQUIRE_TOTP = True
# An admin session ends this long after sign-in, whatever happens ...
ADMIN_SESSION_HOURS = 8
# ... and after this long without a request.
ADMIN_IDLE_MINUTES = 30

# A platform whose key set cannot be fetched (down, slow, not JSON) is not asked again for this
# many seconds: launches meanwhile use the key set cached before, or fail at once with the clear
# page, instead of each waiting for the platform's timeout.
JWKS_FAILURE_BACKOFF_SECONDS = 60
# (connect, read) timeout in seconds for fetching a platform's key set during a launch: a person
# is waiting. Never longer than HTTP_TIMEOUT.
JWKS_HTTP_TIMEOUT = (3, 5)

# After `flask keys rotate`, the retired key stays in /lti/jwks.json this long (it signs nothing):
# tokens it signed just before (client assertions, deep-linking responses) still verify, and
# machines that pick up the rotated key files later stay valid meanwhile.
KEY_ROTATION_GRACE_HOURS = 24

# A platform's Retry-After (429 or 503) is honoured up to this many seconds.
AGS_RETRY_AFTER_MAX_SECONDS = 3600

# -- Personal data (see docs/data-protection.md) --------------------------------------------
# Retention periods, applied by `flask data purge` (run it daily from cron). A provider admin can
# change each on the Settings page, within bounds.
RETENTION_SESSION_DAYS = 7        # expired sessions, login states, tickets, rate counters, tokens
RETENTION_DRAFT_DAYS = 365        # unsubmitted drafts of someone who left or stopped launching
RETENTION_WORK_YEARS = 6          # submitted work, marks, feedback (appeals, DfE audit)
RETENTION_ENGAGEMENT_YEARS = 6    # attendance, questions, launch records
RETENTION_DFE_YEARS = 6           # DfE declarations and outcomes
RETENTION_AUDIT_YEARS = 6         # the audit log
# Named as the data controller in the privacy notice.
PROVIDER_NAME = "your NPQ provider"
# The privacy notice's text (plain text paragraphs); empty: the standard notice.
PRIVACY_NOTICE = ""
