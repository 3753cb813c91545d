"""gunicorn settings. Every worker is stateless: launch state, sessions and caches are in the database."""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# Trust X-Forwarded-* only from the reverse proxy in front (set FORWARDED_ALLOW_IPS to its address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Access and error lines without session IDs, registration tokens or secret query values.
logger_class = "lti_tool.log_redaction.RedactingGunicornLogger"
