"""Report recipients and the monthly report's delivery. These change data; the caller commits."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..audit.operations import record
from ..clock import utcnow
from ..competitions.models import Competition, Section
from ..competitions.operations import check_writable, find_section
from ..entries.models import Entry
from ..errors import Problem
from ..extensions import db, upsert_insert
from ..month import is_span, quarter_of, span_months
from ..periods.models import Period, PeriodEvent
from ..standings.operations import rows_json, year_rows
from .mail import requeue_failed
from .models import Delivery, QuarterEdition, Recipient

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
    try:
        with db.session.begin_nested():  # a request racing this one past the check above: the index refuses it
            db.session.add(recipient)
    except IntegrityError:
        raise Problem(409, f"{email} already receives this competition's reports; "
                           f"remove it first to change its scope.") from None
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
    approval, its edition approved. The mail itself goes out with `mail.send_due`. A quarter: `send_quarter`."""
    if is_span(period):
        return send_quarter(competition, period, resend_failed=resend_failed, by=by)
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


# -- quarter reports (季度考核通报), mailed when the competition asks for them ------------------------------

def quarter_state(competition: Competition, quarter: str) -> tuple[dict[str, int], int] | None:
    """(each closed month's current edition, the newest month event of the quarter) when the quarter is
    complete — its last month closed and no month of it open with entries in it — and every closed month's
    current edition is published (approved, when the competition asks for approval); else None."""
    months = span_months(quarter)
    periods = {p.key: p for p in db.session.scalars(select(Period).where(
        Period.competition_id == competition.id, Period.key.in_(months))
        .execution_options(populate_existing=True)).all()}
    last = periods.get(months[-1])
    if last is None or last.status != "closed":
        return None
    editions: dict[str, int] = {}
    for key in months:
        period = periods.get(key)
        if period is None or period.status != "closed":
            has_entries = db.session.scalar(select(Entry.id).where(
                Entry.competition_id == competition.id, Entry.period == key).limit(1)) is not None
            if has_entries:
                return None  # a month of it is open (reopened, or never closed): the quarter is not final
            continue
        event = closing_event(competition.id, key)
        if competition.report_approval and event.approved_at is None:
            return None  # a draft: the quarter's report waits for its approval
        editions[key] = event.edition
    newest = db.session.scalar(select(func.max(PeriodEvent.id)).where(
        PeriodEvent.period_id.in_([p.id for p in periods.values()])))
    return editions, newest


def latest_quarter_edition(competition_id: int, quarter: str) -> QuarterEdition | None:
    return db.session.scalar(select(QuarterEdition).where(QuarterEdition.competition_id == competition_id,
                                                          QuarterEdition.period == quarter)
                             .order_by(QuarterEdition.edition.desc()).limit(1))


def publish_quarter(competition: Competition, month: str) -> int:
    """A month's edition was just published: when the competition mails quarter reports and this makes its
    quarter complete (see `quarter_state`) in a state not mailed before, the quarter's report is a new
    edition — 1 the 通报, a later one (a month of the quarter closed again) a 更正 — queued for every
    recipient once, through the monthly report's deliveries. Returns the deliveries queued. Two publishes
    of one competition never interleave here: each has bumped the competition's revision (its row lock)."""
    if not competition.quarter_reports or competition.archived:
        return 0
    quarter = quarter_of(month)
    state = quarter_state(competition, quarter)
    if state is None:
        return 0
    made = quarter_edition(competition, quarter, *state)
    return 0 if made is None else _queue_quarter(competition, made, by="quarter_reports")


def quarter_edition(competition: Competition, quarter: str, editions: dict[str, int],
                    newest: int) -> QuarterEdition | None:
    """A new edition of the quarter's report for this state of its months; None when the latest is of it."""
    latest = latest_quarter_edition(competition.id, quarter)
    if latest is not None and latest.months == editions:
        return None
    months = span_months(quarter)
    made = QuarterEdition(
        competition_id=competition.id, period=quarter, edition=(latest.edition if latest else 0) + 1,
        first_month=months[0], last_month=months[-1], months=editions, last_event_id=newest,
        sections=rows_json(year_rows(competition, "sections", quarter)),
        teams=rows_json(year_rows(competition, "teams", quarter)))
    db.session.add(made)
    db.session.flush()
    return made


def _queue_quarter(competition: Competition, made: QuarterEdition, by: str) -> int:
    queued = queue_reports(competition, made.period, made.edition)
    record("report.queued", competition_id=competition.id, target=f"period:{made.period}",
           detail={"edition": made.edition, "new_deliveries": queued, "months": made.months, "by": by})
    return queued


def send_quarter(competition: Competition, quarter: str, *, resend_failed: bool = False, by: str | None = None):
    """`…/reports/YYYY-Qn/send`: the office asks for the quarter's report by mail (whatever `quarter_reports`
    says): its current edition — made now if the quarter's months moved on since the last — queued for every
    recipient once. The quarter must be complete (`quarter_state`), else 409."""
    check_writable(competition)
    # The competition's row lock, as a close or approval publishing this quarter takes it (bump_revision).
    db.session.execute(select(Competition.id).where(Competition.id == competition.id).with_for_update())
    state = quarter_state(competition, quarter)
    if state is None:
        raise Problem(409, f"{quarter} is not complete: its report is mailed once its last month is closed and "
                           f"no month of it is open (or, with approval, waiting for approval).")
    made = quarter_edition(competition, quarter, *state) or latest_quarter_edition(competition.id, quarter)
    queued = queue_reports(competition, quarter, made.edition)
    requeued = requeue_failed(competition.id, quarter) if resend_failed else 0
    record("report.queued", competition_id=competition.id, target=f"period:{quarter}",
           detail={"edition": made.edition, "new_deliveries": queued, "months": made.months,
                   **({"requeued": requeued, "by": by} if by else {})})
    return queued, requeued
