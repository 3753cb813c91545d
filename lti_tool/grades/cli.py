"""`flask grades ...`: the grade delivery worker and the outbox's counts."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import db


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

    from ..housekeeping import purge_expired
    from .delivery import deliver_due

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
    """How many grades are pending, delivered, failed and superseded (not sent: a newer one was)."""
    from sqlalchemy import func

    from ..models import GradeOutbox

    for status, count in db().execute(select(GradeOutbox.status, func.count()).group_by(GradeOutbox.status)):
        click.echo(f"{status}\t{count}")
