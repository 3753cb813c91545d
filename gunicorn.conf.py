"""gunicorn settings. Every worker is stateless: launch state, sessions and caches are in the database."""
import gc
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
# The app is loaded and warmed up once in the master (lti_tool/warmup.py: lazy imports, packs,
# templates, keys), then every worker is forked from it: the first request after start-up is as fast as
# the hundredth. A new release needs a restart (SIGHUP re-forks workers from the same loaded code).
# GUNICORN_PRELOAD=0: each worker loads and warms up the app itself; NPQ_WARM_UP=0: no warm-up.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1").lower() not in ("0", "false", "no")
_warm_up = os.environ.get("NPQ_WARM_UP", "1").lower() not in ("0", "false", "no")


def _warm(app) -> None:
    if _warm_up and getattr(app, "import_name", "") == "lti_tool":  # not the bench's floor apps
        from lti_tool.warmup import warm_up

        warm_up(app)


def when_ready(server):
    if preload_app:
        _warm(server.app.wsgi())
        # What the master loaded stays shared with the workers: the collector leaves it alone
        # rather than touching (and so copying) every page of it in each worker.
        gc.freeze()


def post_worker_init(worker):
    if not preload_app:
        _warm(worker.app.wsgi())


def post_fork(server, worker):
    # Database connections are never shared across processes: each worker opens its own, one of
    # them now rather than during its first request.
    if preload_app:
        engine = getattr(server.app.wsgi(), "extensions", {}).get("db_engine")
        if engine is not None:
            engine.dispose(close=False)
            try:
                engine.connect().close()
            except Exception:  # the database is not up yet: the first request connects
                pass
        if _warm_up and getattr(server.app.wsgi(), "import_name", "") == "lti_tool":
            from lti_tool.warmup import warm_worker

            warm_worker(server.app.wsgi())  # this worker's own first touches, before it serves
