"""Logs: one line per event, with the request ID, as text or JSON (LOG_FORMAT=json). Session IDs,
registration tokens and secret query values are redacted from every line (log_redaction.py),
including the development server's request lines, which reach the same handler."""
from __future__ import annotations

import json
import logging
import os
import sys

from flask import g, has_request_context, request

from .log_redaction import REDACTING_FILTER


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            record.path = request.path
        else:
            record.request_id, record.path = "-", "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "path": getattr(record, "path", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging() -> None:
    root = logging.getLogger()
    if any(getattr(h, "_npq", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._npq = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.addFilter(REDACTING_FILTER)  # after the one above: it redacts the path that one adds
    if os.environ.get("LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
