"""Months: locking, closing (an immutable snapshot and the red flag) and reopening.

These change data; the caller commits.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ..api import Problem
from ..audit.operations import record
from ..competitions.models import Competition, Section
from ..competitions.operations import bump_revision
from ..extensions import db, upsert_insert
from ..standings.engine import flag_holder
from ..types import utcnow
from .models import Period, PeriodEvent, Snapshot


def current_key(competition: Competition, now: datetime | None = None) -> str:
    return (now or utcnow()).astimezone(ZoneInfo(competition.timezone)).strftime("%Y-%m")


def previous_key(key: str) -> str:
    year, month = int(key[:4]), int(key[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def ensure_periods(competition_id: int, keys: set[str]) -> None:
    if not keys:
        return
    stmt = upsert_insert(Period.__table__).on_conflict_do_nothing(index_elements=["competition_id", "key"])
    db.session.execute(stmt, [{"competition_id": competition_id, "key": k, "status": "open"} for k in sorted(keys)])


def lock_periods(competition_id: int, keys: set[str]) -> set[str]:
    """Make sure the months exist and hold them against a concurrent close (FOR SHARE) until
    commit; returns those already closed, whose entries arrive late."""
    stmt = select(Period.key, Period.status).where(Period.competition_id == competition_id, Period.key.in_(keys))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True)
    statuses = dict(db.session.execute(stmt).all())
    if len(statuses) < len(keys):  # a month's first entry: make its row, then hold it too
        ensure_periods(competition_id, keys - statuses.keys())
        statuses = dict(db.session.execute(stmt).all())
    return {key for key, status in statuses.items() if status == "closed"}


def get_period(competition: Competition, key: str, *, for_update: bool = False) -> Period:
    ensure_periods(competition.id, {key})
    stmt = select(Period).where(Period.competition_id == competition.id, Period.key == key)
    if for_update:
        db.session.execute(select(Period.id).where(Period.competition_id == competition.id, Period.key == key)
                           .with_for_update())
        stmt = stmt.execution_options(populate_existing=True)
    return db.session.scalar(stmt)


def close_period(competition: Competition, key: str, actor=None) -> tuple[Period, bool]:
    """Freeze both boards of the month and award the red flag. Closing a closed month changes
    nothing and returns False. Safe when two processes close at once: the row lock orders them."""
    from ..reports.operations import queue_reports
    from ..standings.operations import board_rows, rows_json

    if key > current_key(competition):
        raise Problem(422, f"{key} has not begun yet.", {"key": ["A future month cannot be closed."]})
    period = get_period(competition, key, for_update=True)
    if period.status == "closed":
        return period, False
    sections = board_rows(competition, "sections", key, live=True)
    teams = board_rows(competition, "teams", key, live=True)
    holder_code = flag_holder(sections)
    holder = db.session.scalar(select(Section).where(Section.competition_id == competition.id,
                                                     Section.code == holder_code)) if holder_code else None
    if holder is not None:  # the snapshot's flag counts include the flag just won
        sections = [replace(row, flags=(row.flags or 0) + (row.code == holder.code)) for row in sections]
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
    period.flag_section_id = holder.id if holder else None
    bump_revision(competition.id)
    record("period.closed", competition_id=competition.id, target=f"period:{key}", actor=actor,
           detail={"flag": holder_code, "shared_first": holder_code is None and any(r.rank == 1 for r in sections)})
    queue_reports(competition, key)
    db.session.flush()
    return period, True


def reopen_period(competition: Competition, key: str, reason: str, actor=None) -> Period:
    """Open a closed month again; its late entries count from now on. The close stays on record."""
    from ..entries.models import Entry
    from ..standings import tallies

    period = get_period(competition, key, for_update=True)
    if period.status != "closed":
        raise Problem(409, f"{key} is not closed.")
    late = db.session.scalars(
        select(Entry).where(Entry.competition_id == competition.id, Entry.period == key, Entry.status == "late")
    ).all()
    tallies.apply_deltas(competition.id, tallies.deltas_for(tallies.entry_values(e) for e in late))
    if late:
        db.session.execute(update(Entry).where(Entry.id.in_([e.id for e in late])).values(status="counted"))
    db.session.add(PeriodEvent(period_id=period.id, action="reopen", reason=reason,
                               actor_id=getattr(actor, "id", None)))
    period.status = "open"
    period.closed_at = None
    period.flag_section_id = None
    bump_revision(competition.id)
    record("period.reopened", competition_id=competition.id, target=f"period:{key}", reason=reason,
           detail={"late_entries_counted": len(late)}, actor=actor)
    db.session.flush()
    return period


def latest_snapshot(period_id: int, board: str) -> list[dict] | None:
    return db.session.scalar(
        select(Snapshot.rows).where(Snapshot.period_id == period_id, Snapshot.board == board)
        .order_by(Snapshot.id.desc()).limit(1)
    )
