"""`flask --app wsgi scheduler`: the one process that runs the scheduled jobs.

APScheduler inside gunicorn would run every job once per worker, so it runs here, on its own.
Running two of these (on two hosts, say) is safe: see scheduler.jobs.
"""
from __future__ import annotations

import logging
import signal
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from ..clock import utcnow
from .jobs import JOBS, run_job

log = logging.getLogger(__name__)


@click.command("scheduler")
@click.option("--once", "once", default=None, type=click.Choice(sorted(JOBS)),
              help="Run one job now and exit instead of running the schedule.")
@with_appcontext
def scheduler_command(once):
    """Run the scheduler in the foreground (rollups, auto-close, consistency check, report mail, group bots)."""
    if once:
        click.echo(f"{once}: {run_job(once)}")
        return
    if not current_app.config["SCHEDULER_ENABLED"]:
        click.echo("SCHEDULER_ENABLED is off; not starting the scheduler.")
        return
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()
    interval = app.config["SCHEDULER_INTERVAL"]
    scheduler = BlockingScheduler(timezone="UTC")
    # APScheduler logs every run at INFO; our jobs log what they do, so keep its chatter to warnings.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))

    def job(name):
        def run():
            with app.app_context():
                try:
                    run_job(name)
                except Exception:  # noqa: BLE001 - logged in run_job; the schedule goes on
                    pass
        return run

    for name in JOBS:
        scheduler.add_job(job(name), "interval", seconds=interval, id=name, name=name, max_instances=1, coalesce=True,
                          misfire_grace_time=interval, next_run_time=utcnow())

    stopping = []

    def stop(signum, _frame):
        # Idempotent: Ctrl-C and a SIGTERM to the group may both arrive; one line, one shutdown.
        if stopping:
            return
        stopping.append(signum)
        log.info("%s: stopping the scheduler", signal.Signals(signum).name)
        scheduler.shutdown(wait=False)

    def nudge():
        # Wake the scheduler every interval with a plain sleep: its own timed wait can oversleep when the
        # wall clock jumps (and never ends under libfaketime, which CI's moved-clock run uses).
        while not stopping:
            time.sleep(interval)
            if scheduler.running and not stopping:
                scheduler.wakeup()

    threading.Thread(target=nudge, name="scheduler-nudge", daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # no KeyboardInterrupt in the middle of a job or of the shutdown
    click.echo(f"scheduler running: jobs {', '.join(JOBS)} every {interval}s")
    scheduler.start()  # returns once stop() has shut it down
    for signum in (signal.SIGTERM, signal.SIGINT):  # and later ones cannot kill the exit half-way
        signal.signal(signum, signal.SIG_IGN)

