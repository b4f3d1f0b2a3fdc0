"""Months: locking, closing (an immutable snapshot and the red flag) and reopening.

These change data; the caller commits.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..audit.operations import record
from ..channels import operations as channels
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..competitions.operations import bump_revision
from ..entries.models import Entry
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..month import Month
from ..reports.operations import queue_reports
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
    stmt = (select(Period.key, Period.status).where(Period.competition_id == competition_id, Period.key.in_(keys))
            .order_by(Period.key))  # one order for every writer: no deadlock between two batches
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=not exclusive)
    statuses = dict(db.session.execute(stmt).all())
    if len(statuses) < len(keys):  # a month's first entry: make its row, then hold it too
        ensure_periods(competition_id, keys - statuses.keys())
        statuses = dict(db.session.execute(stmt).all())
    return statuses


def lock_month(competition_id: int, key: str, *, exclusive: bool = False) -> Period:
    """One month's row lock (see `lock_months`), and the month as it is under it."""
    lock_months(competition_id, {key}, exclusive=exclusive)
    return db.session.scalar(select(Period).where(Period.competition_id == competition_id, Period.key == key)
                             .execution_options(populate_existing=True))


def close_period(competition: Competition, key: str, actor=None) -> tuple[Period, bool]:
    """Freeze both boards of the month and award the red flag. Closing a closed month changes
    nothing and returns False. Safe when two processes close at once: the row lock orders them."""
    if key > Month.current(competition.timezone):
        raise Problem(422, f"{key} has not begun yet.", {"key": ["A future month cannot be closed."]})
    period = lock_month(competition.id, key, exclusive=True)
    if period.status == "closed":
        return period, False
    sections = board_rows(competition, "sections", key, live=True)
    teams = board_rows(competition, "teams", key, live=True)
    holder_code, sections = award_flag(sections)  # the snapshot's flag counts include the flag just won
    holder = db.session.scalar(select(Section).where(Section.competition_id == competition.id,
                                                     Section.code == holder_code)) if holder_code else None
    event = PeriodEvent(period_id=period.id, action="close", actor_id=getattr(actor, "id", None),
                        flag_section_id=holder.id if holder else None)
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
    record("period.closed", competition_id=competition.id, target=f"period:{key}", actor=actor,
           detail={"flag": holder_code, "shared_first": holder_code is None and any(r.rank == 1 for r in sections)})
    queue_reports(competition, key)
    db.session.flush()
    channels.month_closed(competition, key, period.id)
    return period, True


def reopen_period(competition: Competition, key: str, reason: str, actor=None) -> Period:
    """Open a closed month again; its late entries count from now on. The close stays on record."""
    period = lock_month(competition.id, key, exclusive=True)
    if period.status != "closed":
        raise Problem(409, f"{key} is not closed.")
    # The status is checked again by the UPDATE itself, and the tallies take exactly the rows it turned.
    e = Entry.__table__.c
    late = db.session.execute(
        update(Entry.__table__).where(e.competition_id == competition.id, e.period == key, e.status == "late")
        .values(status="counted")
        .returning(e.period, e.section_id, e.team_id, e.criterion, e.item, e.kind, e.points)
    ).mappings().all()
    tallies.apply_deltas(competition.id, tallies.deltas_for(late))
    db.session.add(PeriodEvent(period_id=period.id, action="reopen", reason=reason,
                               actor_id=getattr(actor, "id", None)))
    period.status = "open"
    period.closed_at = None
    period.flag_section = None
    bump_revision(competition.id)
    record("period.reopened", competition_id=competition.id, target=f"period:{key}", reason=reason,
           detail={"late_entries_counted": len(late)}, actor=actor)
    db.session.flush()
    return period
