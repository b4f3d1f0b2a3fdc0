"""Report recipients and the monthly report's delivery. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import func, select, update

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..competitions.operations import check_writable, find_section
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..periods.models import Period, PeriodEvent
from .mail import requeue_failed
from .models import Delivery, Recipient

# claimed_by of a withdrawn delivery: never claimed again, never retried (mail.due_filter).
SUPERSEDED = "superseded"


def scope_section(competition_id: int, scope: str) -> Section | None:
    """A recipient's or a report's scope: "all" (None), or a section by its code."""
    section = None if scope == "all" else find_section(competition_id, scope)
    if scope != "all" and section is None:
        raise Problem(422, "Unknown section.", {"scope": [f"Use all or a section code, not {scope}."]})
    return section


def add_recipient(competition: Competition, email: str, name: str, scope: str) -> Recipient:
    """One address receives a competition's reports once (one report per edition): a second one is 409."""
    section = scope_section(competition.id, scope)
    twin = db.session.scalar(select(Recipient).where(
        Recipient.competition_id == competition.id, Recipient.removed_at.is_(None),
        func.lower(Recipient.email) == email.lower()))
    if twin is not None:
        raise Problem(409, f"{email} already receives this competition's reports "
                           f"(recipient {twin.id}, scope {twin.scope}); remove it first to change its scope.")
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


def closing_event(competition_id: int, period: str) -> PeriodEvent | None:
    """The close that made the month's current edition (None while it is open or was never closed)."""
    month = db.session.scalar(select(Period).where(Period.competition_id == competition_id, Period.key == period))
    if month is None or month.status != "closed":
        return None
    return db.session.scalar(select(PeriodEvent).where(PeriodEvent.period_id == month.id,
                                                       PeriodEvent.action == "close")
                             .order_by(PeriodEvent.id.desc()).limit(1))


def send_report(competition: Competition, period: str, *, resend_failed: bool = False, by: str | None = None):
    """`…/reports/{period}/send` and `flask reports send`: queue the month's current edition for every
    recipient (once each, however often asked), and with `resend_failed` its failed deliveries again;
    returns (new deliveries, requeued ones). The month must be closed and, when the competition asks for
    approval, its edition approved. The mail itself goes out with `mail.send_due`."""
    check_writable(competition)
    event = closing_event(competition.id, period)
    if event is None:
        raise Problem(409, f"{period} is not closed; its report is made when the month closes.")
    if competition.report_approval and event.approved_at is None:
        raise Problem(409, f"{period} edition {event.edition} is a draft waiting for approval "
                           f"(POST …/reports/{period}/approve).")
    queued = queue_reports(competition, period, event.edition)
    requeued = requeue_failed(competition.id, period) if resend_failed else 0
    record("report.queued", competition_id=competition.id, target=f"period:{period}",
           detail={"edition": event.edition, "new_deliveries": queued,
                   **({"requeued": requeued, "by": by} if by else {})})
    return queued, requeued


def queue_reports(competition: Competition, period: str, edition: int) -> int:
    """One delivery per (competition, month, edition, recipient), however often this is called: the
    unique constraint makes a second queueing (another request, another scheduler) a no-op. The
    deliveries of earlier editions not sent yet are withdrawn: a recipient gets the newest edition,
    and a 更正 only after a 通报 that really went out."""
    now = utcnow()
    db.session.execute(
        update(Delivery).where(Delivery.competition_id == competition.id, Delivery.period == period,
                               Delivery.edition < edition, Delivery.status.in_(("queued", "failed")))
        .values(status="failed", claimed_by=SUPERSEDED, claimed_at=now,
                last_error=f"第 {edition} 版已取代本版，本版不再发送 (superseded by edition {edition})")
        .execution_options(synchronize_session=False)
    )
    recipients = db.session.scalars(
        select(Recipient.id).where(Recipient.competition_id == competition.id, Recipient.removed_at.is_(None))
    ).all()
    if not recipients:
        return 0
    # RETURNING counts the new rows: rowcount is -1 for a multi-row insert on psycopg.
    stmt = upsert_insert(Delivery.__table__).values([
        {"competition_id": competition.id, "period": period, "edition": edition, "recipient_id": rid,
         "status": "queued", "attempts": 0, "queued_at": now, "next_attempt_at": now}
        for rid in recipients
    ]).on_conflict_do_nothing(index_elements=["competition_id", "period", "edition", "recipient_id"]) \
        .returning(Delivery.id)
    return len(db.session.execute(stmt).all())

