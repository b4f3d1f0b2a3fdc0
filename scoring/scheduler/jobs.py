"""The scheduled work. Each job is safe to run in two scheduler processes at once: work that must
happen once per (job, key) inserts a `JobClaim` in the same transaction, and the unique constraint
lets only one of the racing transactions commit."""
from __future__ import annotations

import logging
import os
import socket
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..channels import outbox
from ..channels.operations import daily_digest, notices_overdue
from ..clock import utcnow
from ..competitions.models import Competition
from ..entries.operations import post_entries
from ..entries.schemas import EntryIn
from ..extensions import db, upsert_insert
from ..month import Month
from ..notices.operations import mark_overdue, penalty
from ..periods.models import Period, PeriodEvent
from ..periods.operations import close_period, ensure_periods
from ..reports import mail
from ..standings.consistency import check_tallies
from ..standings.operations import take_daily_snapshot
from .models import Heartbeat, JobClaim

log = logging.getLogger(__name__)
PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def claim(job: str, key: str) -> bool:
    """Claim (job, key) for this transaction; False when another process already has it."""
    try:
        with db.session.begin_nested():
            db.session.add(JobClaim(job=job, key=key, claimed_by=PROCESS))
        return True
    except IntegrityError:
        return False


def heartbeat() -> None:
    stmt = upsert_insert(Heartbeat.__table__).values(process=PROCESS, at=utcnow())
    db.session.execute(stmt.on_conflict_do_update(index_elements=["process"], set_={"at": stmt.excluded.at}))


def _at(day: date, clock: str, tz: ZoneInfo) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tz)


def close_deadline(key: str, competition: Competition) -> datetime | None:
    """When a month closes by itself, by the competition's policy (by default the 3rd of the next month
    at 00:30, which leaves offline tablets two days to sync); None when the office closes by hand."""
    if competition.auto_close_day is None:
        return None
    first = Month(key).next().first_day
    return _at(first + timedelta(days=competition.auto_close_day - 1), competition.auto_close_time,
               ZoneInfo(competition.timezone))


def close_due_periods(now: datetime | None = None) -> list[str]:
    """Close each past month once, when its competition's deadline has passed. A month an admin
    reopened stays open until an admin closes it again: the scheduler closes a month only if it was
    never closed. Competitions closed by hand, and months without any entry, are left alone."""
    from ..entries.models import Entry

    now = now or utcnow()
    closed = []
    for competition in db.session.scalars(select(Competition).where(Competition.auto_close_day.is_not(None),
                                                                    Competition.archived_at.is_(None))
                                          .order_by(Competition.id)).all():
        tz = ZoneInfo(competition.timezone)
        running = Month.current(competition.timezone, now)
        if competition.created_at < running.bounds(tz)[0]:  # last month closes even if nothing was posted in it
            ensure_periods(competition.id, {running.previous()})
        ever_closed = select(PeriodEvent.period_id).where(PeriodEvent.action == "close")
        has_entries = select(Entry.id).where(Entry.competition_id == competition.id,
                                             Entry.period == Period.key).exists()
        due = db.session.scalars(
            select(Period.key).where(Period.competition_id == competition.id, Period.status == "open",
                                     Period.key < running, Period.id.not_in(ever_closed), has_entries)
            .order_by(Period.key)
        ).all()
        for key in due:
            if now < close_deadline(key, competition) or not claim("close", f"{competition.id}:{key}"):
                continue
            policy = competition.auto_close
            _, changed = close_period(competition, key, actor="scheduler",
                                      reason=f"按结账规则自动结账（次月{policy['day']}日 {policy['time']}）")
            if changed:
                closed.append(f"{competition.id}:{key}")
                log.info("closed %s of competition %s", key, competition.id)
    return closed


def once_a_day(job: str, setting: str, now: datetime):
    """(competition, its today) for each competition whose day has passed the time of day `setting` in
    its zone, and whose (job, day) this transaction claims: once a day, whatever the number of schedulers."""
    for competition in db.session.scalars(select(Competition).where(Competition.archived_at.is_(None))
                                          .order_by(Competition.id)).all():
        tz = ZoneInfo(competition.timezone)
        today = now.astimezone(tz).date()
        if now >= _at(today, current_app.config[setting], tz) and claim(job, f"{competition.id}:{today.isoformat()}"):
            yield competition, today


def take_daily_snapshots(now: datetime | None = None) -> list[str]:
    """Once a day, after SNAPSHOT_TIME local time, store every open month's standings."""
    taken = []
    for competition, today in once_a_day("snapshot", "SNAPSHOT_TIME", now or utcnow()):
        rows = take_daily_snapshot(competition, today)
        taken.append(f"{competition.id}:{today.isoformat()}:{rows}")
    return taken


def check_consistency(now: datetime | None = None) -> int | None:
    """Once a day after CHECK_TIME (server's default zone): compare the aggregates with the
    entries; rebuild and report when they drifted."""

    now = now or utcnow()
    tz = ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])
    today = now.astimezone(tz).date()
    if now < _at(today, current_app.config["CHECK_TIME"], tz) or not claim("check", today.isoformat()):
        return None
    drift = check_tallies(repair=True)
    db.session.execute(
        JobClaim.__table__.update().where(JobClaim.job == "check", JobClaim.key == today.isoformat())
        .values(result=f"{len(drift)} aggregate rows drifted and were rebuilt" if drift else "no drift")
    )
    return len(drift)


def send_mail(now: datetime | None = None) -> int:
    """Send the queued monthly reports (see reports.mail)."""
    return mail.send_due(now or utcnow())


def overdue_notices(now: datetime | None = None) -> list[str]:
    """Notices past the end of their rectify_by day and not closed: marked overdue once, and the competition's
    overdue_penalty posted once for each (client_id overdue:<number>: two schedulers cannot double it)."""
    gone = mark_overdue(now or utcnow())
    for competition_id in sorted({notice.competition_id for notice in gone}):  # the groups hear of it once
        notices_overdue(competition_id, [
            {"number": n.number, "section": n.section, "section_name": n.section_name, "days_late": n.days_late}
            for n in gone if n.competition_id == competition_id])
    load = EntryIn().load
    for notice in gone:
        log.info("notice %s of competition %s is overdue", notice.number, notice.competition_id)
        fine = penalty(notice)
        if fine is not None:
            competition, actor, payload = fine
            (outcome,) = post_entries(competition, actor, [payload], load)
            if outcome.status not in ("created", "duplicate"):
                log.warning("overdue penalty %s not posted: %s %s", payload["client_id"], outcome.status,
                            outcome.errors)
    return [notice.number for notice in gone]


def queue_digests(now: datetime | None = None) -> list[str]:
    """Once a day, after DIGEST_TIME in the competition's zone: the day's digest to its group bots."""
    queued = []
    for competition, today in once_a_day("digest", "DIGEST_TIME", now or utcnow()):
        daily_digest(competition, today)
        queued.append(f"{competition.id}:{today.isoformat()}")
    return queued


def send_channels(now: datetime | None = None) -> int:
    """Send the queued group-bot messages (see channels.outbox)."""
    return outbox.send_due(now or utcnow())


JOBS = {
    "heartbeat": heartbeat,
    "close": close_due_periods,
    "snapshot": take_daily_snapshots,
    "check": check_consistency,
    "mail": send_mail,
    "overdue": overdue_notices,
    "digest": queue_digests,
    "channels": send_channels,
}


def run_job(name: str):
    """Run one job in its own transaction: commit on success, roll back and log on failure."""
    try:
        result = JOBS[name]()
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        log.exception("job %s failed", name)
        raise
    finally:
        db.session.remove()
