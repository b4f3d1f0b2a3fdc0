"""Months: locking, closing (an immutable snapshot and the red flag) and reopening.

These change data; the caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update

from ..audit.operations import record
from ..auth.models import User
from ..channels import operations as channels
from ..clock import utcnow
from ..competitions.models import Competition, Section, Team
from ..competitions.operations import bump_revision, check_writable
from ..entries.models import Entry
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..month import Month
from ..reports.operations import publish_quarter, queue_reports
from ..standings import tallies
from ..standings.engine import award_flag
from ..standings.operations import board_rows, rows_json
from .models import Period, PeriodEvent, Snapshot


def ensure_periods(competition_id: int, keys: set[str]) -> None:
    if not keys:
        return
    stmt = upsert_insert(Period.__table__).on_conflict_do_nothing(index_elements=["competition_id", "key"])
    db.session.execute(stmt, [{"competition_id": competition_id, "key": k, "status": "open"} for k in sorted(keys)])


def lock_months(competition_id: int, keys: set[str], *, exclusive: bool = False) -> dict[str, str]:
    """Take the months' row locks for this transaction, before anything is decided on their state;
    returns each month's status as it is under the lock. Makes a missing month's row first.

    Every operation that depends on whether a month is open takes it: posting, voiding, vetoes and
    their revocation hold it shared (they may run side by side), closing and reopening hold it
    exclusively, so each of those waits for the other and then sees the month as it really is.
    PostgreSQL: SELECT … FOR SHARE / FOR UPDATE. SQLite needs nothing here: every writing transaction
    starts with BEGIN IMMEDIATE (extensions.py), which already runs writers one at a time.
    """
    stmt = _LOCK_MONTHS[(not exclusive) if db.session.get_bind().dialect.name == "postgresql" else None]
    params = {"cid": competition_id, "keys": sorted(keys)}
    statuses = dict(db.session.execute(stmt, params).all())
    if len(statuses) < len(keys):  # a month's first entry: make its row, then hold it too
        ensure_periods(competition_id, keys - statuses.keys())
        statuses = dict(db.session.execute(stmt, params).all())
    return statuses


# Built once (a posting takes it every time): None plain (SQLite), True FOR SHARE, False FOR UPDATE.
_months = (select(Period.key, Period.status)
           .where(Period.competition_id == bindparam("cid"), Period.key.in_(bindparam("keys", expanding=True)))
           .order_by(Period.key))  # one order for every writer: no deadlock between two batches
_LOCK_MONTHS = {None: _months, True: _months.with_for_update(read=True), False: _months.with_for_update()}


def lock_month(competition_id: int, key: str, *, exclusive: bool = False) -> Period:
    """One month's row lock (see `lock_months`), and the month as it is under it."""
    lock_months(competition_id, {key}, exclusive=exclusive)
    return db.session.scalar(select(Period).where(Period.competition_id == competition_id, Period.key == key)
                             .execution_options(populate_existing=True))


def close_period(competition: Competition, key: str, actor=None, reason: str | None = None) -> tuple[Period, bool]:
    """Freeze both boards of the month and award the red flag: a new edition of the month (1 the 通报,
    each later close a 更正). Closing a closed month changes nothing and returns False. Safe when two
    processes close at once: the row lock orders them. The reason, when given, stays with the close
    (its event and the audit). A month not yet begun, or with no entry at all, is refused (422).
    Its report is then published (mailed, and posted by whatever listens to `publish_edition`),
    or, when the competition asks for approval, waits as a draft for `approve_edition`."""
    check_writable(competition)
    if key > Month.current(competition.timezone):
        raise Problem(422, f"{key} has not begun yet.", {"key": ["A future month cannot be closed."]})
    period = lock_month(competition.id, key, exclusive=True)
    if period.status == "closed":
        return period, False
    if db.session.scalar(select(Entry.id).where(Entry.competition_id == competition.id, Entry.period == key)
                         .limit(1)) is None:
        raise Problem(422, f"{key} has no entry at all; there is nothing to close.",
                      {"key": [f"没有任何计分记录的月份不能结账。{key} has no entry."]})
    edition = (db.session.scalar(select(func.max(PeriodEvent.edition)).where(PeriodEvent.period_id == period.id))
               or 0) + 1
    sections = board_rows(competition, "sections", key, live=True)
    teams = board_rows(competition, "teams", key, live=True)
    holder_code, sections = award_flag(sections)  # the snapshot's flag counts include the flag just won
    holder = db.session.scalar(select(Section).where(Section.competition_id == competition.id,
                                                     Section.code == holder_code)) if holder_code else None
    event = PeriodEvent(period_id=period.id, action="close", actor_id=getattr(actor, "id", None), reason=reason,
                        flag_section_id=holder.id if holder else None, edition=edition)
    db.session.add(event)
    db.session.flush()
    db.session.add_all([
        Snapshot(event_id=event.id, period_id=period.id, board="sections", rows=rows_json(sections)),
        Snapshot(event_id=event.id, period_id=period.id, board="teams", rows=rows_json(teams)),
    ])
    period.status = "closed"
    period.closed_at = event.at or utcnow()
    period.flag_section = holder
    bump_revision(competition.id)
    record("period.closed", competition_id=competition.id, target=f"period:{key}", actor=actor, reason=reason,
           detail={"flag": holder_code, "shared_first": holder_code is None and any(r.rank == 1 for r in sections),
                   "edition": edition, "approval": "pending" if competition.report_approval else None})
    db.session.flush()
    if not competition.report_approval:
        publish_edition(competition, key, edition)
    return period, True


def publish_edition(competition: Competition, key: str, edition: int) -> int:
    """An edition's report goes out: queued for every recipient once (and, for later editions, the
    earlier editions' unsent deliveries are withdrawn). Called in the transaction of the close, or of
    the approval when the competition asks for one; the groups hear of it with the mail. When it completes
    its quarter (or corrects a quarter already mailed) and the competition mails quarter reports, the
    quarter's report is queued too (`publish_quarter`)."""
    queued = queue_reports(competition, key, edition)
    channels.month_closed(competition, key, edition)
    publish_quarter(competition, key)
    return queued


def closing_event(period: Period) -> PeriodEvent | None:
    """The close that made the month's current edition (None while it is open or was never closed)."""
    if period.status != "closed":
        return None
    return db.session.scalar(select(PeriodEvent).where(PeriodEvent.period_id == period.id,
                                                       PeriodEvent.action == "close")
                             .order_by(PeriodEvent.id.desc()).limit(1))


def approve_edition(competition: Competition, key: str, actor=None) -> tuple[PeriodEvent, int]:
    """The admin approves the current edition's draft report: it is published now. Approving an
    approved edition changes nothing; returns the close event and the deliveries queued."""
    check_writable(competition)
    if not competition.report_approval:
        raise Problem(409, "This competition mails its reports without approval (report_approval is false).")
    period = lock_month(competition.id, key, exclusive=True)
    event = closing_event(period)
    if event is None:
        raise Problem(409, f"{key} is not closed; its report is a draft only after the close.")
    if event.approved_at is not None:
        return event, 0
    event.approved_at = utcnow()
    event.approved_by_id = getattr(actor, "id", None)
    bump_revision(competition.id)  # the month's row of history changed (the guard watches period_events)
    record("report.approved", competition_id=competition.id, target=f"period:{key}", actor=actor,
           detail={"edition": event.edition})
    queued = publish_edition(competition, key, event.edition)
    db.session.flush()
    db.session.refresh(event)  # its approved_by, for the answer
    return event, queued


def reopen_period(competition: Competition, key: str, reason: str, actor=None) -> Period:
    """Open a closed month again; its late entries count from now on. The close stays on record."""
    check_writable(competition)
    period = lock_month(competition.id, key, exclusive=True)
    if period.status != "closed":
        raise Problem(409, f"{key} is not closed.")
    # The status is checked again by the UPDATE itself, and the tallies take exactly the rows it turned.
    e = Entry.__table__.c
    late = db.session.execute(
        update(Entry.__table__).where(e.competition_id == competition.id, e.period == key, e.status == "late")
        .values(status="counted")
        .returning(e.id, e.client_id, e.period, e.section_id, e.team_id, e.criterion, e.item, e.kind, e.points)
    ).mappings().all()
    tallies.apply_deltas(competition.id, tallies.deltas_for(late))
    db.session.add(PeriodEvent(period_id=period.id, action="reopen", reason=reason,
                               actor_id=getattr(actor, "id", None)))
    period.status = "open"
    period.closed_at = None
    period.flag_section = None
    bump_revision(competition.id)
    record("period.reopened", competition_id=competition.id, target=f"period:{key}", reason=reason,
           detail={"late_entries_counted": len(late), "late_entries": _named(competition.id, late)}, actor=actor)
    db.session.flush()
    return period


def _named(competition_id: int, entries) -> list[dict]:
    """Entries as people name them: id, section and team codes, what and how much."""
    codes = dict(db.session.execute(select(Section.id, Section.code)
                                    .where(Section.competition_id == competition_id)).all())
    teams = dict(db.session.execute(select(Team.id, Team.code).where(Team.competition_id == competition_id)).all())
    return [{"entry": e["id"], "client_id": e["client_id"], "section": codes.get(e["section_id"]),
             "team": teams.get(e["team_id"]), "criterion": e["criterion"], "item": e["item"], "kind": e["kind"],
             "points": f"{Decimal(e['points']).normalize():f}"} for e in sorted(entries, key=lambda e: e["id"])]


def late_counts(competition_id: int) -> dict[str, int]:
    """Per month, the entries stored late (after its close) and waiting for a reopen."""
    return dict(db.session.execute(
        select(Entry.period, func.count()).where(Entry.competition_id == competition_id, Entry.status == "late")
        .group_by(Entry.period)).all())


def editions(competition_id: int) -> dict[str, int]:
    """Per month, how many times it was closed: edition 1 is the 通报, every later one a 更正."""
    return dict(db.session.execute(
        select(Period.key, func.count()).join(PeriodEvent, PeriodEvent.period_id == Period.id)
        .where(Period.competition_id == competition_id, PeriodEvent.action == "close").group_by(Period.key)).all())


@dataclass(frozen=True)
class PeriodView:
    """A month as `GET …/periods` shows it."""

    key: str
    status: str
    closed_at: datetime | None
    closed_at_local: str | None
    flag: dict | None
    edition: int
    late_entries: int
    approved_at: datetime | None = None
    approved_by: str | None = None
    awaiting_approval: bool = False


def approvals(competition: Competition, periods: list[Period]) -> dict[int, tuple[datetime | None, str | None]]:
    """Per closed month (by its id), when and by whom its current edition's report was approved (None, None
    while it waits); {} when the competition does not ask for approval. One query for the whole page."""
    closed = [p.id for p in periods if p.status == "closed"]
    if not competition.report_approval or not closed:
        return {}
    current = (select(func.max(PeriodEvent.id)).where(PeriodEvent.period_id.in_(closed), PeriodEvent.action == "close")
               .group_by(PeriodEvent.period_id))
    rows = db.session.execute(select(PeriodEvent.period_id, PeriodEvent.approved_at, User.username)
                              .outerjoin(User, User.id == PeriodEvent.approved_by_id)
                              .where(PeriodEvent.id.in_(current))).all()
    return {period_id: (at, by) for period_id, at, by in rows}


def period_views(competition: Competition, periods: list[Period]) -> list[PeriodView]:
    """The months with their editions, late entries and, when the competition asks for approval, the current
    edition's approval (three queries for the whole page), and the flag's holder named as the close's
    snapshot named it: a section renamed since keeps the name of its time."""
    zone = ZoneInfo(competition.timezone)
    counted, late = editions(competition.id), late_counts(competition.id)
    approved = approvals(competition, periods)
    flagged = [p.id for p in periods if p.flag_section_id is not None]
    names: dict[int, dict[str, str]] = {}
    if flagged:
        latest_close = (select(func.max(PeriodEvent.id)).where(PeriodEvent.period_id.in_(flagged),
                                                               PeriodEvent.action == "close")
                        .group_by(PeriodEvent.period_id))
        for period_id, rows in db.session.execute(
                select(Snapshot.period_id, Snapshot.rows).where(Snapshot.event_id.in_(latest_close),
                                                                Snapshot.board == "sections")):
            names[period_id] = {row["code"]: row["name"] for row in rows}

    def flag(period: Period) -> dict | None:
        if period.flag_section is None:
            return None
        code = period.flag_section.code
        return {"section": code, "name": names.get(period.id, {}).get(code, period.flag_section.name)}

    def approval(period: Period) -> dict:
        if period.id not in approved:
            return {}
        at, by = approved[period.id]
        return {"approved_at": at, "approved_by": by if at else None, "awaiting_approval": at is None}

    return [PeriodView(key=p.key, status=p.status, closed_at=p.closed_at,
                       closed_at_local=p.closed_at.astimezone(zone).isoformat() if p.closed_at else None,
                       flag=flag(p), edition=counted.get(p.key, 0), late_entries=late.get(p.key, 0), **approval(p))
            for p in periods]
