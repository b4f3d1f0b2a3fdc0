from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..competitions.models import Section
from ..extensions import db
from ..types import UTCDateTime


class Recipient(db.Model):
    """Who gets the monthly report: everything (`section_id` None) or one section's view.

    Removing a recipient stamps `removed_at`; the row stays because deliveries point at it.
    """

    __tablename__ = "recipients"
    # One active recipient per address (any case) and competition, kept by the database too: the check in
    # operations answers 409 first, this refuses the second of two requests racing past it.
    __table_args__ = (
        Index("uq_recipients_active_email", "competition_id", func.lower(text("email")), unique=True,
              postgresql_where=text("removed_at IS NULL"), sqlite_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    section: Mapped[Section | None] = relationship(lazy="joined")

    @property
    def scope(self) -> str:
        return self.section.code if self.section else "all"


class Delivery(db.Model):
    """One edition of one month's (or, `period` YYYY-Qn, one quarter's) report to one recipient: unique, so it
    is queued and sent at most once. Edition 1 is the 通报; a month closed again after a reopen is a new
    edition, a 更正."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("competition_id", "period", "edition", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    period: Mapped[str] = mapped_column(String(7))
    edition: Mapped[int] = mapped_column(default=1, server_default="1")
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued|sending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[Recipient] = relationship(lazy="joined")


class QuarterEdition(db.Model):
    """An edition of a quarter's report (季度考核通报), made when a competition with `quarter_reports` has every
    month of the quarter closed (and, with approval, approved): 1 the 通报; when a month of it is closed again
    later, the quarter's report changes too and is mailed again as a 更正. It keeps which month editions it was
    made of, the last month event it saw (its mail waits while a month of the quarter moves on after it),
    and both boards as they stood, for the 更正's "what changed"."""

    __tablename__ = "quarter_editions"
    __table_args__ = (UniqueConstraint("competition_id", "period", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("competitions.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-Qn
    edition: Mapped[int] = mapped_column()
    first_month: Mapped[str] = mapped_column(String(7))
    last_month: Mapped[str] = mapped_column(String(7))
    months: Mapped[dict] = mapped_column(JSON)  # {"2025-10": 1, "2025-11": 2, …}: each closed month's edition
    last_event_id: Mapped[int] = mapped_column()
    sections: Mapped[list] = mapped_column(JSON)
    teams: Mapped[list] = mapped_column(JSON)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
