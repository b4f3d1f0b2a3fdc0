"""Monthly report delivery. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import select

from ..clock import utcnow
from ..competitions.models import Competition
from ..extensions import db, upsert_insert
from .models import Delivery, Recipient


def queue_reports(competition: Competition, period: str) -> int:
    """One delivery per (competition, month, recipient), however often this is called: the unique
    constraint makes a second queueing (another request, another scheduler) a no-op."""
    recipients = db.session.scalars(
        select(Recipient.id).where(Recipient.competition_id == competition.id, Recipient.removed_at.is_(None))
    ).all()
    if not recipients:
        return 0
    # RETURNING counts the new rows: rowcount is -1 for a multi-row insert on psycopg.
    stmt = upsert_insert(Delivery.__table__).values([
        {"competition_id": competition.id, "period": period, "recipient_id": rid, "status": "queued", "attempts": 0,
         "queued_at": utcnow(), "next_attempt_at": utcnow()}
        for rid in recipients
    ]).on_conflict_do_nothing(index_elements=["competition_id", "period", "recipient_id"]).returning(Delivery.id)
    return len(db.session.execute(stmt).all())
