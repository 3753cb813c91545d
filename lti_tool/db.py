"""Database engine and sessions: one scoped session per request (or CLI command, or worker job)."""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import DateTime, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use utcnow()")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by the tool's user only (0600) before SQLite creates it with
    the umask's 0644: it holds personal data and launch secrets. SQLite gives its -wal and -shm
    files the database file's mode. An existing file is tightened too, where the tool owns it."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path) and os.path.isdir(os.path.dirname(os.path.abspath(path))):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path + "-wal", path + "-shm"):
        _chmod_if_mine(name, 0o600)


def _chmod_if_mine(path: str | Path, mode: int) -> None:
    try:
        if os.stat(path).st_uid == os.geteuid():
            os.chmod(path, mode)
    except OSError:  # absent, or on a file system that keeps its own modes: leave it
        pass


def make_engine(url: str, busy_timeout: int = 30, ping_after_idle: float = 10.0) -> Engine:
    # hide_parameters: an error's message (logged, or shown in a traceback) names the statement
    # but never its values, which may be tokens, session IDs or personal data.
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            # WAL lets readers and one writer work at once across worker processes.
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL syncs at checkpoints rather than at every commit: still safe from
            # corruption, and a crash of the machine (not of the tool) can lose only the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout * 1000}")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10, hide_parameters=True)
    _ping_after_idle(engine, ping_after_idle)
    return engine


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """SQLAlchemy's pool_pre_ping, but only for a connection that sat idle in the pool for a while
    (where a database restart or an idle timeout may have closed it): a ping on every checkout is a
    round trip more per request, three per launch. A connection found dead is replaced (the pool
    retries on DisconnectionError), and a dead one that was busy is caught by SQLAlchemy's own
    disconnect handling, which also drops the rest of the pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < seconds:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:  # any failure means: not usable, get another one
            raise DisconnectionError(str(exc)) from exc


def init_app(app: Flask) -> None:
    # instance/ holds the SQLite database, the generated secret key and the demo admin password.
    _chmod_if_mine(app.instance_path, 0o700)
    engine = make_engine(app.config["DATABASE_URL"], app.config.get("DB_BUSY_TIMEOUT_SECONDS", 30),
                         app.config.get("DB_PING_AFTER_IDLE_SECONDS", 10.0))
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    app.extensions["db_engine"] = engine
    app.extensions["db_session"] = scoped_session(factory)

    @app.teardown_appcontext
    def _remove_session(exc):  # noqa: ARG001
        try:
            app.extensions["db_session"].remove()
        except SQLAlchemyError as error:
            # The response is already made: a connection that cannot be handed back (the
            # database went away) must not turn it into a server error. The pool drops it.
            log.warning("database session not closed cleanly: %s", error.__class__.__name__)


def db() -> Session:
    """The session of the current request or command."""
    return current_app.extensions["db_session"]()


def reads_only(view):
    """Marks a view that only reads: see `begin_reading`."""
    view.reads_only = True
    return view


def begin_reading() -> None:
    """Run this request's statements without a transaction around them: on PostgreSQL a page that
    only reads saves the BEGIN and ROLLBACK round trips (a third of a programme page's). Each
    statement still sees committed data; a single-statement write (a session's last-seen time)
    commits by itself. Only where the session has not started yet."""
    session = db()
    bind = session.get_bind()
    # PostgreSQL only: SQLite begins no transaction for reads anyway, and switching its connection's
    # mode and back costs more than it saves. Nor where the session joins a connection's
    # transaction (the start-up rehearsal's).
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def engine() -> Engine:
    return current_app.extensions["db_engine"]
