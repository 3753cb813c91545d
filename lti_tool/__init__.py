"""NPQ LTI tool: the application factory."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent
from .extensions import csrf  # noqa: F401  (older imports take it from here)

# Settings the README documents by their plain names (older deployments set them so); any
# setting can also be given as NPQ_<NAME>, read by Flask's from_prefixed_env (JSON values).
_PLAIN_ENV = ("DATABASE_URL", "SECRET_KEY", "KEYS_DIR", "CONTENT_PACKS_DIR", "PROXY_COUNT",
              "DB_PING_AFTER_IDLE_SECONDS", "SANDBOX_ENABLED", "DEMO_DATA", "AUTO_ACTIVATE_REGISTRATIONS",
              "AUTO_ACCEPT_NEW_DEPLOYMENTS", "OPEN_DYNAMIC_REGISTRATION", "REQUIRE_HTTPS_PLATFORM_URLS",
              "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", "RATE_LIMITS_ENABLED",
              "REGISTRATION_RATE_LIMIT", "ADMIN_REQUIRE_TOTP", "DEFAULT_PROGRAMME")


def _typed_like(value: str, default: object) -> object:
    """An environment string as the type of the setting's default (true/false, a number)."""
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, (int, float)):
        return type(default)(value)
    return value


def _from_environment(app: Flask) -> None:
    for key in _PLAIN_ENV:
        if os.environ.get(key):
            app.config[key] = _typed_like(os.environ[key], app.config.get(key))
    app.config.from_prefixed_env("NPQ")


def _load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_pyfile(str(ROOT / "config" / "default.py"))
    env_name = (test_config or {}).get("CONFIG_NAME") or os.environ.get("NPQ_CONFIG", "quickstart")
    app.config["CONFIG_NAME"] = env_name
    app.config.from_pyfile(str(ROOT / "config" / f"{env_name}.py"))
    _from_environment(app)
    if test_config:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'npq.sqlite3'}"
    if not app.config.get("KEYS_DIR"):
        app.config["KEYS_DIR"] = str(ROOT / "keys")
    if not app.config.get("CONTENT_PACKS_DIR"):
        app.config["CONTENT_PACKS_DIR"] = str(ROOT / "lti_tool" / "content" / "packs")
    if not app.config.get("SECRET_KEY"):
        if env_name == "production":
            raise RuntimeError("SECRET_KEY must be set in production (the same on every machine).")
        app.config["SECRET_KEY"] = _local_secret(instance / "secret_key")


def _local_secret(path: Path) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    _load_config(app, test_config)
    from .logging_setup import configure_logging

    configure_logging()

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    from . import auth, db, web
    from .lti.keys import KeyStore

    db.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    keystore = KeyStore(app.config["KEYS_DIR"])
    keystore.ensure()
    app.extensions["keystore"] = keystore

    from .activities.views import bp as activities_bp
    from .admin import bp as admin_bp
    from .catalogue.views import bp as catalogue_bp
    from .delivery.views import bp as delivery_bp
    from .marking.views import bp as marking_bp
    from .assessment.views import bp as assessment_bp
    from .writeups.views import bp as writeups_bp
    from .core.views import bp as core_bp
    from .lti.views import bp as lti_bp
    from .privacy.notice import bp as privacy_bp

    app.register_blueprint(lti_bp)
    app.register_blueprint(core_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(activities_bp)
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(writeups_bp)
    app.register_blueprint(marking_bp)
    app.register_blueprint(assessment_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(privacy_bp)
    # Platforms post id_tokens and registration forms across sites: those are protected by
    # signatures and state, not by the CSRF token.
    csrf.exempt(lti_bp)
    if app.config["SANDBOX_ENABLED"]:
        from .sandbox.views import bp as sandbox_bp

        app.register_blueprint(sandbox_bp)

    web.init_app(app)
    from . import dates, fragments, urls, wording

    urls.init_app(app)
    dates.init_app(app)
    wording.init_app(app)
    fragments.init_app(app)
    from . import security

    security.init_app(app)
    from .cli import register_commands

    register_commands(app)
    return app
