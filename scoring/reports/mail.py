"""Sending the queued monthly (and quarter) reports over SMTP: each report to each recipient exactly once.

A run (the scheduler's "mail" job, or `flask reports send`):

1. Deliveries stuck in "sending" for longer than STUCK_AFTER belong to a run that died between
   handing the message to the SMTP server and recording it. Whether the server took the message is
   unknown, so they are NOT resent: they become `failed` with a note asking a person to check the
   mailbox and resend by hand (`flask reports send YYYY-MM|YYYY-Qn --resend-failed`). A missing report is
   visible in GET …/deliveries; a duplicate in a manager's inbox is not undoable.
2. Claim the due deliveries (queued, or failed with a retry due) in one conditional UPDATE and
   commit BEFORE talking SMTP: status "sending", claimed_by this run, a deterministic Message-ID.
   The UPDATE re-checks the status, so two runs racing (two scheduler processes, two threads) never
   claim the same row; on PostgreSQL the candidates are picked FOR UPDATE SKIP LOCKED.
3. One SMTP connection for the run, batch after batch until nothing is due; each distinct report
   (one per scope) is rendered and MIME-encoded once for the run. After each message its row is
   marked sent (or failed, with attempts + 1, the error and the next attempt after 1, 2, 4 …
   minutes, at most an hour) and committed at once, so a crash leaves at most one row in
   "sending". After MAX_ATTEMPTS failures a delivery stays `failed`. A failure for one recipient
   does not resend to the others.
   A month reopened after its report was queued holds its deliveries until it is closed again.

Without SMTP_URL nothing is claimed: deliveries stay queued and the job logs that once.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import aliased

from ..clock import utcnow
from ..competitions.models import Competition
from ..extensions import db
from ..periods.models import Period, PeriodEvent
from .exports import XLSX_TYPE
from .models import Delivery, QuarterEdition
from .render import build_report, render_html, render_text, render_xlsx

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=15)
BATCH = 200  # deliveries claimed at a time; a run claims batch after batch until none is due
INTERRUPTED = ("interrupted while sending; not resent to avoid a duplicate — check the mailbox and resend by hand")
_warned_unconfigured = False


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(minutes=2 ** (max(attempts, 1) - 1)), MAX_BACKOFF)


def due_filter(now: datetime):
    # A month reopened after its report was queued holds the report until it is closed again, and only
    # the month's current edition goes out (an older one queued before a re-close never does).
    current = (select(func.max(PeriodEvent.edition)).where(PeriodEvent.period_id == Period.id)
               .correlate(Period).scalar_subquery())
    closed = select(Period.id).where(Period.competition_id == Delivery.competition_id, Period.key == Delivery.period,
                                     Period.status == "closed", current == Delivery.edition).exists()
    # A quarter's report (period YYYY-Qn) goes out while no month of the quarter has been closed or reopened
    # since its edition was made: a month reopened holds it, a month closed again makes the next edition.
    edition = aliased(QuarterEdition)
    moved = (select(PeriodEvent.id).join(Period, Period.id == PeriodEvent.period_id)
             .where(Period.competition_id == edition.competition_id,
                    Period.key.between(edition.first_month, edition.last_month),
                    PeriodEvent.id > edition.last_event_id).exists())
    quarter = select(edition.id).where(edition.competition_id == Delivery.competition_id,
                                       edition.period == Delivery.period, edition.edition == Delivery.edition,
                                       ~moved).exists()
    # An archived competition sends nothing (what was queued waits, should it be brought back).
    live = select(Competition.id).where(Competition.id == Delivery.competition_id,
                                        Competition.archived_at.is_(None)).exists()
    return or_(
        Delivery.status == "queued",
        # claimed_by is cleared on an ordinary failure and kept on an interrupted one, which is
        # therefore never retried automatically.
        and_(Delivery.status == "failed", Delivery.claimed_by.is_(None), Delivery.attempts < MAX_ATTEMPTS),
    ) & (Delivery.next_attempt_at <= now) & (closed | quarter) & live


def send_due(now: datetime) -> int:
    """Send every delivery that is due, batch after batch in this one run over one SMTP connection
    (each distinct report rendered and encoded once for the run); returns how many were sent."""
    global _warned_unconfigured
    url = current_app.config.get("SMTP_URL")
    if not url:
        if not _warned_unconfigured:
            log.warning("SMTP_URL is not set: monthly reports stay queued until it is")
            _warned_unconfigured = True
        return 0
    give_up_interrupted(now)
    sent, connection, rendered = 0, None, {}
    # The run's reports share what they read (the boards, the month's entries) across the commit after
    # every message: expired by each commit, every entry would be read again, one query each.
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        while claimed := claim_due(now):
            if connection is None:
                try:
                    connection = connect(url)
                except (OSError, smtplib.SMTPException) as error:
                    for delivery in claimed:
                        _failed(delivery, f"cannot reach the SMTP server: {_describe(error)}", now)
                    db.session.commit()
                    log.warning("report mail: %s", _describe(error))
                    return sent
            done, lost = _send(connection, claimed, now, rendered)
            sent += done
            if lost:
                break
    finally:
        session.expire_on_commit = expire
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return sent


def give_up_interrupted(now: datetime) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < now - STUCK_AFTER)
        .values(status="failed", last_error=INTERRUPTED)
    )
    db.session.commit()
    if result.rowcount:
        log.error("%d report deliveries were interrupted while sending; not resent", result.rowcount)
    return result.rowcount or 0


def claim_due(now: datetime) -> list[Delivery]:
    """Take the due deliveries for this run and commit, before any mail goes out."""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    candidates = select(Delivery.id).where(due_filter(now)).order_by(Delivery.id).limit(BATCH)
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = db.session.scalars(candidates).all()
    if not ids:
        db.session.commit()
        return []
    # The WHERE is evaluated again under the write lock, so a row another run took meanwhile is skipped.
    db.session.execute(
        update(Delivery).where(Delivery.id.in_(ids), due_filter(now))
        .values(status="sending", claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.scalars(
        select(Delivery).where(Delivery.claimed_by == token, Delivery.status == "sending").order_by(Delivery.id)
        .execution_options(populate_existing=True)
    ).all()
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    for delivery in claimed:
        # The same for every attempt, so a receiving system can drop a duplicate it has already seen.
        delivery.message_id = (f"<report.{delivery.competition_id}.{delivery.period}.e{delivery.edition}"
                               f".{delivery.recipient_id}.{delivery.id}@{domain}>")
    db.session.commit()
    return claimed


def _send(connection: smtplib.SMTP, deliveries: list[Delivery], now: datetime, rendered: dict) -> tuple[int, bool]:
    """(messages sent, whether the connection was lost: the rest wait for the next run)."""
    sent = 0
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    for index, delivery in enumerate(deliveries):
        try:
            raw, smtputf8 = message_bytes(delivery, rendered)
        except Exception as error:  # noqa: BLE001 - a broken report fails its delivery, not the run
            log.exception("report %s for %s could not be rendered", delivery.period, delivery.recipient.email)
            _failed(delivery, f"could not render the report: {_describe(error)}", now)
            db.session.commit()
            continue
        try:
            connection.sendmail(sender, [delivery.recipient.email], raw,
                                mail_options=("SMTPUTF8", "BODY=8BITMIME") if smtputf8 else ())
        except smtplib.SMTPServerDisconnected as error:
            # The connection is gone: this and the remaining ones wait for the next run.
            for rest in deliveries[index:]:
                _failed(rest, f"SMTP connection lost: {_describe(error)}", now)
            db.session.commit()
            return sent, True
        except (smtplib.SMTPException, OSError) as error:
            _failed(delivery, _describe(error), now)
            db.session.commit()
            continue
        delivery.status = "sent"
        delivery.sent_at = now
        delivery.attempts += 1
        delivery.last_error = None
        db.session.commit()
        sent += 1
        log.info("report %s sent to %s", delivery.period, delivery.recipient.email)
    return sent, False


def _failed(delivery: Delivery, error: str, now: datetime) -> None:
    delivery.attempts += 1
    delivery.status = "failed"
    delivery.last_error = error[:2000]
    delivery.claimed_by = None
    delivery.claimed_at = None
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    if delivery.attempts >= MAX_ATTEMPTS:
        log.error("report %s to %s failed %d times; giving up: %s", delivery.period, delivery.recipient.email,
                  delivery.attempts, error)


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr} refused: {code} {msg.decode(errors='replace')}"
                         for addr, (code, msg) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        return f"{error.smtp_code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def connect(url: str, timeout: float = 30) -> smtplib.SMTP:
    """One connection from SMTP_URL: smtp://, smtp+starttls:// or smtps://, with optional user:pass."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme == "smtps":
        connection = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = smtplib.SMTP(host, parts.port or (587 if parts.scheme == "smtp+starttls" else 25),
                                  timeout=timeout)
        if parts.scheme == "smtp+starttls":
            connection.starttls(context=ssl.create_default_context())
    if parts.username:
        connection.login(unquote(parts.username), unquote(parts.password or ""))
    return connection


def build_message(delivery: Delivery, cache: dict | None = None) -> EmailMessage:
    """The report as one multipart message: text, HTML and the XLSX attachment."""
    raw, _ = message_bytes(delivery, cache)
    return message_from_bytes(raw, policy=policy.default)


def message_bytes(delivery: Delivery, cache: dict | None = None) -> tuple[bytes, bool]:
    """(the message as sent over SMTP, whether it needs SMTPUTF8). The report's MIME parts are
    rendered and encoded once per distinct scope (kept in `cache`); each recipient adds only the
    header lines that are theirs."""
    cache = {} if cache is None else cache
    key = (delivery.competition_id, delivery.period, delivery.recipient.section_id)
    if key not in cache:
        cache[key] = _report_part(delivery, cache)
    subject, body = cache[key]
    local, _, domain = delivery.recipient.email.rpartition("@")
    smtputf8 = not delivery.recipient.email.isascii()
    head = EmailMessage(policy=policy.SMTPUTF8 if smtputf8 else policy.SMTP)
    head["Subject"] = subject
    head["From"] = current_app.config["MAIL_FROM"]
    head["To"] = Address(display_name=delivery.recipient.name, username=local, domain=domain)
    head["Date"] = format_datetime(utcnow().astimezone())
    head["Message-ID"] = delivery.message_id
    return b"".join(head.policy.fold_binary(name, value) for name, value in head.items()) + body, smtputf8


def _report_part(delivery: Delivery, cache: dict) -> tuple[str, bytes]:
    """(subject, the MIME headers and body of the report of the delivery's scope, encoded for SMTP)."""
    competition = db.session.get(Competition, delivery.competition_id)
    report = build_report(competition, delivery.period, delivery.recipient.section, shared=cache)
    message = EmailMessage()
    message.set_content(render_text(report))
    message.add_alternative(render_html(report), subtype="html")
    maintype, subtype = XLSX_TYPE.split("/")
    message.add_attachment(render_xlsx(report), maintype=maintype, subtype=subtype, filename=report.filename())
    return report.title, message.as_bytes(policy=policy.SMTP)


def requeue_failed(competition_id: int, period: str) -> int:
    """By hand (the CLI): queue the failed deliveries of a month again, interrupted ones included."""
    result = db.session.execute(
        update(Delivery).where(Delivery.competition_id == competition_id, Delivery.period == period,
                               Delivery.status == "failed")
        .values(status="queued", claimed_by=None, claimed_at=None, next_attempt_at=utcnow())
    )
    return result.rowcount or 0
