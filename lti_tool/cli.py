"""`flask` commands: database, admins, platforms and deployments, keys."""
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


content_cli = AppGroup("content", help="Programme packs (frameworks, modules, activities).")


@content_cli.command("check")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
def content_check(folder):
    """Check every pack in FOLDER (default: the configured packs) against the schema."""
    from .assessment.pack import content_check_lines
    from .content import check_all
    from .content.report import programme_problems, programme_report

    root = Path(folder or current_app.config["CONTENT_PACKS_DIR"])
    programmes, problems = check_all(root)
    assessment_lines, assessment_problems = content_check_lines(root)
    problems = problems + assessment_problems + programme_problems(programmes)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the packs under {root}")
    for code, programme in sorted(programmes.items()):
        for line in programme_report(programme):
            click.echo(line)
    for line in assessment_lines:
        click.echo(line)
    from .content.outline import check_lines as outline_lines

    for line in outline_lines(programmes):
        click.echo(line)
    click.echo("All packs are valid.")


@content_cli.command("new-programme")
@click.argument("code")
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write into (default: CONTENT_PACKS_DIR).")
@click.option("--force", is_flag=True, help="Replace the programme's folder if it exists.")
def content_new_programme(code, out, force):
    """Write a commented pack skeleton for one of the ten NPQs (e.g. NPQH) to fill in."""
    from .content.scaffold import ScaffoldError, write

    try:
        folder = write(code, Path(out or current_app.config["CONTENT_PACKS_DIR"]), force=force)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {folder}: an outline pack to fill in (see the comments in each file), "
               f"then check it with `flask content check {folder.parent}`.")


grades_cli = AppGroup("grades", help="Grade delivery to platform gradebooks (AGS).")


@grades_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls when idle.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Grades this worker sends at once (each platform call mostly waits on the network).")
@click.option("--batch", default=10, show_default=True, type=click.IntRange(1, 500),
              help="Grades a thread leases per pass (small batches spread a release over every worker).")
def grades_work(once, interval, threads, batch):
    """Deliver the grade outbox. Run one or more of these (on any machines); they never send a
    grade twice. Also clears expired login states, rate-limit windows and page tickets, and admin
    sessions that ended long ago."""
    import threading

    app = current_app._get_current_object()
    sent = [0] * threads

    def run(n: int) -> None:
        with app.app_context():
            sent[n] = _deliver_loop(once, interval, batch, purge=n == 0)

    if threads == 1:
        run(0)
    else:
        workers = [threading.Thread(target=run, args=(n,), name=f"grades-{n}", daemon=True) for n in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            while thread.is_alive():
                thread.join(1.0)  # in steps, so Ctrl-C still stops the command
    if once:
        click.echo(f"Attempted {sum(sent)} grade(s).")


def _deliver_loop(once: bool, interval: float, batch: int, purge: bool) -> int:
    """One delivery thread of `flask grades work`: passes over the outbox until stopped (or once)."""
    import logging
    import time

    from .grades.delivery import deliver_due
    from .housekeeping import purge_expired

    last_purge = 0.0
    while True:
        sent = 0
        try:
            sent = deliver_due(batch)
            if purge and time.time() - last_purge > 300:
                purge_expired()
                last_purge = time.time()
        except Exception:  # a database hiccup: log it, wait, carry on
            logging.getLogger(__name__).exception("grade worker pass failed; retrying")
            time.sleep(interval)
        finally:
            db().close()
        if once:
            return sent
        if not sent:
            time.sleep(interval)


@grades_cli.command("status")
def grades_status():
    """How many grades are pending, delivered and failed."""
    from sqlalchemy import func

    from .models import GradeOutbox

    for status, count in db().execute(select(GradeOutbox.status, func.count()).group_by(GradeOutbox.status)):
        click.echo(f"{status}\t{count}")


def register_commands(app: Flask) -> None:
    from .privacy.cli import data_cli

    for group in (db_cli, admin_cli, platform_cli, deployment_cli, keys_cli, content_cli, grades_cli, data_cli):
        app.cli.add_command(group)
    app.cli.add_command(quickstart_setup)
