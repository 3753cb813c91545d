"""`flask` commands: database, admins, platforms and deployments, keys; register_commands adds the
groups that live with their area (content, grades, data)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from . import ROOT
from . import audit
from .db import db
from .models import ACTIVE, DISABLED, STATUSES, AdminUser, Deployment, Platform


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", current_app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def upgrade_database() -> None:
    alembic_command.upgrade(alembic_config(), "head")


db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
def db_upgrade():
    """Bring the database schema up to date."""
    upgrade_database()
    click.echo("Database is up to date.")


@db_cli.command("current")
def db_current():
    alembic_command.current(alembic_config(), verbose=True)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message):
    """Autogenerate a migration from the models."""
    alembic_command.revision(alembic_config(), message=message, autogenerate=True)


admin_cli = AppGroup("admin", help="Provider admin accounts.")


def create_admin(username: str, password: str) -> AdminUser:
    user = db().scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        user = AdminUser(username=username, password_hash="")
        db().add(user)
    else:  # a new password signs out whoever was signed in with the old one
        from .admin.access import end_all_sessions

        end_all_sessions(user.id)
    user.password_hash = generate_password_hash(password)
    db().commit()
    return user


@admin_cli.command("create")
@click.argument("username")
@click.option("--password", envvar="ADMIN_PASSWORD", prompt=True, hide_input=True,
              confirmation_prompt=True, help="Or set ADMIN_PASSWORD.")
def admin_create(username, password):
    """Create a provider admin (or reset their password)."""
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="password")
    create_admin(username, password)
    click.echo(f"Admin {username!r} saved.")


def _existing_admin(username: str) -> AdminUser:
    user = db().scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise click.ClickException(f"no admin {username!r}")
    return user


@admin_cli.command("reset-2fa")
@click.argument("username")
def admin_reset_2fa(username):
    """Turn an admin's two-factor authentication off (a lost phone and recovery codes): clears
    the TOTP secret and recovery codes and signs them out everywhere. They enrol again after."""
    from .admin import totp
    from .admin.access import end_all_sessions

    user = _existing_admin(username)
    totp.reset(user)
    ended = end_all_sessions(user.id)
    audit.record("admin.2fa_reset", target=user, actor="cli", detail={"sessions_ended": ended})
    db().commit()
    click.echo(f"Two-factor authentication is off for {username!r}; {ended} session(s) ended.")


@admin_cli.command("unlock")
@click.argument("username")
def admin_unlock(username):
    """Lift a lock-out after failed sign-ins (it also ends by itself after 15 minutes)."""
    from .admin import lockout

    user = _existing_admin(username)
    lockout.unlock(username, user)
    audit.record("admin.unlocked", target=user, actor="cli")
    db().commit()
    click.echo(f"Admin {username!r} is unlocked.")


platform_cli = AppGroup("platform", help="Platform registrations (issuer + client ID).")


@platform_cli.command("add")
@click.option("--name", required=True)
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
@click.option("--auth-login-url", required=True, help="Platform OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="Platform OAuth2 token endpoint.")
@click.option("--key-set-url", required=True, help="Platform JWKS URL.")
@click.option("--audience", default=None, help="Token audience, if not the token URL.")
@click.option("--deployment", "deployments", multiple=True, help="A deployment ID (repeatable).")
@click.option("--status", type=click.Choice(STATUSES), default=ACTIVE)
def platform_add(name, issuer, client_id, auth_login_url, auth_token_url, key_set_url, audience,
                 deployments, status):
    """Register a platform."""
    from .lti.outbound import url_problem  # the same URL rule as the admin pages

    for option, value in (("--issuer", issuer), ("--auth-login-url", auth_login_url),
                          ("--auth-token-url", auth_token_url), ("--key-set-url", key_set_url)):
        if url_problem(value, require_https=current_app.config["REQUIRE_HTTPS_PLATFORM_URLS"]):
            raise click.BadParameter("use an https:// address (http only for localhost)",
                                     param_hint=option)
    if db().scalar(select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)):
        raise click.ClickException("a platform with this issuer and client ID exists already")
    platform = Platform(name=name, issuer=issuer, client_id=client_id, auth_login_url=auth_login_url,
                        auth_token_url=auth_token_url, key_set_url=key_set_url,
                        auth_audience=audience, status=status, registered_via="cli")
    db().add(platform)
    db().flush()
    for dep in deployments:
        db().add(Deployment(platform_id=platform.id, deployment_id=dep, label="Added by CLI"))
    audit.record("platform.create", target=platform, actor="cli", detail={
        "issuer": issuer, "client_id": client_id, "auth_login_url": auth_login_url,
        "auth_token_url": auth_token_url, "key_set_url": key_set_url, "status": status,
        "deployments": list(deployments)})
    db().commit()
    click.echo(f"Platform {platform.id} ({name}) registered as {status}.")


@platform_cli.command("list")
def platform_list():
    """List platforms and their deployments."""
    for p in db().scalars(select(Platform).order_by(Platform.id)):
        click.echo(f"{p.id}\t{p.status}\t{p.name}\t{p.issuer}\t{p.client_id}")
        for d in p.deployments:
            click.echo(f"\t- deployment {d.deployment_id}\t{d.status}")


def _set_platform_status(platform_id: int, status: str) -> None:
    platform = db().get(Platform, platform_id)
    if platform is None:
        raise click.ClickException(f"no platform {platform_id}")
    audit.record("platform.status", target=platform, actor="cli", detail={"from": platform.status, "to": status})
    platform.status = status
    db().commit()
    click.echo(f"Platform {platform_id} is now {status}.")


@platform_cli.command("disable")
@click.argument("platform_id", type=int)
def platform_disable(platform_id):
    _set_platform_status(platform_id, DISABLED)


@platform_cli.command("activate")
@click.argument("platform_id", type=int)
def platform_activate(platform_id):
    """Activate (approve) a platform."""
    _set_platform_status(platform_id, ACTIVE)


@platform_cli.command("replace")
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask before making the change.")
def platform_replace(old_id, new_id, yes):
    """Registration NEW_ID replaces OLD_ID: move its courses, people, work and line items."""
    from .lti import replace_registration as rr

    try:
        preview = rr.preview(old_id, new_id)
    except rr.ReplacementRefused as exc:
        raise click.ClickException(str(exc)) from exc
    for line in rr.describe(preview):
        click.echo(line)
    if preview.blocked:
        raise click.ClickException("Nothing was changed.")
    if not yes and not click.confirm("Make this change?"):
        raise click.ClickException("Nothing was changed.")
    done = rr.replace(old_id, new_id)
    audit.record("platform.replaced", target=done.new, actor="cli", detail=rr.summary(done))
    db().commit()
    click.echo(f"Done: platform {old_id} is replaced by {new_id} and disabled.")


deployment_cli = AppGroup("deployment", help="Deployment IDs of a platform registration.")


@deployment_cli.command("add")
@click.argument("platform_id", type=int)
@click.argument("deployment_id")
def deployment_add(platform_id, deployment_id):
    if db().get(Platform, platform_id) is None:
        raise click.ClickException(f"no platform {platform_id}")
    row = Deployment(platform_id=platform_id, deployment_id=deployment_id, label="Added by CLI")
    db().add(row)
    db().flush()
    audit.record("deployment.add", target=row, actor="cli", detail={"platform_id": platform_id,
                                                                     "deployment_id": deployment_id})
    db().commit()
    click.echo(f"Deployment {deployment_id!r} added to platform {platform_id}.")


@deployment_cli.command("set-status")
@click.argument("platform_id", type=int)
@click.argument("deployment_id")
@click.argument("status", type=click.Choice(STATUSES))
def deployment_status(platform_id, deployment_id, status):
    """Approve (active), hold (pending) or disable a deployment."""
    row = db().scalar(select(Deployment).where(Deployment.platform_id == platform_id,
                                               Deployment.deployment_id == deployment_id))
    if row is None:
        raise click.ClickException("no such deployment")
    audit.record("deployment.status", target=row, actor="cli",
                 detail={"platform_id": platform_id, "from": row.status, "to": status})
    row.status = status
    db().commit()
    click.echo(f"Deployment {deployment_id!r} is now {status}.")


keys_cli = AppGroup("keys", help="The tool's signing keys.")


@keys_cli.command("rotate")
def keys_rotate():
    """Make the next key current and generate a new next key; the old current key stays published
    for KEY_ROTATION_GRACE_HOURS (tokens it signed just before still verify)."""
    from datetime import timedelta

    hours = float(current_app.config["KEY_ROTATION_GRACE_HOURS"])
    current, upcoming = current_app.extensions["keystore"].rotate(timedelta(hours=hours))
    audit.record("keys.rotate", actor="cli", detail={"current": current, "next": upcoming, "grace_hours": hours})
    db().commit()
    click.echo(f"Current key is now {current}; next key {upcoming}. "
               f"The previous key stays published for {hours:g} hours.")


@keys_cli.command("show")
def keys_show():
    store = current_app.extensions["keystore"]
    click.echo(f"current {store.current().kid}\nnext    {store.upcoming().kid}")
    for key in store.previous():
        click.echo(f"retired {key.kid} (still published)")


@click.command("quickstart-setup")
def quickstart_setup():
    """Migrate the database and create the demo admin (embedded default only)."""
    upgrade_database()
    password_file = Path(current_app.instance_path) / "admin_password.txt"
    if db().scalar(select(AdminUser).limit(1)) is None:
        password = secrets.token_urlsafe(12)
        create_admin("admin", password)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
    click.echo("Database ready.")
    if password_file.exists():
        click.echo(f"Admin sign-in: user 'admin', password in {password_file}")


def register_commands(app: Flask) -> None:
    from .content.cli import content_cli
    from .grades.cli import grades_cli
    from .privacy.cli import data_cli

    for group in (db_cli, admin_cli, platform_cli, deployment_cli, keys_cli, content_cli, grades_cli, data_cli):
        app.cli.add_command(group)
    app.cli.add_command(quickstart_setup)
