from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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
    """One edition of one month's report to one recipient: unique, so it is queued and sent at most once.
    Edition 1 is the 通报; a month closed again after a reopen is a new edition, a 更正."""

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
