"""`flask --app wsgi reports send YYYY-MM|YYYY-Qn` and `reports preview YYYY-MM|YYYY-Qn --out report.html`."""
from __future__ import annotations

import re
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..clock import utcnow
from ..competitions.models import Competition
from ..errors import Problem
from ..extensions import db
from ..month import QUARTER_PATTERN, Month
from .exports import section_by_code
from .mail import send_due
from .models import Delivery
from .operations import send_report
from .render import build_report, render_html, render_text

reports_cli = AppGroup("reports", help="The monthly report: send it now, or preview it.")


def _competition(competition_id: int | None):
    if competition_id is None:
        ids = db.session.scalars(select(Competition.id)).all()
        if len(ids) != 1:
            raise click.ClickException(f"{len(ids)} competitions are stored; say which with --competition ID.")
        competition_id = ids[0]
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        raise click.ClickException(f"No competition {competition_id}.")
    return competition


def _month(value: str) -> str:
    """A month (YYYY-MM), or a quarter (YYYY-Qn): its report is mailed too (`quarter_reports`)."""
    if re.fullmatch(QUARTER_PATTERN, value or ""):
        return value
    try:
        return Month(value)
    except ValueError as error:
        raise click.BadParameter(f"{error} (or a quarter, YYYY-Qn)") from None


@reports_cli.command("send")
@click.argument("period", callback=lambda _ctx, _param, value: _month(value))
@click.option("--competition", "competition_id", type=int, default=None, help="The competition id.")
@click.option("--resend-failed", is_flag=True,
              help="Queue the month's failed deliveries again first (after checking the mailboxes, for those "
                   "interrupted while sending).")
def send_command(period, competition_id, resend_failed):
    """Queue the month's report for every recipient (once each) and send what is due now."""
    competition = _competition(competition_id)
    try:
        queued, requeued = send_report(competition, period, resend_failed=resend_failed, by="cli")
    except Problem as problem:
        raise click.ClickException(problem.detail) from None
    db.session.commit()
    click.echo(f"{period}: {queued} new deliveries queued" + (f", {requeued} failed ones queued again"
                                                              if resend_failed else ""))
    sent = send_due(utcnow())
    click.echo(f"sent {sent} message(s)")
    for delivery in db.session.scalars(select(Delivery).where(Delivery.competition_id == competition.id,
                                                              Delivery.period == period).order_by(Delivery.id)):
        click.echo(f"  {delivery.recipient.email:40} edition {delivery.edition} {delivery.status:8} "
                   f"attempts {delivery.attempts}"
                   + (f"  {delivery.last_error}" if delivery.last_error else ""))


@reports_cli.command("preview")
@click.argument("period", callback=lambda _ctx, _param, value: _month(value))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The HTML file to write.")
@click.option("--competition", "competition_id", type=int, default=None, help="The competition id.")
@click.option("--scope", default="all", help="all, or a section code for that section's recipients' view.")
@click.option("--text", "as_text", is_flag=True, help="Write the plain-text part instead of the HTML.")
def preview_command(period, out, competition_id, scope, as_text):
    """Write the month's report, as it would be mailed, to a file."""
    competition = _competition(competition_id)
    section = None
    if scope != "all":
        section = section_by_code(competition, scope)
        if section is None:
            raise click.ClickException(f"No section {scope!r}.")
    report = build_report(competition, period, section)
    out.write_text(render_text(report) if as_text else render_html(report), encoding="utf-8")
    click.echo(f"{report.title} → {out}")
