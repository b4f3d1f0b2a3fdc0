"""Report recipients and the monthly report's delivery. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import select

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..competitions.operations import find_section
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..periods.models import Period
from .mail import requeue_failed
from .models import Delivery, Recipient


def scope_section(competition_id: int, scope: str) -> Section | None:
    """A recipient's or a report's scope: "all" (None), or a section by its code."""
    section = None if scope == "all" else find_section(competition_id, scope)
    if scope != "all" and section is None:
        raise Problem(422, "Unknown section.", {"scope": [f"Use all or a section code, not {scope}."]})
    return section


def add_recipient(competition: Competition, email: str, name: str, scope: str) -> Recipient:
    section = scope_section(competition.id, scope)
    recipient = Recipient(competition_id=competition.id, email=email, name=name,
                          section_id=section.id if section else None)
    db.session.add(recipient)
    db.session.flush()
    record("recipient.created", competition_id=competition.id, target=f"recipient:{recipient.id}",
           detail={"email": email, "scope": scope})
    return recipient


def remove_recipient(competition_id: int, rid: int) -> None:
    """Stop sending to a recipient. Past deliveries stay on record."""
    recipient = db.session.get(Recipient, rid)
    if recipient is None or recipient.competition_id != competition_id or recipient.removed_at is not None:
        raise Problem(404, f"No recipient {rid}.")
    recipient.removed_at = utcnow()
    record("recipient.removed", competition_id=competition_id, target=f"recipient:{rid}",
           detail={"email": recipient.email})


def send_report(competition: Competition, period: str, *, resend_failed: bool = False, by: str | None = None):
    """Queue a closed month's report for every recipient (once each), and with `resend_failed` its failed
    deliveries again; returns (new deliveries, requeued ones). The mail itself goes out with `mail.send_due`."""
    status = db.session.scalar(select(Period.status).where(Period.competition_id == competition.id,
                                                            Period.key == period))
    if status != "closed":
        raise Problem(409, f"{period} is not closed; its report is made when the month closes.")
    queued = queue_reports(competition, period)
    requeued = requeue_failed(competition.id, period) if resend_failed else 0
    record("report.queued", competition_id=competition.id, target=f"period:{period}",
           detail={"new_deliveries": queued, **({"requeued": requeued, "by": by} if by else {})})
    return queued, requeued


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
