"""Keep bearer values out of logs: session IDs in /s/<sid>/ paths, registration link tokens, and
query parameters that carry tokens, tickets or launch data.

Used by the tool's own log handler (logging_setup.py) and by gunicorn's access and error logs
(gunicorn.conf.py: logger_class = "lti_tool.log_redaction.RedactingGunicornLogger"): an access
log line for GET /s/AbC.../activities?_pt=xyz reads GET /s/[sid]/activities?_pt=[redacted].
"""
from __future__ import annotations

import logging
import re

# Query parameters whose values are secrets or personal data: registration and page tokens,
# launch tokens and state, OAuth codes, the platform's login and message hints.
SECRET_PARAMS = ("registration_token", "_pt", "_session_secret", "id_token", "state", "nonce", "code",
                 "lti_message_hint", "login_hint", "token")

_SID = re.compile(r"/s/[A-Za-z0-9_-]{16,64}(?=[/?#\s\"']|$)")
_REGISTRATION = re.compile(r"/lti/register/[^/?#\s\"']+")
_PARAMS = re.compile(r"([?&;](?:%s)=)[^&#\s\"']*" % "|".join(re.escape(p) for p in SECRET_PARAMS), re.IGNORECASE)


def redact(text: str) -> str:
    """The text with session IDs, registration tokens and secret query values replaced."""
    if "/s/" in text:
        text = _SID.sub("/s/[sid]", text)
    if "/lti/register/" in text:
        text = _REGISTRATION.sub("/lti/register/[token]", text)
    if "=" in text:
        text = _PARAMS.sub(r"\1[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and its request path, where one is attached) redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as it would
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = redact(path)
        return True


REDACTING_FILTER = RedactingFilter()


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is for production; development servers run without it
    _GunicornLogger = None

if _GunicornLogger is not None:
    class RedactingGunicornLogger(_GunicornLogger):
        """gunicorn's logger, with access lines (request line, referer, query) and error lines
        ("Error handling request /s/...") redacted."""

        def setup(self, cfg) -> None:
            super().setup(cfg)
            # One shared filter object: setup runs again on reopen (USR1/HUP); addFilter keeps
            # a filter once.
            self.access_log.addFilter(REDACTING_FILTER)
            self.error_log.addFilter(REDACTING_FILTER)
